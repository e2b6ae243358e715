"""Many numpy random generators read in bulk: bounded integer draws for a vector environment without a Python
call per sub-environment, giving exactly the values each generator's own ``integers`` would give.

A numpy :class:`~numpy.random.Generator` draws ``integers(low, high)`` with ``high - low < 2**32`` from 32-bit
values: each 64-bit output of its bit generator gives two, low half first, and the high half is kept for the next
32-bit draw. A value ``v`` becomes ``low + (v * n >> 32)`` for ``n = high - low`` (Lemire's multiply-shift), and is
drawn again while ``(v * n) % 2**32`` is below ``(2**32 - n) % n``, which makes the draw exactly uniform; a range of
one value draws nothing. :class:`GeneratorStreams` fetches each generator's 64-bit outputs in blocks
(``bit_generator.random_raw``) and keeps their 32-bit halves in a buffer, so the same draws can be replayed with
array operations over many generators at once. :class:`StreamGenerator` replays one generator's draws one at a
time, for the rare draw that needs a redraw and for code written against ``Generator.integers``.

The replay covers ``integers`` with an integer ``low`` and ``high`` and a range below ``2**32`` only; a generator
whose values were buffered must not be used directly afterwards (:meth:`GeneratorStreams.generator` refuses).
"""

from __future__ import annotations

import numpy as np
from gymnasium.utils import seeding

MASK32 = np.uint64(0xFFFFFFFF)


def lemire(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Map 32-bit ``values`` (any integer dtype) to draws in ``[0, n)``; also return where numpy would reject the
    value and draw again (``(v * n) % 2**32 < (2**32 - n) % n``, a chance of less than ``n / 2**32``)."""
    product = values.astype(np.uint64) * np.uint64(n)
    rejected = (product & MASK32) < np.uint64((2**32 - n) % n)
    return (product >> np.uint64(32)).astype(np.int64), rejected


class GeneratorStreams:
    """``size`` numpy generators, one per row, with a buffer of each one's upcoming 32-bit values.

    Rows are seeded like Gymnasium seeds an environment (:func:`gymnasium.utils.seeding.np_random`). The vectorised
    reader looks at a window of upcoming values (:meth:`window`), maps them to draws (:func:`lemire`) and consumes
    them (:meth:`advance`); :meth:`ensure` tops up the rows that hold too few values.

    Args:
        size: the number of generators (rows).
        block: 64-bit outputs fetched per top-up of one row (each gives two 32-bit values).
    """

    def __init__(self, size: int, block: int = 256) -> None:
        self.size = size
        self.block = block
        self._generators: list[np.random.Generator | None] = [None] * size
        self.seeded = np.zeros(size, dtype=bool)
        """Which rows have a generator."""
        self._values = np.zeros((size, 2 * block), dtype=np.uint32)  # grows in width when a window needs more
        self._start = np.zeros(size, dtype=np.int64)  # each row's next unread value
        self._end = np.zeros(size, dtype=np.int64)  # one past each row's last buffered value

    def seed(self, row: int, seed: int | None) -> None:
        """Seed generator ``row`` with ``seed`` (``None``: keep it, or seed it from entropy the first time); a new
        seed drops the values buffered from the old generator."""
        if seed is None and self.seeded[row]:
            return
        self.use(row, seeding.np_random(seed)[0])

    def use(self, row: int, generator: np.random.Generator) -> None:
        """Read ``row``'s values from ``generator`` (fresh: none of its 32-bit halves kept back), dropping those
        buffered from the old one."""
        self._generators[row] = generator
        self.seeded[row] = True
        self._start[row] = self._end[row] = 0

    def generator(self, row: int) -> np.random.Generator:
        """The generator of ``row``, for direct use: only while none of its values are buffered."""
        if not self.seeded[row]:
            raise ValueError(f"generator {row} was never seeded; call seed({row}, ...) first")
        if self._end[row] > self._start[row]:
            raise RuntimeError(
                f"generator {row} has buffered values; read it through its StreamGenerator so no draw is skipped"
            )
        return self._generators[row]

    def ensure(self, rows: np.ndarray, count: int) -> None:
        """Make each of ``rows`` hold at least ``count`` unread values."""
        short = rows[self._end[rows] - self._start[rows] < count]
        if not short.size:
            return
        width = self._values.shape[1]
        if count + 2 * self.block > width:
            grown = np.zeros((self.size, count + 2 * self.block), dtype=np.uint32)
            grown[:, :width] = self._values
            self._values, width = grown, grown.shape[1]
        # One Python call per row that runs short, about once every ``block`` values it draws.
        for row in short.tolist():
            start, end = int(self._start[row]), int(self._end[row])
            kept = self._values[row, start:end].copy()
            words = (width - kept.size) // 2
            raw = self._generators[row].bit_generator.random_raw(words)
            self._values[row, : kept.size] = kept
            self._values[row, kept.size : kept.size + 2 * words] = raw.view(np.uint32)  # little-endian: low half first
            self._start[row], self._end[row] = 0, kept.size + 2 * words

    def window(self, rows: np.ndarray, width: int) -> np.ndarray:
        """The next ``width`` unread values of each of ``rows`` (``(len(rows), width)`` uint32), without consuming
        them; tops the rows up first."""
        self.ensure(rows, width)
        positions = self._start[rows, None] + np.arange(width) + self._values.shape[1] * rows[:, None]
        return self._values.ravel()[positions]  # flat indices: faster than a gather over two axes

    def advance(self, rows: np.ndarray, counts: np.ndarray | int) -> None:
        """Consume ``counts`` values of each of ``rows`` (rows must be distinct)."""
        self._start[rows] += counts

    def next_value(self, row: int) -> int:
        """Consume and return the next value of ``row``."""
        self.ensure(np.array([row]), 1)
        value = int(self._values[row, self._start[row]])
        self._start[row] += 1
        return value


class StreamGenerator:
    """One row of :class:`GeneratorStreams` behind ``Generator.integers``' interface, drawing exactly what the row's
    generator would draw. Only integer bounds with a range below ``2**32`` are supported.

    Args:
        streams: the buffered generators.
        row: the row to read.
    """

    def __init__(self, streams: GeneratorStreams, row: int) -> None:
        self.streams = streams
        self.row = row

    def integers(self, low: int, high: int | None = None, size: int | None = None) -> int | np.ndarray:
        """Like ``numpy.random.Generator.integers(low, high, size)`` with the default int64 dtype: one int when
        ``size`` is None, else an array of ``size``."""
        if high is None:
            low, high = 0, low
        low, high, n = int(low), int(high), int(high) - int(low)
        if not 1 <= n < 2**32:
            raise ValueError(f"StreamGenerator draws ranges of 1 to 2**32 - 1 values, got [{low}, {high})")
        draws = [low + self._draw(n) for _ in range(1 if size is None else size)]
        return draws[0] if size is None else np.array(draws, dtype=np.int64)

    def _draw(self, n: int) -> int:
        if n == 1:
            return 0
        while True:
            draw, rejected = lemire(np.array(self.streams.next_value(self.row)), n)
            if not rejected:
                return int(draw)
