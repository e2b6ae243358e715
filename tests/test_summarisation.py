import re

import numpy as np
import pytest

from textgym.splits import SPLITS, split_of
from textgym.tasks import make_task
from textgym.tasks.summarisation import TOWNS


@pytest.fixture(scope="module")
def task():
    return make_task("Summarisation")


def test_documents_are_about_their_headline(task):
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(500):
        example = task.sample(rng)
        document, (headline,) = example.prompt, example.references
        sentences = document.split(" . ")
        assert len(sentences) == 3 and document.endswith(" .")
        # the headline's town, and its last slot (thing, sport, building, suspect's word, facility or town), are
        # in the lead sentence
        towns = [town for town in TOWNS if town in headline.split()]
        assert len(towns) == 1 and towns[0] in sentences[0].split()
        assert headline.split()[-1] in sentences[0].split()
        kinds.add(re.sub("|".join(TOWNS), "TOWN", headline).split()[1])
        for other_town in set(TOWNS) - set(towns):  # another town only in a distractor or as a rival
            if other_town in document:
                assert re.search(rf"(in|against) {other_town}\b", document), document
    assert len(kinds) == 5  # council, final, storm, arrest, opening: every kind of event


def test_hand_checked_example(task):
    rng = np.random.default_rng(0)
    example = next(e for e in (task.sample(rng) for _ in range(1000)) if "council" in e.references[0])
    town = example.references[0].split()[0]
    thing = example.references[0].split()[-1]
    assert example.references[0] == f"{town} council approves new {thing}"
    assert f"the council of {town} voted to build a new {thing} ." in example.prompt


def test_rouge_l_reward_and_exact_success(task):
    example = task.make_example(
        "police in oakdale arrested a burglar on monday after a short chase .", ["police arrest burglar in oakdale"]
    )
    partial = task.tokenizer.encode("police arrest burglar")
    # LCS 3 of the headline's 5 words: precision 1, recall 3/5, F1 = 2 * 0.6 / 1.6
    assert task.score(partial, example) == pytest.approx(0.75)
    assert not task.is_success(partial, example)
    assert task.score(task.tokenizer.encode("oakdale burglar police"), example) == pytest.approx(
        2 * 1 / 3 * 1 / 5 / (1 / 3 + 1 / 5)
    )
    full = example.reference_ids[0]
    assert task.score(full, example) == 1.0 and task.is_success(full, example)


def test_held_out_events(task):
    rng = np.random.default_rng(1)
    headlines = {split: {task.sample(rng, split).references[0] for _ in range(300)} for split in SPLITS}
    assert all(split_of(headline) == split for split, group in headlines.items() for headline in group)
    assert not headlines["train"] & headlines["test"]


@pytest.mark.parametrize("num_sentences", [1, 7])
def test_num_sentences(num_sentences):
    task = make_task("Summarisation", num_sentences=num_sentences)
    rng = np.random.default_rng(2)
    for _ in range(50):
        assert task.sample(rng).prompt.count(" .") == num_sentences
