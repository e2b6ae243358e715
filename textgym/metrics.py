"""Metrics: ``metric(generated, references) -> float`` in [0, 1].

``generated`` is one sequence (a string, or a sequence of token ids or words) and ``references`` a non-empty
collection of such sequences; the score is the best over the references, as is usual when several answers are
acceptable. Each metric gives 1.0 exactly when ``generated`` equals a reference.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from rapidfuzz.distance import Levenshtein

Tokens = Sequence[Hashable]
Metric = Callable[[Tokens, Sequence[Tokens]], float]


def exact_match(generated: Tokens, references: Sequence[Tokens]) -> float:
    """1.0 if ``generated`` equals one of the references, else 0.0."""
    _check_references(references)
    generated = tuple(generated)
    return float(any(generated == tuple(reference) for reference in references))


def token_accuracy(generated: Tokens, references: Sequence[Tokens]) -> float:
    """Fraction of positions that hold the reference's token, over the longer of the two lengths.

    A missing or extra token counts as a wrong position, so the score is 1.0 only for an exact match.
    Two empty sequences score 1.0.
    """
    _check_references(references)
    best = 0.0
    for reference in references:
        longer = max(len(generated), len(reference))
        if longer == 0:
            return 1.0
        matches = sum(g == r for g, r in zip(generated, reference))
        best = max(best, matches / longer)
    return best


def edit_similarity(generated: Tokens, references: Sequence[Tokens]) -> float:
    """Normalised Levenshtein similarity, ``1 - distance / max(len)`` (rapidfuzz); two empty sequences score 1.0."""
    _check_references(references)
    return max(Levenshtein.normalized_similarity(generated, reference) for reference in references)


METRICS: dict[str, Metric] = {
    "exact_match": exact_match,
    "token_accuracy": token_accuracy,
    "edit_similarity": edit_similarity,
}


def get_metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; expected one of {sorted(METRICS)}") from None


def _check_references(references: Sequence[Tokens]) -> None:
    if isinstance(references, str) or len(references) == 0:
        raise ValueError(
            f"references must be a non-empty sequence of sequences (e.g. a tuple of strings), got {references!r}"
        )
