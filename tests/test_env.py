import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import textgym
from textgym import TextGenEnv, env_id
from textgym.tasks import DIALOGUE_TASKS

IDS = textgym.ENV_IDS
# Dialogue episodes end at a turn limit and their dense rewards measure information: their versions of the
# single-turn tests below are in tests/test_dialogue.py.
DIALOGUE_IDS = [env_id(task.name) for task in DIALOGUE_TASKS]
SINGLE_TURN_IDS = [id_ for id_ in IDS if id_ not in DIALOGUE_IDS]


def play(env, actions_of, seed):
    """One episode; ``actions_of(env, obs, info)`` gives the next action. Returns (rewards, last info, obs list)."""
    obs, info = env.reset(seed=seed)
    rewards, observations, terminated = [], [obs], False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(actions_of(env, obs, info))
        assert not truncated
        rewards.append(reward)
        observations.append(obs)
    return rewards, info, observations


def random_actions(seed):
    rng = np.random.default_rng(seed)
    return lambda env, obs, info: int(rng.integers(env.action_space.n))


def test_all_ids_registered_with_their_thresholds():
    algorithmic = ["Copy", "Reverse", "RepeatCopy", "DuplicatedInput", "Sort", "Addition", "ReversedAddition", "Dyck"]
    language = {
        "SCAN": 0.95,
        "NumberWords": 0.95,
        "BabiQA": 0.95,
        "KeywordsToSentence": 0.9,
        "SentimentContinuation": 0.9,
        "Summarisation": 0.9,
    }
    dialogue = {"GuessNumber": 0.9, "TwentyQuestions": 0.9, "Wordle": 0.9}
    thresholds = {name: 0.95 for name in algorithmic} | language | dialogue | {"ReasoningGym": 0.9}
    assert [f"textgym/{name}-v0" for name in thresholds] == IDS
    for name, threshold in thresholds.items():
        assert gym.spec(f"textgym/{name}-v0").reward_threshold == threshold


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_and_sb3_checkers_pass_without_warnings(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(gym.make(env_id).unwrapped)
        gym_check_env(gym.make(env_id, render_mode="ansi").unwrapped)
        sb3_check_env(gym.make(env_id), warn=True)


def test_make_with_module_prefix():
    env = gym.make("textgym:textgym/Copy-v0", max_length=7)
    assert isinstance(env.unwrapped, TextGenEnv)
    assert env.unwrapped.task.length_range == (1, 7)


@pytest.mark.parametrize("env_id", IDS)
def test_observation_layout(env_id):
    env = gym.make(env_id)
    task = env.unwrapped.task
    P, G, V = task.max_prompt_len, task.max_gen_len, task.tokenizer.vocab_size
    assert env.observation_space == gym.spaces.MultiDiscrete(np.full(P + G, V), dtype=np.int64)
    assert env.action_space == gym.spaces.Discrete(V)
    obs, info = env.reset(seed=3)
    example = env.unwrapped.example
    assert info["prompt"] == example.prompt and info["references"] == example.references
    assert isinstance(info["prompt"], str) and isinstance(info["references"], tuple)
    n = len(example.prompt_ids)
    assert obs.dtype == np.int64 and obs.shape == (P + G,)
    assert list(obs[:n]) == list(example.prompt_ids) and not obs[n:].any()
    symbol = int(np.flatnonzero(task.answer_mask())[-1])
    steps = min(2, G - 1)  # stay short of the episode's end (bAbI answers have G = 2)
    for _ in range(steps):
        obs, *_ = env.step(symbol)
    assert list(obs[P : P + steps + 1]) == [symbol] * steps + [0]


@pytest.mark.parametrize("env_id", SINGLE_TURN_IDS)
def test_episode_ends_on_eos_or_after_G_tokens(env_id):
    env = gym.make(env_id)
    G = env.unwrapped.task.max_gen_len
    eos = env.unwrapped.tokenizer.eos_id
    symbol = eos + 2  # a regular symbol
    rewards, info, observations = play(env, lambda *_: symbol, seed=0)
    assert len(rewards) == G and eos not in observations[-1]
    rewards, info, observations = play(env, lambda *_: eos, seed=0)
    assert len(rewards) == 1 and info["generated"] == ""
    assert observations[-1][env.unwrapped.prompt_len] == eos


@pytest.mark.parametrize("env_id", IDS)
def test_final_info_and_masks(env_id):
    env = gym.make(env_id)
    task = env.unwrapped.task
    rewards, info, _ = play(env, random_actions(1), seed=1)
    assert set(info) >= {"generated", "score", "success", "action_mask"}
    assert isinstance(info["generated"], str) and isinstance(info["success"], bool)
    assert 0.0 <= info["score"] <= 1.0 and rewards[-1] == info["score"]
    mask = env.unwrapped.action_masks()
    assert mask.dtype == bool and mask.shape == (task.tokenizer.vocab_size,)
    assert mask[task.tokenizer.eos_id] and not mask[task.tokenizer.pad_id]
    assert np.array_equal(mask, info["action_mask"])


@pytest.mark.parametrize("env_id", SINGLE_TURN_IDS)
def test_dense_and_sparse_returns_are_equal(env_id):
    sparse, dense = gym.make(env_id), gym.make(env_id, reward_mode="dense")
    saw_partial_credit = False
    for seed in range(200):
        sparse_rewards, sparse_info, _ = play(sparse, random_actions(seed), seed)
        dense_rewards, dense_info, _ = play(dense, random_actions(seed), seed)
        assert sparse_info["generated"] == dense_info["generated"]
        assert all(r == 0.0 for r in sparse_rewards[:-1])
        assert sum(dense_rewards) == pytest.approx(sum(sparse_rewards), abs=1e-12)
        saw_partial_credit |= any(r != 0 for r in dense_rewards[:-1])
    if sparse.unwrapped.task.metric_name != "exact_match":
        assert saw_partial_credit  # dense rewards really arrive before the last step


@pytest.mark.parametrize("env_id", IDS)
def test_reset_with_a_seed_is_reproducible(env_id):
    env_a, env_b = gym.make(env_id), gym.make(env_id)
    for seed in (0, 1, 12345):
        episode_a = play(env_a, random_actions(seed), seed)
        episode_b = play(env_b, random_actions(seed), seed)
        assert episode_a[0] == episode_b[0] and episode_a[1]["generated"] == episode_b[1]["generated"]
        assert all(np.array_equal(a, b) for a, b in zip(episode_a[2], episode_b[2]))
    # different seeds, different episodes: other prompts, or other secrets of the user where the prompt is fixed
    drawn = "references" if env_id in DIALOGUE_IDS else "prompt"
    episodes = {gym.make(env_id).reset(seed=seed)[1][drawn] for seed in range(30)}
    assert len(episodes) > 1


def test_render_ansi():
    env = gym.make("textgym/Copy-v0", render_mode="ansi")
    env.reset(seed=0)
    prompt = env.unwrapped.example.prompt
    env.step(env.unwrapped.tokenizer.token_id(prompt[0]))
    assert env.render() == f"{prompt} -> {prompt[0]}"
    env.step(1)
    assert env.render() == f"{prompt} -> {prompt[0]}<eos>"
    assert TextGenEnv("Copy").render() is None


@pytest.mark.parametrize("bad", [-1, 10, 2.5, "a", None, np.array([1, 2])])
def test_bad_actions_raise_naming_the_value(bad):
    env = gym.make("textgym/Copy-v0").unwrapped  # vocabulary of 8 ids: 3 special tokens and 5 letters
    env.reset(seed=0)
    with pytest.raises(ValueError, match=rf"action {re.escape(repr(bad))} is .*\[0, 8\)"):
        env.step(bad)


def test_numpy_integer_actions_are_accepted():
    env = gym.make("textgym/Copy-v0").unwrapped
    env.reset(seed=0)
    env.step(np.int64(3))
    env.step(np.array(4))
    assert env.generated == [3, 4]


def test_step_before_reset_and_after_end_raise():
    env = TextGenEnv("Copy")
    with pytest.raises(ResetNeeded, match="before reset"):
        env.step(3)
    with pytest.raises(ResetNeeded, match="before reset"):
        env.action_masks()
    env.reset(seed=0)
    env.step(env.tokenizer.eos_id)
    with pytest.raises(ResetNeeded, match="after the episode terminated"):
        env.step(3)
    env.reset()
    env.step(3)  # a new episode steps again


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"task": "Kopy"}, "'Kopy'"),
        ({"task": "Copy", "lenght": 3}, "'lenght'"),
        ({"task": "Copy", "max_length": 0}, "max_length must be >= 1, got 0"),
        ({"task": "Copy", "min_length": 4, "max_length": 2}, "got 2"),
        ({"task": "Copy", "num_symbols": 30}, "got 30"),
        ({"task": "Dyck", "num_kinds": 1}, "got 1"),
        ({"task": "Copy", "metric": "blue"}, "'blue'"),
        ({"task": "Copy", "split": "dev"}, "'dev'"),
        ({"task": "Copy", "reward_mode": "shaped"}, "'shaped'"),
        ({"task": "Copy", "render_mode": "human"}, "'human'"),
        ({"task": "Copy", "curriculum": {"speed": 2}}, "'speed'"),
        ({"task": "Copy", "curriculum": "yes"}, "'yes'"),
    ],
)
def test_bad_options_raise_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextGenEnv(**kwargs)


def test_unknown_reset_option_raises():
    with pytest.raises(ValueError, match="'example'"):
        TextGenEnv("Copy").reset(options={"example": None})


def test_curriculum_grows_length_with_success():
    env = TextGenEnv("Copy", min_length=1, max_length=6, curriculum={"threshold": 0.9, "window": 20})
    assert env.curriculum.level == 1
    lengths = []
    for episode in range(200):
        env.reset(seed=episode)
        lengths.append(len(env.example.prompt))
        for action in env.task.oracle_actions(env.example):
            env.step(action)
    assert env.curriculum.level == 6
    assert max(lengths[:20]) == 1 and max(lengths[-20:]) == 6
    failing = TextGenEnv("Copy", max_length=6, curriculum={"window": 20})
    for episode in range(100):
        failing.reset(seed=episode)
        failing.step(failing.tokenizer.eos_id)
    assert failing.curriculum.level == 1  # no success, no growth
