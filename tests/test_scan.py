from collections import Counter

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the IDs)
from textgym.tasks import make_task
from textgym.tasks.scan import SCAN_SPLITS, commands, interpret, paper_split, split_commands

L, R = "I_TURN_LEFT", "I_TURN_RIGHT"

PAPER_SIZES = {
    "simple": (16_728, 4_182),
    "length": (16_990, 3_920),
    "addprim_jump": (14_670, 7_706),
    "addprim_turn_left": (21_890, 1_208),
}


def test_the_grammar_yields_exactly_20910_commands():
    everything = commands()
    assert len(everything) == len(set(everything)) == 20_910
    words = {word for command in everything for word in command.split()}
    assert len(words) == 13
    lengths = [len(interpret(command).split()) for command in everything]
    assert (min(lengths), max(lengths)) == (1, 48)
    assert max(len(command.split()) for command in everything) == 9


@pytest.mark.parametrize(
    "command, actions",
    [
        ("jump", ["I_JUMP"]),
        ("turn left", [L]),
        ("jump around left twice", [L, "I_JUMP"] * 8),
        ("walk opposite right after run thrice", ["I_RUN"] * 3 + [R, R, "I_WALK"]),
        ("look right and turn opposite left", [R, "I_LOOK", L, L]),
        ("turn around right thrice", [R] * 12),
        ("run left twice after look", ["I_LOOK", L, "I_RUN", L, "I_RUN"]),
        ("walk around right thrice and jump around left thrice", [R, "I_WALK"] * 12 + [L, "I_JUMP"] * 12),
    ],
)
def test_hand_checked_translations(command, actions):
    assert interpret(command).split() == actions


@pytest.mark.parametrize("command", ["turn", "jump jump", "twice", "walk and", "jump and walk and run", "fly left"])
def test_commands_outside_the_grammar_raise_naming_them(command):
    with pytest.raises(ValueError, match=f"'{command}' is not a SCAN command"):
        interpret(command)


@pytest.mark.parametrize("scan_split", SCAN_SPLITS)
def test_split_sizes_match_the_papers_files(scan_split):
    train, test = paper_split(scan_split)
    assert (len(train), len(test)) == PAPER_SIZES[scan_split]
    ours = split_commands(scan_split)
    assert Counter(ours["train"]) + Counter(ours["validation"]) == Counter(train)  # carved from the paper's train
    assert ours["test"] == test
    assert not set(ours["train"]) & set(ours["validation"])
    assert not set(train) & set(test)
    once = [command for command, count in Counter(train).items() if count == 1]  # not the repeated primitive
    assert len(ours["validation"]) == len(set(ours["validation"])) == len(once) // 10


def test_simple_split_is_a_random_80_20_split_of_all_commands():
    train, test = paper_split("simple")
    assert sorted(train + test) == sorted(commands())


def test_length_split_separates_short_from_long_outputs():
    train, test = paper_split("length")
    assert max(len(interpret(c).split()) for c in train) == 22
    assert min(len(interpret(c).split()) for c in test) == 24  # no command means exactly 23 actions


@pytest.mark.parametrize("scan_split, primitive", [("addprim_jump", "jump"), ("addprim_turn_left", "turn left")])
def test_add_primitive_splits(scan_split, primitive):
    train, test = paper_split(scan_split)
    counts = Counter(train)
    assert counts[primitive] / len(train) == pytest.approx(0.1)
    assert all(count == 1 for command, count in counts.items() if command != primitive)
    assert all(f" {primitive} " not in f" {c} " for c in counts if c != primitive)
    assert all(f" {primitive} " in f" {c} " and c != primitive for c in test)
    assert len(counts) + len(test) == 20_910


def test_examples_expose_each_split_and_episodes_draw_from_it():
    task = make_task("SCAN", scan_split="length")
    examples = {split: task.examples(split) for split in ("train", "validation", "test")}
    assert [len(examples[s]) for s in examples] == [15_291, 1_699, 3_920]
    assert all(len(e.reference_ids[0]) >= 24 for e in examples["test"])
    test_prompts = {e.prompt for e in examples["test"]}
    rng = np.random.default_rng(0)
    drawn = [task.sample(rng, "test") for _ in range(200)]
    assert all(e.prompt in test_prompts for e in drawn) and all(e in examples["test"] for e in drawn[:20])
    assert all(e.references == (interpret(e.prompt),) for e in drawn)


def test_repeated_primitive_is_drawn_about_a_tenth_of_the_time():
    task = make_task("SCAN", scan_split="addprim_jump")
    rng = np.random.default_rng(0)
    share = np.mean([task.sample(rng).prompt == "jump" for _ in range(3_000)])
    assert share == pytest.approx(1_467 / 13_350, abs=0.02)  # its copies over our train split


def test_action_mask_and_rewards():
    env = gym.make("textgym/SCAN-v0", reward_mode="dense", metric="token_accuracy")
    task = env.unwrapped.task
    actions = {"I_WALK", "I_LOOK", "I_RUN", "I_JUMP", L, R}
    assert {task.tokenizer.tokens[i] for i in np.flatnonzero(task.answer_mask())} == actions | {"<eos>"}
    env.reset(seed=0)
    example = env.unwrapped.example
    reference = list(example.reference_ids[0])
    wrong = next(i for i in task.tokenizer.encode(" ".join(sorted(actions))) if i != reference[0])
    _, first, *_ = env.step(wrong)
    _, second, *_ = env.step(reference[1])
    assert first == 0.0 and second == pytest.approx(1 / len(reference))  # token-level partial credit
    exact = make_task("SCAN")
    assert exact.score(reference[:-1], example) == 0.0 and exact.score(reference, example) == 1.0
