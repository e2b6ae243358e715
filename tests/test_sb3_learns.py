"""The standard SB3 path works: PPO with MlpPolicy learns a small Copy through gym.make."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

import textgym  # noqa: F401  (registers the IDs)

SMALL_COPY = {"min_length": 1, "max_length": 3, "num_symbols": 3}


def greedy_success(model, split, episodes=200):
    env = gym.make("textgym/Copy-v0", split=split, **SMALL_COPY)
    successes = []
    for seed in range(episodes):
        obs, _ = env.reset(seed=10_000 + seed)
        terminated = False
        while not terminated:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, _, info = env.step(action)
        successes.append(info["success"])
    return float(np.mean(successes))


@pytest.mark.learning
def test_sb3_ppo_learns_small_copy():
    env = gym.make("textgym/Copy-v0", **SMALL_COPY)
    untrained = PPO("MlpPolicy", env, seed=0)
    assert greedy_success(untrained, "train") < 0.2
    model = PPO("MlpPolicy", env, seed=0).learn(30_000)
    assert greedy_success(model, "train") >= 0.9
    assert greedy_success(model, "test") >= 0.9  # held-out prompts, never trained on
