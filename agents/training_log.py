"""Training metrics written as they come: a CSV file per stream and TensorBoard scalars, in one directory.

The built-in agents that train a Transformer write here when their ``log_dir`` option is set (the benchmark
runner sets it to each trial's own directory with ``--log-dir``); the SB3 agents write through SB3's own
``tensorboard_log``. TensorBoard is the optional extra ``textgym[tensorboard]``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

TENSORBOARD_EXTRA = "pip install 'textgym[tensorboard]'"


def check_tensorboard() -> None:
    """``ImportError`` naming the extra to install when TensorBoard is missing (so that a run asking for logs fails
    before it trains, not at its first log)."""
    try:
        import tensorboard  # noqa: F401
    except ImportError as error:
        raise ImportError(f"log_dir writes TensorBoard events, which needs tensorboard: {TENSORBOARD_EXTRA}") from error


def checked_log_dir(directory: str | Path | None) -> str | None:
    """``directory`` as the string an agent's ``log_dir`` option holds (``None`` stays ``None``), after checking
    that TensorBoard is installed."""
    if directory is None:
        return None
    check_tensorboard()
    return str(directory)


class TrainingLog:
    """Metrics of one agent in ``directory``: stream ``s`` appends its rows to ``s.csv`` (the first row's keys are
    its columns, kept when a later run appends to the file) and writes each value as the TensorBoard scalar
    ``s/key`` at the step given (flushed at once, so that a crash loses nothing written).

    Args:
        directory: created on the first write.
    """

    def __init__(self, directory: str | Path) -> None:
        check_tensorboard()
        self.directory = Path(directory)
        self._columns: dict[str, list[str]] = {}  # each stream's CSV columns, read from its file once
        self._writer: Any = None

    def write(self, stream: str, metrics: dict[str, float], step: int) -> None:
        """Append ``metrics`` to the stream's CSV file and to TensorBoard at ``step``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{stream}.csv"
        if stream not in self._columns and path.exists():
            with path.open(newline="") as handle:
                self._columns[stream] = next(csv.reader(handle), None) or []
        new_file = not self._columns.get(stream)
        if new_file:
            self._columns[stream] = list(metrics)
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self._columns[stream], extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(metrics)
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.directory))
        for key, value in metrics.items():
            self._writer.add_scalar(f"{stream}/{key}", float(value), step)
        self._writer.flush()
