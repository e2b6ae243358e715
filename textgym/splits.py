"""Train / validation / test splits of generated prompts, fixed by a stable hash of a key text.

A generated task draws candidates until one falls in the asked split (:func:`draw_in_split`); the split of a
candidate is a function of its key alone (:func:`split_of`), so the three splits never share a prompt, whatever the
generator, seed or process.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

SPLITS: tuple[str, ...] = ("train", "validation", "test")

MAX_TRIES = 10_000
"""Draws :func:`draw_in_split` makes before it gives up on finding a prompt of the asked split."""


def check_split(split: str) -> str:
    """Return ``split`` if it is one of :data:`SPLITS`, else raise ``ValueError`` naming it."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return split


def split_of(key: str) -> str:
    """The split a generated prompt belongs to, fixed by the CRC-32 of its key's UTF-8 bytes modulo 10: bucket 0 is
    test, 1 validation, the rest train (80% / 10% / 10%)."""
    bucket = zlib.crc32(key.encode("utf-8")) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


SPLIT_SHARES: dict[str, float] = {"train": 0.8, "validation": 0.1, "test": 0.1}
"""The share of generated prompts that :func:`split_of` puts in each split."""


def draw_in_split(
    draw: Callable[[], Any], split: str, max_tries: int = MAX_TRIES, key: Callable[[Any], str] | None = None
) -> Any:
    """Call ``draw`` until it returns something whose split key lies in ``split`` (see :func:`split_of`).

    Args:
        draw: returns one candidate (an :class:`~textgym.examples.Example` unless ``key`` says how to read another
            type).
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
