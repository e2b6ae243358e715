import numpy as np
import pytest

from textgym.splits import SPLITS, split_of
from textgym.tasks import make_task
from textgym.tasks.keywords import all_concept_sets, coverage, sentences_for


@pytest.fixture(scope="module")
def task():
    return make_task("KeywordsToSentence")


def example_for(task, concepts, references):
    return task.make_example(" ".join(sorted(concepts)), references, concepts=concepts)


def test_coverage_counts_lemmas_and_inflections():
    concepts = ("boy", "kick", "ball", "park")
    assert coverage("the boy kicks the ball in the park .".split(), concepts) == 1.0
    assert coverage("a boy is kicking a ball .".split(), concepts) == 0.75
    assert coverage("the ball was kicked".split(), concepts) == 0.5
    assert coverage("the girl throws the frisbee".split(), concepts) == 0.0
    assert coverage("the boy kick kicked".split(), concepts) == 0.5  # a concept counts once


def test_score_is_coverage_times_rouge_l(task):
    concepts = ("boy", "kick", "ball", "park")
    example = example_for(task, concepts, ["the boy kicks the ball in the park ."])
    # coverage 3/4 (no park); ROUGE-L: LCS "the boy kicks the ball" = 5 words, precision 5/5, recall 5/8
    answer = task.tokenizer.encode("the boy kicks the ball")
    assert task.score(answer, example) == pytest.approx(0.75 * (2 * 1 * 5 / 8 / (1 + 5 / 8)))
    assert not task.is_success(answer, example)
    # every concept, but in an order that shares one word at most with the reference: precision 1/4, recall 1/8
    assert task.score(task.tokenizer.encode("park ball kick boy"), example) == pytest.approx(1 / 6)
    # the last step's info reports the two factors
    assert task.final_info(answer, example) == pytest.approx({"coverage": 0.75, "rouge_l": 2 * 5 / 8 / (1 + 5 / 8)})


def test_bleu_option(task):
    bleu_task = make_task("KeywordsToSentence", metric="bleu")
    concepts = ("boy", "kick", "ball")
    example = example_for(bleu_task, concepts, ["the boy kicks the ball ."])
    # all concepts; 5 of 6 words, n-grams of "the boy kicks the ball" all match: 5/5, 4/4, 3/3, 2/2,
    # brevity penalty exp(1 - 6/5)
    answer = bleu_task.tokenizer.encode("the boy kicks the ball")
    assert bleu_task.score(answer, example) == pytest.approx(np.exp(1 - 6 / 5))
    assert bleu_task.final_info(answer, example) == pytest.approx({"coverage": 1.0, "bleu": np.exp(1 - 6 / 5)})


def test_references_use_every_concept_and_the_oracle_succeeds(task):
    rng = np.random.default_rng(0)
    sizes = set()
    for _ in range(500):
        example = task.sample(rng)
        concepts = example.meta["concepts"]
        sizes.add(len(concepts))
        assert example.prompt == " ".join(sorted(concepts))
        assert len(example.references) == 4
        for reference in example.references:
            assert coverage(reference.split(), concepts) == 1.0 and reference.endswith(" .")
    assert sizes == {3, 4}


def test_there_are_1624_concept_sets():
    # 8 agents x 29 verb-object pairs x (no place or one of 6)
    assert len({" ".join(sorted(c for c in choices if c)) for choices in all_concept_sets()}) == 8 * 29 * 7 == 1_624


def test_concept_sets_are_held_out(task):
    rng = np.random.default_rng(1)
    prompts = {split: {task.sample(rng, split).prompt for _ in range(300)} for split in SPLITS}
    assert all(split_of(prompt) == split for split, group in prompts.items() for prompt in group)
    assert not prompts["train"] & prompts["test"]


def test_hand_checked_references():
    assert sentences_for("woman", "eat", "apple", "kitchen") == (
        "the woman eats the apple in the kitchen .",
        "the woman ate the apple in the kitchen .",
        "a woman is eating an apple in the kitchen .",
        "the apple was eaten by the woman in the kitchen .",
    )
    assert sentences_for("boy", "read", "book", None)[1:] == (
        "the boy read the book .",
        "a boy is reading a book .",
        "the book was read by the boy .",
    )
