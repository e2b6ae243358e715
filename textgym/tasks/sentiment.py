"""Sentiment-steered continuation (IMDB-like): continue a review opening so that it reads positive (or negative)."""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from textgym.examples import Example
from textgym.tasks.grammar import Cost, Grammar, unique_words
from textgym.tasks.language import DEMONSTRATORS, Draw, LanguageTask, check_choice, weak_choice

OPENINGS = Grammar(
    [
        "i watched this {film} {when} and",
        "we went to see this {film} {when} and",
        "my {relative} and i watched this {film} {when} and",
        "i had heard a lot about this {film} , so i watched it {when} and",
    ],
    {
        "film": ("movie", "film", "comedy", "thriller", "documentary", "drama"),
        "when": ("last night", "yesterday", "last weekend", "on sunday", "at the cinema", "at home"),
        "relative": ("friend", "sister", "brother", "wife", "husband", "mother", "father"),
    },
)
ASPECTS = ("acting", "story", "plot", "music", "ending", "script")
BOOSTERS = ("really", "very", "absolutely", "incredibly")
CONTINUATION_TEMPLATES = (
    "it was {booster} {adjective} and the {aspect} was {adjective2} .",
    "i {verb} the {aspect} , and the {aspect2} was {booster} {adjective2} .",
    "the {aspect} was {booster} {adjective} and {adjective2} .",
)
# Words of strong valence in VADER's lexicon (|valence| >= 2.3), so that every reference has |compound| >= 0.8.
POLAR_WORDS = {
    "positive": {
        "adjective": ("wonderful", "brilliant", "excellent", "superb", "amazing", "beautiful", "great", "lovely"),
        "verb": ("loved", "enjoyed"),
    },
    "negative": {
        "adjective": ("horrible", "pathetic", "disastrous", "horrendous", "idiotic", "nasty", "lousy", "bad"),
        "verb": ("hated",),
    },
}


@functools.cache
def polar_continuations(first: str, second: str) -> Grammar:
    """The continuation grammar whose first polar slot (the first adjective, or the verb) takes the words of
    sentiment ``first`` and whose second (the last adjective) those of ``second``; each takes one of
    :data:`POLAR_WORDS`' keys. Two equal sentiments give the references' grammar of that sentiment, two different
    ones a mixed review (``it was really wonderful and the acting was horrible .``)."""
    return Grammar(
        CONTINUATION_TEMPLATES,
        {
            "aspect": ASPECTS,
            "aspect2": ASPECTS,
            "booster": BOOSTERS,
            "adjective": POLAR_WORDS[first]["adjective"],
            "adjective2": POLAR_WORDS[second]["adjective"],
            "verb": POLAR_WORDS[first]["verb"],
        },
    )


CONTINUATIONS = {target: polar_continuations(target, target) for target in POLAR_WORDS}
TARGETS = tuple(CONTINUATIONS)
WEAK_MIXTURE = (
    ("target", "target"),
    ("target", "target"),
    ("target", "opposite"),
    ("opposite", "target"),
    ("opposite", "opposite"),
)
"""The weak demonstrator's continuations, as the sentiments of their two polar slots (see
:func:`polar_continuations`), one pair drawn uniformly: 2/5 of the target sentiment, like the references; 2/5 mixed,
one praise and one complaint, which VADER reads as about neutral; 1/5 of the opposite sentiment."""
EXTRA_WORDS = ("not", "but", "!")  # let a policy negate, contrast and exclaim beyond the reference grammar
SUCCESS_COMPOUND = 0.8  # VADER compound in the target's direction that every reference reaches (score 0.9)
FLUENCY_FLOOR = 0.1  # every reference is more fluent than 0.22; word salad of the continuation words stays below 0.05


@functools.cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def vader_compound(text: str) -> float:
    """VADER's compound sentiment of ``text`` (vaderSentiment), in [-1, 1]; 0 for an empty text."""
    return float(_analyzer().polarity_scores(text)["compound"])


class BigramModel:
    """A bigram language model with add-one smoothing, for the fluency of a word sequence.

    Args:
        texts: the corpus; each text is a sentence between a start and an end marker.
        vocabulary: the words a sentence may hold (with the end marker, the support of each next-word guess).
    """

    START, END = "<s>", "</s>"

    def __init__(self, texts: Iterable[str], vocabulary: Sequence[str]) -> None:
        self.pairs: Counter[tuple[str, str]] = Counter()
        for text in texts:
            words = [self.START, *text.split(), self.END]
            self.pairs.update(zip(words, words[1:]))
        self.contexts: Counter[str] = Counter()
        for (previous, _), count in self.pairs.items():
            self.contexts[previous] += count
        self.support = len(vocabulary) + 1

    def fluency(self, words: Sequence[str]) -> float:
        """The geometric mean of the probabilities of the words and the end marker, each given the word before
        (1 / perplexity), in (0, 1]: high for text like the corpus, near ``1 / len(vocabulary)`` for word salad."""
        sequence = [self.START, *words, self.END]
        log_probability = sum(
            math.log((self.pairs[(previous, word)] + 1) / (self.contexts[previous] + self.support))
            for previous, word in zip(sequence, sequence[1:])
        )
        return math.exp(log_probability / (len(sequence) - 1))


@functools.cache
def _fluency_model() -> BigramModel:
    texts = [text for grammar in CONTINUATIONS.values() for text in grammar.expand()]
    return BigramModel(texts, _continuation_words())


@functools.cache
def _continuations(first: str, second: str) -> tuple[str, ...]:
    return tuple(polar_continuations(first, second).expand())


@functools.cache
def _continuation_words() -> tuple[str, ...]:
    return unique_words([*(word for grammar in CONTINUATIONS.values() for word in grammar.words()), *EXTRA_WORDS])


class SentimentContinuation(LanguageTask):
    """Sentiment-steered continuation (IMDB-like, as in RL4LMs): continue a review opening so that it reads
    positive (or negative).

    ``i watched this movie last night and`` -> ``it was really wonderful and the acting was superb .``

    Openings come from a template grammar (4 templates, 360 openings); splits are made by a hash of the
    opening. The continuation uses a word-level vocabulary: the words of the reference continuation grammar of
    both sentiments plus ``not``, ``but`` and ``!``. Each example has one reference: a continuation drawn from
    the grammar of the target sentiment (what the oracle types); the reward does not compare with it.

    Reward: VADER's compound sentiment (vaderSentiment) of the continuation mapped to [0, 1]:
    ``(1 + compound) / 2`` for ``target="positive"`` (default), ``(1 - compound) / 2`` for ``"negative"``; the
    empty continuation scores 0.5. Every reference of the grammar scores at least 0.9. Threshold 0.9.

    A lexicon can be gamed with word salad (``great great superb !``), so :meth:`final_info` reports, beside the
    reward, ``fluency``: 1 / perplexity of the continuation under a bigram model of the reference grammar (every
    continuation of both sentiments counted once, add-one smoothing), in (0, 1]; and ``sentiment``, the raw
    compound. References have a fluency of at least 0.22, word salad of the continuation words below 0.05.
    Success asks for both: a compound of at least 0.8 in the target's direction and a fluency of at least 0.1.
    Action mask: the continuation words and ``<eos>``.

    Demonstrations (``demonstrator``): ``"reference"`` (default) types the reference; ``"weak"`` a continuation of a
    mixed-sentiment corpus, as real reviews are (:data:`WEAK_MIXTURE`): 2/5 of the target sentiment, 2/5 mixed
    (``it was really wonderful and the acting was horrible .``, about neutral), 1/5 of the opposite one; the
    sentiments, then a continuation of the grammar with those sentiments in its two polar slots, are drawn
    uniformly by a hash of the example (:func:`~textgym.tasks.language.weak_choice`). They use the references'
    templates and words, so they are as fluent (each above 0.22, 0.30 on average, like the references), but score
    about 0.6 on average (0.62 for the positive target, 0.57 for the negative, over 300 test examples) where the
    references score 0.92.

    Args:
        target: ``"positive"`` (default) or ``"negative"``.
        demonstrator: ``"reference"`` (default) or ``"weak"``, see above.
        tokenizer, bpe_vocab_size: see :class:`~textgym.tasks.language.LanguageTask` (defaults ``"word"``, 128).
    """

    name = "SentimentContinuation"
    metrics = ("vader",)
    reward_threshold = 0.9

    def __init__(
        self,
        target: str = "positive",
        demonstrator: str = "reference",
        tokenizer: str = "word",
        bpe_vocab_size: int = 128,
    ) -> None:
        self.target = check_choice("target", target, TARGETS)
        self.sign = 1.0 if target == "positive" else -1.0
        self.demonstrator = check_choice("demonstrator", demonstrator, DEMONSTRATORS)
        self.sentiments = {"target": target, "opposite": next(other for other in TARGETS if other != target)}
        super().__init__("vader", tokenizer, bpe_vocab_size)

    def vocabulary(self) -> Sequence[str]:
        return unique_words([*OPENINGS.words(), *_continuation_words()])

    def answer_words(self) -> Sequence[str]:
        return _continuation_words()

    def length_bounds(self, cost: Cost) -> tuple[int, int]:
        """The longest opening, and the longest continuation the task may demonstrate: a reference, or with
        ``demonstrator="weak"`` a mixed one too (with the BPE tokenizer a few are 2 tokens longer)."""
        pairs = itertools.product(TARGETS, repeat=2) if self.demonstrator == "weak" else zip(TARGETS, TARGETS)
        return OPENINGS.longest(cost), max(polar_continuations(*pair).longest(cost) for pair in pairs)

    def draw(self, rng: np.random.Generator) -> Draw:
        opening = OPENINGS.sample(rng)
        return Draw(opening, (CONTINUATIONS[self.target].sample(rng),), key=opening)

    def weak_answer(self, example: Example) -> str:
        """A continuation of the mixed-sentiment corpus (see the class docstring), fixed by a hash of ``example``.

        Args:
            example: the example demonstrated.
        """
        first, second = (self.sentiments[role] for role in weak_choice(example, 0, WEAK_MIXTURE))
        return weak_choice(example, 1, _continuations(first, second))

    def sentiment(self, generated_ids: Sequence[int]) -> float:
        """VADER compound of the continuation, in [-1, 1]."""
        return vader_compound(" ".join(self.words(generated_ids)))

    def score(self, generated_ids: Sequence[int], example: Example) -> float:
        """``(1 + compound) / 2`` for the positive target, ``(1 - compound) / 2`` for the negative one."""
        return (1.0 + self.sign * self.sentiment(generated_ids)) / 2.0

    def is_success(self, generated_ids: Sequence[int], example: Example) -> bool:
        """Success rule: a compound of at least 0.8 in the target's direction, with a fluency of at least 0.1."""
        info = self.final_info(generated_ids, example)
        return self.sign * info["sentiment"] >= SUCCESS_COMPOUND and info["fluency"] >= FLUENCY_FLOOR

    final_info_keys = ("sentiment", "fluency")

    def final_info(self, generated_ids: Sequence[int], example: Example) -> dict[str, Any]:
        """``sentiment`` (the VADER compound) and ``fluency`` (see the class docstring)."""
        return {
            "sentiment": self.sentiment(generated_ids),
            "fluency": _fluency_model().fluency(self.words(generated_ids)),
        }
