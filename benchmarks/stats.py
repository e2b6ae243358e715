"""The statistics of a report, after rliable (Agarwal et al., 2021): the interquartile mean (IQM) over runs, the
probability of improvement, and 95% confidence intervals by stratified bootstrap (runs are resampled within each
task, never across tasks).

rliable itself is not used: its dependency ``arch`` fails to import with pandas 3 (``deprecate_kwarg`` changed),
and scipy's ``bootstrap`` resamples each of several samples independently, which is the stratified bootstrap
when each task's runs are one sample. The IQM is ``scipy.stats.trim_mean(x, 0.25)``, as in rliable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

CONFIDENCE = 0.95
RESAMPLES = 9_999
BOOTSTRAP_SEED = 0
"""The bootstrap's seed: the same results give the same intervals."""


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval (``nan`` bounds when a sample has fewer than two runs).

    Args:
        point: the estimate.
        low: the lower bound.
        high: the upper bound.
    """

    point: float
    low: float
    high: float


def iqm(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean along ``axis``: the mean of the middle 50% (a quarter trimmed from each end)."""
    return scipy.stats.trim_mean(scores, 0.25, axis=axis)


def iqm_interval(scores_by_task: Sequence[Sequence[float]]) -> Interval:
    """IQM over all runs of all tasks, with a stratified-bootstrap confidence interval.

    Args:
        scores_by_task: one sequence of run scores (one per seed) for each task.
    """
    samples = [np.asarray(scores, dtype=float) for scores in scores_by_task]

    def statistic(*resampled: np.ndarray, axis: int = -1) -> np.ndarray:
        return iqm(np.concatenate(resampled, axis=axis), axis=axis)

    return _interval(samples, statistic)


def probability_of_improvement(x_by_task: Sequence[Sequence[float]], y_by_task: Sequence[Sequence[float]]) -> Interval:
    """P(X > Y): the chance that a run of agent X beats a run of agent Y on a task drawn uniformly, ties counting
    half, with a stratified-bootstrap confidence interval.

    Args:
        x_by_task: agent X's run scores for each task.
        y_by_task: agent Y's run scores for the same tasks, in the same order.
    """
    if len(x_by_task) != len(y_by_task):
        raise ValueError(f"x and y must cover the same tasks, got {len(x_by_task)} and {len(y_by_task)} tasks")
    samples = [np.asarray(scores, dtype=float) for pair in zip(x_by_task, y_by_task) for scores in pair]

    def statistic(*resampled: np.ndarray, axis: int = -1) -> np.ndarray:
        per_task = []
        for x, y in zip(resampled[0::2], resampled[1::2]):
            x, y = np.moveaxis(x, axis, -1)[..., :, None], np.moveaxis(y, axis, -1)[..., None, :]
            per_task.append(((x > y) + 0.5 * (x == y)).mean(axis=(-2, -1)))
        return np.mean(per_task, axis=0)

    return _interval(samples, statistic)


def iqm_curve(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM over runs at every point of a learning curve, with bootstrap confidence bands.

    Args:
        scores: shape ``(runs, points)``.

    Returns:
        ``(iqm, low, high)``, each of shape ``(points,)``.
    """
    scores = np.asarray(scores, dtype=float)
    return (iqm(scores, axis=0), *_bootstrap([scores], iqm, axis=0))


def _interval(samples: list[np.ndarray], statistic: Callable[..., np.ndarray]) -> Interval:
    """The statistic of ``samples`` with its confidence interval."""
    low, high = _bootstrap(samples, statistic)
    return Interval(float(statistic(*samples)), float(low), float(high))


def _bootstrap(
    samples: list[np.ndarray], statistic: Callable[..., np.ndarray], axis: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap bounds of ``statistic``, each sample resampled on its own along ``axis``; ``nan``
    when a sample has fewer than two runs."""
    if any(sample.shape[axis] < 2 for sample in samples):
        nan = np.full_like(statistic(*samples, axis=axis), math.nan, dtype=float)
        return nan, nan
    result = scipy.stats.bootstrap(
        samples,
        statistic,
        axis=axis,
        vectorized=True,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return result.confidence_interval.low, result.confidence_interval.high
