"""The report of a run: ``summary.md``, ``summary.csv``, ``aggregate.csv`` and the plots, from the trial records.

Per environment and agent: the final test score's mean over seeds, its IQM with a 95% bootstrap CI, whether the
mean reaches the environment's ``reward_threshold`` (the score at which its task counts as solved), the success
rate, the environment steps and their rate. Over tasks: each agent's IQM of final scores with a stratified
bootstrap CI, and the probability that the reference agent beats each other agent. Scores are the tasks' own
metrics, which textgym keeps in [0, 1] (1 = every answer right), so they are aggregated across tasks as they are.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import textgym  # noqa: F401  (registers the textgym IDs whose thresholds the report shows)
from textgym.benchmarks import plots
from textgym.benchmarks.results import write_text
from textgym.benchmarks.stats import Interval, iqm_interval, probability_of_improvement

SUMMARY_MD = "summary.md"
SUMMARY_CSV = "summary.csv"
AGGREGATE_CSV = "aggregate.csv"
AGGREGATE_PNG = "aggregate.png"

SUMMARY_COLUMNS = (
    "env",
    "agent",
    "seeds",
    "failed",
    "score_mean",
    "score_iqm",
    "score_iqm_low",
    "score_iqm_high",
    "threshold",
    "solved",
    "success_rate",
    "env_steps",
    "steps_per_s",
)
"""Columns of ``summary.csv``: one row per environment and agent, over the seeds that finished ``ok``. ``threshold``
is the environment's ``reward_threshold`` (empty when its registration has none) and ``solved`` whether the mean
score reaches it."""


@dataclass
class Summary:
    """The numbers of a report.

    Args:
        rows: one dict per environment and agent, with :data:`SUMMARY_COLUMNS`.
        aggregate: each agent's IQM of final scores over all its tasks and seeds.
        tasks: how many tasks each agent's aggregate covers.
        reference: the agent compared with the others, or ``None`` when there is no other agent.
        reference_note: why this reference (empty when it is the suite's).
        improvement: P(reference > agent) for each other agent, over the tasks both finished.
        improvement_tasks: how many tasks each probability covers.
        failures: ``(env, agent, seed, last line of the error)`` of every failed trial.
        plots: the PNG files written.
    """

    rows: list[dict[str, Any]]
    aggregate: dict[str, Interval]
    tasks: dict[str, int]
    reference: str | None
    reference_note: str
    improvement: dict[str, Interval]
    improvement_tasks: dict[str, int]
    failures: list[tuple[str, str, int, str]]
    plots: list[Path] = field(default_factory=list)


def summarize(records: list[dict[str, Any]], reference: str = "pg") -> Summary:
    """The report's numbers from trial records (``results.jsonl``), in the records' order of envs and agents.

    Args:
        records: trial records of the results contract.
        reference: the agent to compare the others with; when it has no successful trial, the agent with the
            highest aggregate IQM takes its place (the summary says so).
    """
    envs = list(dict.fromkeys(record["env"] for record in records))
    agents = list(dict.fromkeys(record["agent"] for record in records))
    final = {(env, agent): [] for env in envs for agent in agents}
    for record in records:
        if record["status"] == "ok":
            final[record["env"], record["agent"]].append(record["final_score"])
    rows = [_row(env, agent, records) for env in envs for agent in agents if _runs(records, env, agent)]

    scores = {agent: [final[env, agent] for env in envs if final[env, agent]] for agent in agents}
    aggregate = {agent: iqm_interval(by_task) for agent, by_task in scores.items() if by_task}
    tasks = {agent: len(by_task) for agent, by_task in scores.items() if by_task}

    note = ""
    if reference not in aggregate and aggregate:
        best = max(aggregate, key=lambda agent: aggregate[agent].point)
        note = f"{reference!r} has no successful trial here, so the agent with the highest aggregate IQM is used"
        reference = best
    improvement, improvement_tasks = {}, {}
    for agent in aggregate:
        common = [env for env in envs if final[env, reference] and final[env, agent]]
        if agent != reference and common:
            improvement[agent] = probability_of_improvement(
                [final[env, reference] for env in common], [final[env, agent] for env in common]
            )
            improvement_tasks[agent] = len(common)
    failures = [
        (r["env"], r["agent"], r["seed"], ((r["error"] or "").strip().splitlines() or [""])[-1])
        for r in records
        if r["status"] != "ok"
    ]
    return Summary(
        rows=rows,
        aggregate=aggregate,
        tasks=tasks,
        reference=reference if improvement else None,
        reference_note=note,
        improvement=improvement,
        improvement_tasks=improvement_tasks,
        failures=failures,
    )


def write_report(out_dir: Path, records: list[dict[str, Any]], reference: str = "pg", title: str = "") -> Summary:
    """Write ``summary.md``, ``summary.csv``, ``aggregate.csv`` and the PNG plots into ``out_dir``.

    Args:
        out_dir: the run's directory.
        records: the run's trial records.
        reference: see :func:`summarize`.
        title: the summary's heading (the suite's name and description).
    """
    summary = summarize(records, reference)
    envs = list(dict.fromkeys(record["env"] for record in records))
    for env in envs:
        curves = {}
        for record in records:
            if record["env"] == env and record["status"] == "ok":
                curves.setdefault(record["agent"], []).append(record["curve"])
        if curves:
            summary.plots.append(plots.plot_learning_curves(out_dir / plots.curves_file_name(env), env, curves))
    if summary.aggregate:
        summary.plots.append(
            plots.plot_aggregate(out_dir / AGGREGATE_PNG, summary.aggregate, summary.reference, summary.improvement)
        )
    summary_rows = [[row[column] for column in SUMMARY_COLUMNS] for row in summary.rows]
    write_text(out_dir / SUMMARY_CSV, _csv(SUMMARY_COLUMNS, summary_rows))
    aggregate_rows = [["iqm", agent, "", summary.tasks[agent], *_triple(i)] for agent, i in summary.aggregate.items()]
    aggregate_rows += [
        ["probability_of_improvement", agent, summary.reference, summary.improvement_tasks[agent], *_triple(i)]
        for agent, i in summary.improvement.items()
    ]
    write_text(
        out_dir / AGGREGATE_CSV, _csv(("metric", "agent", "reference", "tasks", "point", "low", "high"), aggregate_rows)
    )
    write_text(out_dir / SUMMARY_MD, markdown(summary, records, title))
    return summary


def markdown(summary: Summary, records: list[dict[str, Any]], title: str = "") -> str:
    """The report as Markdown: the tables, the failures and the plot files."""
    budgets = sorted({record["steps"] for record in records})
    episodes = sorted({record["eval_episodes"] for record in records})
    decodings = " / ".join(sorted({record.get("eval_decoding", "greedy") for record in records}))
    lines = [
        f"# Benchmark{': ' + title if title else ''}",
        "",
        f"Final test score after {_join(budgets)} environment steps, {decodings}, on {_join(episodes)} held-out test "
        "prompts (the same for every agent). Scores are the tasks' metrics in [0, 1]; IQM = interquartile mean over "
        "seeds; [a, b] = 95% stratified-bootstrap confidence interval.",
        "",
        "## Per environment",
        "",
        "| env | agent | seeds | score mean | score IQM [95% CI] | solved (threshold) | success | env steps | "
        "env steps/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summary.rows:
        seeds = f"{row['seeds']}" + (f" ({row['failed']} failed)" if row["failed"] else "")
        interval = Interval(row["score_iqm"], row["score_iqm_low"], row["score_iqm_high"])
        lines.append(
            f"| {row['env']} | {row['agent']} | {seeds} | {_number(row['score_mean'])} | {_interval(interval)} | "
            f"{_solved(row)} | {_number(row['success_rate'])} | {_number(row['env_steps'], '.0f')} | "
            f"{_number(row['steps_per_s'], '.0f')} |"
        )
    lines += _measures(summary, records)
    lines += ["", "## Over all tasks", "", "| agent | tasks | IQM of final scores [95% CI] |", "|---|---:|---:|"]
    lines += [f"| {a} | {summary.tasks[a]} | {_interval(i)} |" for a, i in summary.aggregate.items()]
    if summary.reference is not None:
        lines += [
            "",
            f"Probability of improvement: the chance that a run of {summary.reference} scores higher than a run of "
            "the other agent on a task drawn at random (ties count half).",
        ]
        if summary.reference_note:
            lines += ["", f"({summary.reference_note}.)"]
        lines += ["", f"| agent | tasks | P({summary.reference} > agent) [95% CI] |", "|---|---:|---:|"]
        lines += [
            f"| {agent} | {summary.improvement_tasks[agent]} | {_interval(interval)} |"
            for agent, interval in summary.improvement.items()
        ]
    if summary.failures:
        lines += ["", "## Failed trials", "", "The tracebacks are in `results.jsonl` and `trials/`.", ""]
        lines += [f"- {env} / {agent} / seed {seed}: `{error}`" for env, agent, seed, error in summary.failures]
    if summary.plots:
        lines += ["", "## Plots", ""] + [f"![{path.stem}]({path.name})" for path in summary.plots]
    return "\n".join(lines) + "\n"


def _measures(summary: Summary, records: list[dict[str, Any]]) -> list[str]:
    """The table of the other numbers the tasks report at the final evaluation (a continuation's fluency, a
    dialogue's turns), means over the seeds that finished; no lines when no record holds any."""
    lines = []
    for row in summary.rows:
        finished = [
            r.get("final_measures", {}) for r in _runs(records, row["env"], row["agent"]) if r["status"] == "ok"
        ]
        names = sorted(set.intersection(*(set(measures) for measures in finished))) if finished else []
        if names:
            means = ", ".join(f"{name} {np.mean([m[name] for m in finished]):.3f}" for name in names)
            lines.append(f"| {row['env']} | {row['agent']} | {means} |")
    if not lines:
        return []
    header = ["", "## Task measures", "", "Means over seeds at the final evaluation.", ""]
    return [*header, "| env | agent | measures |", "|---|---|---|", *lines]


def _runs(records: list[dict[str, Any]], env: str, agent: str) -> list[dict[str, Any]]:
    """The records of ``env`` and ``agent``."""
    return [record for record in records if record["env"] == env and record["agent"] == agent]


def _row(env: str, agent: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary row of ``env`` and ``agent``."""
    runs = _runs(records, env, agent)
    ok = [record for record in runs if record["status"] == "ok"]
    scores = [record["final_score"] for record in ok]
    interval = iqm_interval([scores]) if ok else Interval(math.nan, math.nan, math.nan)
    rates = [record["steps_per_s"] for record in ok if record["steps_per_s"] is not None]
    threshold = reward_threshold(runs[0].get("env_id", env))
    score_mean = float(np.mean(scores)) if ok else math.nan
    return {
        "env": env,
        "agent": agent,
        "seeds": len(ok),
        "failed": len(runs) - len(ok),
        "score_mean": score_mean,
        "score_iqm": interval.point,
        "score_iqm_low": interval.low,
        "score_iqm_high": interval.high,
        "threshold": threshold,
        "solved": None if math.isnan(threshold) or not ok else bool(score_mean >= threshold),
        "success_rate": float(np.mean([record["final_success"] for record in ok])) if ok else math.nan,
        "env_steps": float(np.mean([record["env_steps"] for record in ok])) if ok else math.nan,
        "steps_per_s": float(np.mean(rates)) if rates else math.nan,
    }


def reward_threshold(env_id: str) -> float:
    """The ``reward_threshold`` of a registered environment ID; ``nan`` when it has none or is not registered here."""
    try:
        threshold = gym.spec(env_id).reward_threshold
    except gym.error.Error:
        return math.nan
    return math.nan if threshold is None else float(threshold)


def _solved(row: dict[str, Any]) -> str:
    """``yes (0.95)`` or ``no (0.95)``; an en dash without a threshold."""
    if row["solved"] is None:
        return "–"
    return f"{'yes' if row['solved'] else 'no'} ({row['threshold']:g})"


def _triple(interval: Interval) -> list[float]:
    """``[point, low, high]``."""
    return [interval.point, interval.low, interval.high]


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> str:
    """CSV text; ``nan`` is written as an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if isinstance(v, float) and math.isnan(v) else v for v in row] for row in rows])
    return buffer.getvalue()


def _number(value: float, spec: str = ".3f") -> str:
    """``value`` formatted, or an en dash when it is undefined."""
    return "–" if value is None or math.isnan(value) else format(value, spec)


def _interval(interval: Interval) -> str:
    """``point [low, high]``, leaving out undefined bounds."""
    if math.isnan(interval.low):
        return _number(interval.point)
    return f"{interval.point:.3f} [{interval.low:.3f}, {interval.high:.3f}]"


def _join(values: list[Any]) -> str:
    """``values`` as ``a``, or ``a / b / c`` when trials differ."""
    return " / ".join(f"{value:,}" for value in values)
