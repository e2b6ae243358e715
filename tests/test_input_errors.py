"""Bad input raises a ValueError (argparse's exit status 2 on the command line) that names the option or value and
what was expected, when the environment is built or before a call changes anything."""

import gymnasium as gym
import numpy as np
import pytest
from helpers import assert_same

import textgym
from textgym import TextGenEnv, TextGenVectorEnv
from textgym.__main__ import main
from textgym.tasks.algorithmic import MAX_DIGITS


@pytest.mark.parametrize(
    "curriculum, match",
    [
        ({"window": 1.5}, "curriculum window must be an integer, got 1.5"),
        ({"window": "3"}, "curriculum window must be an integer, got '3'"),
        ({"window": True}, "curriculum window must be an integer, got True"),
        ({"window": 0}, "curriculum window must be >= 1, got 0"),
        ({"threshold": "x"}, r"curriculum threshold must be a number in \(0, 1\], got 'x'"),
        ({"threshold": None}, r"curriculum threshold must be a number in \(0, 1\], got None"),
        ({"threshold": float("nan")}, r"curriculum threshold must be a number in \(0, 1\], got nan"),
        ({"threshold": 1.5}, r"curriculum threshold must be a number in \(0, 1\], got 1.5"),
        ({"start": 1.5}, "curriculum start must be an integer, got 1.5"),
        ({"start": "1"}, "curriculum start must be an integer, got '1'"),
        ({"start": 9}, r"curriculum start must be in \[1, 5\], got 9"),
        ({1: 2, "speed": 3}, r"unknown curriculum option\(s\) \['speed', 1\]; expected start, threshold, window"),
        (1, "curriculum must be a bool or a mapping of options, got 1"),
    ],
)
@pytest.mark.parametrize("make", [gym.make, lambda env_id, **options: gym.make_vec(env_id, num_envs=2, **options)])
def test_bad_curriculum_options_raise_value_error_naming_the_option(make, curriculum, match):
    with pytest.raises(ValueError, match=match):
        make("textgym/Copy-v0", curriculum=curriculum)


def test_good_curriculum_options_of_numpy_types_are_accepted():
    env = TextGenEnv("Copy", curriculum={"start": np.int64(2), "threshold": np.float32(0.5), "window": np.int32(3)})
    assert (env.curriculum.level, env.curriculum.threshold, env.curriculum.recent.maxlen) == (2, 0.5, 3)


@pytest.mark.parametrize("env_id", ["textgym/Addition-v0", "textgym/ReversedAddition-v0"])
def test_addition_refuses_operands_beyond_int64_at_construction_and_plays_the_largest_supported(env_id):
    for make in (gym.make, lambda env_id, **options: gym.make_vec(env_id, num_envs=2, **options)):
        with pytest.raises(ValueError, match=rf"max_length must be <= {MAX_DIGITS} .*int64.*, got 19"):
            make(env_id, max_length=MAX_DIGITS + 1)
    env = gym.make(env_id, min_length=MAX_DIGITS, max_length=MAX_DIGITS)
    for seed in range(20):
        env.reset(seed=seed)
        for action in env.unwrapped.task.oracle_actions(env.unwrapped.example):
            _, reward, terminated, _, info = env.step(action)
        assert terminated and info["success"] and reward == 1.0
    _, info = gym.make_vec(env_id, num_envs=2, max_length=MAX_DIGITS).reset(seed=0)
    assert all(len(prompt) <= 2 * MAX_DIGITS + 2 for prompt in info["prompt"])


@pytest.mark.parametrize(
    "options, match",
    [
        ({"task": "Copy", "max_length": 1, "num_symbols": 2, "split": "test"}, "no prompt of the 'test' split"),
        ({"task": "Dyck", "min_length": 2, "max_length": 2, "split": "validation"}, "no prompt of the 'validation'"),
        ({"task": "Copy", "curriculum": True, "split": "test"}, r"raise the curriculum start \(now 1\)"),
    ],
)
def test_options_that_leave_the_split_no_prompt_are_refused_at_construction(options, match):
    for make in (TextGenEnv, lambda **kwargs: TextGenVectorEnv(num_envs=2, **kwargs)):
        with pytest.raises(ValueError, match=match):
            make(**options)


def test_a_curriculum_starting_where_the_split_has_prompts_is_accepted():
    env = TextGenEnv("Copy", curriculum={"start": 3}, split="test")
    env.reset(seed=0)
    assert len(env.example.prompt) <= 3


@pytest.mark.parametrize(
    "seed, match",
    [
        (-1, "seed must be None or a non-negative integer, got -1"),
        (np.int64(-3), r"seed must be None or a non-negative integer, got np.int64\(-3\)"),
        ([0, 1, 2, -1], r"seed\[3\] must be None or a non-negative integer, got -1"),
        ([0, 1, 2, "a"], r"seed\[3\] must be None or a non-negative integer, got 'a'"),
        ([0, 1, 2, 1.5], r"seed\[3\] must be None or a non-negative integer, got 1.5"),
        ([0, 1, 2, True], r"seed\[3\] must be None or a non-negative integer, got True"),
        (1.5, "seed 1.5 must be None, an int, or a list of 4 ints or Nones"),
    ],
)
def test_vector_reset_with_a_bad_seed_raises_value_error_and_reseeds_no_sub_environment(seed, match):
    env, twin = TextGenVectorEnv("Copy", num_envs=4), TextGenVectorEnv("Copy", num_envs=4)
    env.reset(seed=7)
    twin.reset(seed=7)
    with pytest.raises(ValueError, match=match):
        env.reset(seed=seed)
    # Every generator kept its state: the following episodes are the twin's, which never saw the failed reset.
    for _ in range(3):
        assert_same(env.reset(), twin.reset())
        actions = np.full(4, 3)
        assert_same(env.step(actions), twin.step(actions))


@pytest.mark.parametrize(
    "reset_kwargs, match",
    [
        ({"seed": -1}, "seed must be None or a non-negative integer, got -1"),
        ({"seed": "a"}, "seed must be None or a non-negative integer, got 'a'"),
        ({"seed": 1.5}, "seed must be None or a non-negative integer, got 1.5"),
        ({"seed": True}, "seed must be None or a non-negative integer, got True"),
        ({"options": "abc"}, "options must be a dict of reset options or None, got 'abc'"),
        ({"seed": 1, "options": {"example": 1}}, r"unknown reset option\(s\) \['example'\]"),
    ],
)
def test_single_reset_with_bad_arguments_raises_value_error_and_changes_nothing(reset_kwargs, match):
    env, twin = gym.make("textgym/Copy-v0"), gym.make("textgym/Copy-v0")
    env.reset(seed=7)
    twin.reset(seed=7)
    env.step(3)
    twin.step(3)
    with pytest.raises(ValueError, match=match):
        env.reset(**reset_kwargs)
    assert_same(env.step(4), twin.step(4))  # the episode goes on, and so does the generator
    assert_same(env.reset(), twin.reset())


def test_reset_seeds_of_numpy_integer_types_are_accepted():
    env, vector = TextGenEnv("Copy"), TextGenVectorEnv("Copy", num_envs=2)
    assert_same(env.reset(seed=np.int64(5))[0], TextGenEnv("Copy").reset(seed=5)[0])
    assert_same(vector.reset(seed=[np.uint32(5), None])[0][0], env.reset(seed=5)[0])


@pytest.mark.parametrize("options", ["abc", ["reset_mask"], 1])
def test_vector_reset_with_options_that_are_no_dict_raises_value_error_naming_options(options):
    env = TextGenVectorEnv("Copy", num_envs=2)
    with pytest.raises(ValueError, match=r"options must be a dict of reset options or None, got "):
        env.reset(options=options)


def test_cli_refuses_an_unknown_env_id_with_exit_status_2_naming_it_and_listing_the_ids(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--envs", "textgym/Copy-v0", "textgym/Nope-v0"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'textgym/Nope-v0'" in error
    assert all(repr(env_id) in error for env_id in textgym.ENV_IDS)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--episodes", "-1"], "argument --episodes: expected an integer >= 1, got -1"),
        (["--episodes", "0"], "argument --episodes: expected an integer >= 1, got 0"),
        (["--episodes", "x"], "argument --episodes: expected an integer >= 1, got 'x'"),
        (["--seed", "-2"], "argument --seed: expected an integer >= 0, got -2"),
    ],
)
def test_cli_refuses_bad_counts_with_exit_status_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_cli_plays_the_episodes_asked_for(capsys):
    main(["--envs", "textgym/Reverse-v0", "--episodes", "2", "--seed", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "== textgym/Reverse-v0  (random policy)" and lines[3] == "== textgym/Reverse-v0  (oracle policy)"
    assert all("success=True" in line for line in lines[4:6])
