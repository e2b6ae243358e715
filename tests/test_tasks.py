import re

import gymnasium as gym
import numpy as np
import pytest

import textgym
from textgym import env_id
from textgym.splits import SPLITS, split_of
from textgym.tasks import ALGORITHMIC_TASKS, DIALOGUE_TASKS, make_task

IDS = textgym.ENV_IDS
ALGORITHMIC = [task.name for task in ALGORITHMIC_TASKS]
# The sentiment task's reward is a lexicon score, not a match with a reference: its oracle and random policies are
# checked in tests/test_sentiment.py.
SCORED_IDS = [id_ for id_ in IDS if id_ != "textgym/SentimentContinuation-v0"]
# A dialogue's score is success minus a cost per turn: its scripted policy is checked in tests/test_dialogue.py.
REFERENCE_SCORED_IDS = [id_ for id_ in SCORED_IDS if id_ not in [env_id(task.name) for task in DIALOGUE_TASKS]]


@pytest.mark.parametrize("env_id", REFERENCE_SCORED_IDS)
def test_oracle_scores_one_on_1000_seeded_episodes(env_id):
    env = gym.make(env_id)
    for seed in range(1000):
        env.reset(seed=seed)
        for action in env.unwrapped.task.oracle_actions(env.unwrapped.example):
            _, reward, terminated, _, info = env.step(action)
        assert terminated and reward == 1.0 and info["score"] == 1.0 and info["success"]


@pytest.mark.parametrize("env_id", SCORED_IDS)
def test_random_policy_scores_below_threshold(env_id):
    env = gym.make(env_id)
    env.action_space.seed(0)
    scores, successes = [], []
    for seed in range(500):
        env.reset(seed=seed)
        terminated = False
        while not terminated:
            _, _, terminated, _, info = env.step(env.action_space.sample())
        scores.append(info["score"])
        successes.append(info["success"])
    assert np.mean(scores) < 0.3 < gym.spec(env_id).reward_threshold
    assert np.mean(successes) < 0.1


def check_answer(name, prompt, answer):
    """Each task's rule, written independently of the task code."""
    if name in ("Copy", "Reverse", "RepeatCopy", "Sort"):
        expected = {
            "Copy": prompt,
            "Reverse": prompt[::-1],
            "RepeatCopy": prompt + prompt[::-1] + prompt,
            "Sort": "".join(sorted(prompt)),
        }[name]
        return answer == expected
    if name == "DuplicatedInput":
        return prompt == "".join(c + c for c in answer)
    if name in ("Addition", "ReversedAddition"):
        a, b = re.fullmatch(r"(\d+)\+(\d+)=", prompt).groups()
        if name == "ReversedAddition":
            a, b, answer = a[::-1], b[::-1], answer[::-1]
        return int(a) + int(b) == int(answer) and str(int(answer)) == answer
    if name == "Dyck":
        closing = {"(": ")", "[": "]", "{": "}", "<": ">"}
        stack = []
        for c in prompt + answer:
            if c in closing:
                stack.append(closing[c])
            elif not stack or stack.pop() != c:
                return False
        # balanced with the shortest closing: the prompt left exactly len(answer) brackets open
        return not stack and all(c not in closing for c in answer)
    raise AssertionError(name)


@pytest.mark.parametrize("name", ALGORITHMIC)
def test_answers_follow_each_tasks_rule(name):
    task = make_task(name)
    rng = np.random.default_rng(0)
    low, high = task.length_range
    for split in SPLITS:
        for _ in range(300):
            example = task.sample(rng, split)
            assert check_answer(name, example.prompt, example.references[0]), example
            assert len(example.prompt_ids) <= task.max_prompt_len
            assert len(example.reference_ids[0]) < task.max_gen_len


@pytest.mark.parametrize("name", ALGORITHMIC)
def test_splits_are_disjoint_and_cover_the_length_range(name):
    task = make_task(name)
    rng = np.random.default_rng(1)
    prompts = {split: {task.sample(rng, split).prompt for _ in range(300)} for split in SPLITS}
    assert all(split_of(prompt) == split for split, group in prompts.items() for prompt in group)
    assert not prompts["train"] & prompts["test"] and not prompts["train"] & prompts["validation"]


def test_length_options_are_honoured():
    task = make_task("Copy", min_length=3, max_length=9, num_symbols=7)
    rng = np.random.default_rng(0)
    lengths = [len(task.sample(rng).prompt) for _ in range(500)]
    assert min(lengths) == 3 and max(lengths) == 9
    assert set("".join(task.sample(rng).prompt for _ in range(200))) == set("abcdefg")
    assert (task.max_prompt_len, task.max_gen_len) == (9, 10)
    assert make_task("RepeatCopy", max_length=4).max_gen_len == 13
    assert make_task("DuplicatedInput", max_length=4).max_prompt_len == 8
    addition = make_task("Addition", min_length=3, max_length=3)
    a, b = addition.sample(rng).prompt[:-1].split("+")
    assert len(a) == len(b) == 3 and addition.max_gen_len == 5


def test_addition_operands_are_uniform_over_the_range():
    """Two-digit addition draws a and b uniformly in 0..99: nine operands in ten have two digits, every one-digit
    operand is as likely as every two-digit one, and a curriculum's cap limits the digits."""
    task, rng = make_task("Addition"), np.random.default_rng(0)
    operands = np.array([task.sample(rng).prompt[:-1].split("+") for _ in range(4000)], dtype=int).ravel()
    assert operands.min() == 0 and operands.max() == 99
    assert 0.88 < (operands >= 10).mean() < 0.92, (operands >= 10).mean()
    assert all(len(task.sample(rng, length_cap=1).prompt) == 4 for _ in range(50))
    two_to_three = make_task("Addition", min_length=2, max_length=3)
    operands = np.array([two_to_three.sample(rng).prompt[:-1].split("+") for _ in range(2000)], dtype=int).ravel()
    assert operands.min() >= 10 and 0.89 < (operands >= 100).mean() < 0.93  # 900 of 990 numbers


def test_too_small_a_space_for_disjoint_splits_is_reported():
    task = make_task("Copy", min_length=1, max_length=1, num_symbols=2)
    with pytest.raises(ValueError, match="too few distinct prompts"):
        for split in SPLITS:
            task.sample(np.random.default_rng(0), split)
