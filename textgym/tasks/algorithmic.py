"""Algorithmic tasks: the token-generation heirs of the old Gym algorithmic environments.

Each task turns a random input string into a prompt and one correct answer. All use a character tokenizer,
score with token accuracy by default (partial credit per position, 1.0 only for the exact answer) and count an
exact answer as success. Prompts are split into train / validation / test by a stable hash of their text, so a
held-out prompt is never trained on.

========================  ===================  =====================================
task                      prompt               answer
========================  ===================  =====================================
Copy                      ``abca``             ``abca``
Reverse                   ``abca``             ``acba``
RepeatCopy                ``abc``              ``abccbaabc`` (x, reversed x, x)
DuplicatedInput           ``aabbcc``           ``abc``
Sort                      ``cabd``             ``abcd``
Addition                  ``37+5=``            ``42``
ReversedAddition          ``73+5=``            ``24`` (digits least significant first)
Dyck                      ``([(``              ``)])`` (shortest valid closing)
========================  ===================  =====================================
"""

from __future__ import annotations

import math

import numpy as np

from textgym.batched_metrics import BATCHED_METRICS, matches_reference
from textgym.examples import Example, ExampleBatch
from textgym.metrics import get_metric
from textgym.splits import MAX_TRIES, SPLIT_SHARES, check_split, no_prompt_in_split, split_of
from textgym.task import Task, check_int
from textgym.tokenizers import CharTokenizer

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
BRACKETS = ("()", "[]", "{}", "<>")
MAX_DIGITS = 18
"""The most digits an addition operand may have: ``10**18`` is the largest power of ten an int64 draw can reach."""

Candidates = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Drawn prompts and answers as token ids, one per row, left-aligned with pad (0) after: ``(prompts,
prompt_lengths, answers, answer_lengths)``."""


class AlgorithmicTask(Task):
    """Shared options, sampling and scoring of the algorithmic tasks.

    Args:
        min_length: shortest input, in symbols (digits per operand for the addition tasks).
        max_length: longest input.
        metric: ``"token_accuracy"`` (default), ``"exact_match"`` or ``"edit_similarity"``.

    Subclasses set ``name``, ``tokenizer``, ``answer_symbols``, the prompt / answer lengths of the longest input
    (:meth:`prompt_len`, :meth:`answer_len`) and draw candidate examples in bulk with :meth:`draw_candidates`.
    :meth:`sample_batch` keeps the candidates of the asked split, in order, until it has enough: a block of
    examples is a few numpy calls, whatever its size. Scoring is in numpy too (:meth:`score_batch`,
    :meth:`is_success_batch`, :meth:`progress_batch`), exactly as :meth:`~textgym.task.Task.score` and
    :meth:`~textgym.task.Task.is_success` score one answer; so a subclass that overrides ``score``,
    ``is_success`` or ``progress`` must override its ``_batch`` twin too (``TypeError`` otherwise).
    """

    reward_threshold = 0.95
    length_range: tuple[int, int]
    block_size = 64
    _overridden_together = ("action_mask", "score", "is_success", "progress")

    def __init__(self, min_length: int, max_length: int, metric: str = "token_accuracy") -> None:
        min_length = check_int("min_length", min_length, 1)
        max_length = check_int("max_length", max_length, 1)
        if max_length < min_length:
            raise ValueError(f"max_length must be >= min_length ({min_length}), got {max_length}")
        get_metric(metric)
        self.metric_name = metric
        self.length_range = (min_length, max_length)
        self.max_prompt_len = self.prompt_len(max_length)
        self.max_gen_len = self.answer_len(max_length) + 1

    def prompt_len(self, length: int) -> int:
        """Tokens in the longest prompt of an input of ``length``."""
        return length

    def answer_len(self, length: int) -> int:
        """Tokens in the longest answer of an input of ``length``."""
        return length

    def input_lengths(self, length_cap: int | None) -> tuple[int, int]:
        """The input lengths of the next draws: :attr:`length_range`, its top lowered to a curriculum's
        ``length_cap``."""
        low, high = self.length_range
        if length_cap is not None:
            high = check_int("length_cap", length_cap, low, high)
        return low, high

    def draw_candidates(self, rng: np.random.Generator, low: int, high: int, count: int) -> Candidates:
        """``count`` examples of any split, drawn with ``rng`` for input lengths in ``[low, high]``."""
        raise NotImplementedError

    def sample_batch(
        self, rng: np.random.Generator, split: str = "train", count: int = 1, length_cap: int | None = None
    ) -> ExampleBatch:
        """``count`` examples of ``split``: the candidates of :meth:`draw_candidates` whose prompt falls in the
        split (:func:`~textgym.splits.split_of` of its text), in order; each round draws enough candidates that one
        round usually suffices."""
        low, high = self.input_lengths(length_cap)
        per_round = math.ceil(count / SPLIT_SHARES[check_split(split)]) + 2
        parts: list[Candidates] = []
        found = tries = 0
        while found < count:
            if tries >= MAX_TRIES:
                raise no_prompt_in_split(split, MAX_TRIES)
            prompts, prompt_lengths, answers, answer_lengths = self.draw_candidates(rng, low, high, per_round)
            texts = self.tokenizer.decode_padded_batch(prompts).tolist()
            kept = np.flatnonzero([split_of(text) == split for text in texts])[: count - found]
            parts.append((prompts[kept], prompt_lengths[kept], answers[kept], answer_lengths[kept]))
            found, tries = found + len(kept), tries + per_round
        prompts, prompt_lengths, answers, answer_lengths = (np.concatenate(arrays) for arrays in zip(*parts))
        batch = ExampleBatch.empty(count, self.max_prompt_len, self.max_gen_len, tokenizer=self.tokenizer)
        batch.prompt_ids[:, : prompts.shape[1]] = prompts
        batch.prompt_lengths[:] = prompt_lengths
        batch.reference_ids[:, 0, : answers.shape[1]] = answers
        batch.reference_lengths[:, 0] = answer_lengths
        return batch  # its texts are its ids decoded, when they are read

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        """One example of ``split``: the first of a :meth:`sample_batch` of one."""
        example = self.sample_batch(rng, split, 1, length_cap).example(0)
        assert example is not None
        return example

    def score_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        batched = BATCHED_METRICS.get(self.metric_name)
        if batched is None:  # a metric without a numpy version (edit similarity): one call per answer
            return super().score_batch(generated, lengths, examples)
        return batched(generated, lengths, examples.reference_ids, examples.reference_lengths)

    def is_success_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        return matches_reference(generated, lengths, examples.reference_ids, examples.reference_lengths)

    def progress_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        return self.score_batch(generated, lengths, examples)


class SymbolTask(AlgorithmicTask):
    """A task over a random string of the first ``num_symbols`` letters: its length uniform in the length range,
    each symbol uniform and independent.

    Args:
        min_length: shortest input string.
        max_length: longest input string.
        num_symbols: alphabet size, 2 to 26 (``a``, ``b``, ...).
        metric: see :class:`AlgorithmicTask`.

    Subclasses map the input strings (token ids) to prompts (:meth:`prompts_of`, the input itself by default) and
    answers (:meth:`answers_of`).
    """

    def __init__(
        self, min_length: int = 1, max_length: int = 5, num_symbols: int = 5, metric: str = "token_accuracy"
    ) -> None:
        self.alphabet = LETTERS[: check_int("num_symbols", num_symbols, 2, len(LETTERS))]
        self.tokenizer = CharTokenizer(self.alphabet)
        self.answer_symbols = self.alphabet
        super().__init__(min_length, max_length, metric)

    def prompts_of(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The prompts of many inputs: ``x`` holds token ids (pad 0 after), row ``k`` of length ``lengths[k]``;
        returns the prompts the same way, with their lengths."""
        return x, lengths

    def answers_of(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The answers of many inputs, laid out as in :meth:`prompts_of`."""
        raise NotImplementedError

    def draw_candidates(self, rng: np.random.Generator, low: int, high: int, count: int) -> Candidates:
        lengths = rng.integers(low, high + 1, size=count)
        symbols = rng.integers(0, len(self.alphabet), size=(count, high)) + self.tokenizer.num_special
        x = np.where(np.arange(high) < lengths[:, None], symbols, 0)
        return *self.prompts_of(x, lengths), *self.answers_of(x, lengths)


class Copy(SymbolTask):
    """Copy the input: ``abca`` -> ``abca``."""

    name = "Copy"

    def answers_of(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x, lengths


class Reverse(SymbolTask):
    """Reverse the input: ``abca`` -> ``acba``."""

    name = "Reverse"

    def answers_of(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _reversed(x, lengths), lengths


class RepeatCopy(SymbolTask):
    """The input, then its reverse, then the input again: ``abc`` -> ``abccbaabc``."""

    name = "RepeatCopy"

    def answer_len(self, length: int) -> int:
        return 3 * length

    def answers_of(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _concatenated([(x, lengths), (_reversed(x, lengths), lengths), (x, lengths)])


class DuplicatedInput(SymbolTask):
    """Every input symbol appears twice; answer each once: ``aabbcc`` -> ``abc``. Lengths count answer symbols."""

    name = "DuplicatedInput"

    def prompt_len(self, length: int) -> int:
        return 2 * length

    def prompts_of(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.repeat(x, 2, axis=1), 2 * lengths

    def answers_of(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x, lengths


class Sort(SymbolTask):
    """Sort the input's symbols alphabetically: ``cabd`` -> ``abcd``."""

    name = "Sort"

    def answers_of(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ordered = np.sort(np.where(x == 0, self.tokenizer.vocab_size, x), axis=1)  # pads sort last
        return np.where(ordered == self.tokenizer.vocab_size, 0, ordered), lengths


class Addition(AlgorithmicTask):
    """Add two non-negative integers: ``37+5=`` -> ``42``.

    The operands are drawn independently and uniformly among the numbers with ``min_length`` to ``max_length``
    digits (``0 .. 99`` for the defaults), as "two-digit addition" is usually meant: every sum of the range is
    equally likely, so a held-out split weighs all its prompts alike (drawing the digit count first would give
    the ten one-digit numbers half of all operands). A curriculum's ``max_length`` caps the digits.

    Args:
        min_length: fewest digits per operand.
        max_length: most digits per operand, at most :data:`MAX_DIGITS` (18): the operands are drawn as int64
            numbers below ``10**max_length``, and ``10**19`` is past int64's largest value (about ``9.2e18``).
        metric: see :class:`AlgorithmicTask`.
    """

    name = "Addition"
    reverse_digits = False

    def __init__(self, min_length: int = 1, max_length: int = 2, metric: str = "token_accuracy") -> None:
        if check_int("max_length", max_length, 1) > MAX_DIGITS:
            raise ValueError(
                f"max_length must be <= {MAX_DIGITS} for {self.name} (operands are drawn as int64 numbers below "
                f"10**max_length), got {max_length}"
            )
        self.tokenizer = CharTokenizer(DIGITS + "+=")
        self.answer_symbols = DIGITS
        super().__init__(min_length, max_length, metric)

    def prompt_len(self, length: int) -> int:
        return 2 * length + 2

    def answer_len(self, length: int) -> int:
        return length + 1

    @property
    def smallest_operand(self) -> int:
        return 0 if self.length_range[0] == 1 else 10 ** (self.length_range[0] - 1)

    def draw_candidates(self, rng: np.random.Generator, low: int, high: int, count: int) -> Candidates:
        a, b = rng.integers(self.smallest_operand, 10**high, size=(2, count))
        one = np.ones_like(a)
        plus, equals = (np.full((count, 1), self.tokenizer.token_id(sign)) for sign in "+=")
        prompts = _concatenated([self._digits(a, high), (plus, one), self._digits(b, high), (equals, one)])
        return *prompts, *self._digits(a + b, high + 1)

    def _digits(self, numbers: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        """The decimal digits of ``numbers`` (below ``10**width``) as token ids, as the prompt writes them."""
        counts = 1 + (numbers[:, None] >= 10 ** np.arange(1, width)).sum(axis=1)
        place = np.arange(width)  # digit k counted from the least significant one
        if not self.reverse_digits:
            place = counts[:, None] - 1 - place
        digits = numbers[:, None] // 10 ** np.maximum(place, 0) % 10
        digit_ids = digits + self.tokenizer.token_id("0")
        return np.where(np.arange(width) < counts[:, None], digit_ids, 0), counts


class ReversedAddition(Addition):
    """Addition with every number written least significant digit first: ``73+5=`` -> ``24`` (37 + 5 = 42)."""

    name = "ReversedAddition"
    reverse_digits = True


class Dyck(AlgorithmicTask):
    """Close a prefix of balanced brackets with the shortest valid closing: ``([(`` -> ``)])``.

    The prefix is a random walk that opens a bracket (kind drawn uniformly) or closes the innermost open one, each
    with probability 1/2, and always leaves at least one bracket open.

    Args:
        min_length: shortest prefix.
        max_length: longest prefix.
        num_kinds: kinds of brackets, 2 to 4 (``()``, ``[]``, ``{}``, ``<>``).
        metric: see :class:`AlgorithmicTask`.
    """

    name = "Dyck"

    def __init__(
        self, min_length: int = 2, max_length: int = 8, num_kinds: int = 2, metric: str = "token_accuracy"
    ) -> None:
        self.pairs = BRACKETS[: check_int("num_kinds", num_kinds, 2, len(BRACKETS))]
        self.tokenizer = CharTokenizer("".join(self.pairs))
        self.answer_symbols = "".join(pair[1] for pair in self.pairs)
        super().__init__(min_length, max_length, metric)

    def draw_candidates(self, rng: np.random.Generator, low: int, high: int, count: int) -> Candidates:
        lengths = rng.integers(low, high + 1, size=count)
        closes = rng.random((count, high)) < 0.5
        kinds = rng.integers(0, len(self.pairs), size=(count, high))
        opening_ids, closing_ids = (
            np.array([self.tokenizer.token_id(pair[side]) for pair in self.pairs]) for side in (0, 1)
        )
        rows = np.arange(count)
        prefix = np.zeros((count, high), dtype=np.int64)
        stack = np.zeros((count, high), dtype=np.int64)  # the closing brackets still owed, innermost last
        depth = np.zeros(count, dtype=np.int64)
        for position in range(high):  # the walk, one position at a time, for every candidate at once
            active = position < lengths
            closing_empties_stack = (depth == 1) & (position == lengths - 1)
            close = active & (depth > 0) & ~closing_empties_stack & closes[:, position]
            opening = active & ~close
            prefix[close, position] = stack[close, depth[close] - 1]
            depth[close] -= 1
            prefix[opening, position] = opening_ids[kinds[opening, position]]
            stack[rows[opening], depth[opening]] = closing_ids[kinds[opening, position]]
            depth[opening] += 1
        return prefix, lengths, _reversed(stack, depth), depth


def _reversed(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each row's first ``lengths[k]`` ids in reverse order (pad 0 after)."""
    source = lengths[:, None] - 1 - np.arange(x.shape[1])
    return np.where(source >= 0, np.take_along_axis(x, np.maximum(source, 0), axis=1), 0)


def _concatenated(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise concatenation of padded id arrays: ``parts`` are ``(ids, lengths)`` pairs."""
    lengths = np.sum([part_lengths for _, part_lengths in parts], axis=0)
    joined = np.zeros((len(lengths), sum(symbols.shape[1] for symbols, _ in parts)), dtype=np.int64)
    offset = np.zeros(len(lengths), dtype=np.int64)
    for symbols, part_lengths in parts:
        rows, columns = np.nonzero(np.arange(symbols.shape[1]) < part_lengths[:, None])
        joined[rows, offset[rows] + columns] = symbols[rows, columns]
        offset = offset + part_lengths
    return joined, lengths
