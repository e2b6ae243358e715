"""Keywords to sentence (CommonGen-like): write a sentence that uses every word of a concept set."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from textgym.examples import Example
from textgym.tasks.grammar import Cost, Template, unique_words, with_article
from textgym.tasks.language import DEMONSTRATORS, Draw, LanguageTask, check_choice, weak_choice

AGENTS = ("boy", "girl", "man", "woman", "child", "farmer", "chef", "student")
# lemma: (third person singular, past, present participle, past participle), objects it takes
VERBS: dict[str, tuple[tuple[str, str, str, str], tuple[str, ...]]] = {
    "throw": (("throws", "threw", "throwing", "thrown"), ("ball", "frisbee", "stone")),
    "catch": (("catches", "caught", "catching", "caught"), ("ball", "frisbee", "fish")),
    "kick": (("kicks", "kicked", "kicking", "kicked"), ("ball", "stone")),
    "eat": (("eats", "ate", "eating", "eaten"), ("apple", "bread", "cake")),
    "cut": (("cuts", "cut", "cutting", "cut"), ("apple", "bread", "cake", "paper")),
    "read": (("reads", "read", "reading", "read"), ("book", "letter", "newspaper")),
    "write": (("writes", "wrote", "writing", "written"), ("letter", "book")),
    "wash": (("washes", "washed", "washing", "washed"), ("car", "dog", "dish")),
    "paint": (("paints", "painted", "painting", "painted"), ("wall", "car", "picture")),
    "carry": (("carries", "carried", "carrying", "carried"), ("bag", "box", "dog")),
}
PLACES = {"park": "in", "beach": "at", "kitchen": "in", "garden": "in", "school": "at", "street": "on"}
SENTENCES = (
    Template("the {agent} {present} the {object} {where} ."),
    Template("the {agent} {past} the {object} {where} ."),
    Template("{a_agent} is {participle} {a_object} {where} ."),
    Template("the {object} was {past_participle} by the {agent} {where} ."),
)


class KeywordsToSentence(LanguageTask):
    """Keywords to sentence (CommonGen-like, Lin et al., 2020): use every concept of a set in one sentence.

    ``ball boy kick park`` -> ``the boy kicks the ball in the park .``

    A concept set is an agent, a verb, an object the verb takes and, with probability 1/2, a place, all as
    lemmas in alphabetical order. The references are the grammar's sentences for the set: present, past,
    progressive (``a boy is kicking a ball in the park .``) and passive (``the ball was kicked by the boy in the
    park .``). Splits are made by a hash of the concept set, so a held-out set is never seen in training.

    Reward: concept coverage (the share of the concepts whose lemma or an inflection appears in the sentence)
    times ROUGE-L F1 (rouge-score; ``metric="rouge_l"``, default) or sentence BLEU (sacrebleu; ``metric="bleu"``)
    against the references. The last step's info reports both factors: ``coverage``, and the metric alone under
    its name. Success: the sentence is one of the references. Threshold 0.9. Action mask: every word the sentences
    may use, and ``<eos>``.

    Demonstrations (``demonstrator``): ``"reference"`` (default) types the first reference (the present tense);
    ``"weak"`` the present-tense sentence of a partly different concept set, which covers only some of the
    concepts: the verb is kept, and the agent, the object and the place (if any) are each, with probability 1/2,
    replaced by another agent, another object the verb takes, another place or no place. The choices are drawn
    uniformly by a hash of the example (:func:`~textgym.tasks.language.weak_choice`). One in four (three concepts)
    or eight (four) such sentences is the reference; on average they cover about 65% of the concepts.

    Args:
        metric: ``"rouge_l"`` (default) or ``"bleu"``.
        demonstrator: ``"reference"`` (default) or ``"weak"``, see above.
        tokenizer, bpe_vocab_size: see :class:`~textgym.tasks.language.LanguageTask` (defaults ``"word"``, 128).
    """

    name = "KeywordsToSentence"
    metrics = ("rouge_l", "bleu")
    reward_threshold = 0.9

    def __init__(
        self,
        metric: str = "rouge_l",
        demonstrator: str = "reference",
        tokenizer: str = "word",
        bpe_vocab_size: int = 128,
    ) -> None:
        self.demonstrator = check_choice("demonstrator", demonstrator, DEMONSTRATORS)
        super().__init__(metric, tokenizer, bpe_vocab_size)
        self.final_info_keys = ("coverage", self.metric_name)

    def vocabulary(self) -> Sequence[str]:
        objects = (obj for _, objects_of_verb in VERBS.values() for obj in objects_of_verb)
        return unique_words([*AGENTS, *VERBS, *objects, *PLACES, *self.answer_words()])

    def answer_words(self) -> Sequence[str]:
        return unique_words(sentence for choices in all_concept_sets() for sentence in sentences_for(*choices))

    def length_bounds(self, cost: Cost) -> tuple[int, int]:
        sets = all_concept_sets()
        prompt = max(cost(" ".join(_concepts(*choices))) for choices in sets)
        return prompt, max(cost(sentence) for choices in sets for sentence in sentences_for(*choices))

    def draw(self, rng: np.random.Generator) -> Draw:
        agent = AGENTS[int(rng.integers(len(AGENTS)))]
        verb = list(VERBS)[int(rng.integers(len(VERBS)))]
        objects = VERBS[verb][1]
        obj = objects[int(rng.integers(len(objects)))]
        place = list(PLACES)[int(rng.integers(len(PLACES)))] if rng.random() < 0.5 else None
        concepts = _concepts(agent, verb, obj, place)
        prompt = " ".join(sorted(concepts))
        return Draw(prompt, sentences_for(agent, verb, obj, place), key=prompt, meta={"concepts": concepts})

    def weak_answer(self, example: Example) -> str:
        """The present-tense sentence of the example's concept set with some concepts replaced (see the class
        docstring), fixed by a hash of ``example``.

        Args:
            example: the example demonstrated.
        """
        agent, verb, obj, place = (*example.meta["concepts"], None)[:4]
        agent = _maybe_replaced(example, 0, agent, AGENTS)
        obj = _maybe_replaced(example, 2, obj, VERBS[verb][1])
        if place is not None:
            place = _maybe_replaced(example, 4, place, (*PLACES, None))
        return sentences_for(agent, verb, obj, place)[0]

    def score(self, generated_ids: Sequence[int], example: Example) -> float:
        """Concept coverage times the metric against the references."""
        return coverage(self.words(generated_ids), example.meta["concepts"]) * super().score(generated_ids, example)

    def final_info(self, generated_ids: Sequence[int], example: Example) -> dict[str, Any]:
        """The reward's two factors: ``coverage`` (of the concepts) and the metric alone (``rouge_l`` or ``bleu``,
        the ``metric`` option's name) against the references."""
        return {
            "coverage": coverage(self.words(generated_ids), example.meta["concepts"]),
            self.metric_name: super().score(generated_ids, example),
        }


def coverage(words: Sequence[str], concepts: Sequence[str]) -> float:
    """The share of ``concepts`` (lemmas) that appear in ``words`` as the lemma or one of its inflections."""
    present = set(words)
    return sum(bool(present & forms_of(concept)) for concept in concepts) / len(concepts)


def _maybe_replaced(example: Example, index: int, concept: str, choices: Sequence[str | None]) -> str | None:
    """``concept`` or, with probability 1/2, another of ``choices``, by the weak demonstrator's draws ``index`` and
    ``index + 1`` for ``example``."""
    if weak_choice(example, index, (False, True)):
        return weak_choice(example, index + 1, [choice for choice in choices if choice != concept])
    return concept


def forms_of(concept: str) -> set[str]:
    """A lemma and its inflections (a verb's forms; a noun is its own only form)."""
    return {concept, *VERBS[concept][0]} if concept in VERBS else {concept}


def _concepts(agent: str, verb: str, obj: str, place: str | None) -> tuple[str, ...]:
    return (agent, verb, obj) if place is None else (agent, verb, obj, place)


@functools.cache
def sentences_for(agent: str, verb: str, obj: str, place: str | None) -> tuple[str, ...]:
    """The reference sentences of a concept set: present, past, progressive and passive (``place`` optional)."""
    present, past, participle, past_participle = VERBS[verb][0]
    where = f"{PLACES[place]} the {place}" if place else ""
    values = dict(
        agent=agent,
        a_agent=with_article(agent),
        object=obj,
        a_object=with_article(obj),
        present=present,
        past=past,
        participle=participle,
        past_participle=past_participle,
        where=where,
    )
    return tuple(dict.fromkeys(template.fill(values) for template in SENTENCES))


@functools.cache
def all_concept_sets() -> tuple[tuple[str, str, str, str | None], ...]:
    """Every concept set as ``(agent, verb, object, place or None)``: 8 x 29 x 7 = 1,624."""
    return tuple(
        (agent, verb, obj, place)
        for agent in AGENTS
        for verb, (_, objects) in VERBS.items()
        for obj in objects
        for place in (None, *PLACES)
    )
