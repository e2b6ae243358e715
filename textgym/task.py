"""The Task: what to generate and how it is scored. Pure Python and numpy; environments are built on top.

A task draws :class:`~textgym.examples.Example` s (a prompt and its reference answers) from a seeded random
generator for a split, knows its tokenizer and length limits, scores a generated token sequence against an example,
decides success, and says which tokens are valid next (for action masks). A task with turns (a dialogue) also
answers the agent's turns as a simulated user (:meth:`Task.reply`), with a :class:`Reply`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from textgym.examples import Example, ExampleBatch
from textgym.metrics import Metric, get_metric
from textgym.tokenizers import Tokenizer


@dataclass(frozen=True)
class Reply:
    """The simulated user's turn, as :meth:`Task.reply <textgym.task.Task.reply>` returns it.

    Attributes:
        ids: the reply's token ids, without the ``<eot>`` that closes it (the environment writes that).
        end: whether the conversation ends after this reply (success, a final answer, or the turn limit).
    """

    ids: tuple[int, ...]
    end: bool


class Task:
    """Base class of every task.

    Subclasses set the attributes below in ``__init__`` and implement :meth:`sample`; the defaults of the other
    methods score with ``metric`` over token ids, count exact matches as success and allow the answer symbols
    plus ``<eos>`` as next tokens.

    The methods that read an episode take ``generated_ids``: the episode's conversation slots so far
    (:mod:`textgym.conversation`), without the ``<eos>`` that may have ended it. For a single-turn task that is the
    answer. A task with turns sets ``max_turn_len`` and implements :meth:`reply`; its ``generated_ids`` hold the
    agent's turns and the user's replies, each closed by ``<eot>``.

    The environments read episodes many at a time, through the batched methods (:meth:`sample_batch`,
    :meth:`score_batch`, :meth:`is_success_batch`, :meth:`progress_batch`, :meth:`action_mask_batch`). By default
    each calls its one-at-a-time method once per row, so a new task writes only those; a task may override a
    batched method with array operations for speed, and must then give exactly what the loop gives (the tests
    check every registered task so). :meth:`action_mask_batch`'s default repeats :meth:`answer_mask`, which is
    :meth:`action_mask`'s default, so a task whose mask depends on the answer so far overrides both (a subclass
    that overrides only :meth:`action_mask` is refused with ``TypeError`` when it is made).

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
        block_size: how many examples an environment draws at a time with :meth:`sample_batch`: 1 (the default)
            for a task that draws one by one, more for one that draws in bulk.
        final_info_keys: the names of the entries :meth:`final_info` adds (none by default); the environments call
            it only for a task that names some.
        max_turn_len: ``None`` for a single-turn task (``<eot>`` is then an ordinary, wrong symbol). For a task
            with turns, M: the most tokens of one agent turn; a turn that reaches M tokens without ``<eot>`` is
            ended by the environment, which writes the ``<eot>`` itself (see :mod:`textgym.episodes`).
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
    final_info_keys: tuple[str, ...] = ()
    block_size: int = 1

    _overridden_together: ClassVar[tuple[str, ...]] = ("action_mask",)
    """The one-at-a-time methods whose batched twin (``<name>_batch``) does not call them: a subclass that overrides
    one must override its twin too, which is checked when the subclass is made."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls._overridden_together:
            if name in vars(cls) and f"{name}_batch" not in vars(cls):
                raise TypeError(
                    f"{cls.__name__} overrides {name} but not {name}_batch, whose inherited version does not call "
                    f"{name}; override {name}_batch too so that both give the same answers"
                )

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        """Draw one example of ``split`` with ``rng``.

        Args:
            rng: the only source of randomness, so a seeded generator gives a reproducible example.
            split: one of :data:`~textgym.splits.SPLITS`.
            length_cap: caps the task's length knob (a curriculum's level); only tasks with a ``length_range`` take
                it.
        """
        raise NotImplementedError

    def sample_batch(
        self, rng: np.random.Generator, split: str = "train", count: int = 1, length_cap: int | None = None
    ) -> ExampleBatch:
        """Draw ``count`` examples of ``split`` with ``rng``, in one batch (prompt width ``max_prompt_len``, answer
        width ``max_gen_len``). By default ``count`` successive :meth:`sample` calls; a task may draw them in bulk
        instead, as long as the result is a deterministic function of the generator's state."""
        examples = [self.sample(rng, split, length_cap) for _ in range(count)]
        return ExampleBatch.from_examples(examples, self.max_prompt_len, self.max_gen_len)

    @property
    def metric(self) -> Metric:
        return get_metric(self.metric_name)

    def score(self, generated_ids: Sequence[int], example: Example) -> float:
        """Score in [0, 1] of the generated ids (without ``<eos>``) against the example's references."""
        return self.metric(tuple(generated_ids), example.reference_ids)

    def is_success(self, generated_ids: Sequence[int], example: Example) -> bool:
        """Success rule: the generated ids equal one of the references exactly."""
        return tuple(generated_ids) in example.reference_ids

    def progress(self, generated_ids: Sequence[int], example: Example) -> float:
        """The potential of dense rewards: the value of an unfinished episode so far. Dense rewards are its
        differences from step to step, and the last one is the final :meth:`score` minus the progress before it,
        so an episode's dense rewards sum to its score. By default the score of the answer so far."""
        return self.score(generated_ids, example)

    def answer_mask(self) -> np.ndarray:
        """Boolean mask over the vocabulary: the answer symbols and ``<eos>``."""
        mask = np.zeros(self.tokenizer.vocab_size, dtype=bool)
        mask[[self.tokenizer.token_id(symbol) for symbol in self.answer_symbols]] = True
        mask[self.tokenizer.eos_id] = True
        return mask

    def action_mask(self, example: Example, generated_ids: Sequence[int]) -> np.ndarray:
        """Tokens that may come next in a valid answer (advice for agents; the environment accepts any token)."""
        return self.answer_mask()

    def reply(self, example: Example, conversation: Sequence[int]) -> Reply:
        """The simulated user's reply to the agent's turn that ``conversation`` ends with (closed by ``<eot>``).

        Only tasks with turns (``max_turn_len`` set) reply; the environment calls this at the end of every agent
        turn and appends the reply and an ``<eot>``. It must be deterministic given the example and conversation.
        """
        raise NotImplementedError(f"task {self.name!r} has no turns (max_turn_len is None), so it never replies")

    def final_info(self, generated_ids: Sequence[int], example: Example) -> dict[str, Any]:
        """Extra entries for the info of an episode's last step, beside ``score`` and ``success``, named by
        :attr:`final_info_keys` (none by default; e.g. a fluency measure reported next to a reward that a policy
        could game)."""
        return {}

    def score_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """Scores (float64 ``(N,)``) of N answers: row ``i``'s first ``lengths[i]`` ids against ``examples[i]``."""
        return np.array([self.score(ids, example) for ids, example in _rows(generated, lengths, examples)], np.float64)

    def is_success_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """Success (bool ``(N,)``) of N answers, laid out as in :meth:`score_batch`."""
        return np.array([self.is_success(ids, example) for ids, example in _rows(generated, lengths, examples)], bool)

    def progress_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """Progress (float64 ``(N,)``) of N unfinished episodes, laid out as in :meth:`score_batch`."""
        rows = _rows(generated, lengths, examples)
        return np.array([self.progress(ids, example) for ids, example in rows], np.float64)

    def action_mask_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """Masks (bool ``(N, V)``, a new array) of the tokens valid next for N answers laid out as in
        :meth:`score_batch`: :meth:`answer_mask` on every row (override it with :meth:`action_mask`)."""
        return np.repeat(self._answer_mask[None], len(generated), axis=0)

    @functools.cached_property
    def _answer_mask(self) -> np.ndarray:
        """:meth:`answer_mask`, computed once."""
        return self.answer_mask()

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
        """Encode a prompt and its references into an :class:`~textgym.examples.Example`, checking the task's
        length limits."""
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
