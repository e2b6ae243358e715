import numpy as np
import pytest

from textgym.tasks.grammar import Grammar, Template, unique_words, with_article

FILLERS = {"agent": ("dog", "old man"), "object": ("ball", "apple")}


def test_template_fills_expands_and_lists_words():
    template = Template("the {agent} likes the {object} .")
    assert template.slots == ("agent", "object")
    assert template.fill({"agent": "old man", "object": "ball"}) == "the old man likes the ball ."
    assert list(template.expand(FILLERS)) == [
        "the dog likes the ball .",
        "the dog likes the apple .",
        "the old man likes the ball .",
        "the old man likes the apple .",
    ]
    assert template.words(FILLERS) == ("the", "likes", ".", "dog", "old", "man", "ball", "apple")


def test_longest_adds_the_costliest_filler_of_each_slot():
    template = Template("the {agent} likes the {object} .")
    assert template.longest(FILLERS, lambda text: len(text.split())) == 4 + 2 + 1
    letters = lambda text: sum(map(len, text.split()))  # noqa: E731  (a cost that adds up over words)
    assert template.longest(FILLERS, letters) == 12 + len("oldman") + len("apple")


def test_a_repeated_slot_takes_one_value():
    template = Template("{agent} and {agent}")
    assert list(template.expand(FILLERS)) == ["dog and dog", "old man and old man"]


def test_template_errors_name_the_slot():
    with pytest.raises(ValueError, match=r"no value for slot\(s\) \['object'\]"):
        Template("the {agent} likes the {object} .").fill({"agent": "dog"})
    with pytest.raises(ValueError, match="bad slot"):
        Template("the {agent!r} barks")
    with pytest.raises(ValueError, match="slot {colour} of template 'a {colour} dog' has no fillers"):
        Grammar(["a {colour} dog"], FILLERS)


def test_grammar_samples_uniformly_and_reproducibly():
    grammar = Grammar(["the {agent} sleeps .", "a {object} rolls ."], FILLERS)
    texts = [grammar.sample(np.random.default_rng(seed)) for seed in range(400)]
    assert texts == [grammar.sample(np.random.default_rng(seed)) for seed in range(400)]
    assert set(texts) == set(grammar.expand()) and len(set(grammar.expand())) == 4
    assert grammar.longest(lambda text: len(text.split())) == 5  # "the old man sleeps ."
    assert grammar.words() == ("the", "sleeps", ".", "dog", "old", "man", "a", "rolls", "ball", "apple")


def test_helpers():
    assert unique_words(["a b a", "c b"]) == ("a", "b", "c")
    assert with_article("apple") == "an apple" and with_article("ball") == "a ball"
