import math

import pytest

from textgym.metrics import bleu, chrf, edit_similarity, exact_match, get_metric, rouge_l, token_accuracy


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


def test_bleu_hand_computed():
    # n-gram precisions 5/6, 3/5, 2/4, 1/3 and equal lengths (no brevity penalty): BLEU = (1/12) ** (1/4).
    assert bleu("the cat sat on the mat", ("the cat sat on a mat",)) == pytest.approx((1 / 12) ** 0.25)
    # brevity penalty exp(1 - 6/5) on a hypothesis whose n-grams all match: 5/5, 4/4, 3/3, 2/2
    assert bleu("the cat sat on the", ("the cat sat on the mat",)) == pytest.approx(math.exp(1 - 6 / 5))
    assert bleu("yes", ("yes",)) == 1.0  # sacrebleu says 100.00000000000004
    assert bleu(["the", "cat"], ("the cat",)) == 1.0  # words are joined with spaces
    assert bleu("", ("the cat",)) == 0.0


def test_chrf_hand_computed():
    # character n-grams of "abc" vs "abd": 1-grams 2/3 match, 2-grams 1/2, 3-grams 0/1, no longer ones;
    # precision equals recall at each order, so chrF = mean(2/3, 1/2, 0) = 7/18.
    assert chrf("abc", ("abd",)) == pytest.approx(7 / 18)
    assert chrf("abc", ("xyz", "abd")) == pytest.approx(7 / 18)  # the best reference
    assert chrf("3 1 2", ("312",)) == 1.0  # whitespace is ignored
    assert chrf("", ("312",)) == 0.0


def test_rouge_l_hand_computed():
    # longest common subsequence "the cat on the mat": 5 of 6 words on both sides
    assert rouge_l("the cat lay on the mat", ("the cat sat on the mat",)) == pytest.approx(5 / 6)
    # LCS 2 ("police arrest"), precision 2/2, recall 2/5: F1 = 2 * 1 * 0.4 / 1.4
    assert rouge_l("police arrest", ("police arrest burglar in oakdale",)) == pytest.approx(0.8 / 1.4)
    # best reference "a c": LCS 2, precision 2/3, recall 1, F1 = (4/3) / (5/3); "c b a" only reaches 1/3
    assert rouge_l("a b c", ("x y", "c b a", "a c")) == pytest.approx(0.8)
    assert rouge_l(["storm", "damages", "market"], ("storm damages market",)) == 1.0
    assert rouge_l("", ("storm",)) == 0.0


def test_text_metrics_are_registered_and_check_references():
    assert {get_metric(name) for name in ("bleu", "chrf", "rouge_l")} == {bleu, chrf, rouge_l}
    for metric in (bleu, chrf, rouge_l):
        with pytest.raises(ValueError, match="non-empty sequence"):
            metric("abc", "abc")
