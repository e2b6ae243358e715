"""The report's PNG plots: learning curves per environment and the aggregate interval estimates.

Each PNG carries the numbers it draws as JSON in its ``Description`` metadata, so a plot can be checked against
``results.jsonl`` and its numbers reused without reading pixels.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from textgym.benchmarks.results import atomic_path
from textgym.benchmarks.stats import Interval, iqm_curve

PLOT_DATA_KEY = "Description"
"""The PNG metadata key that holds a plot's numbers as JSON."""


def curve_bands(curves: list[list[list[float]]]) -> dict[str, list[float]]:
    """IQM over runs of the score at each evaluation point, with its 95% bootstrap band.

    Args:
        curves: one curve (``[env_steps, score, success]`` points) per run. Runs evaluated at different steps
            are interpolated linearly onto the union of their steps (held flat beyond a run's ends).

    Returns:
        ``{"env_steps": [...], "iqm": [...], "low": [...], "high": [...]}``.
    """
    grid = np.unique(np.concatenate([np.asarray(curve, dtype=float)[:, 0] for curve in curves]))
    scores = np.stack([np.interp(grid, *np.asarray(curve, dtype=float)[:, :2].T) for curve in curves])
    center, low, high = iqm_curve(scores)
    return {"env_steps": grid.tolist(), "iqm": center.tolist(), "low": low.tolist(), "high": high.tolist()}


def plot_learning_curves(path: Path, env: str, curves_by_agent: dict[str, list[list[list[float]]]]) -> Path:
    """Score against environment steps for every agent on ``env``: the IQM over seeds and its 95% CI band.

    An agent evaluated at one point only (it takes no environment steps, like ``random``) is drawn as a
    horizontal line across the plot.

    Args:
        path: the PNG file to write.
        env: the environment ID, for the title.
        curves_by_agent: each agent's curves, one per successful run.
    """
    bands = {agent: curve_bands(curves) for agent, curves in curves_by_agent.items() if curves}
    right = max([band["env_steps"][-1] for band in bands.values()] + [1.0])
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.add_subplot()
    for agent, band in bands.items():
        steps, center, low, high = (np.asarray(band[key]) for key in ("env_steps", "iqm", "low", "high"))
        if len(steps) == 1:
            steps, center, low, high = (np.array([0.0, right]), *(np.repeat(v, 2) for v in (center, low, high)))
        (line,) = axes.plot(steps, center, label=agent, marker="o" if len(steps) > 2 else None, markersize=3)
        axes.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    axes.set(title=env, xlabel="environment steps", ylabel="test score (IQM over seeds, 95% CI)", ylim=(-0.02, 1.02))
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path, {"env": env, "agents": bands})


def plot_aggregate(
    path: Path, aggregate: dict[str, Interval], reference: str | None, improvement: dict[str, Interval]
) -> Path:
    """Interval estimates over all tasks: each agent's IQM of final scores, and P(reference > agent).

    Args:
        path: the PNG file to write.
        aggregate: each agent's IQM with its 95% CI.
        reference: the agent of the probability-of-improvement panel, or ``None`` to leave the panel out.
        improvement: P(reference > agent) with its 95% CI for each other agent.
    """
    panels = [("IQM of final test scores", "score", aggregate)]
    if reference is not None and improvement:
        panels.append((f"P({reference} > agent)", "probability", improvement))
    figure = Figure(figsize=(4.8 * len(panels), 0.45 * len(aggregate) + 1.6), layout="constrained")
    for index, (title, xlabel, intervals) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        names = list(intervals)
        rows = [list(aggregate).index(name) for name in names]  # the same row for an agent in both panels
        points = np.array([intervals[name].point for name in names])
        errors = np.abs(np.array([[intervals[n].low, intervals[n].high] for n in names]).T - points)
        axes.errorbar(points, rows, xerr=np.nan_to_num(errors), fmt="o", capsize=4)
        axes.set_yticks(range(len(aggregate)), [f"{n} (reference)" if n == reference else n for n in aggregate])
        axes.set(title=title, xlabel=xlabel, xlim=(-0.02, 1.02), ylim=(len(aggregate) - 0.5, -0.5))
        axes.grid(axis="x", alpha=0.3)
        if index == 1:
            axes.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    data = {
        "iqm": {name: list(dataclasses.astuple(interval)) for name, interval in aggregate.items()},
        "reference": reference,
        "probability_of_improvement": {name: list(dataclasses.astuple(i)) for name, i in improvement.items()},
    }
    return _save(figure, path, data)


def curves_file_name(env: str) -> str:
    """The learning-curve PNG's file name for ``env``."""
    return f"curves_{re.sub(r'[^A-Za-z0-9._-]+', '_', env)}.png"


def _without_nan(data: Any) -> Any:
    """``data`` with every ``nan`` (an undefined bound) replaced by ``None``, which JSON writes as ``null``."""
    if isinstance(data, dict):
        return {key: _without_nan(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_without_nan(value) for value in data]
    return None if isinstance(data, float) and math.isnan(data) else data


def _save(figure: Figure, path: Path, data: dict[str, Any]) -> Path:
    """Write ``figure`` to ``path`` atomically with ``data`` in its metadata."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110, metadata={PLOT_DATA_KEY: json.dumps(_without_nan(data))})
    return path
