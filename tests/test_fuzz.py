"""Fuzzing every registered environment, options-free, with random actions (invalid ones among them) and bad resets:
only the documented errors occur, a failed call changes nothing, and every invariant holds.

Each Hypothesis example resets a sparse environment with a seed and plays episodes back to back, drawing each step's
action (the oracle's next token, any token, an allowed token, ``<eos>``, a valid id in another type, or an invalid
action) and sometimes a bad ``reset``; then it replays the valid actions, without the failed calls, from the same
seed in the same environment and in a dense one. Hypothesis draws the seeds, the kinds of action and how often
calls fail; a numpy generator seeded by it draws each step's action, which keeps the 32,640 steps of a run within
seconds. The examples are derandomized: every run tests the same ones.
"""

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from helpers import assert_same
from hypothesis import given, settings
from hypothesis import strategies as st

import textgym

STEPS_PER_EXAMPLE = 16  # valid steps of each example's first play
EXAMPLES_PER_ID = 40  # 17 IDs x 40 examples x 16 steps: 10,880 steps, each played three times
KINDS = ("oracle", "any", "allowed", "eos", "other_type")
"""How a valid action is chosen: the oracle's next token (any token once the episode has outrun the oracle), any
token, a token of the action mask, ``<eos>``, or any token as another type ``step`` accepts."""
BAD_RESETS = ({"seed": -1}, {"seed": "0"}, {"seed": 1.5}, {"options": "abc"}, {"seed": 1, "options": {"x": 1}})


def invalid_actions(vocab_size: int) -> list[Any]:
    """Actions ``step`` must refuse with a ``ValueError``: ids outside ``[0, V)`` and values that are no integer."""
    return [-1, vocab_size, vocab_size + 1000, np.int64(-5), 1.5, np.float64(2.0), "3", None, [1], np.array([1, 2])]


def other_types(token: int) -> list[Any]:
    """``token`` as other types ``step`` accepts (numpy integers and one-element integer arrays)."""
    return [np.int64(token), np.int32(token), np.array(token), np.array([token]), np.array([[token]], np.uint16)]


class Episode:
    """One episode of a play: the reset's result, the valid actions and each step's result."""

    def __init__(self, reset: tuple[np.ndarray, dict[str, Any]]) -> None:
        self.reset = reset
        self.actions: list[int] = []
        self.steps: list[tuple[np.ndarray, float, bool, bool, dict[str, Any]]] = []

    @property
    def terminated(self) -> bool:
        return bool(self.steps) and self.steps[-1][2]


def play_fuzzed(
    env: gym.Env, seed: int, kinds: list[str], failure_rate: float, rng: np.random.Generator
) -> list[Episode]:
    """Play episodes back to back from ``reset(seed=seed)`` for :data:`STEPS_PER_EXAMPLE` valid steps, each one's
    kind drawn by ``rng`` from ``kinds``; before each, while a draw falls below ``failure_rate``, call ``step``
    with an invalid action or ``reset`` with bad arguments and check the documented error. Return the episodes
    (the last one may be unfinished)."""
    task, vocab_size = env.unwrapped.task, env.action_space.n
    episodes = [Episode(env.reset(seed=seed))]
    oracle: list[int] | None = None  # the current episode's oracle actions, computed when first needed
    for _ in range(STEPS_PER_EXAMPLE):
        episode = episodes[-1]
        if episode.terminated:
            with pytest.raises(ResetNeeded, match="after the episode terminated"):
                env.step(task.tokenizer.eos_id)
            episode = Episode(env.reset())
            episodes.append(episode)
            oracle = None
        while rng.random() < failure_rate:
            if rng.random() < 0.5:
                action = invalid_actions(vocab_size)[rng.integers(10)]
                with pytest.raises(ValueError, match=r"action .* (not an integer token id|outside the action space)"):
                    env.step(action)
            else:
                with pytest.raises(ValueError, match="seed|options|reset option"):
                    env.reset(**BAD_RESETS[rng.integers(len(BAD_RESETS))])
        kind = kinds[rng.integers(len(kinds))]
        if kind == "oracle" and oracle is None:
            oracle = task.oracle_actions(env.unwrapped.example)
        if kind == "oracle" and len(episode.actions) < len(oracle):
            token = oracle[len(episode.actions)]
        elif kind == "allowed":
            token = int(rng.choice(np.flatnonzero(env.unwrapped.action_masks())))
        elif kind == "eos":
            token = task.tokenizer.eos_id
        else:
            token = int(rng.integers(vocab_size))
        action = other_types(token)[rng.integers(5)] if kind == "other_type" else token
        episode.actions.append(token)
        episode.steps.append(env.step(action))
    return episodes


def replay(env: gym.Env, seed: int, played: list[Episode]) -> list[Episode]:
    """The episodes of ``played`` again, from ``reset(seed=seed)``, with their valid actions only."""
    episodes = []
    for number, original in enumerate(played):
        episode = Episode(env.reset(seed=seed) if number == 0 else env.reset())
        for token in original.actions:
            episode.actions.append(token)
            episode.steps.append(env.step(token))
        episodes.append(episode)
    return episodes


def check_invariants(env: gym.Env, episodes: list[Episode]) -> None:
    """Observations in the observation space, rewards finite floats (sparse: 0 but at the last step, which gives
    the score in [0, 1]), never truncated, and the final info of a finished episode."""
    for episode in episodes:
        assert env.observation_space.contains(episode.reset[0])
        for number, (obs, reward, terminated, truncated, info) in enumerate(episode.steps):
            assert env.observation_space.contains(obs)
            assert type(reward) is float and math.isfinite(reward)
            assert truncated is False and terminated == (number == len(episode.steps) - 1 and episode.terminated)
            if terminated:
                assert 0.0 <= reward <= 1.0 and reward == info["score"]
                assert isinstance(info["success"], bool)
            else:
                assert reward == 0.0


@pytest.mark.parametrize("env_id", textgym.ENV_IDS)
def test_random_and_invalid_actions_raise_only_documented_errors_and_keep_every_invariant(env_id):
    """Per ID: 40 derandomized examples of 16 valid steps each, each example played three times (first play,
    replay, dense replay)."""
    env, dense = gym.make(env_id), gym.make(env_id, reward_mode="dense")
    counted = []

    @settings(max_examples=EXAMPLES_PER_ID, deadline=None, derandomize=True, database=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=8),
        failure_rate=st.sampled_from([0.0, 0.2, 0.5]),
        actions_seed=st.integers(0, 2**32 - 1),
    )
    def fuzz(seed: int, kinds: list[str], failure_rate: float, actions_seed: int) -> None:
        played = play_fuzzed(env, seed, kinds, failure_rate, np.random.default_rng(actions_seed))
        check_invariants(env, played)
        # The same seed gives the same episodes, whatever failed calls came between the steps the first time.
        again = replay(env, seed, played)
        for first, second in zip(played, again):
            assert_same(second.reset, first.reset, "reset")
            assert_same(second.steps, first.steps, "steps")
        # Dense rewards: the same observations and infos, and each finished episode's rewards sum to its return.
        for sparse_episode, dense_episode in zip(played, replay(dense, seed, played)):
            assert_same(dense_episode.reset, sparse_episode.reset, "dense reset")
            for (obs, _, terminated, _, info), (dense_obs, reward, dense_terminated, _, dense_info) in zip(
                sparse_episode.steps, dense_episode.steps
            ):
                assert_same((dense_obs, dense_terminated, dense_info), (obs, terminated, info), "dense step")
                assert type(reward) is float and math.isfinite(reward)
            if sparse_episode.terminated:
                dense_return = sum(step[1] for step in dense_episode.steps)
                assert math.isclose(dense_return, sparse_episode.steps[-1][1], abs_tol=1e-9)
        counted.append(sum(len(episode.actions) for episode in played))

    fuzz()
    assert sum(counted) == EXAMPLES_PER_ID * STEPS_PER_EXAMPLE  # every example ran
