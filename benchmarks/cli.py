"""The command line of the benchmark runner: ``textgym-bench`` and ``python -m textgym.benchmarks``.

``textgym-bench`` alone runs the ``quick`` suite with one worker per core and prints the summary table.
``textgym-bench perf-env ...`` and ``textgym-bench perf-agent ...`` run the throughput benchmarks
(:mod:`textgym.benchmarks.perf.env`, :mod:`textgym.benchmarks.perf.agent`) with the options that follow.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from textgym.agents.training_log import check_tensorboard
from textgym.benchmarks.executors import EXECUTORS, make_executor
from textgym.benchmarks.report import SUMMARY_MD
from textgym.benchmarks.results import ResultsDirectoryError
from textgym.benchmarks.runner import run_suite
from textgym.benchmarks.suite import SuiteError, load_suite

PERF_COMMANDS = {"perf-env": "textgym.benchmarks.perf.env", "perf-agent": "textgym.benchmarks.perf.agent"}
"""Subcommands that run a throughput benchmark instead of a suite: name -> module with a ``main(argv)``."""


def positive_int(text: str) -> int:
    """``text`` as a positive integer (argparse names the option when this raises)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def positive_seconds(text: str) -> float:
    """``text`` as a positive, finite number of seconds (argparse names the option when this raises)."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(text)
    return value


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``textgym-bench``."""
    p = argparse.ArgumentParser(
        prog="textgym-bench",
        description="Compare agents on textgym environments at equal environment-step budgets, over seeds.",
    )
    p.add_argument(
        "suite",
        nargs="?",
        default="quick",
        help="'quick' (default), 'full' or a path to a suite .toml; or 'perf-env' / 'perf-agent' and their options",
    )
    p.add_argument("--envs", nargs="+", metavar="ID", help="environment IDs to run instead of the suite's")
    p.add_argument("--agents", nargs="+", metavar="NAME", help="agent names to run instead of the suite's")
    p.add_argument("--seeds", type=positive_int, metavar="N", help="number of seeds (seeds 0 .. N-1)")
    p.add_argument("--steps", type=positive_int, metavar="N", help="environment-step budget per trial")
    p.add_argument("--eval-every", type=positive_int, metavar="N", help="environment steps between evaluations")
    p.add_argument(
        "--trial-timeout",
        type=positive_seconds,
        metavar="S",
        help="seconds a trial may run before it is stopped and recorded as failed (default: the suite's, or none)",
    )
    p.add_argument(
        "--workers", type=positive_int, default=default_workers(), metavar="N", help="parallel trials (default: cores)"
    )
    p.add_argument("--executor", choices=sorted(EXECUTORS), default="process", help="how trials run (default: process)")
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="with --executor ray: the Ray cluster to join ('auto', 'host:6379', 'ray://host:10001'; default: "
        "RAY_ADDRESS, else a local Ray with --workers CPUs)",
    )
    p.add_argument("--out", type=Path, metavar="DIR", help="results directory (default: results/SUITE)")
    p.add_argument(
        "--log-dir",
        type=Path,
        metavar="DIR",
        help="TensorBoard logs: each trial writes its evaluations, and the agent its training metrics, to "
        "DIR/TRIAL (needs textgym[tensorboard])",
    )
    return p


STOP_CODES = {"SIGINT": 130, "SIGTERM": 143}
"""Exit codes of a run stopped by a signal (the shell's convention: 128 + the signal's number)."""


def main(argv: list[str] | None = None) -> int:
    """Run ``textgym-bench`` with ``argv`` (default: ``sys.argv[1:]``); 0 when every trial is ok, 1 when one
    failed, 2 for a bad suite or option or a results directory in use, 130 or 143 when stopped by Ctrl-C or
    ``SIGTERM`` (the finished trials' report is written first)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PERF_COMMANDS:
        importlib.import_module(PERF_COMMANDS[argv[0]]).main(argv[1:])
        return 0
    command_line = parser()
    args = command_line.parse_args(argv)
    if args.address is not None and args.executor != "ray":
        command_line.error("--address needs --executor ray")
    if args.log_dir is not None:
        try:
            check_tensorboard()
        except ImportError as error:
            command_line.error(str(error))
    try:
        suite = load_suite(args.suite).with_overrides(
            envs=args.envs,
            agents=args.agents,
            seeds=args.seeds,
            steps=args.steps,
            eval_every=args.eval_every,
            trial_timeout=args.trial_timeout,
        )
        out_dir = args.out if args.out is not None else Path("results") / suite.name
        command = ["textgym-bench", *argv]
        executor = make_executor(args.executor, args.workers, args.address)
        outcome = run_suite(suite, out_dir, executor, command=command, log_dir=args.log_dir)
    except (SuiteError, ResultsDirectoryError) as error:
        print(f"textgym-bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before any trial started
        print("textgym-bench: stopped before any trial ran", file=sys.stderr)
        return STOP_CODES["SIGINT"]
    print((out_dir / SUMMARY_MD).read_text())
    print(f"{outcome.ran} trial(s) run, {outcome.skipped} already done, {outcome.failed} failed; results in {out_dir}")
    if outcome.stopped_by is not None:
        print(
            f"stopped by {outcome.stopped_by}: {outcome.not_run} trial(s) not run; run the same command again to "
            "run them",
            file=sys.stderr,
        )
        return STOP_CODES[outcome.stopped_by]
    return 1 if outcome.failed else 0
