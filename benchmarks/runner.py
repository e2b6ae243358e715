"""Running a suite: check it, skip the trials already finished, run the rest, save each record, write the report.

What happens to a run, whatever happens:

- every finished trial's record is written atomically as soon as it arrives, and ``results.jsonl`` is rewritten
  (atomically) after each one; a rerun with the same directory runs only the trials that have no record yet;
- a trial whose agent raises or calls ``sys.exit``, whose worker process dies, or that runs past the suite's
  ``trial_timeout`` is recorded as ``failed`` with the reason, and the other trials go on;
- Ctrl-C or ``SIGTERM`` abandons the running trials (they get no record, so a rerun runs them), writes the
  results and the report of the finished ones, and returns saying how the run was stopped; a ``SIGKILL`` of the
  runner ends its worker processes too, and a rerun picks up from the records on disk;
- a trial file that holds no valid record (truncated, not UTF-8, a directory) is moved to ``DIR/set_aside/`` and
  its trial runs again;
- one run at a time writes into a directory: a second one is refused while the first holds its lock.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from textgym.benchmarks.executors import Executor
from textgym.benchmarks.report import Summary, write_report
from textgym.benchmarks.results import (
    RUN_FILE,
    load_finished,
    locked,
    record_problem,
    save_trial,
    write_results,
    write_text,
)
from textgym.benchmarks.suite import Suite, check_suite
from textgym.benchmarks.trial import TrialSpec, failed_record, run_trial
from textgym.benchmarks.versions import package_versions


class Stopped(KeyboardInterrupt):
    """The run received ``SIGTERM``."""


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """Turn ``SIGTERM`` into :class:`Stopped` (a ``KeyboardInterrupt``) inside the block, in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise Stopped()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class RunOutcome:
    """What a run did.

    Args:
        ran: trials run and recorded now (ok or failed).
        skipped: trials whose records were already there.
        failed: trials of the suite recorded as failed (now or before).
        records: the suite's records, in suite order.
        summary: the report's numbers.
        stopped_by: ``"SIGINT"`` or ``"SIGTERM"`` when the run was stopped before its last trial, else ``None``.
        not_run: trials without a record when the run ended (``0`` unless it was stopped).
        set_aside: a message for each trial file that held no record and was moved aside.
    """

    ran: int
    skipped: int
    failed: int
    records: list[dict[str, Any]]
    summary: Summary
    stopped_by: str | None = None
    not_run: int = 0
    set_aside: list[str] = field(default_factory=list)


def outcome_record(spec: TrialSpec, outcome: dict[str, Any] | BaseException) -> dict[str, Any]:
    """The record to keep for a trial the executor answered with ``outcome``: the trial's record, or a failed
    one saying why there is none (the executor's exception, or the contract broken by what the agent reported)."""
    if isinstance(outcome, BaseException):
        return failed_record(spec, f"{type(outcome).__name__}: {outcome}")
    problem = record_problem(outcome)
    if problem is None:
        return outcome
    return failed_record(spec, f"InvalidRecord: the trial's record breaks the results contract: {problem}")


def run_suite(
    suite: Suite,
    out_dir: Path,
    executor: Executor,
    progress: bool = True,
    command: list[str] | None = None,
    log_dir: Path | None = None,
) -> RunOutcome:
    """Run every trial of ``suite`` that ``out_dir`` has no record of, then write the report there.

    Args:
        suite: the suite; checked with :func:`textgym.benchmarks.suite.check_suite` before any trial starts.
        out_dir: the run's directory (created if needed); locked while the run writes into it
            (:class:`textgym.benchmarks.results.ResultsDirectoryError` when another run holds it or it cannot be
            written).
        executor: runs the trials.
        progress: show a progress bar over trials (with an ETA) on stderr.
        command: the command line, recorded in ``run.json``.
        log_dir: when given, each trial writes TensorBoard logs to its own subdirectory (see
            :func:`~textgym.benchmarks.trial.run_trial`).
    """
    check_suite(suite)
    out_dir = Path(out_dir)
    with locked(out_dir):
        return _run_locked(suite, out_dir, executor, progress, command, log_dir)


def _run_locked(
    suite: Suite,
    out_dir: Path,
    executor: Executor,
    progress: bool,
    command: list[str] | None,
    log_dir: Path | None,
) -> RunOutcome:
    """:func:`run_suite` while holding ``out_dir``'s lock."""
    specs = suite.trials()
    limits = {spec.key: part.trial_timeout for part in suite.parts() for spec in part.trials()}
    finished, set_aside = load_finished(out_dir, specs)
    for message in set_aside:
        print(f"textgym-bench: {message}", file=sys.stderr)
    todo = [spec for spec in specs if spec.key not in finished]
    settings = {
        "suite": asdict(suite),
        "command": command,
        "log_dir": None if log_dir is None else str(log_dir),
        "executor": type(executor).__name__,
        "workers": executor.workers,
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "trials": len(specs),
        "to_run": len(todo),
        "versions": package_versions(),
    }
    write_text(out_dir / RUN_FILE, json.dumps(settings, indent=1) + "\n")

    def suite_records() -> list[dict[str, Any]]:
        return [finished[spec.key] for spec in specs if spec.key in finished]

    ran, stopped_by = 0, None
    bar = tqdm(total=len(todo), unit="trial", desc=suite.name, disable=not progress, file=sys.stderr)
    run_one = functools.partial(run_trial, log_dir=None if log_dir is None else str(Path(log_dir).resolve()))
    answers = executor.map_unordered(run_one, todo, limit=lambda spec: limits[spec.key])
    try:
        with bar, sigterm_stops(), contextlib.closing(answers):
            for spec, outcome in answers:
                record = outcome_record(spec, outcome)
                save_trial(out_dir, spec, record)
                finished[spec.key] = record
                ran += 1
                write_results(out_dir, suite_records())
                trial = f"{spec.env_name} {spec.agent_label} seed {spec.seed}"
                bar.set_postfix_str(f"{trial}: {record['status']}", refresh=False)
                bar.update()
    except KeyboardInterrupt as interrupt:
        stopped_by = "SIGTERM" if isinstance(interrupt, Stopped) else "SIGINT"
        finished, _ = load_finished(out_dir, specs)  # a record saved just as the signal came counts too
    records = suite_records()
    write_results(out_dir, records)
    title = suite.name + (f" ({suite.description})" if suite.description else "")
    summary = write_report(out_dir, records, suite.reference, title)
    return RunOutcome(
        ran=ran,
        skipped=len(specs) - len(todo),
        failed=sum(record["status"] != "ok" for record in records),
        records=records,
        summary=summary,
        stopped_by=stopped_by,
        not_run=len(specs) - len(records),
        set_aside=set_aside,
    )
