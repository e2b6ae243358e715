"""ExampleQueue: the upcoming examples of many sub-environments, drawn ahead in bulk."""

from __future__ import annotations

import numpy as np

from textgym.random_streams import GeneratorStreams
from textgym.task import ExampleBatch, Task, positions_in_groups


class ExampleQueue:
    """Each sub-environment's next examples, each drawn with its own generator, held in a ring of ``depth`` slots.

    A vector environment pops one example per restarting sub-environment. When one of them has none left, the
    queue draws the next examples of every sub-environment that holds fewer than half its slots, in one call of
    :meth:`~textgym.task.Task.sample_batch`, so that the cost of a call spreads over many episodes. Drawing ahead
    does not change any episode: a sub-environment's examples are the successive draws of its generator, whenever
    they are made. A popped example stays in its slot (:attr:`held`) at least until its sub-environment pops the
    next one.

    Args:
        task: draws the examples.
        size: the number of sub-environments.
        split: the split all examples come from.
        depth: examples held per sub-environment. With ``depth=1`` nothing is drawn ahead: each example is drawn
            when it is popped, with the ``max_length`` given then (a curriculum's current level).
    """

    def __init__(self, task: Task, size: int, split: str, depth: int = 16) -> None:
        self.task, self.size, self.split, self.depth = task, size, split, depth
        self.streams = GeneratorStreams(size)
        self.held = ExampleBatch.empty(size * depth, task.max_prompt_len, task.max_gen_len)
        """Slot ``i * depth + k`` holds an example of sub-environment ``i``."""
        self._next = np.zeros(size, dtype=np.int64)  # each row's slot (within its ring) of its next example
        self._count = np.zeros(size, dtype=np.int64)  # examples each row holds, not popped yet

    def seed(self, row: int, seed: int | None) -> None:
        """Seed the generator of ``row`` (``None``: keep it, or seed it from entropy the first time); a new seed
        drops the examples drawn with the old one."""
        self.streams.seed(row, seed)
        if seed is not None:
            self._count[row] = 0

    def pop(self, rows: np.ndarray, max_length: int | None = None) -> np.ndarray:
        """Take the next example of each of ``rows`` (seeded, distinct); returns their slots in :attr:`held`.
        ``max_length`` caps the task's length knob and needs ``depth == 1``."""
        if max_length is not None and self.depth != 1:
            raise ValueError(f"max_length={max_length} needs a queue of depth 1 (examples drawn when popped)")
        empty = rows[self._count[rows] == 0]
        if empty.size:
            self._draw(empty, max_length)
        slots = rows * self.depth + self._next[rows]
        self._next[rows] = (self._next[rows] + 1) % self.depth
        self._count[rows] -= 1
        return slots

    def _draw(self, empty: np.ndarray, max_length: int | None) -> None:
        """Top up the rows in ``empty`` and, when drawing ahead, every seeded row holding fewer than half its
        slots. A row never holds more than ``depth - 1`` examples besides the one of its running episode."""
        half = max(self.depth // 2, 1)
        rows = empty if self.depth == 1 else np.flatnonzero(self.streams.seeded & (self._count < half))
        drawn, counts = self.task.sample_batch(self.streams, rows, self.split, max_length, count=half)
        owners = np.repeat(rows, counts)
        ring = (self._next[owners] + self._count[owners] + positions_in_groups(counts)) % self.depth
        self.held.put(owners * self.depth + ring, drawn)
        self._count[rows] += counts
