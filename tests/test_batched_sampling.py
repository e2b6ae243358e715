"""Batched sampling draws exactly the examples that one-by-one sampling draws, with each row's own generator."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textgym import TASKS
from textgym.example_queue import ExampleQueue
from textgym.random_streams import GeneratorStreams, StreamGenerator, lemire
from textgym.task import SPLIT_SHARES, SPLITS, ExampleBatch, split_of, split_of_batch
from textgym.tasks import make_task
from textgym.tasks.algorithmic import AlgorithmicTask
from textgym.tokenizers import CharTokenizer

ALGORITHMIC = [name for name, task in TASKS.items() if issubclass(task, AlgorithmicTask)]

calls = st.one_of(
    st.tuples(st.just("scalar"), st.integers(0, 5), st.integers(1, 2**32 - 1)),
    st.tuples(st.just("array"), st.integers(0, 3), st.integers(1, 40), st.integers(0, 7)),
)


def crafted_generator(first_output: int) -> np.random.Generator:
    """An SFC64 generator whose first 64-bit output is ``first_output`` (SFC64 returns a + b + counter)."""
    bit_generator = np.random.SFC64(0)
    state = bit_generator.state
    a, b, c, counter = (int(value) for value in state["state"]["state"])
    a = (first_output - b - counter) % 2**64
    state["state"]["state"] = np.array([a, b, c, counter], dtype=np.uint64)
    bit_generator.state = state
    return np.random.Generator(bit_generator)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), sequence=st.lists(calls, min_size=1, max_size=300))
def test_stream_generator_draws_what_numpy_draws(seed, sequence):
    generator = np.random.default_rng(seed)
    streams = GeneratorStreams(2, block=4)  # small blocks: many top-ups
    streams.seed(1, seed)
    stream = StreamGenerator(streams, 1)
    for call in sequence:
        if call[0] == "scalar":
            _, low, span = call
            assert stream.integers(low, low + span) == generator.integers(low, low + span)
        else:
            _, low, span, size = call
            expected = generator.integers(low, low + span, size=size)
            assert stream.integers(low, low + span, size=size).tolist() == expected.tolist()


def test_a_value_numpy_rejects_is_drawn_again_as_numpy_does():
    assert lemire(np.array([0, 1, 2**32 - 1]), 5)[1].tolist() == [True, False, False]  # (2**32 - 5) % 5 == 1
    for first in (0, 2**32 * 7, 5 << 32):  # the low half (drawn first) or the high half is 0
        expected = crafted_generator(first).integers(0, 5, size=6).tolist()
        streams = GeneratorStreams(1)
        streams.use(0, crafted_generator(first))
        assert StreamGenerator(streams, 0).integers(0, 5, size=6).tolist() == expected


@pytest.mark.parametrize("name", ["Copy", "Addition"])
def test_batched_sampling_replays_a_row_with_a_rejected_value_exactly(name):
    task = make_task(name)  # the first value drawn, 0, is one that numpy rejects (for a length or an operand)
    generator = crafted_generator(0)
    expected = [task.sample(generator) for _ in range(5)]
    streams = GeneratorStreams(1)
    streams.use(0, crafted_generator(0))
    batch, counts = task.sample_batch(streams, np.array([0]), count=5)
    assert batch.examples.tolist() == expected[: counts[0]]
    more, _ = task.sample_batch(streams, np.array([0]), count=5 - int(counts[0]))
    assert (batch.examples.tolist() + more.examples.tolist())[:5] == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=127, exclude_characters="\0"), max_size=12), min_size=1))
def test_split_of_batch_is_split_of(keys):
    width = max(len(key) for key in keys)
    code_points = np.zeros((len(keys), width), dtype=np.uint32)
    for row, key in zip(code_points, keys):
        row[: len(key)] = [ord(c) for c in key]
    lengths = np.array([len(key) for key in keys])
    assert [SPLITS[i] for i in split_of_batch(code_points, lengths)] == [split_of(key) for key in keys]


def test_split_shares_are_those_of_the_hash_buckets():
    assert SPLIT_SHARES == {"train": 0.8, "validation": 0.1, "test": 0.1}
    with pytest.raises(ValueError, match="ASCII"):
        split_of_batch(np.array([[233]], dtype=np.uint32), np.array([1]))


@pytest.mark.parametrize("name", ALGORITHMIC)
@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("options", [{}, {"min_length": 3, "max_length": 5}])
def test_sample_batch_gives_each_rows_successive_samples(name, split, options):
    task = make_task(name, **options)
    streams = GeneratorStreams(5)
    for row in range(5):
        streams.seed(row, 100 + row)
    generators = [np.random.default_rng(100 + row) for row in range(5)]
    rows = np.array([3, 0, 4])
    for count in (1, 8, 3):
        batch, counts = task.sample_batch(streams, rows, split, count=count)
        assert len(batch) == counts.sum() and ((counts >= 1) & (counts <= count)).all()
        examples = iter(batch.examples.tolist())
        for row, got in zip(rows, counts):
            for _ in range(got):
                assert next(examples) == task.sample(generators[row], split)
    assert batch.prompt_ids.shape[1] == task.max_prompt_len and batch.reference_ids.shape[2] == task.max_gen_len


@pytest.mark.parametrize("name", ["Copy", "RepeatCopy", "Addition"])
def test_sample_batch_honours_a_curriculum_cap(name):
    task = make_task(name)
    low = task.length_range[0]
    streams = GeneratorStreams(2)
    streams.seed(0, 7)
    generator = np.random.default_rng(7)
    batch, counts = task.sample_batch(streams, np.array([0]), max_length=low, count=4)
    assert batch.examples.tolist() == [task.sample(generator, max_length=low) for _ in range(counts[0])]


def test_tasks_without_an_array_version_sample_one_by_one():
    for task in (make_task("Dyck"), make_task("Addition", max_length=10)):  # random() draws; operands over 2**32
        assert task.values_per_draw(*task.length_range) is None
        streams = GeneratorStreams(2)
        streams.seed(0, 1), streams.seed(1, 2)
        batch, counts = task.sample_batch(streams, np.array([1, 0]), count=4)
        assert counts.tolist() == [1, 1]
        assert batch.examples.tolist() == [task.sample(np.random.default_rng(s)) for s in (2, 1)]


def test_buffered_generators_are_not_used_directly():
    streams = GeneratorStreams(1)
    streams.seed(0, 3)
    make_task("Copy").sample_batch(streams, np.array([0]))
    with pytest.raises(RuntimeError, match="buffered"):
        streams.generator(0)
    with pytest.raises(ValueError, match="never seeded"):
        GeneratorStreams(1).generator(0)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        StreamGenerator(streams, 0).integers(0, 2**33)


def test_a_split_with_no_prompt_is_reported():
    task = make_task("Copy", min_length=1, max_length=1, num_symbols=2)
    split = next(s for s in SPLITS if s not in {split_of("a"), split_of("b")})
    streams = GeneratorStreams(1)
    streams.seed(0, 0)
    with pytest.raises(ValueError, match=f"no prompt of the '{split}' split"):
        task.sample_batch(streams, np.array([0]), split)


@pytest.mark.parametrize("depth", [1, 16])
def test_example_queue_pops_each_rows_successive_samples(depth):
    task = make_task("Reverse")
    queue = ExampleQueue(task, 4, "train", depth=depth)
    for row in range(4):
        queue.seed(row, row)
    generators = [np.random.default_rng(row) for row in range(4)]
    rng = np.random.default_rng(0)
    for _ in range(60):
        rows = np.flatnonzero(rng.random(4) < 0.5)
        slots = queue.pop(rows)
        assert queue.held[slots].examples.tolist() == [task.sample(generators[row]) for row in rows]
    queue.seed(2, 99)  # a new seed drops what was drawn with the old one
    generators[2] = np.random.default_rng(99)
    assert queue.held.example(int(queue.pop(np.array([2]))[0])) == task.sample(generators[2])
    with pytest.raises(ValueError, match="depth 1") if depth != 1 else np.errstate():
        queue.pop(np.array([0]), max_length=3)


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
    streams = GeneratorStreams(3)
    for row in range(3):
        streams.seed(row, row)
    batch, counts = task.sample_batch(streams, np.arange(3), count=4)
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


def test_a_curriculum_never_moves_a_task_between_batched_and_one_by_one_draws():
    """Addition batches operands below 2**32 only; with 10 digits allowed it draws one by one at every cap (a
    generator whose values were buffered cannot go back to one-by-one draws)."""
    for max_length, batched in ((10, False), (9, True)):
        task = make_task("Addition", max_length=max_length)
        assert all((task.values_per_draw(1, cap) is not None) is batched for cap in range(1, max_length + 1))
        queue = ExampleQueue(task, 2, "train", depth=1)
        queue.seed(0, 4), queue.seed(1, 5)
        generators = [np.random.default_rng(4), np.random.default_rng(5)]
        for cap in (max_length - 1, max_length, 2, max_length):
            slots = queue.pop(np.array([0, 1]), max_length=cap)
            expected = [task.sample(generator, max_length=cap) for generator in generators]
            assert queue.held[slots].examples.tolist() == expected


def test_word_tokenizer_decodes_padded_rows():
    from textgym.tokenizers import WordTokenizer

    tokenizer = WordTokenizer(["red", "fox", "runs"])
    ids = np.array([[3, 4, 0], [5, 0, 0]])
    assert tokenizer.decode_padded_batch(ids).tolist() == ["red fox", "runs"]
