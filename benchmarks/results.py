"""Where a run's results live, written so that a crash never leaves a half-written file.

``DIR/trials/<trial key>.json``  one record per finished trial (the results contract below), written atomically
``DIR/results.jsonl``            the records of the run's trials, one JSON object a line, in suite order
``DIR/run.json``                 the run's settings: suite, command line, executor, package versions

Results contract (other tools rely on it): every record has at least ``env``, ``agent``, ``seed``, ``status``
(``"ok"`` or ``"failed"``), ``final_score``, ``final_success``, ``env_steps``, ``wall_s``, ``steps_per_s``,
``curve`` (a list of ``[env_steps, score, success]``) and ``error`` (the traceback when failed, else ``null``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.trial import TrialSpec

TRIALS_DIR = "trials"
RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"

CONTRACT_FIELDS = (
    "env",
    "agent",
    "seed",
    "status",
    "final_score",
    "final_success",
    "env_steps",
    "wall_s",
    "steps_per_s",
    "curve",
    "error",
)
"""Fields every record of ``results.jsonl`` has."""


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write to; it replaces ``path`` only if the block ends
    without an exception, so ``path`` holds either its old content or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        with open(temporary, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())


def trial_path(out_dir: Path, spec: TrialSpec) -> Path:
    """The record file of ``spec`` in ``out_dir``."""
    return out_dir / TRIALS_DIR / f"{spec.key}.json"


def save_trial(out_dir: Path, spec: TrialSpec, record: dict[str, Any]) -> None:
    """Write a finished trial's record atomically."""
    write_text(trial_path(out_dir, spec), json.dumps(record, indent=1) + "\n")


def load_finished(out_dir: Path, specs: list[TrialSpec]) -> dict[str, dict[str, Any]]:
    """The records already in ``out_dir`` for ``specs``, by trial key (ok and failed trials alike)."""
    finished = {}
    for spec in specs:
        path = trial_path(out_dir, spec)
        if path.is_file():
            try:
                finished[spec.key] = json.loads(path.read_text())
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} is not a trial record ({error}); delete it to run the trial again") from None
    return finished


def write_results(out_dir: Path, records: list[dict[str, Any]]) -> Path:
    """Write ``results.jsonl`` atomically and return its path."""
    path = out_dir / RESULTS_FILE
    write_text(path, "".join(json.dumps(record) + "\n" for record in records))
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    """The records of a ``results.jsonl`` file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def target_lines(targets: list[dict[str, Any]]) -> list[str]:
    """One line per target of a throughput benchmark: its name, measured value (``None``: could not be measured),
    goal and whether it is met."""
    lines = []
    for t in targets:
        value = "not measured" if t["value"] is None else f"{t['value']:.2f}"
        lines.append(f"target {t['name']}: {value} (goal {t['goal']:g}) {'met' if t['met'] else 'NOT met'}")
    return lines
