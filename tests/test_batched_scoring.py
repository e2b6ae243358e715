"""Batched scoring gives, row by row, exactly what the single-answer methods give."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textgym import metrics
from textgym.batched_metrics import BATCHED_METRICS, exact_match, token_accuracy
from textgym.examples import Example, ExampleBatch
from textgym.task import Task
from textgym.tasks import make_task

WIDTH = 6  # answer slots, as G for a task with max_length=5

ids = st.lists(st.integers(0, 4), max_size=WIDTH)
rows = st.tuples(ids, st.lists(st.lists(st.integers(0, 4), max_size=WIDTH + 2), min_size=1, max_size=3))


def example(references, prompt_ids=()):
    references = tuple(tuple(reference) for reference in references)
    return Example("".join(map(str, prompt_ids)), tuple(map(str, references)), tuple(prompt_ids), references)


def padded(answers, width=WIDTH, fill=1):
    """Answers left-aligned in a (N, width) array; the slots after an answer hold ``fill`` (as <eos> would)."""
    array = np.full((len(answers), width), fill, dtype=np.int64)
    for row, answer in zip(array, answers):
        row[: len(answer)] = answer
    return array, np.array([len(answer) for answer in answers], dtype=np.int64)


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, min_size=1, max_size=8))
def test_batched_metrics_equal_the_scalar_ones_bit_for_bit(batch):
    answers = [answer for answer, _ in batch]
    examples = ExampleBatch.from_examples([example(references) for _, references in batch], 1, WIDTH)
    generated, lengths = padded(answers)
    for name, batched in BATCHED_METRICS.items():
        scalar = metrics.get_metric(name)
        expected = [scalar(tuple(answer), references) for answer, references in batch]
        got = batched(generated, lengths, examples.reference_ids, examples.reference_lengths)
        assert got.dtype == np.float64 and got.tolist() == expected, name


def test_token_accuracy_hand_computed_rows():
    examples = ExampleBatch.from_examples(
        [example([(3, 4, 5)]), example([(3, 4, 5, 6)]), example([()]), example([(7,), (3, 9, 9)])], 1, WIDTH
    )
    generated, lengths = padded([(3, 9, 5), (3, 4), (), (3, 9)])
    scores = token_accuracy(generated, lengths, examples.reference_ids, examples.reference_lengths)
    assert scores.tolist() == pytest.approx([2 / 3, 2 / 4, 1.0, 2 / 3])
    matches = exact_match(generated, lengths, examples.reference_ids, examples.reference_lengths)
    assert matches.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_example_batch_rows_grow_and_select():
    batch = ExampleBatch.empty(3, prompt_width=4, reference_width=3)
    batch.assign(np.array([2, 0]), [example([(5, 6)], prompt_ids=(7, 8)), example([(5,), (6, 6, 6, 6)])])
    assert batch.prompt_ids.tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [7, 8, 0, 0]]
    assert batch.prompt_lengths.tolist() == [0, 0, 2]
    assert batch.reference_ids.shape == (3, 2, 3)  # grew to two references, cut at three slots
    assert batch.reference_ids[0].tolist() == [[5, 0, 0], [6, 6, 6]]
    assert batch.reference_lengths.tolist() == [[1, 4], [-1, -1], [2, -1]]
    assert batch.examples[1] is None and batch.examples[2].reference_ids == ((5, 6),)
    batch.assign(np.array([0]), [example([(4,)])])  # a row's old references are cleared
    assert batch.reference_lengths[0].tolist() == [1, -1] and batch.reference_ids[0].tolist() == [[4, 0, 0], [0, 0, 0]]
    selected = batch[np.array([2, 0])]
    assert len(selected) == 2 and selected.reference_lengths.tolist() == [[2, -1], [1, -1]]


def test_bad_batches_raise_naming_the_problem():
    batch = ExampleBatch.empty(2, prompt_width=2, reference_width=3)
    with pytest.raises(ValueError, match="prompt '789' has 3 tokens, more than the 2 prompt slots"):
        batch.assign(np.array([0]), [example([(1,)], prompt_ids=(7, 8, 9))])
    with pytest.raises(ValueError, match="2 rows given for 1 examples"):
        batch.assign(np.array([0, 1]), [example([(1,)])])
    generated, lengths = padded([(1,), (2,)], width=3)
    with pytest.raises(ValueError, match=r"rows \[0, 1\] have no reference"):
        token_accuracy(generated, lengths, batch.reference_ids, batch.reference_lengths)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        exact_match(generated, lengths[:1], batch.reference_ids, batch.reference_lengths)


class CountingTask(Task):
    """A task whose one-at-a-time scoring is its own, so the batched methods it inherits must loop over it."""

    def __init__(self):
        copy = make_task("Copy")
        self.name, self.tokenizer, self.answer_symbols = "Counting", copy.tokenizer, copy.answer_symbols
        self.max_prompt_len, self.max_gen_len, self.metric_name = copy.max_prompt_len, copy.max_gen_len, "exact_match"
        self.sample = copy.sample

    def score(self, generated_ids, example):
        return len(generated_ids) / 10

    def is_success(self, generated_ids, example):
        return len(generated_ids) == 2


def test_overriding_a_one_at_a_time_method_without_its_batched_twin_is_refused():
    with pytest.raises(TypeError, match="LooseCopy overrides score but not score_batch"):

        class LooseCopy(type(make_task("Copy"))):
            def score(self, generated_ids, example):
                return 0.0

    with pytest.raises(TypeError, match="LooseMask overrides action_mask but not action_mask_batch"):

        class LooseMask(Task):
            def action_mask(self, example, generated_ids):
                return np.ones(3, dtype=bool)


ALGORITHMIC = ["Copy", "Reverse", "RepeatCopy", "DuplicatedInput", "Sort", "Addition", "ReversedAddition", "Dyck"]


@pytest.mark.parametrize(
    "task",
    [CountingTask(), make_task("Copy", metric="edit_similarity"), *(make_task(name) for name in ALGORITHMIC)],
    ids=repr,
)
def test_task_batched_methods_agree_with_the_single_answer_ones(task):
    rng = np.random.default_rng(0)
    examples = [task.sample(rng) for _ in range(50)]
    answers = [
        list(rng.integers(0, task.tokenizer.vocab_size, size=rng.integers(0, task.max_gen_len))) for _ in examples
    ]
    answers[:5] = [list(e.reference_ids[0]) for e in examples[:5]]  # some exact answers
    batch = ExampleBatch.from_examples(examples, task.max_prompt_len, task.max_gen_len)
    generated, lengths = padded(answers, width=task.max_gen_len)
    pairs = [([int(i) for i in answer], example) for answer, example in zip(answers, examples)]
    assert task.score_batch(generated, lengths, batch).tolist() == [task.score(a, e) for a, e in pairs]
    successes = [task.is_success(a, e) for a, e in pairs]
    assert task.is_success_batch(generated, lengths, batch).tolist() == successes
    assert True in successes and False in successes
    progress = task.progress_batch(generated, lengths, batch).tolist()
    assert progress == [task.progress(a, e) for a, e in pairs]
    masks = task.action_mask_batch(generated, lengths, batch)
    assert masks.dtype == bool and np.array_equal(masks, np.array([task.action_mask(e, a) for a, e in pairs]))
