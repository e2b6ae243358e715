"""Batched metrics: the exact-match family of :mod:`textgym.metrics` over padded arrays of token ids, in numpy.

Each function scores N answers at once and returns, for every row, exactly the float the scalar metric of the
same name returns for that row (``generated[i, :lengths[i]]`` against the row's references), so a vector
environment and N single environments agree to the last bit.

Arguments shared by every function:

- ``generated``: int array ``(N, W)``; row ``i`` holds the answer in its first ``lengths[i]`` slots.
- ``lengths``: int array ``(N,)``, each in ``[0, W]``.
- ``references``: int array ``(N, R, W')`` with ``W' >= W``; reference ``r`` of row ``i`` left-aligned in
  ``references[i, r]``. Slots past ``W`` may be cut off: an answer of at most ``W`` tokens never reads them.
- ``reference_lengths``: int array ``(N, R)``: the full length of each reference, ``-1`` where row ``i`` has fewer
  than ``R`` references (its references come first). Every row needs at least one reference, as the scalar
  metrics do.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BatchedMetric = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _compare(
    generated: np.ndarray, lengths: np.ndarray, references: np.ndarray, reference_lengths: np.ndarray
) -> np.ndarray:
    """int ``(N, R)``: the positions where each answer and each of its references hold the same id."""
    num_rows, width = generated.shape
    if lengths.shape != (num_rows,) or reference_lengths.shape != references.shape[:2] or len(references) != num_rows:
        raise ValueError(
            f"inconsistent shapes: generated {generated.shape}, lengths {lengths.shape}, "
            f"references {references.shape}, reference_lengths {reference_lengths.shape}; "
            "expected (N, W), (N,), (N, R, >= W) and (N, R)"
        )
    if references.shape[2] < width:
        raise ValueError(f"references are {references.shape[2]} slots wide, fewer than the answers' {width}")
    if num_rows and reference_lengths[:, 0].min() < 0:  # references fill each row from the first
        missing = np.flatnonzero(reference_lengths[:, 0] < 0).tolist()
        raise ValueError(f"rows {missing} have no reference; every answer needs at least one to be scored")
    compared = np.arange(width) < np.minimum(lengths[:, None], reference_lengths)[:, :, None]
    return np.add.reduce((generated[:, None, :] == references[:, :, :width]) & compared, axis=-1)


def matches_reference(
    generated: np.ndarray, lengths: np.ndarray, references: np.ndarray, reference_lengths: np.ndarray
) -> np.ndarray:
    """Boolean ``(N,)``: row ``i``'s answer equals one of its references exactly (same length, every position
    agreeing)."""
    agreeing = _compare(generated, lengths, references, reference_lengths)
    exact = (reference_lengths == lengths[:, None]) & (agreeing == lengths[:, None])
    return exact[:, 0] if exact.shape[1] == 1 else exact.any(axis=1)


def exact_match(
    generated: np.ndarray, lengths: np.ndarray, references: np.ndarray, reference_lengths: np.ndarray
) -> np.ndarray:
    """The scalar ``exact_match`` of every row: 1.0 where the answer equals one of its references, else 0.0."""
    return matches_reference(generated, lengths, references, reference_lengths).astype(np.float64)


def token_accuracy(
    generated: np.ndarray, lengths: np.ndarray, references: np.ndarray, reference_lengths: np.ndarray
) -> np.ndarray:
    """The scalar ``token_accuracy`` of every row: the best over its references of (positions that agree) / (the
    longer length); 1.0 for two empty sequences."""
    agreeing = _compare(generated, lengths, references, reference_lengths)
    longer = np.maximum(lengths[:, None], reference_lengths)
    scores = np.divide(agreeing, longer, out=np.ones(longer.shape), where=longer > 0)
    if scores.shape[1] == 1:  # one reference per row, as most tasks have
        return scores[:, 0]
    scores[reference_lengths < 0] = -np.inf  # rows with fewer references: the missing ones never count
    return scores.max(axis=1)


BATCHED_METRICS: dict[str, BatchedMetric] = {
    "exact_match": exact_match,
    "token_accuracy": token_accuracy,
}
"""The metrics of :data:`textgym.metrics.METRICS` that have a numpy version here, by the same name."""
