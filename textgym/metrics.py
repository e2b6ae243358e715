"""Metrics: ``metric(generated, references) -> float`` in [0, 1].

``generated`` is one sequence (a string, or a sequence of token ids or words) and ``references`` a non-empty
collection of such sequences; the score is the best over the references, as is usual when several answers are
acceptable (BLEU instead counts n-gram matches against all references at once, as sacrebleu does). Every metric
gives 1.0 when ``generated`` equals a reference; the sequence metrics (``exact_match``, ``token_accuracy``,
``edit_similarity``) give 1.0 only then.

The text metrics (``bleu``, ``chrf``, ``rouge_l``) come from the field's libraries (sacrebleu, rouge-score) and
take strings; a sequence of words is joined with single spaces first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import cache
from typing import Any

import sacrebleu
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


def bleu(generated: Tokens, references: Sequence[Tokens]) -> float:
    """Sentence BLEU (sacrebleu's defaults: 13a tokenisation, exponential smoothing, effective n-gram order) / 100,
    with n-grams matched against all references together."""
    _check_references(references)
    return _from_percent(sacrebleu.sentence_bleu(_text(generated), [_text(r) for r in references]).score)


def chrf(generated: Tokens, references: Sequence[Tokens]) -> float:
    """Sentence chrF (sacrebleu's defaults: character n-grams up to 6, beta 2, whitespace ignored) / 100, against
    the best-matching reference."""
    _check_references(references)
    return _from_percent(sacrebleu.sentence_chrf(_text(generated), [_text(r) for r in references]).score)


def rouge_l(generated: Tokens, references: Sequence[Tokens]) -> float:
    """ROUGE-L F1 (rouge-score: lower-cased alphanumeric tokens, no stemming), best over the references."""
    _check_references(references)
    scorer = _rouge_l_scorer()
    prediction = _text(generated)
    return float(max(scorer.score(_text(reference), prediction)["rougeL"].fmeasure for reference in references))


METRICS: dict[str, Metric] = {
    "exact_match": exact_match,
    "token_accuracy": token_accuracy,
    "edit_similarity": edit_similarity,
    "bleu": bleu,
    "chrf": chrf,
    "rouge_l": rouge_l,
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


def _text(sequence: Tokens) -> str:
    return sequence if isinstance(sequence, str) else " ".join(str(token) for token in sequence)


def _from_percent(score: float) -> float:
    # sacrebleu reports a perfect match as 100.00000000000004 at times; that is 1.0, not more.
    return min(score / 100.0, 1.0)


@cache
def _rouge_l_scorer() -> Any:
    # Imported on first use: rouge-score imports nltk, which would add most of a second to `import textgym`.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
