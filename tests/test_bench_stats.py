"""The report's statistics: IQM, stratified bootstrap intervals, probability of improvement."""

import math

import numpy as np
import pytest

from textgym.benchmarks.stats import Interval, iqm, iqm_curve, iqm_interval, probability_of_improvement


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.array([100.0, 0, 6, 1, 5, 2, 4, 3])) == 3.5  # middle of 0..6, 100: 2, 3, 4, 5


def test_the_bootstrap_is_stratified_by_task():
    # Resampling runs within each task always draws three 0s and three 1s, so the IQM is always 0.5; a bootstrap
    # that pooled the six runs would draw other mixes and widen the interval.
    assert iqm_interval([[0, 0, 0], [1, 1, 1]]) == Interval(0.5, 0.5, 0.5)


def test_interval_brackets_the_estimate_and_is_reproducible():
    rng = np.random.default_rng(1)
    tasks = [rng.uniform(size=5) for _ in range(4)]
    interval = iqm_interval(tasks)
    assert interval.point == pytest.approx(iqm(np.concatenate(tasks)))
    assert min(map(min, tasks)) <= interval.low < interval.point < interval.high <= max(map(max, tasks))
    assert iqm_interval(tasks) == interval
    wider = iqm_interval([task[:2] for task in tasks])  # fewer seeds, less certainty
    assert wider.high - wider.low > interval.high - interval.low


def test_probability_of_improvement_counts_wins_and_half_ties_per_task():
    # task 1: X always wins (1.0); task 2: of the 4 pairs one ties (0.5) and none wins: 0.125. Mean: 0.5625.
    interval = probability_of_improvement([[1, 1, 1], [0.5, 0.6]], [[0, 0, 0], [0.6, 0.7]])
    assert interval.point == 0.5625 and interval.low <= 0.5625 <= interval.high
    assert probability_of_improvement([[1, 1]], [[0, 0]]) == Interval(1.0, 1.0, 1.0)
    assert probability_of_improvement([[0.3, 0.7]], [[0.3, 0.7]]).point == 0.5
    with pytest.raises(ValueError, match="same tasks, got 2 and 1"):
        probability_of_improvement([[1], [1]], [[0]])


def test_a_single_run_has_no_interval():
    interval = iqm_interval([[0.4]])
    assert interval.point == 0.4 and math.isnan(interval.low) and math.isnan(interval.high)


def test_curve_bands_hold_the_iqm_at_every_point():
    scores = np.array([[0.0, 0.5, 1.0], [0.0, 0.7, 0.9], [0.0, 0.2, 0.95], [0.1, 0.6, 0.8]])
    center, low, high = iqm_curve(scores)
    assert np.allclose(center, [iqm(column) for column in scores.T])
    assert np.all(low <= center) and np.all(center <= high) and low[0] == 0.0 and high[1] > low[1]
