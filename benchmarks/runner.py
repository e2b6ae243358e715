"""Running a suite: check it, skip the trials already finished, run the rest, save each record, write the report.

Nothing is lost on a crash: every finished trial's record is written atomically as soon as it arrives, and
``results.jsonl`` is rewritten (atomically) after each one. A rerun with the same directory runs only the trials
that have no record yet. A trial whose agent raises is recorded as failed and the others go on; a trial whose
worker process died gets no record, so the next rerun tries it again.
"""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.executors import Executor
from benchmarks.report import Summary, write_report
from benchmarks.results import RUN_FILE, load_finished, save_trial, write_results, write_text
from benchmarks.suite import Suite, check_suite
from benchmarks.trial import TrialSpec, run_trial
from benchmarks.versions import package_versions


@dataclass
class RunOutcome:
    """What a run did.

    Args:
        ran: trials run now (ok or failed).
        skipped: trials whose records were already there.
        failed: trials of the suite recorded as failed (now or before).
        lost: trials that could not be run (their worker died), with the error; a rerun tries them again.
        records: the suite's records, in suite order.
        summary: the report's numbers.
    """

    ran: int
    skipped: int
    failed: int
    lost: list[tuple[TrialSpec, BaseException]]
    records: list[dict[str, Any]]
    summary: Summary


def run_suite(
    suite: Suite, out_dir: Path, executor: Executor, progress: bool = True, command: list[str] | None = None
) -> RunOutcome:
    """Run every trial of ``suite`` that ``out_dir`` has no record of, then write the report there.

    Args:
        suite: the suite; checked with :func:`benchmarks.suite.check_suite` before any trial starts.
        out_dir: the run's directory (created if needed).
        executor: runs the trials.
        progress: show a progress bar over trials (with an ETA) on stderr.
        command: the command line, recorded in ``run.json``.
    """
    check_suite(suite)
    out_dir = Path(out_dir)
    specs = suite.trials()
    finished = load_finished(out_dir, specs)
    todo = [spec for spec in specs if spec.key not in finished]
    settings = {
        "suite": asdict(suite),
        "command": command,
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

    lost = []
    with tqdm(total=len(todo), unit="trial", desc=suite.name, disable=not progress, file=sys.stderr) as bar:
        for spec, outcome in executor.map_unordered(run_trial, todo):
            if isinstance(outcome, BaseException):
                lost.append((spec, outcome))
                status = f"lost ({outcome!r})"
            else:
                save_trial(out_dir, spec, outcome)
                finished[spec.key] = outcome
                write_results(out_dir, suite_records())
                status = outcome["status"]
            bar.set_postfix_str(f"{spec.env_name} {spec.agent_label} seed {spec.seed}: {status}", refresh=False)
            bar.update()
    records = suite_records()
    write_results(out_dir, records)
    title = suite.name + (f" ({suite.description})" if suite.description else "")
    summary = write_report(out_dir, records, suite.reference, title)
    return RunOutcome(
        ran=len(todo) - len(lost),
        skipped=len(specs) - len(todo),
        failed=sum(record["status"] != "ok" for record in records),
        lost=lost,
        records=records,
        summary=summary,
    )
