"""Where a run's results live, written so that a crash never leaves a half-written file.

``DIR/trials/<trial key>.json``  one record per finished trial (the results contract below), written atomically
``DIR/results.jsonl``            the records of the run's trials, one JSON object a line, in suite order
``DIR/run.json``                 the run's settings: suite, command line, executor, package versions
``DIR/set_aside/``               trial files that were not records (corrupt, truncated, a directory), kept there
``DIR/.lock``                    locked while a run writes into ``DIR``

Results contract (other tools rely on it): every record has at least ``env``, ``agent``, ``seed``, ``status``
(``"ok"`` or ``"failed"``), ``final_score``, ``final_success``, ``env_steps``, ``wall_s``, ``steps_per_s``,
``curve`` (a list of ``[env_steps, score, success]``) and ``error`` (the traceback when failed, else ``null``).
Numbers are finite (files are strict JSON, without ``NaN``); :func:`record_problem` checks a record against the
contract when it is written and when it is read.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator
from numbers import Real
from pathlib import Path
from typing import Any

from textgym.benchmarks.trial import TrialSpec

TRIALS_DIR = "trials"
RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
SET_ASIDE_DIR = "set_aside"
LOCK_FILE = ".lock"

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


class ResultsDirectoryError(RuntimeError):
    """The results directory cannot take a run: another run is writing into it, or it cannot be created or
    written."""


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s lock for the block (creating the directory); :class:`ResultsDirectoryError` at once when
    another process holds it or the directory cannot be written. The operating system releases the lock when its
    holder ends, however it ends."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        file = open(out_dir / LOCK_FILE, "a+")
    except OSError as error:
        raise ResultsDirectoryError(f"cannot write results into {str(out_dir)!r}: {error.strerror or error}") from None
    with file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            raise ResultsDirectoryError(
                f"results directory {str(out_dir)!r} is in use by another run ({holder}); wait for it to finish "
                "or choose another --out"
            ) from None
        file.truncate(0)
        file.write(f"pid {os.getpid()}\n")
        file.flush()
        try:
            yield
        finally:
            file.truncate(0)
            fcntl.flock(file, fcntl.LOCK_UN)


def _is_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number (not a bool)."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    """Whether ``value`` is a non-negative integer (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def record_problem(record: Any) -> str | None:
    """What keeps ``record`` from being a trial record of the results contract, or ``None`` when it is one."""
    if not isinstance(record, dict):
        return f"a record is a JSON object, got {type(record).__name__}"
    missing = [key for key in CONTRACT_FIELDS if key not in record]
    if missing:
        return f"missing field(s) {missing}"
    checks = {
        "env": isinstance(record["env"], str) and record["env"] != "",
        "agent": isinstance(record["agent"], str) and record["agent"] != "",
        "seed": _is_count(record["seed"]),
        "status": record["status"] in ("ok", "failed"),
        "env_steps": _is_count(record["env_steps"]),
        "wall_s": _is_number(record["wall_s"]) and record["wall_s"] >= 0,
        "steps_per_s": record["steps_per_s"] is None or _is_number(record["steps_per_s"]),
        "curve": isinstance(record["curve"], list)
        and all(
            isinstance(point, list) and len(point) == 3 and _is_count(point[0]) and all(map(_is_number, point[1:]))
            for point in record["curve"]
        ),
    }
    ok = record["status"] == "ok"
    for key in ("final_score", "final_success"):
        checks[key] = _is_number(record[key]) if ok else record[key] is None or _is_number(record[key])
    checks["error"] = record["error"] is None if ok else isinstance(record["error"], str)
    wrong = [key for key, passed in checks.items() if not passed]
    if wrong:
        return "; ".join(f"{key} = {record[key]!r} is not valid" for key in wrong)
    if ok and (not record["curve"] or record["curve"][-1][1:] != [record["final_score"], record["final_success"]]):
        return "an ok record's final_score and final_success are its curve's last point"
    return None


def to_json(record: dict[str, Any]) -> str:
    """``record`` as strict JSON on one line; ``ValueError`` naming what is wrong when it is not a valid record."""
    problem = record_problem(record)
    if problem is not None:
        raise ValueError(f"not a trial record: {problem}")
    return json.dumps(record, allow_nan=False)


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
    """Write a finished trial's record atomically (checked against the contract first)."""
    write_text(trial_path(out_dir, spec), to_json(record) + "\n")


def _reject_constant(name: str) -> None:
    """Refuse ``NaN`` and ``Infinity``, which are not JSON."""
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> Any:
    """Parse strict JSON (no ``NaN`` or ``Infinity``); ``ValueError`` saying what is wrong."""
    return json.loads(text, parse_constant=_reject_constant)


def read_record(path: Path, spec: TrialSpec) -> dict[str, Any]:
    """The record in ``path`` for ``spec``; ``ValueError`` saying what is wrong when the file holds none."""
    if not path.is_file():
        raise ValueError("it is not a file")
    try:
        record = loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"it is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except ValueError as error:
        raise ValueError(f"it is not JSON ({error})") from None
    problem = record_problem(record)
    if problem is not None:
        raise ValueError(problem)
    if (record["env"], record["agent"], record["seed"]) != (spec.env_name, spec.agent_label, spec.seed):
        raise ValueError(
            f"it records {record['env']} / {record['agent']} / seed {record['seed']}, not {spec.env_name} / "
            f"{spec.agent_label} / seed {spec.seed}"
        )
    return record


def load_finished(out_dir: Path, specs: list[TrialSpec]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The records already in ``out_dir`` for ``specs``, by trial key (ok and failed trials alike), and a message
    for every trial file that holds no record for its trial: each is moved to ``DIR/set_aside/`` (nothing is
    deleted) and its trial counts as not run."""
    finished, set_aside = {}, []
    for spec in specs:
        path = trial_path(out_dir, spec)
        if not os.path.lexists(path):
            continue
        try:
            finished[spec.key] = read_record(path, spec)
        except ValueError as error:
            target = out_dir / SET_ASIDE_DIR / path.name
            target.parent.mkdir(exist_ok=True)
            count = 1
            while os.path.lexists(target):
                count += 1
                target = target.with_name(f"{path.name}.{count}")
            os.replace(path, target)
            set_aside.append(f"{path} is not a trial record ({error}); moved to {target}, its trial runs again")
    return finished, set_aside


def write_results(out_dir: Path, records: list[dict[str, Any]]) -> Path:
    """Write ``results.jsonl`` atomically (strict JSON, each record checked) and return its path."""
    path = out_dir / RESULTS_FILE
    write_text(path, "".join(to_json(record) + "\n" for record in records))
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    """The records of a ``results.jsonl`` file; ``ValueError`` naming the file and line of one that is not a
    record."""
    records = []
    for number, line in enumerate(Path(path).read_bytes().decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except ValueError as error:
            raise ValueError(f"{path}:{number}: not JSON ({error})") from None
        problem = record_problem(record)
        if problem is not None:
            raise ValueError(f"{path}:{number}: not a trial record: {problem}")
        records.append(record)
    return records
