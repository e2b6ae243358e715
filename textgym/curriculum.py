"""A length curriculum: start with short inputs and lengthen them once the agent succeeds on recent episodes."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from numbers import Real
from typing import Any

from textgym.task import check_int

OPTIONS = ("start", "threshold", "window")


class LengthCurriculum:
    """Caps a task's length knob and raises the cap by one when recent success reaches a threshold.

    Args:
        length_range: the task's ``(low, high)`` length bounds; the cap never leaves them.
        start: the first cap, an int in ``[low, high]`` (default: ``low``).
        threshold: success rate over the last ``window`` episodes that raises the cap, a number in ``(0, 1]``.
        window: number of recent episodes the success rate is measured on, an int ``>= 1``; the window empties
            after each raise, so every level is judged on its own episodes.

    Raises ``ValueError`` naming the option, what it must be and the value given, for a value of the wrong type or
    out of range.
    """

    def __init__(
        self, length_range: tuple[int, int], start: int | None = None, threshold: float = 0.9, window: int = 100
    ) -> None:
        low, high = length_range
        start = low if start is None else check_int("curriculum start", start, low, high)
        if isinstance(threshold, bool) or not isinstance(threshold, Real) or not 0.0 < threshold <= 1.0:
            raise ValueError(f"curriculum threshold must be a number in (0, 1], got {threshold!r}")
        window = check_int("curriculum window", window, 1)
        self.high: int = high
        self.level: int = start
        self.threshold: float = float(threshold)
        self.recent: deque[bool] = deque(maxlen=window)

    def record(self, success: bool) -> None:
        """Count one finished episode at the current level; raise the level when the window is full and good."""
        self.recent.append(bool(success))
        full = len(self.recent) == self.recent.maxlen
        if full and self.level < self.high and sum(self.recent) >= self.threshold * len(self.recent):
            self.level += 1
            self.recent.clear()

    @classmethod
    def from_option(
        cls, option: bool | Mapping[str, Any], length_range: tuple[int, int] | None
    ) -> LengthCurriculum | None:
        """Build the curriculum an environment's ``curriculum`` option asks for: ``False`` (none), ``True``
        (defaults) or a mapping of keyword arguments (``start``, ``threshold``, ``window``); raises ``ValueError``
        naming the option for anything else."""
        if option is False or option is None:
            return None
        if length_range is None:
            raise ValueError("curriculum was requested, but this task has no length range to grow")
        if option is True:
            return cls(length_range)
        if isinstance(option, Mapping):
            unknown = sorted(set(option) - set(OPTIONS), key=repr)
            if unknown:
                raise ValueError(f"unknown curriculum option(s) {unknown}; expected {', '.join(OPTIONS)}")
            return cls(length_range, **option)
        raise ValueError(f"curriculum must be a bool or a mapping of options, got {option!r}")
