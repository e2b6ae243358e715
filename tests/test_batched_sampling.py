"""Sampling in blocks: a sub-environment's episodes are a deterministic function of its seed, drawn in bulk with
ordinary numpy calls, and the draws follow each task's documented distribution."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils import seeding
from hypothesis import given, settings
from hypothesis import strategies as st

from textgym import TASKS
from textgym.example_queue import ExampleQueue
from textgym.examples import ExampleBatch
from textgym.splits import SPLIT_SHARES, SPLITS, split_of
from textgym.tasks import make_task
from textgym.tasks.algorithmic import AlgorithmicTask
from textgym.tokenizers import CharTokenizer

ALGORITHMIC = [name for name, task in TASKS.items() if issubclass(task, AlgorithmicTask)]


def test_split_shares_are_those_of_the_hash():
    assert SPLIT_SHARES == {"train": 0.8, "validation": 0.1, "test": 0.1}
    keys = [f"prompt {i}" for i in range(20_000)]
    shares = {split: np.mean([split_of(key) == split for key in keys]) for split in SPLITS}
    assert all(abs(shares[split] - SPLIT_SHARES[split]) < 0.01 for split in SPLITS), shares


@pytest.mark.parametrize("name", ALGORITHMIC)
@pytest.mark.parametrize("split", SPLITS)
def test_sample_batch_draws_count_examples_of_the_split_as_a_function_of_the_generator(name, split):
    task = make_task(name)
    batch = task.sample_batch(np.random.default_rng(3), split, count=40)
    examples = batch.examples.tolist()
    assert len(examples) == 40 and all(split_of(example.prompt) == split for example in examples)
    assert task.sample_batch(np.random.default_rng(3), split, count=40).examples.tolist() == examples
    assert task.sample(np.random.default_rng(3), split) == task.sample_batch(np.random.default_rng(3), split).example(0)
    for example in examples:  # every answer is the task's answer to its prompt
        assert task.score(example.reference_ids[0], example) == 1.0
        assert len(example.prompt_ids) <= task.max_prompt_len and len(example.reference_ids[0]) < task.max_gen_len


def test_symbol_draws_are_uniform_in_length_and_symbol():
    task = make_task("Copy", min_length=2, max_length=6, num_symbols=4)
    examples = task.sample_batch(np.random.default_rng(0), "train", count=20_000).examples.tolist()
    lengths = np.bincount([len(example.prompt) for example in examples], minlength=7)[2:] / len(examples)
    symbols = np.array([list(example.prompt) for example in examples if len(example.prompt) == 6]).ravel()
    frequencies = np.unique(symbols, return_counts=True)[1] / symbols.size
    # Each length is drawn with probability 1/5, then kept with the share of its prompts that hash to train.
    kept = [
        np.mean([split_of("".join(p)) == "train" for p in itertools.product("abcd", repeat=n)]) for n in range(2, 7)
    ]
    assert np.all(np.abs(lengths - np.array(kept) / sum(kept)) < 0.01), (lengths, kept)
    assert np.all(np.abs(frequencies - 0.25) < 0.01), frequencies


def python_dyck_walk(rng, length, pairs):
    """The walk of the Dyck task's docstring, one bracket at a time."""
    prefix, stack = [], []
    for position in range(length):
        if stack and not (len(stack) == 1 and position == length - 1) and rng.random() < 0.5:
            prefix.append(stack.pop())
        else:
            opening, closing = pairs[int(rng.integers(len(pairs)))]
            prefix.append(opening)
            stack.append(closing)
    return "".join(prefix), "".join(reversed(stack))


def test_dyck_draws_follow_the_documented_walk():
    """The bulk walk and a one-bracket-at-a-time walk of the same rules give the same distribution of prefixes."""
    task = make_task("Dyck", min_length=4, max_length=4)
    drawn = task.draw_candidates(np.random.default_rng(0), 4, 4, 40_000)
    bulk = task.tokenizer.decode_padded_batch(drawn[0]).tolist()
    answers = task.tokenizer.decode_padded_batch(drawn[2]).tolist()
    rng = np.random.default_rng(1)
    walked = [python_dyck_walk(rng, 4, task.pairs) for _ in range(40_000)]
    assert dict(zip(bulk, answers)) == dict(walked)  # the same prefixes, each with its closing
    prefixes = sorted(set(bulk))
    bulk_shares = np.array([bulk.count(prefix) for prefix in prefixes]) / len(bulk)
    walked_shares = np.array([[prefix for prefix, _ in walked].count(prefix) for prefix in prefixes]) / len(walked)
    assert np.abs(bulk_shares - walked_shares).max() < 0.01


def test_example_queue_pops_successive_blocks_of_each_rows_generator():
    task = make_task("Reverse")
    queue = ExampleQueue(task, 4, "train", task.block_size)
    for row in range(4):
        queue.seed(row, row)
    generators = [seeding.np_random(row)[0] for row in range(4)]
    expected = {row: [] for row in range(4)}
    rng = np.random.default_rng(0)
    for _ in range(60):
        rows = np.flatnonzero(rng.random(4) < 0.5)
        popped = queue.pop(rows).examples.tolist()
        for row, example in zip(rows.tolist(), popped):
            if not expected[row]:
                expected[row] = task.sample_batch(generators[row], "train", task.block_size).examples.tolist()
            assert example == expected[row].pop(0)
    queue.seed(2, 99)  # a new seed drops what was drawn with the old one
    assert queue.pop(np.array([2])).example(0) == task.sample_batch(
        seeding.np_random(99)[0], count=task.block_size
    ).example(0)
    with pytest.raises(ValueError, match="block 1"):
        queue.pop(np.array([0]), length_cap=3)
    with pytest.raises(ValueError, match="sub-environment 1 was never seeded"):
        ExampleQueue(task, 2, "train", 4).pop(np.array([1]))


@pytest.mark.parametrize("name", ["Copy", "Dyck", "SCAN", "GuessNumber"])
def test_a_sub_environment_plays_the_episodes_of_a_single_environment_with_its_seed(name):
    vector = gym.make_vec(f"textgym/{name}-v0", num_envs=3, vectorization_mode="vector_entry_point")
    single = gym.make(f"textgym/{name}-v0").unwrapped
    _, info = vector.reset(seed=7)
    prompts = [info["prompt"][1]]
    block = single.task.block_size
    for _ in range(block + 3):  # past the first block
        _, info = vector.reset(options={"reset_mask": np.array([False, True, False])})
        prompts.append(info["prompt"][1])
    _, first = single.reset(seed=8)
    assert prompts == [first["prompt"]] + [single.reset()[1]["prompt"] for _ in range(block + 3)]


def test_a_curriculum_draws_each_example_at_the_level_of_the_moment():
    task = make_task("Addition", max_length=4)
    queue = ExampleQueue(task, 2, "train", block=1)
    queue.seed(0, 4), queue.seed(1, 5)
    generators = [seeding.np_random(4)[0], seeding.np_random(5)[0]]
    for cap in (3, 4, 1, 2):
        popped = queue.pop(np.array([0, 1]), length_cap=cap).examples.tolist()
        assert popped == [task.sample_batch(generator, count=1, length_cap=cap).example(0) for generator in generators]
        assert all(len(example.prompt) <= 2 * cap + 2 for example in popped)


def test_too_few_prompts_for_a_split_is_reported_by_batched_sampling():
    task = make_task("Copy", min_length=1, max_length=1, num_symbols=2)
    for split in SPLITS:
        try:
            task.sample_batch(np.random.default_rng(0), split)
        except ValueError as error:
            assert f"no prompt of the '{split}' split" in str(error)
            break
    else:
        pytest.fail("two one-symbol prompts cannot fill three splits")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 7), max_size=6), min_size=1, max_size=6), st.booleans())
def test_char_decode_batch_is_decode_row_by_row(rows, skip_special):
    tokenizer = CharTokenizer("abcde")
    ids = np.zeros((len(rows), 6), dtype=np.int64)
    for row, values in zip(ids, rows):
        row[: len(values)] = values
    lengths = np.array([len(values) for values in rows])
    expected = [tokenizer.decode(values, skip_special) for values in rows]
    assert tokenizer.decode_batch(ids, lengths, skip_special).tolist() == expected
    ids[0, 0], lengths[0] = 8, max(lengths[0], 1)
    with pytest.raises(ValueError, match="token id 8"):
        tokenizer.decode_batch(ids, lengths)


def test_sampled_batches_keep_ids_and_decode_their_texts_when_read():
    task = make_task("Reverse")
    batch = task.sample_batch(np.random.default_rng(0), count=12)
    assert batch.tokenizer is task.tokenizer and np.equal(batch.prompts, None).all()  # no Python objects held
    examples = batch.examples.tolist()
    prompts, references = batch.texts(np.arange(len(batch)))
    assert prompts.tolist() == [example.prompt for example in examples]
    assert references.tolist() == [example.references for example in examples]
    assert task.tokenizer.decode_padded_batch(batch.prompt_ids).tolist() == prompts.tolist()

    stored = ExampleBatch.from_examples(examples[:1], task.max_prompt_len, task.max_gen_len)
    with pytest.raises(ValueError, match="stored"):
        stored.put(np.array([0]), batch[np.array([1])])  # one batch cannot mix stored and decoded texts
    empty = ExampleBatch.empty(2, task.max_prompt_len, task.max_gen_len)
    empty.put(np.array([1]), batch[np.array([2])])  # an empty batch takes the other's way
    assert empty.tokenizer is task.tokenizer and empty.examples.tolist() == [None, examples[2]]


def test_word_tokenizer_decodes_padded_rows():
    from textgym.tokenizers import WordTokenizer

    tokenizer = WordTokenizer(["red", "fox", "runs"])
    ids = np.array([[3, 4, 0], [5, 0, 0]])
    assert tokenizer.decode_padded_batch(ids).tolist() == ["red fox", "runs"]
