"""Examples: a prompt with its reference answers, one at a time (:class:`Example`) or many side by side in arrays
(:class:`ExampleBatch`), the form batched sampling writes and batched scoring and the environments read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import chain
from types import MappingProxyType
from typing import Any

import numpy as np

from textgym.tokenizers import Tokenizer


@dataclass(frozen=True)
class Example:
    """One prompt with its acceptable answers, as text and as token ids (no special tokens)."""

    prompt: str
    references: tuple[str, ...]
    prompt_ids: tuple[int, ...]
    reference_ids: tuple[tuple[int, ...], ...]
    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass
class ExampleBatch:
    """Examples side by side, one per row, with their texts and token ids in arrays: the form batched sampling
    writes and batched scoring and the vector environment read. Rows are replaced as episodes restart
    (:meth:`assign`, :meth:`put`).

    A batch drawn by a task's :meth:`Task.sample_batch` may hold only the id arrays, with a ``tokenizer``: the
    texts of its rows are then their ids decoded (:meth:`texts`), and the :class:`Example` object of a row is built
    when :attr:`examples` is first read. Holding no Python objects for examples drawn ahead keeps a large batch
    light on memory and caches.

    Attributes:
        prompts: object array ``(N,)`` of each row's prompt text (``None`` until assigned; not read when the batch
            has a ``tokenizer``).
        references: object array ``(N,)`` of each row's tuple of reference texts (likewise).
        prompt_ids: int64 ``(N, P)``: each prompt's ids, left-aligned, pad (0) after.
        prompt_lengths: int64 ``(N,)``.
        reference_ids: int64 ``(N, R, W)``: reference ``r`` of row ``i`` in ``[i, r]``, left-aligned, pad after, cut
            after ``W`` slots (an answer of at most ``W`` tokens never reads further); ``R`` grows to the most
            references any assigned example has.
        reference_lengths: int64 ``(N, R)``: full reference lengths; ``-1`` where the row has fewer references.
        built: object array ``(N,)`` of the :class:`Example` objects built so far, ``None`` for a row to be built
            from the arrays (which then hold its whole references) or not assigned.
        tokenizer: ``None``, or the tokenizer whose decoding of each row's ids gives its texts; its rows then all
            have a non-empty prompt (``prompt_lengths > 0`` marks the assigned ones).
    """

    prompts: np.ndarray
    references: np.ndarray
    prompt_ids: np.ndarray
    prompt_lengths: np.ndarray
    reference_ids: np.ndarray
    reference_lengths: np.ndarray
    built: np.ndarray
    tokenizer: Tokenizer | None = None

    @classmethod
    def empty(
        cls,
        size: int,
        prompt_width: int,
        reference_width: int,
        num_references: int = 1,
        tokenizer: Tokenizer | None = None,
    ) -> ExampleBatch:
        """``size`` unassigned rows for prompts of at most ``prompt_width`` ids and answers of ``reference_width``."""
        return cls(
            tokenizer=tokenizer,
            prompts=np.full(size, None, dtype=object),
            references=np.full(size, None, dtype=object),
            prompt_ids=np.zeros((size, prompt_width), dtype=np.int64),
            prompt_lengths=np.zeros(size, dtype=np.int64),
            reference_ids=np.zeros((size, num_references, reference_width), dtype=np.int64),
            reference_lengths=np.full((size, num_references), -1, dtype=np.int64),
            built=np.full(size, None, dtype=object),
        )

    @classmethod
    def from_examples(cls, examples: Sequence[Example], prompt_width: int, reference_width: int) -> ExampleBatch:
        """A batch holding ``examples`` in order."""
        batch = cls.empty(len(examples), prompt_width, reference_width)
        batch.assign(np.arange(len(examples)), examples)
        return batch

    def texts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The prompts and the tuples of references of ``rows`` (object arrays): stored, or decoded from the ids
        when the batch has a ``tokenizer``."""
        if self.tokenizer is None:
            return self.prompts[rows], self.references[rows]
        decode = self.tokenizer.decode_padded_batch
        prompts = decode(self.prompt_ids[rows])
        columns = [decode(self.reference_ids[rows, r]) for r in range(self.reference_ids.shape[1])]
        references: Iterable[tuple[str, ...]]
        if len(columns) == 1:  # one reference per row
            references = zip(columns[0])
        else:
            present = (self.reference_lengths[rows] >= 0).tolist()
            references = (tuple(t for t, kept in zip(row, keep) if kept) for row, keep in zip(zip(*columns), present))
        return prompts, np.fromiter(references, dtype=object, count=len(prompts))

    def _assigned(self) -> np.ndarray:
        """Bool ``(N,)``: the rows that hold an example."""
        return np.not_equal(self.prompts, np.array(None)) if self.tokenizer is None else self.prompt_lengths > 0

    @property
    def examples(self) -> np.ndarray:
        """Object array ``(N,)`` of each row's :class:`Example` (``None`` for a row never assigned)."""
        self._build(np.flatnonzero(np.equal(self.built, np.array(None)) & self._assigned()))
        return self.built

    def example(self, row: int) -> Example | None:
        """The :class:`Example` of ``row``, built from the arrays the first time it is asked for."""
        if self.built[row] is None and self._assigned()[row]:
            self._build(np.array([row]))
        return self.built[row]

    def _build(self, rows: np.ndarray) -> None:
        """Build the :class:`Example` objects of ``rows`` from the arrays."""
        prompts, references = self.texts(rows)
        columns = (prompts, references, self.prompt_ids[rows], self.prompt_lengths[rows])
        reference_columns = zip(self.reference_ids[rows].tolist(), self.reference_lengths[rows].tolist())
        built = [
            Example(prompt, texts, tuple(ids[:length]), _cut(*reference_column), _NO_META)
            for (prompt, texts, ids, length), reference_column in zip(
                zip(*(column.tolist() for column in columns)), reference_columns
            )
        ]
        self.built[rows] = np.fromiter(built, dtype=object, count=len(built))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays, in the order of the fields."""
        return tuple(getattr(self, name) for name in _ARRAY_FIELDS)

    def __len__(self) -> int:
        return len(self.prompts)

    def __getitem__(self, rows: np.ndarray | slice) -> ExampleBatch:
        """The batch of the selected rows (an index array, boolean mask or slice), as copies."""
        selected = {name: getattr(self, name)[rows] for name in _ARRAY_FIELDS}
        return ExampleBatch(**selected, tokenizer=self.tokenizer)

    def assign(self, rows: np.ndarray, examples: Sequence[Example]) -> None:
        """Put ``examples[k]`` in row ``rows[k]``; a prompt longer than the prompt width raises ``ValueError``."""
        rows = np.asarray(rows, dtype=np.intp)
        if len(rows) != len(examples):
            raise ValueError(f"{len(rows)} rows given for {len(examples)} examples")
        counts = np.fromiter((len(example.reference_ids) for example in examples), np.intp, len(examples))
        if counts.size and counts.max() > self.reference_ids.shape[1]:
            self._grow_references(int(counts.max()))

        prompts = [example.prompt_ids for example in examples]
        prompt_lengths = np.fromiter(map(len, prompts), np.int64, len(prompts))
        if prompt_lengths.size and prompt_lengths.max() > self.prompt_ids.shape[1]:
            longest = examples[int(prompt_lengths.argmax())]
            raise ValueError(
                f"prompt {longest.prompt!r} has {len(longest.prompt_ids)} tokens, "
                f"more than the {self.prompt_ids.shape[1]} prompt slots"
            )
        self.built[rows] = np.fromiter(examples, dtype=object, count=len(examples))
        self.prompts[rows] = np.fromiter((example.prompt for example in examples), dtype=object, count=len(examples))
        self.references[rows] = np.fromiter(
            (example.references for example in examples), dtype=object, count=len(examples)
        )
        self.prompt_ids[rows] = 0
        _write_left_aligned(self.prompt_ids, (rows,), prompts, prompt_lengths)
        self.prompt_lengths[rows] = prompt_lengths

        references = list(chain.from_iterable(example.reference_ids for example in examples))
        reference_lengths = np.fromiter(map(len, references), np.int64, len(references))
        places = (np.repeat(rows, counts), positions_in_groups(counts))
        self.reference_ids[rows] = 0
        self.reference_lengths[rows] = -1
        _write_left_aligned(self.reference_ids, places, references, reference_lengths)
        self.reference_lengths[places] = reference_lengths

    def put(self, rows: np.ndarray, other: ExampleBatch) -> None:
        """Copy ``other``'s row ``k`` into row ``rows[k]`` (prompt and reference widths must match). Both batches
        must keep their texts the same way (stored, or decoded with one tokenizer); a batch with no example yet
        takes ``other``'s way."""
        if other.tokenizer is not self.tokenizer:
            if self._assigned().any():
                raise ValueError(
                    f"cannot put rows whose texts are {_kept_as(other)} into a batch whose texts are {_kept_as(self)}"
                )
            self.tokenizer = other.tokenizer
        if other.reference_ids.shape[1] > self.reference_ids.shape[1]:
            self._grow_references(other.reference_ids.shape[1])
        count = other.reference_ids.shape[1]
        self.prompts[rows] = other.prompts
        self.references[rows] = other.references
        self.prompt_ids[rows] = other.prompt_ids
        self.prompt_lengths[rows] = other.prompt_lengths
        self.reference_ids[rows, :count] = other.reference_ids
        self.reference_ids[rows, count:] = 0
        self.reference_lengths[rows, :count] = other.reference_lengths
        self.reference_lengths[rows, count:] = -1
        self.built[rows] = other.built

    def _grow_references(self, num_references: int) -> None:
        size, current, width = self.reference_ids.shape
        extra = num_references - current
        self.reference_ids = np.concatenate([self.reference_ids, np.zeros((size, extra, width), np.int64)], axis=1)
        self.reference_lengths = np.concatenate([self.reference_lengths, np.full((size, extra), -1, np.int64)], axis=1)


def _kept_as(batch: ExampleBatch) -> str:
    return "stored" if batch.tokenizer is None else f"decoded with {batch.tokenizer!r}"


_ARRAY_FIELDS = tuple(item.name for item in fields(ExampleBatch) if item.name != "tokenizer")


_NO_META: Mapping[str, Any] = MappingProxyType({})
"""The meta of an example built from an :class:`ExampleBatch`'s arrays (the tasks that sample in batches have
none); read-only, so every such example can share it."""


def _cut(reference_ids: list[list[int]], lengths: list[int]) -> tuple[tuple[int, ...], ...]:
    """A row's references from its padded ids and lengths (``-1``: no reference)."""
    return tuple(tuple(ids[:length]) for ids, length in zip(reference_ids, lengths) if length >= 0)


def _write_left_aligned(
    target: np.ndarray, rows: tuple[np.ndarray, ...], sequences: Sequence[Sequence[int]], lengths: np.ndarray
) -> None:
    """Write ``sequences[k]`` (of length ``lengths[k]``) left-aligned into ``target[rows[0][k], rows[1][k], ...]``,
    cut at the last axis' width, in one assignment."""
    width = target.shape[-1]
    kept = np.minimum(lengths, width)
    ids = np.fromiter(chain.from_iterable(sequence[:width] for sequence in sequences), np.int64, int(kept.sum()))
    target[tuple(np.repeat(index, kept) for index in rows) + (positions_in_groups(kept),)] = ids


def positions_in_groups(sizes: np.ndarray) -> np.ndarray:
    """``[0, 1, .., sizes[0] - 1, 0, 1, .., sizes[1] - 1, ...]``: each element's position within its group."""
    starts = np.cumsum(sizes) - sizes
    return np.arange(int(sizes.sum())) - np.repeat(starts, sizes)
