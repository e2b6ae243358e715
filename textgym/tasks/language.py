"""The shared base of the language tasks: word-level texts from grammars, scored by text metrics.

A language task writes its prompts and answers as lower-case words separated by spaces (punctuation is a word of
its own). Its vocabulary comes from its grammar's word lists. It reads them with a :class:`WordTokenizer` (one id
per word, the default), a :class:`BPETokenizer` (``tokenizer="bpe"``) learned from the task's own generated
corpus, or one loaded from a Hugging Face ``tokenizers`` JSON file (``tokenizer="path/to/tokenizer.json"``).
Scores compare words, so every tokenizer scores a text alike; success means the answer's words equal a reference's
words.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textgym.examples import Example
from textgym.splits import draw_in_split, split_of
from textgym.task import Task, weak_draw
from textgym.tasks.grammar import Cost
from textgym.tokenizers import BPETokenizer, WordTokenizer

TOKENIZER_KINDS: tuple[str, ...] = ("word", "bpe")
DEMONSTRATORS: tuple[str, ...] = ("reference", "weak")
"""The values of the ``demonstrator`` option of the language tasks that have one: what :meth:`Task.demonstration`
types, the first reference (default) or the task's weak answer (:meth:`LanguageTask.weak_answer`)."""


@dataclass(frozen=True)
class Draw:
    """One generated prompt with its references, as text, before tokenisation.

    Attributes:
        prompt: the prompt.
        references: the acceptable answers (the first is the one the oracle types).
        key: the text whose hash puts the draw in a split; the prompt unless answers must stay held out.
        meta: extra facts about the example, kept in ``Example.meta``.
    """

    prompt: str
    references: tuple[str, ...]
    key: str
    meta: Mapping[str, Any] = field(default_factory=dict)


def check_choice(name: str, value: object, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices`` (of the same type: ``2.0`` is not ``2``, ``True`` not ``1``),
    else raise ``ValueError`` naming both."""
    if not any(type(value) is type(choice) and value == choice for choice in choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def weak_choice(example: Example, index: int, choices: Sequence[Any]) -> Any:
    """One of ``choices``, drawn uniformly by the ``index``-th draw of a weak demonstrator for ``example``
    (:func:`~textgym.task.weak_draw`), so the same in every process.

    Args:
        example: the example demonstrated.
        index: which of the example's draws, from 0 (each use of the same example takes its own).
        choices: the values to choose from.
    """
    return choices[weak_draw(example, index) % len(choices)]


class LanguageTask(Task):
    """Base of the word-level language tasks.

    Subclasses set ``name``, ``metrics`` (the metric names the task accepts) and ``reward_threshold``, store their
    own options, then call ``super().__init__``; they implement :meth:`vocabulary`, :meth:`answer_words`,
    :meth:`length_bounds` and :meth:`draw` (or override :meth:`sample` and :meth:`corpus` for a finite dataset).

    A task whose demonstrations may be worse than its references takes a ``demonstrator`` option (one of
    :data:`DEMONSTRATORS`), stores it in ``self.demonstrator`` and implements :meth:`weak_answer`; with
    ``"weak"``, :meth:`oracle_actions` (and so :meth:`~textgym.task.Task.demonstration`) types that answer instead of
    the first reference. The references, and so the score, stay the same.

    Args:
        metric: one of the task's ``metrics``.
        tokenizer: ``"word"`` (one id per vocabulary word), ``"bpe"`` (sub-word pieces learned from
            :meth:`corpus`, cached on disk, see :meth:`BPETokenizer.cached`), or the path of a Hugging Face
            ``tokenizers`` JSON file ending in ``.json`` (:meth:`BPETokenizer.from_file`), so that prompts,
            references and actions are that tokenizer's ids; it must spell every word of the task's vocabulary.
        bpe_vocab_size: ids of the BPE vocabulary, special tokens included (at most; training stops early when no
            pair is left to merge). Ignored by the word tokenizer.
    """

    metrics: tuple[str, ...]
    demonstrator = "reference"  # see the class docstring
    bpe_corpus_draws = 2_000  # prompts drawn (seed 0, train split kept) to train a BPE tokenizer

    def __init__(self, metric: str, tokenizer: str = "word", bpe_vocab_size: int = 128) -> None:
        self.metric_name = check_choice("metric", metric, self.metrics)
        is_file = isinstance(tokenizer, (str, os.PathLike)) and str(tokenizer).endswith(".json")
        if not is_file and tokenizer not in TOKENIZER_KINDS:
            raise ValueError(f"tokenizer must be one of {TOKENIZER_KINDS} or a .json file's path, got {tokenizer!r}")
        if isinstance(bpe_vocab_size, bool) or not isinstance(bpe_vocab_size, int) or bpe_vocab_size < 8:
            raise ValueError(f"bpe_vocab_size must be an integer >= 8, got {bpe_vocab_size!r}")
        if is_file:
            self.tokenizer = BPETokenizer.from_file(tokenizer)
            try:
                self.tokenizer.encode(" ".join(self.vocabulary()))
            except ValueError as error:
                raise ValueError(f"tokenizer file {str(tokenizer)!r} cannot spell the task's words: {error}") from None
        elif tokenizer == "word":
            self.tokenizer = WordTokenizer(self.vocabulary())
        else:
            # The word list joins the corpus so that every character of the vocabulary is in the BPE alphabet.
            self.tokenizer = BPETokenizer.cached([*self.corpus(), " ".join(self.vocabulary())], bpe_vocab_size)
        self._word_costs: dict[str, int] = {}
        prompt_len, answer_len = self.length_bounds(self.cost)
        self.max_prompt_len = prompt_len
        self.max_gen_len = answer_len + 1
        ids = sorted({i for word in self.answer_words() for i in self.tokenizer.encode(word)})
        self.answer_symbols = tuple(self.tokenizer.tokens[i] for i in ids)

    def vocabulary(self) -> Sequence[str]:
        """Every word of the task's prompts and answers, in a fixed order (the word tokenizer's ids)."""
        raise NotImplementedError

    def answer_words(self) -> Sequence[str]:
        """The words an answer may contain; their tokens and ``<eos>`` form the action mask."""
        raise NotImplementedError

    def length_bounds(self, cost: Cost) -> tuple[int, int]:
        """Upper bounds on ``cost`` (tokens) of any prompt and any reference answer of the task."""
        raise NotImplementedError

    def draw(self, rng: np.random.Generator) -> Draw:
        """One prompt with its references, from any split."""
        raise NotImplementedError

    def weak_answer(self, example: Example) -> str:
        """The answer the weak demonstrator types for ``example`` (``demonstrator="weak"``): fluent, within the
        task's length bounds, and scoring less than the references on average.

        Args:
            example: the example demonstrated.
        """
        raise NotImplementedError

    def oracle_actions(self, example: Example) -> list[int]:
        """The demonstrator's actions: the first reference (or, with ``demonstrator="weak"``, the weak answer), then
        ``<eos>``."""
        if self.demonstrator == "reference":
            return super().oracle_actions(example)
        return [*self.tokenizer.encode(self.weak_answer(example)), self.tokenizer.eos_id]

    def cost(self, text: str) -> int:
        """Tokens of ``text`` under the task's tokenizer (the sum over its words, which are encoded one by one)."""
        total = 0
        for word in text.split():
            if word not in self._word_costs:
                self._word_costs[word] = len(self.tokenizer.encode(word))
            total += self._word_costs[word]
        return total

    def corpus(self) -> list[str]:
        """Texts to learn a BPE tokenizer from: prompts and references of the train split, drawn with seed 0."""
        rng = np.random.default_rng(0)
        draws = (self.draw(rng) for _ in range(self.bpe_corpus_draws))
        return [text for d in draws if split_of(d.key) == "train" for text in (d.prompt, *d.references)]

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        check_no_length_knob(self, length_cap)
        drawn = draw_in_split(lambda: self.draw(rng), split, key=lambda d: d.key)
        return self.make_example(drawn.prompt, drawn.references, **drawn.meta)

    def words(self, generated_ids: Sequence[int]) -> list[str]:
        """The words of a generated answer; a special id shows as its name (``<pad>``, ...) and so never matches."""
        return self.tokenizer.decode(generated_ids, skip_special=False).split()

    def score(self, generated_ids: Sequence[int], example: Example) -> float:
        """The metric of the answer's words against the references' words."""
        return self.metric(self.words(generated_ids), [reference.split() for reference in example.references])

    def is_success(self, generated_ids: Sequence[int], example: Example) -> bool:
        """Success rule: the answer's words equal one reference's words."""
        return self.words(generated_ids) in [reference.split() for reference in example.references]


def check_no_length_knob(task: Task, length_cap: int | None) -> None:
    """Language tasks have no length knob for a curriculum: ``length_cap`` must be None."""
    if length_cap is not None:
        raise ValueError(f"task {task.name!r} has no length range; length_cap must be None, got {length_cap!r}")
