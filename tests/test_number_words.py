import numpy as np
import pytest

from textgym.splits import SPLITS, split_of
from textgym.tasks import make_task
from textgym.tasks.number_words import number_to_words

SMALL = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
}
SMALL |= {word: 10 * (i + 2) for i, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}


def parse(words: str) -> int:
    """English number words back to an int, written independently of the task: sums, with hundred and thousand
    multiplying what came before, ``and`` skipped."""
    total, current = 0, 0
    for word in words.split():
        if word == "and":
            continue
        if word == "hundred":
            current *= 100
        elif word == "thousand":
            total, current = (total + current) * 1000, 0
        else:
            current += SMALL[word]
    return total + current


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "zero"),
        (13, "thirteen"),
        (42, "forty two"),
        (100, "one hundred"),
        (312, "three hundred and twelve"),
        (1_005, "one thousand and five"),
        (1_100, "one thousand one hundred"),
        (12_005, "twelve thousand and five"),
        (101_001, "one hundred and one thousand and one"),
        (999_999, "nine hundred and ninety nine thousand nine hundred and ninety nine"),
    ],
)
def test_hand_checked_words(n, words):
    assert number_to_words(n) == words


def test_words_name_the_number():
    rng = np.random.default_rng(0)
    for n in [*range(2_000), *rng.integers(0, 1_000_000, size=3_000)]:
        words = number_to_words(int(n))
        assert parse(words) == n


@pytest.mark.parametrize("bad", [-1, 1_000_000, 2.0, "7", True])
def test_numbers_outside_the_range_raise(bad):
    with pytest.raises(ValueError, match="integer in \\[0, 999999\\]"):
        number_to_words(bad)


@pytest.mark.parametrize("direction", ["to_digits", "to_words"])
def test_examples_in_both_directions(direction):
    task = make_task("NumberWords", direction=direction)
    rng = np.random.default_rng(1)
    digit_counts = set()
    for _ in range(500):
        example = task.sample(rng)
        words, digits = (example.prompt, example.references[0])[:: 1 if direction == "to_digits" else -1]
        n = example.meta["number"]
        assert parse(words) == n and digits == " ".join(str(n)) and int(digits.replace(" ", "")) == n
        digit_counts.add(len(str(n)))
    assert digit_counts == {1, 2, 3, 4, 5, 6}


def test_held_out_numbers_are_held_out_in_both_directions():
    rng = np.random.default_rng(2)
    tasks = {direction: make_task("NumberWords", direction=direction) for direction in ("to_digits", "to_words")}
    numbers = {
        (direction, split): {task.sample(rng, split).meta["number"] for _ in range(300)}
        for direction, task in tasks.items()
        for split in SPLITS
    }
    for (_, split), group in numbers.items():
        assert all(split_of(str(n)) == split for n in group)
    train = numbers["to_digits", "train"] | numbers["to_words", "train"]
    test = numbers["to_digits", "test"] | numbers["to_words", "test"]
    assert not train & test


def test_chrf_gives_partial_credit_and_exact_match_does_not():
    chrf_task, exact_task = make_task("NumberWords"), make_task("NumberWords", metric="exact_match")
    example = chrf_task.make_example("three hundred and twelve", ["3 1 2"])
    near = chrf_task.tokenizer.encode("3 1 5")
    # characters "315" vs "312": 1-grams 2/3, 2-grams 1/2, 3-grams 0, as in tests/test_metrics.py
    assert chrf_task.score(near, example) == pytest.approx(7 / 18)
    assert exact_task.score(near, example) == 0.0 and not chrf_task.is_success(near, example)
    assert chrf_task.score(example.reference_ids[0], example) == 1.0


def test_max_digits_sets_the_sizes():
    to_digits = make_task("NumberWords", max_digits=3)
    assert (to_digits.max_prompt_len, to_digits.max_gen_len) == (5, 4)  # "seven hundred and seventy seven"
    to_words = make_task("NumberWords", direction="to_words", max_digits=4)
    assert (to_words.max_prompt_len, to_words.max_gen_len) == (4, 8)  # "seven thousand seven hundred and seventy seven"
