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
from typing import NamedTuple

import numpy as np

from textgym.metrics import get_metric
from textgym.random_streams import GeneratorStreams, StreamGenerator, lemire
from textgym.task import (
    MAX_TRIES,
    SPLIT_SHARES,
    SPLITS,
    Example,
    ExampleBatch,
    Task,
    check_int,
    check_split,
    draw_in_split,
    no_prompt_in_split,
    split_of_batch,
)
from textgym.tokenizers import CharTokenizer

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
BRACKETS = ("()", "[]", "{}", "<>")
MAX_DIGITS = 18
"""The most digits an addition operand may have: ``10**18`` is the largest power of ten an int64 draw can reach."""


class Draws(NamedTuple):
    """``A`` consecutive draws of each of ``M`` rows, made from a window of the rows' random values by
    :meth:`AlgorithmicTask.draw_batch`. Texts are arrays of token ids, left-aligned with pad (0) after, one row
    per draw (draw ``a`` of row ``m`` in row ``m * A + a``)."""

    prompts: np.ndarray
    """int64 ``(M * A, P')``: each draw's prompt."""
    prompt_lengths: np.ndarray
    """int64 ``(M * A,)``."""
    answers: np.ndarray
    """int64 ``(M * A, G')``: each draw's answer."""
    answer_lengths: np.ndarray
    """int64 ``(M * A,)``."""
    ends: np.ndarray
    """int64 ``(M, A)``: the values a row has consumed once its draw ``a`` is made."""
    exact: np.ndarray
    """bool ``(M,)``: whether numpy would make these draws from the values too: False when a value of the row's
    window is one that numpy's ``integers`` rejects and draws again (a chance below ``A * n / 2**32``); the row's
    next example is then replayed one value at a time."""


class AlgorithmicTask(Task):
    """Shared options and sampling of the algorithmic tasks.

    Args:
        min_length: shortest input, in symbols (digits per operand for the addition tasks).
        max_length: longest input.
        metric: ``"token_accuracy"`` (default), ``"exact_match"`` or ``"edit_similarity"``.

    Subclasses define :meth:`draw_prompt_and_answer` and set ``name``, ``tokenizer``, ``answer_symbols``, and the
    prompt / answer lengths of the longest input through :meth:`prompt_len` and :meth:`answer_len`. A subclass whose
    draws are all ``rng.integers`` with small ranges may also define :meth:`values_per_draw` and
    :meth:`draw_batch`, their array version: :meth:`sample_batch` then draws the examples of many generators with
    array operations, exactly as :meth:`sample` draws them one by one.
    """

    reward_threshold = 0.95

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

    def draw_prompt_and_answer(self, rng: np.random.Generator, length: int) -> tuple[str, str]:
        raise NotImplementedError

    def draw_length(self, rng: np.random.Generator, low: int, high: int) -> int:
        """The input length of the next example: uniform in ``[low, high]``."""
        return int(rng.integers(low, high + 1))

    def length_bounds(self, max_length: int | None) -> tuple[int, int]:
        """The length range of the next draws: :attr:`length_range`, its top capped by a curriculum's
        ``max_length``."""
        low, high = self.length_range
        if max_length is not None:
            high = check_int("max_length", max_length, low, high)
        return low, high

    def sample(self, rng: np.random.Generator, split: str = "train", max_length: int | None = None) -> Example:
        low, high = self.length_bounds(max_length)

        def draw() -> tuple[str, str]:
            return self.draw_prompt_and_answer(rng, self.draw_length(rng, low, high))

        # The split is decided by the prompt's text, so only the accepted draw is encoded into an Example.
        prompt, answer = draw_in_split(draw, split, key=lambda drawn: drawn[0])
        return self.make_example(prompt, (answer,))

    def values_per_draw(self, low: int, high: int) -> int | None:
        """The most 32-bit random values one draw of :meth:`draw_batch` reads for lengths in ``[low, high]``;
        ``None`` when the task has no array version (then :meth:`sample_batch` calls :meth:`sample`). The answer
        must not depend on ``high`` being lowered by a curriculum: once a generator's values are buffered for
        batched draws, it cannot be handed back to one-by-one draws."""
        return None

    def draw_batch(self, values: np.ndarray, low: int, high: int, attempts: int) -> Draws:
        """``attempts`` consecutive draws per row from ``values`` (``(M, attempts * values_per_draw)`` uint32, each
        row's upcoming random values), as :meth:`draw_prompt_and_answer` would make them with
        ``draw_length``'s lengths."""
        raise NotImplementedError

    def sample_batch(
        self,
        streams: GeneratorStreams,
        rows: np.ndarray,
        split: str = "train",
        max_length: int | None = None,
        count: int = 1,
    ) -> tuple[ExampleBatch, np.ndarray]:
        low, high = self.length_bounds(max_length)
        per_draw = self.values_per_draw(low, high)
        if per_draw is None:
            return super().sample_batch(streams, rows, split, max_length, count)
        # Enough draws that most rows find `count` prompts of the split; a row that finds fewer returns fewer.
        split_index, attempts = SPLITS.index(check_split(split)), math.ceil(count / SPLIT_SHARES[split]) + 2
        parts: list[tuple[np.ndarray, ExampleBatch]] = []  # (position in rows of each example, examples)
        pending, tries = np.arange(len(rows)), 0
        while pending.size:
            if tries >= MAX_TRIES:
                raise no_prompt_in_split(split, MAX_TRIES)
            draws = self.draw_batch(streams.window(rows[pending], attempts * per_draw), low, high, attempts)
            code_points = self.tokenizer.code_points[draws.prompts]
            in_split = split_of_batch(code_points, draws.prompt_lengths) == split_index
            accepted = in_split.reshape(len(pending), attempts) & draws.exact[:, None]
            kept = accepted & (np.cumsum(accepted, axis=1) <= count)  # each row's first `count` accepted draws
            got = kept.sum(axis=1)
            # A row stops after its last kept draw, or after all draws when it keeps none.
            last = np.where(got > 0, attempts - 1 - kept[:, ::-1].argmax(axis=1), attempts - 1)
            moving = draws.exact
            streams.advance(rows[pending[moving]], draws.ends[moving, last[moving]])
            owners, chosen = np.nonzero(kept)
            if owners.size:
                parts.append((pending[owners], self._batch_of(draws, owners * attempts + chosen)))
            # A value that numpy would reject and draw again: replay that row's next example one value at a time.
            for k in np.flatnonzero(~moving).tolist():
                example = self.sample(StreamGenerator(streams, int(rows[pending[k]])), split, max_length)
                replayed = ExampleBatch.from_examples([example], *self._widths)
                replayed.tokenizer = self.tokenizer  # its texts are its ids decoded, as in the other parts
                parts.append((pending[k : k + 1], replayed))
            pending, tries = pending[(got == 0) & moving], tries + attempts
        positions = np.concatenate([positions for positions, _ in parts])
        batch = parts[0][1] if len(parts) == 1 else ExampleBatch.concatenate([part for _, part in parts])
        if len(parts) > 1:  # group by row, keeping each row's order
            batch = batch[np.argsort(positions, kind="stable")]
        return batch, np.bincount(positions, minlength=len(rows))

    @property
    def _widths(self) -> tuple[int, int]:
        return self.max_prompt_len, self.max_gen_len

    def _batch_of(self, draws: Draws, chosen: np.ndarray) -> ExampleBatch:
        """The examples of the draws in rows ``chosen`` of ``draws``, as token ids."""
        prompts, answers = draws.prompts[chosen], draws.answers[chosen]
        prompt_ids = np.zeros((len(chosen), self.max_prompt_len), dtype=np.int64)
        prompt_ids[:, : prompts.shape[1]] = prompts
        answer_ids = np.zeros((len(chosen), 1, self.max_gen_len), dtype=np.int64)
        answer_ids[:, 0, : answers.shape[1]] = answers
        return ExampleBatch(  # texts: the ids decoded, when they are read
            prompts=np.empty(len(chosen), dtype=object),
            references=np.empty(len(chosen), dtype=object),
            prompt_ids=prompt_ids,
            prompt_lengths=draws.prompt_lengths[chosen],
            reference_ids=answer_ids,
            reference_lengths=draws.answer_lengths[chosen, None],
            built=np.empty(len(chosen), dtype=object),
            tokenizer=self.tokenizer,
        )


class SymbolTask(AlgorithmicTask):
    """A task over a random string of the first ``num_symbols`` letters.

    Args:
        min_length: shortest input string.
        max_length: longest input string.
        num_symbols: alphabet size, 2 to 26 (``a``, ``b``, ...).
        metric: see :class:`AlgorithmicTask`.
    """

    def __init__(
        self, min_length: int = 1, max_length: int = 5, num_symbols: int = 5, metric: str = "token_accuracy"
    ) -> None:
        self.alphabet = LETTERS[: check_int("num_symbols", num_symbols, 2, len(LETTERS))]
        self.tokenizer = CharTokenizer(self.alphabet)
        self.answer_symbols = self.alphabet
        super().__init__(min_length, max_length, metric)

    def draw_prompt_and_answer(self, rng: np.random.Generator, length: int) -> tuple[str, str]:
        alphabet = self.alphabet
        x = "".join([alphabet[i] for i in rng.integers(0, len(alphabet), size=length).tolist()])
        return self.prompt_of(x), self.answer_of(x)

    def prompt_of(self, x: str) -> str:
        return x

    def answer_of(self, x: str) -> str:
        raise NotImplementedError

    def prompt_batch(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`prompt_of` for many inputs: ``x`` holds token ids (pad 0 after), row ``k`` of length
        ``lengths[k]``; returns the prompts the same way, with their lengths."""
        return x, lengths

    def answer_batch(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`answer_of` for many inputs, laid out as in :meth:`prompt_batch`."""
        raise NotImplementedError

    def values_per_draw(self, low: int, high: int) -> int:
        return (high > low) + high  # the length (when it varies), then one value per symbol

    def draw_batch(self, values: np.ndarray, low: int, high: int, attempts: int) -> Draws:
        rows, varies = np.arange(len(values)), int(high > low)
        # Every value read both ways, as a length and as a symbol (a range of one length draws nothing: 0 here).
        # A draw that starts at value p has the length of p, when lengths vary, then its symbols.
        length_draws, length_rejected = lemire(values, high - low + 1)
        symbol_draws, symbol_rejected = lemire(values, len(self.alphabet))
        next_start = np.arange(values.shape[1]) + varies + low + length_draws  # where the draw after it starts
        starts = np.zeros((len(values), attempts), dtype=np.int64)
        for attempt in range(1, attempts):  # the walk from draw to draw
            starts[:, attempt] = next_start[rows, starts[:, attempt - 1]]
        lengths = low + length_draws[rows[:, None], starts]
        positions = starts[:, :, None] + varies + np.arange(high) + values.shape[1] * rows[:, None, None]
        symbols = symbol_draws.ravel()[positions]  # flat indices: faster than a gather over two axes
        x = (symbols + self.tokenizer.num_special) * (np.arange(high) < lengths[:, :, None])  # pad 0 after
        ends = starts + varies + lengths
        exact = ~(length_rejected | symbol_rejected).any(axis=1)  # conservatively, over the whole window
        x, lengths = x.reshape(-1, high), lengths.reshape(-1)
        return Draws(*self.prompt_batch(x, lengths), *self.answer_batch(x, lengths), ends, exact)


class Copy(SymbolTask):
    """Copy the input: ``abca`` -> ``abca``."""

    name = "Copy"

    def answer_of(self, x: str) -> str:
        return x

    def answer_batch(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x, lengths


class Reverse(SymbolTask):
    """Reverse the input: ``abca`` -> ``acba``."""

    name = "Reverse"

    def answer_of(self, x: str) -> str:
        return x[::-1]

    def answer_batch(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _reversed(x, lengths), lengths


class RepeatCopy(SymbolTask):
    """The input, then its reverse, then the input again: ``abc`` -> ``abccbaabc``."""

    name = "RepeatCopy"

    def answer_len(self, length: int) -> int:
        return 3 * length

    def answer_of(self, x: str) -> str:
        return x + x[::-1] + x

    def answer_batch(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _concatenated([(x, lengths), (_reversed(x, lengths), lengths), (x, lengths)])


class DuplicatedInput(SymbolTask):
    """Every input symbol appears twice; answer each once: ``aabbcc`` -> ``abc``. Lengths count answer symbols."""

    name = "DuplicatedInput"

    def prompt_len(self, length: int) -> int:
        return 2 * length

    def prompt_of(self, x: str) -> str:
        return "".join(symbol * 2 for symbol in x)

    def answer_of(self, x: str) -> str:
        return x

    def prompt_batch(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.repeat(x, 2, axis=1), 2 * lengths

    def answer_batch(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x, lengths


class Sort(SymbolTask):
    """Sort the input's symbols alphabetically: ``cabd`` -> ``abcd``."""

    name = "Sort"

    def answer_of(self, x: str) -> str:
        return "".join(sorted(x))

    def answer_batch(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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

    def draw_length(self, rng: np.random.Generator, low: int, high: int) -> int:
        """The most digits an operand may have: always ``high`` (the operands' own draw covers shorter ones)."""
        return high

    def draw_prompt_and_answer(self, rng: np.random.Generator, length: int) -> tuple[str, str]:
        a, b = rng.integers(self.smallest_operand, 10**length, size=2).tolist()
        digits = (lambda n: str(n)[::-1]) if self.reverse_digits else str
        return f"{digits(a)}+{digits(b)}=", digits(a + b)

    @property
    def smallest_operand(self) -> int:
        return 0 if self.length_range[0] == 1 else 10 ** (self.length_range[0] - 1)

    def values_per_draw(self, low: int, high: int) -> int | None:
        largest = 10 ** self.length_range[1] - self.smallest_operand  # whatever a curriculum's cap
        return 2 if largest < 2**32 else None  # two operands of up to 9 digits

    def draw_batch(self, values: np.ndarray, low: int, high: int, attempts: int) -> Draws:
        operands, rejected = lemire(values.reshape(len(values), attempts, 2), 10**high - self.smallest_operand)
        a, b = (operands + self.smallest_operand).reshape(-1, 2).T
        one = np.ones_like(a)
        plus, equals = (np.full((len(a), 1), self.tokenizer.token_id(sign)) for sign in "+=")
        prompts, prompt_lengths = _concatenated(
            [self._digits(a, high), (plus, one), self._digits(b, high), (equals, one)]
        )
        ends = np.broadcast_to(2 * np.arange(1, attempts + 1), (len(values), attempts))
        exact = ~rejected.any(axis=(1, 2))
        return Draws(prompts, prompt_lengths, *self._digits(a + b, high + 1), ends, exact)

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
        self.answer_symbols = "".join(close for _, close in self.pairs)
        super().__init__(min_length, max_length, metric)

    def draw_prompt_and_answer(self, rng: np.random.Generator, length: int) -> tuple[str, str]:
        prefix, stack = [], []
        for position in range(length):
            closing_empties_stack = len(stack) == 1 and position == length - 1
            if stack and not closing_empties_stack and rng.random() < 0.5:
                prefix.append(stack.pop())
            else:
                opening, closing = self.pairs[int(rng.integers(len(self.pairs)))]
                prefix.append(opening)
                stack.append(closing)
        return "".join(prefix), "".join(reversed(stack))


def _reversed(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each row's first ``lengths[k]`` ids in reverse order (pad 0 after)."""
    source = lengths[:, None] - 1 - np.arange(x.shape[1])
    return np.where(source >= 0, np.take_along_axis(x, np.maximum(source, 0), axis=1), 0)


def _concatenated(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise concatenation of padded id arrays: ``parts`` are ``(ids, lengths)`` pairs."""
    lengths = sum(part_lengths for _, part_lengths in parts)
    joined = np.zeros((len(lengths), sum(symbols.shape[1] for symbols, _ in parts)), dtype=np.int64)
    offset = np.zeros(len(lengths), dtype=np.int64)
    for symbols, part_lengths in parts:
        rows, columns = np.nonzero(np.arange(symbols.shape[1]) < part_lengths[:, None])
        joined[rows, offset[rows] + columns] = symbols[rows, columns]
        offset = offset + part_lengths
    return joined, lengths
