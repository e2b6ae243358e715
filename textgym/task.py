"""The Task: what to generate and how it is scored. Pure Python and numpy; environments are built on top.

A task draws :class:`Example` s (a prompt and its reference answers) from a seeded random generator for a split,
knows its tokenizer and length limits, scores a generated token sequence against an example, decides success,
and says which tokens are valid next (for action masks); the batched versions of the last three work on an
:class:`ExampleBatch` for vector environments. A task with turns (a dialogue) also answers the agent's turns as a
simulated user (:meth:`Task.reply`).
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import chain
from types import MappingProxyType
from typing import Any

import numpy as np

from textgym.batched_metrics import BATCHED_METRICS, SCORES_OF_COMPARISON, compare, matches, matches_reference
from textgym.conversation import Reply
from textgym.metrics import Metric, get_metric
from textgym.random_streams import GeneratorStreams
from textgym.tokenizers import Tokenizer

SPLITS: tuple[str, ...] = ("train", "validation", "test")


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

    @classmethod
    def concatenate(cls, batches: Sequence[ExampleBatch]) -> ExampleBatch:
        """The rows of ``batches`` one after the other (prompt and reference widths must match)."""
        num_references = max(batch.reference_ids.shape[1] for batch in batches)
        for batch in batches:
            if batch.reference_ids.shape[1] < num_references:
                batch._grow_references(num_references)
        arrays = (np.concatenate(columns) for columns in zip(*(batch.arrays() for batch in batches)))
        return cls(*arrays, tokenizer=next((batch.tokenizer for batch in batches if batch.tokenizer), None))

    def texts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The prompts and the tuples of references of ``rows`` (object arrays): stored, or decoded from the ids
        when the batch has a ``tokenizer``."""
        if self.tokenizer is None:
            return self.prompts[rows], self.references[rows]
        decode = self.tokenizer.decode_padded_batch
        prompts = decode(self.prompt_ids[rows])
        columns = [decode(self.reference_ids[rows, r]) for r in range(self.reference_ids.shape[1])]
        if len(columns) == 1:  # one reference per row
            references = zip(columns[0])
        else:
            present = (self.reference_lengths[rows] >= 0).tolist()
            references = (tuple(t for t, kept in zip(row, keep) if kept) for row, keep in zip(zip(*columns), present))
        return prompts, np.fromiter(references, dtype=object, count=len(prompts))

    def _assigned(self) -> np.ndarray:
        """Bool ``(N,)``: the rows that hold an example."""
        return np.not_equal(self.prompts, None) if self.tokenizer is None else self.prompt_lengths > 0

    @property
    def examples(self) -> np.ndarray:
        """Object array ``(N,)`` of each row's :class:`Example` (``None`` for a row never assigned)."""
        self._build(np.flatnonzero(np.equal(self.built, None) & self._assigned()))
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
        """The batch of the selected rows (an index array, boolean mask or slice); each array is gathered when it is
        first read, so a reader pays only for what it reads."""
        return _SelectedRows(self, rows)

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
        slots = (np.repeat(rows, counts), positions_in_groups(counts))
        self.reference_ids[rows] = 0
        self.reference_lengths[rows] = -1
        _write_left_aligned(self.reference_ids, slots, references, reference_lengths)
        self.reference_lengths[slots] = reference_lengths

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


class _SelectedRows(ExampleBatch):
    """Rows of an :class:`ExampleBatch`, each array gathered from it when first read."""

    def __init__(self, source: ExampleBatch, rows: np.ndarray | slice) -> None:  # the fields stay unset until read
        self._source, self._rows = source, rows

    @property
    def tokenizer(self) -> Tokenizer | None:  # type: ignore[override]
        return self._source.tokenizer

    def __getattr__(self, name: str) -> Any:  # called only for attributes not set yet
        if name not in _ARRAY_FIELDS:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = getattr(self._source, name)[self._rows]
        setattr(self, name, value)
        return value


_ARRAY_FIELDS = tuple(item.name for item in fields(ExampleBatch) if item.name != "tokenizer")


class Task:
    """Base class of every task.

    Subclasses set the attributes below in ``__init__`` and implement :meth:`sample`; the defaults of the other
    methods score with ``metric`` over token ids, count exact matches as success and allow the answer symbols
    plus ``<eos>`` as next tokens.

    The methods that read an episode take ``generated_ids``: the episode's conversation slots so far
    (:mod:`textgym.conversation`), without the ``<eos>`` that may have ended it. For a single-turn task that is the
    answer. A task with turns sets ``max_turn_len`` and implements :meth:`reply`; its ``generated_ids`` hold the
    agent's turns and the user's replies, each closed by ``<eot>``.

    The batched methods (:meth:`score_batch`, :meth:`is_success_batch`, :meth:`action_mask_batch`) serve vector
    environments. Each gives exactly what its single-answer method gives for every row: a task that keeps the
    default single-answer method gets a numpy version (for ``score``, when its metric is in
    :data:`~textgym.batched_metrics.BATCHED_METRICS`), and a task that overrides it gets a loop over its override.
    So a new task only writes the single-answer methods; it may override a batched one for speed.

    Attributes:
        name: the task's name, as in its registered ID.
        tokenizer: maps text to ids; its vocabulary is fixed by the task's options.
        max_prompt_len: P, the number of prompt slots in an observation (the longest prompt, in tokens).
        max_gen_len: G, the most tokens one episode may generate, ``<eos>`` included.
        metric_name: name of the metric in :data:`textgym.metrics.METRICS` that gives the score.
        reward_threshold: mean episode score at which the task counts as solved (Gymnasium's ``reward_threshold``).
        answer_symbols: the symbols an answer may contain; with ``<eos>`` they form the default action mask.
        length_range: ``(low, high)`` bounds of the task's length knob when it has one (used by the curriculum),
            else ``None``.
        max_turn_len: ``None`` for a single-turn task (``<eot>`` is then an ordinary, wrong symbol). For a task
            with turns, M: the most tokens of one agent turn; a turn that reaches M tokens without ``<eot>`` is
            ended by the environment, which writes the ``<eot>`` itself (:func:`~textgym.conversation.advance`).
    """

    name: str
    tokenizer: Tokenizer
    max_prompt_len: int
    max_gen_len: int
    metric_name: str
    reward_threshold: float
    answer_symbols: Sequence[str]
    length_range: tuple[int, int] | None = None
    max_turn_len: int | None = None

    def sample(self, rng: np.random.Generator, split: str = "train", max_length: int | None = None) -> Example:
        """Draw one example of ``split`` with ``rng``.

        Args:
            rng: the only source of randomness, so a seeded generator gives a reproducible example.
            split: one of :data:`SPLITS`.
            max_length: caps the task's length knob for a curriculum; only tasks with a ``length_range`` take it.
        """
        raise NotImplementedError

    def sample_batch(
        self,
        streams: GeneratorStreams,
        rows: np.ndarray,
        split: str = "train",
        max_length: int | None = None,
        count: int = 1,
    ) -> tuple[ExampleBatch, np.ndarray]:
        """Draw the next examples of each of ``rows`` with that row's generator in ``streams``: from 1 to ``count``
        of them, exactly what successive calls of :meth:`sample` with the generator give.

        Returns the examples in one batch (prompt width ``max_prompt_len``, answer width ``max_gen_len``), grouped
        by row in the order of ``rows`` and in each row's order of drawing, and the number each row got. This
        default calls :meth:`sample` once per row; a task may override it with array operations over all rows
        (see :mod:`textgym.random_streams`)."""
        examples = [self.sample(streams.generator(i), split, max_length) for i in rows.tolist()]
        batch = ExampleBatch.from_examples(examples, self.max_prompt_len, self.max_gen_len)
        return batch, np.ones(len(rows), dtype=np.int64)

    @property
    def metric(self) -> Metric:
        return get_metric(self.metric_name)

    def score(self, generated_ids: Sequence[int], example: Example) -> float:
        """Score in [0, 1] of the generated ids (without ``<eos>``) against the example's references."""
        return self.metric(tuple(generated_ids), example.reference_ids)

    def is_success(self, generated_ids: Sequence[int], example: Example) -> bool:
        """Success rule: the generated ids equal one of the references exactly."""
        return tuple(generated_ids) in example.reference_ids

    def answer_mask(self) -> np.ndarray:
        """Boolean mask over the vocabulary: the answer symbols and ``<eos>``."""
        mask = np.zeros(self.tokenizer.vocab_size, dtype=bool)
        mask[[self.tokenizer.token_id(symbol) for symbol in self.answer_symbols]] = True
        mask[self.tokenizer.eos_id] = True
        return mask

    @functools.cached_property
    def _answer_mask(self) -> np.ndarray:
        """:meth:`answer_mask`, computed once."""
        return self.answer_mask()

    def action_mask(self, example: Example, generated_ids: Sequence[int]) -> np.ndarray:
        """Tokens that may come next in a valid answer (advice for agents; the environment accepts any token)."""
        return self.answer_mask()

    def progress(self, generated_ids: Sequence[int], example: Example) -> float:
        """The potential of dense rewards: the value of an unfinished episode so far. Dense rewards are its
        differences from step to step, and the last one is the final :meth:`score` minus the progress before it,
        so an episode's dense rewards sum to its score. By default the score of the answer so far."""
        return self.score(generated_ids, example)

    def reply(self, example: Example, conversation: Sequence[int]) -> Reply:
        """The simulated user's reply to the agent's turn that ``conversation`` ends with (closed by ``<eot>``).

        Only tasks with turns (``max_turn_len`` set) reply; the environment calls this at the end of every agent
        turn and appends the reply and an ``<eot>``. It must be deterministic given the example and conversation.
        """
        raise NotImplementedError(f"task {self.name!r} has no turns (max_turn_len is None), so it never replies")

    def final_info(self, generated_ids: Sequence[int], example: Example) -> dict[str, Any]:
        """Extra entries for the info of an episode's last step, beside ``score`` and ``success`` (none by default;
        e.g. a fluency measure reported next to a reward that a policy could game)."""
        return {}

    def score_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """Scores (float64 ``(N,)``) of N answers: row ``i``'s first ``lengths[i]`` ids against ``examples[i]``."""
        batched = BATCHED_METRICS.get(self.metric_name)
        if batched is not None and self.keeps_default("score"):
            return batched(generated, lengths, examples.reference_ids, examples.reference_lengths)
        return np.array([self.score(ids, example) for ids, example in _rows(generated, lengths, examples)], np.float64)

    def score_and_success_batch(
        self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`score_batch` and :meth:`is_success_batch` together: for a task that keeps both defaults and an
        exact-match-family metric, from one comparison of answers and references."""
        scores_of = SCORES_OF_COMPARISON.get(self.metric_name)
        if scores_of is not None and self.keeps_default("score") and self.keeps_default("is_success"):
            comparison = compare(generated, lengths, examples.reference_ids, examples.reference_lengths)
            return scores_of(comparison), matches(comparison)
        return self.score_batch(generated, lengths, examples), self.is_success_batch(generated, lengths, examples)

    def is_success_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """Success (bool ``(N,)``) of N answers, laid out as in :meth:`score_batch`."""
        if self.keeps_default("is_success"):
            return matches_reference(generated, lengths, examples.reference_ids, examples.reference_lengths)
        return np.array([self.is_success(ids, example) for ids, example in _rows(generated, lengths, examples)], bool)

    def progress_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """Progress (float64 ``(N,)``) of N unfinished episodes, laid out as in :meth:`score_batch`."""
        if self.keeps_default("progress"):
            return self.score_batch(generated, lengths, examples)
        return np.array(
            [self.progress(ids, example) for ids, example in _rows(generated, lengths, examples)], np.float64
        )

    def action_mask_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """Masks (bool ``(N, V)``, a new array) of the tokens valid next for N answers laid out as in
        :meth:`score_batch`."""
        if self.keeps_default("action_mask"):  # the default mask does not depend on the answer so far
            return np.repeat(self._answer_mask[None], len(generated), axis=0)
        masks = [self.action_mask(example, ids) for ids, example in _rows(generated, lengths, examples)]
        return np.array(masks, dtype=bool).reshape(len(generated), self.tokenizer.vocab_size)

    def oracle_actions(self, example: Example) -> list[int]:
        """The actions of a perfect answer: the first reference's ids, then ``<eos>``."""
        return [*example.reference_ids[0], self.tokenizer.eos_id]

    def demonstration(self, example: Example) -> tuple[list[int], list[bool]]:
        """A perfect (or scripted) episode of ``example``, for learning from demonstrations: the contents of the
        conversation slots ``[P, P + n)`` of its final observation, and for each slot whether it holds one of the
        agent's own actions (``False`` for what the environment wrote: replies, their ``<eot>`` s, a cut turn's
        ``<eot>``). Playing the agent's slots in order in the environment reproduces the final observation.

        By default the oracle's actions, all the agent's own.
        """
        actions = self.oracle_actions(example)
        return actions, [True] * len(actions)

    def make_example(self, prompt: str, references: Sequence[str], **meta: Any) -> Example:
        """Encode a prompt and its references into an :class:`Example`, checking the task's length limits."""
        prompt_ids = tuple(self.tokenizer.encode(prompt))
        reference_ids = tuple(tuple(self.tokenizer.encode(reference)) for reference in references)
        if len(prompt_ids) > self.max_prompt_len:
            raise ValueError(f"prompt {prompt!r} has {len(prompt_ids)} tokens, more than {self.max_prompt_len}")
        for reference, ids in zip(references, reference_ids):
            if len(ids) >= self.max_gen_len:
                raise ValueError(
                    f"reference {reference!r} has {len(ids)} tokens; "
                    f"at most {self.max_gen_len - 1} leave room for <eos>"
                )
        return Example(prompt, tuple(references), prompt_ids, reference_ids, MappingProxyType(dict(meta)))

    def keeps_default(self, method: str) -> bool:
        """Whether this task's class uses :class:`Task`'s own ``method`` (so its batched shortcut is exact)."""
        return getattr(type(self), method) is getattr(Task, method)

    def __repr__(self) -> str:
        sizes = f"P={self.max_prompt_len}, G={self.max_gen_len}, vocab={self.tokenizer.vocab_size}"
        return f"{type(self).__name__}({self.name!r}, {sizes})"


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """Return the task option ``name`` as an int if it is an integer in ``[low, high]`` (``high`` None: no upper
    bound), else raise ``ValueError`` naming the option, the bound and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)


def check_split(split: str) -> str:
    """Return ``split`` if it is one of :data:`SPLITS`, else raise ``ValueError`` naming it."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return split


_NO_META: Mapping[str, Any] = MappingProxyType({})
"""The meta of an example built from an :class:`ExampleBatch`'s arrays (the tasks that sample in batches have
none); read-only, so every such example can share it."""


def _cut(reference_ids: list[list[int]], lengths: list[int]) -> tuple[tuple[int, ...], ...]:
    """A row's references from its padded ids and lengths (``-1``: no reference)."""
    return tuple(tuple(ids[:length]) for ids, length in zip(reference_ids, lengths) if length >= 0)


def split_of(key: str) -> str:
    """The split a generated prompt belongs to, fixed by a stable hash of its text: 80% train, 10% validation,
    10% test. Generated tasks draw until the prompt falls in the asked split, so the splits never share a prompt."""
    return split_of_bucket(zlib.crc32(key.encode("utf-8")) % 10)


def split_of_bucket(bucket: int) -> str:
    """The split of a hash bucket in ``0..9``: 0 test, 1 validation, the rest train."""
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


SPLIT_SHARES: dict[str, float] = {split: [split_of_bucket(b) for b in range(10)].count(split) / 10 for split in SPLITS}
"""The share of generated prompts that :func:`split_of` puts in each split."""


_CRC32_TABLE = np.array([zlib.crc32(bytes([byte ^ 0xFF])) ^ 0xFF000000 for byte in range(256)], dtype=np.uint32)
"""zlib's CRC-32 byte table (the step ``crc -> table[(crc ^ byte) & 0xFF] ^ (crc >> 8)``), read off zlib itself."""

_SPLIT_OF_BUCKET = np.array([SPLITS.index(split_of_bucket(bucket)) for bucket in range(10)], dtype=np.int64)


def split_of_batch(code_points: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """:func:`split_of` for many ASCII keys at once: key ``k`` is the characters ``code_points[k, :lengths[k]]``
    (uint32 code points below 128); returns each key's split as an index into :data:`SPLITS`."""
    if code_points.size and code_points.max() >= 128:
        raise ValueError("split_of_batch reads ASCII keys only (code points below 128); use split_of for others")
    crc = np.full(len(code_points), 0xFFFFFFFF, dtype=np.uint32)
    shortest = int(lengths.min()) if lengths.size else 0
    for position in range(code_points.shape[1]):
        updated = _CRC32_TABLE[(crc ^ code_points[:, position]) & 0xFF] ^ (crc >> 8)
        crc = updated if position < shortest else np.where(position < lengths, updated, crc)
    return _SPLIT_OF_BUCKET[(crc ^ np.uint32(0xFFFFFFFF)) % 10]


MAX_TRIES = 10_000
"""Draws :func:`draw_in_split` makes before it gives up on finding a prompt of the asked split."""


def draw_in_split(
    draw: Callable[[], Any], split: str, max_tries: int = MAX_TRIES, key: Callable[[Any], str] | None = None
) -> Any:
    """Call ``draw`` until it returns something whose split key lies in ``split`` (see :func:`split_of`).

    Args:
        draw: returns one candidate (an :class:`Example` unless ``key`` says how to read another type).
        split: one of :data:`SPLITS`.
        max_tries: draws before giving up.
        key: the text whose hash decides a candidate's split; by default the example's prompt. A task whose
            prompts can share an answer (one number written two ways, one event told by different documents)
            passes the answer's key, so that no held-out answer is seen in training.

    Raises ``ValueError`` when ``max_tries`` draws find none: the task's options leave too few distinct prompts
    for three disjoint splits.
    """
    check_split(split)
    key = key or (lambda example: example.prompt)
    for _ in range(max_tries):
        candidate = draw()
        if split_of(key(candidate)) == split:
            return candidate
    raise no_prompt_in_split(split, max_tries)


def no_prompt_in_split(split: str, max_tries: int) -> ValueError:
    """The error raised when ``max_tries`` draws found no prompt of ``split``."""
    return ValueError(
        f"no prompt of the {split!r} split found in {max_tries} draws; the task's options allow too few distinct "
        "prompts for disjoint train/validation/test splits (widen the length range or the alphabet)"
    )


def weak_draw(example: Example, index: int) -> int:
    """A weak demonstrator's ``index``-th random draw for ``example`` (a dialogue draws once per agent turn, ``index``
    the number of turns answered so far): an integer in ``[0, 2**64)`` read off a SHA-256 hash of the example's
    prompt, its references and ``index``, so that it is the same in every process and with every numpy version.

    Args:
        example: the episode's example.
        index: which of the example's draws, from 0.
    """
    identity = "\n".join((example.prompt, *example.references, str(index)))
    return int.from_bytes(hashlib.sha256(identity.encode("utf-8")).digest()[:8], "little")


def _rows(generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> Iterator[tuple[list[int], Example]]:
    """Each row's answer (its first ``lengths[i]`` ids, as a list) with the row's example."""
    return ((row[:n], example) for row, n, example in zip(generated.tolist(), lengths.tolist(), examples.examples))


def _write_left_aligned(
    target: np.ndarray, rows: tuple[np.ndarray, ...], sequences: Sequence[Sequence[int]], lengths: np.ndarray
) -> None:
    """Write ``sequences[k]`` (of length ``lengths[k]``) left-aligned into ``target[rows[0][k], rows[1][k], ...]``,
    cut at the last axis' width, in one assignment."""
    width = target.shape[-1]
    kept = np.minimum(lengths, width)
    ids = np.fromiter(chain.from_iterable(sequence[:width] for sequence in sequences), np.int64, int(kept.sum()))
    target[(*(np.repeat(index, kept) for index in rows), positions_in_groups(kept))] = ids


def positions_in_groups(sizes: np.ndarray) -> np.ndarray:
    """``[0, 1, .., sizes[0] - 1, 0, 1, .., sizes[1] - 1, ...]``: each element's position within its group."""
    starts = np.cumsum(sizes) - sizes
    return np.arange(int(sizes.sum())) - np.repeat(starts, sizes)
