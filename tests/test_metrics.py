import pytest

from textgym.metrics import edit_similarity, exact_match, get_metric, token_accuracy


def test_exact_match():
    assert exact_match("abc", ("abc",)) == 1.0
    assert exact_match("abc", ("abd", "abc")) == 1.0
    assert exact_match("ab", ("abc",)) == 0.0
    assert exact_match((3, 4), ((3, 4),)) == 1.0


def test_token_accuracy_hand_computed():
    assert token_accuracy("abc", ("abc",)) == 1.0
    assert token_accuracy("abd", ("abc",)) == pytest.approx(2 / 3)
    assert token_accuracy("ab", ("abcd",)) == pytest.approx(2 / 4)  # missing tokens count as wrong
    assert token_accuracy("abcdef", ("abc",)) == pytest.approx(3 / 6)  # so do extra ones
    assert token_accuracy("xbc", ("abc", "xyz")) == pytest.approx(2 / 3)  # best reference
    assert token_accuracy("", ("",)) == 1.0
    assert token_accuracy("", ("a",)) == 0.0


def test_edit_similarity_hand_computed():
    assert edit_similarity("kitten", ("sitting",)) == pytest.approx(1 - 3 / 7)
    assert edit_similarity("abc", ("abc",)) == 1.0
    assert edit_similarity([3, 4, 5], ([3, 5],)) == pytest.approx(1 - 1 / 3)
    assert edit_similarity("", ("",)) == 1.0
    assert edit_similarity("abc", ("xyz", "abd")) == pytest.approx(2 / 3)


def test_bad_references_and_unknown_metric():
    with pytest.raises(ValueError, match="non-empty sequence"):
        exact_match("abc", "abc")
    with pytest.raises(ValueError, match="non-empty sequence"):
        token_accuracy("abc", ())
    with pytest.raises(ValueError, match="'bleu4'"):
        get_metric("bleu4")
