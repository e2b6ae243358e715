"""ExampleQueue: where each environment's episodes come from, a block of examples at a time."""

from __future__ import annotations

import numpy as np
from gymnasium.utils import seeding

from textgym.examples import ExampleBatch
from textgym.task import Task


class ExampleQueue:
    """The upcoming examples of ``size`` sub-environments, each drawn with the sub-environment's own generator.

    Sub-environment ``i``'s episodes are a deterministic function of its seed: its generator is
    ``gymnasium.utils.seeding.np_random(seed)``'s, and its examples are the successive blocks
    ``task.sample_batch(generator, split, block)``, in order. A task that draws in bulk (its
    :attr:`~textgym.task.Task.block_size` above 1) so spreads the cost of one Python call over a block of episodes;
    with a block of 1 the examples are successive :meth:`~textgym.task.Task.sample` calls.

    Args:
        task: draws the examples.
        size: the number of sub-environments.
        split: the split all examples come from.
        block: examples drawn at a time: the task's ``block_size``, or 1 for a curriculum (each example drawn when
            it is needed, at the curriculum's current level).
    """

    def __init__(self, task: Task, size: int, split: str, block: int) -> None:
        self.task, self.size, self.split, self.block = task, size, split, block
        self.generators: list[np.random.Generator | None] = [None] * size
        self.held = ExampleBatch.empty(size * block, task.max_prompt_len, task.max_gen_len)
        """Row ``i * block + k`` holds the ``k``-th example of sub-environment ``i``'s current block."""
        self._next = np.zeros(size, dtype=np.int64)  # each sub-environment's next example within its block
        self._left = np.zeros(size, dtype=np.int64)  # examples of its block not taken yet

    def seed(self, row: int, seed: int | None) -> None:
        """Seed the generator of ``row`` (``None``: keep it, or seed it from entropy the first time); a new seed
        drops the examples drawn with the old one."""
        if seed is None and self.generators[row] is not None:
            return
        self.use(row, seeding.np_random(seed)[0])

    def use(self, row: int, generator: np.random.Generator) -> None:
        """Draw ``row``'s examples with ``generator`` from now on, dropping those drawn with the old one."""
        self.generators[row] = generator
        self._left[row] = 0

    def pop(self, rows: np.ndarray, length_cap: int | None = None) -> ExampleBatch:
        """The next example of each of ``rows`` (seeded, distinct), in a batch in the order of ``rows``.
        ``length_cap`` caps the task's length knob (a curriculum's level) and needs ``block == 1``."""
        if length_cap is not None and self.block != 1:
            raise ValueError(f"length_cap={length_cap} needs a queue of block 1 (examples drawn when taken)")
        for row in rows[self._left[rows] == 0].tolist():
            generator = self.generators[row]
            if generator is None:
                raise ValueError(f"sub-environment {row} was never seeded; call seed({row}, ...) first")
            drawn = self.task.sample_batch(generator, self.split, self.block, length_cap)
            self.held.put(np.arange(row * self.block, (row + 1) * self.block), drawn)
            self._next[row], self._left[row] = 0, self.block
        taken = rows * self.block + self._next[rows]
        self._next[rows] += 1
        self._left[rows] -= 1
        return self.held[taken]
