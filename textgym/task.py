"""The Task: what to generate and how it is scored. Pure Python and numpy; environments are built on top.

A task draws :class:`Example` s (a prompt and its reference answers) from a seeded random generator for a split,
knows its tokenizer and length limits, scores a generated token sequence against an example, decides success,
and says which tokens are valid next (for action masks).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from textgym.metrics import Metric, get_metric
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


class Task:
    """Base class of every task.

    Subclasses set the attributes below in ``__init__`` and implement :meth:`sample`; the defaults of the other
    methods score with ``metric`` over token ids, count exact matches as success and allow the answer symbols
    plus ``<eos>`` as next tokens.

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
    """

    name: str
    tokenizer: Tokenizer
    max_prompt_len: int
    max_gen_len: int
    metric_name: str
    reward_threshold: float
    answer_symbols: Sequence[str]
    length_range: tuple[int, int] | None = None

    def sample(self, rng: np.random.Generator, split: str = "train", max_length: int | None = None) -> Example:
        """Draw one example of ``split`` with ``rng``.

        Args:
            rng: the only source of randomness, so a seeded generator gives a reproducible example.
            split: one of :data:`SPLITS`.
            max_length: caps the task's length knob for a curriculum; only tasks with a ``length_range`` take it.
        """
        raise NotImplementedError

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

    def action_mask(self, example: Example, generated_ids: Sequence[int]) -> np.ndarray:
        """Tokens that may come next in a valid answer (advice for agents; the environment accepts any token)."""
        return self.answer_mask()

    def final_info(self, generated_ids: Sequence[int], example: Example) -> dict[str, Any]:
        """Extra entries for the info of an episode's last step, beside ``score`` and ``success`` (none by default;
        e.g. a fluency measure reported next to a reward that a policy could game)."""
        return {}

    def oracle_actions(self, example: Example) -> list[int]:
        """The actions of a perfect answer: the first reference's ids, then ``<eos>``."""
        return [*example.reference_ids[0], self.tokenizer.eos_id]

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

    def __repr__(self) -> str:
        sizes = f"P={self.max_prompt_len}, G={self.max_gen_len}, vocab={self.tokenizer.vocab_size}"
        return f"{type(self).__name__}({self.name!r}, {sizes})"


def check_split(split: str) -> str:
    """Return ``split`` if it is one of :data:`SPLITS`, else raise ``ValueError`` naming it."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return split


def split_of(key: str) -> str:
    """The split a generated prompt belongs to, fixed by a stable hash of its text: 80% train, 10% validation,
    10% test. Generated tasks draw until the prompt falls in the asked split, so the splits never share a prompt."""
    bucket = zlib.crc32(key.encode("utf-8")) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def draw_in_split(
    draw: Callable[[], Any], split: str, max_tries: int = 10_000, key: Callable[[Any], str] | None = None
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
    raise ValueError(
        f"no prompt of the {split!r} split found in {max_tries} draws; the task's options allow too few distinct "
        "prompts for disjoint train/validation/test splits (widen the length range or the alphabet)"
    )
