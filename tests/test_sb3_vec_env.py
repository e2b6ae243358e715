"""The SB3 adapter over the native vector env: the same transitions as DummyVecEnv, PPO learns, MaskablePPO masks."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from helpers import assert_same
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv
from test_sb3_learns import SMALL_COPY, greedy_success

from textgym import TextGenVectorEnv
from textgym.agents.sb3_vec_env import TextGenSB3VecEnv


def dummy(env_id, num_envs, **kwargs):
    return DummyVecEnv([lambda: gym.make(env_id, **kwargs) for _ in range(num_envs)])


@pytest.mark.parametrize("env_id, kwargs", [("textgym/Copy-v0", {}), ("textgym/Dyck-v0", {"reward_mode": "dense"})])
def test_adapter_returns_what_dummy_vec_env_returns(env_id, kwargs):
    adapter, reference = TextGenSB3VecEnv(env_id, num_envs=5, **kwargs), dummy(env_id, 5, **kwargs)
    for env in (adapter, reference):
        env.seed(11)
    assert_same(adapter.reset(), reference.reset())
    assert_same(adapter.reset_infos, reference.reset_infos)
    rng = np.random.default_rng(0)
    episodes = 0
    for step in range(60):
        actions = rng.integers(0, adapter.action_space.n, size=5)
        result = adapter.step(actions)
        assert_same(result, reference.step(actions), f"step {step}")
        assert_same(adapter.reset_infos, reference.reset_infos, f"reset infos after step {step}")
        episodes += int(result[2].sum())
    assert episodes > 20


def test_ppo_trains_the_same_through_the_adapter_and_dummy_vec_env():
    models = [
        PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=2, seed=0).learn(512)
        for env in (
            TextGenSB3VecEnv("textgym/Copy-v0", num_envs=4, **SMALL_COPY),
            dummy("textgym/Copy-v0", 4, **SMALL_COPY),
        )
    ]
    adapter_params, dummy_params = (model.policy.state_dict() for model in models)
    assert all(torch.equal(adapter_params[name], dummy_params[name]) for name in dummy_params)
    untrained = PPO("MlpPolicy", dummy("textgym/Copy-v0", 4, **SMALL_COPY), seed=0).policy.state_dict()
    assert not all(torch.equal(untrained[name], dummy_params[name]) for name in dummy_params)  # it did learn


@pytest.mark.learning
def test_sb3_ppo_learns_small_copy_through_the_adapter():
    env = TextGenSB3VecEnv("textgym/Copy-v0", num_envs=4, **SMALL_COPY)
    model = PPO("MlpPolicy", env, n_steps=512, seed=0).learn(30_000)
    assert greedy_success(model, "test") >= 0.9  # held-out prompts, never trained on


def test_maskable_ppo_uses_the_adapters_masks():
    env = TextGenSB3VecEnv("textgym/Copy-v0", num_envs=4)
    env.seed(0)
    env.reset()
    assert is_masking_supported(env)
    masks = get_action_masks(env)
    assert masks.shape == (4, 8) and np.array_equal(masks, env.venv.action_masks())
    invalid = {}
    for use_masking in (True, False):
        model = MaskablePPO("MlpPolicy", env, n_steps=128, seed=0).learn(512, use_masking=use_masking)
        actions = model.rollout_buffer.actions.reshape(-1).astype(int)
        invalid[use_masking] = int((~env.venv.task.answer_mask()[actions]).sum())
        if use_masking:
            recorded = model.rollout_buffer.action_masks.reshape(-1, 8)
            assert np.array_equal(recorded, np.repeat(env.venv.task.answer_mask()[None], len(recorded), axis=0))
    assert invalid[True] == 0 and invalid[False] > 0  # without masks the policy does pick <pad> and <eot>


def test_attributes_and_methods_sb3_asks_for():
    env = TextGenSB3VecEnv("textgym/Addition-v0", num_envs=3, split="test")
    assert env.get_attr("split") == ["test"] * 3 and env.get_attr("render_mode", indices=[1]) == [None]
    assert env.has_attr("action_masks") and not env.has_attr("no_such_attribute")
    assert env.env_is_wrapped(gym.Wrapper) == [False, False, False]
    env.seed(0)
    env.reset()
    assert [mask.shape for mask in env.env_method("action_masks", indices=[0, 2])] == [(15,), (15,)]
    env.set_attr("reward_mode", "dense")
    assert env.venv.reward_mode == "dense"


def test_bad_uses_raise_naming_the_problem():
    with pytest.raises(ValueError, match="SB3 needs AutoresetMode.SAME_STEP"):
        TextGenSB3VecEnv(TextGenVectorEnv("Copy", num_envs=2))
    with pytest.raises(ValueError, match=r"options \['split'\] given with an already built"):
        TextGenSB3VecEnv(TextGenVectorEnv("Copy", autoreset_mode=AutoresetMode.SAME_STEP), split="test")
    with pytest.raises(ValueError, match="registered textgym ID or a TextGenVectorEnv"):
        TextGenSB3VecEnv(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"))
    env = TextGenSB3VecEnv("textgym/Copy-v0", num_envs=2)
    with pytest.raises(AttributeError, match="answer only 'action_masks'"):
        env.env_method("render")
    with pytest.raises(ValueError, match="only all of them can be set at once"):
        env.set_attr("split", "test", indices=[0])
    with pytest.raises(IndexError, match=r"indices \[2\] are outside the 2 sub-environments"):
        env.get_attr("split", indices=[2])
    env.set_options({"difficulty": 3})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset()


@pytest.mark.parametrize("env_id", sorted(i for i in gym.registry if i.startswith("textgym/")))
def test_sb3_make_vec_env_builds_every_id_with_rgb_array_frames(env_id):
    """SB3's most used helper asks for render_mode="rgb_array" first, and records videos from those frames."""
    from stable_baselines3.common.env_util import make_vec_env

    vec_env = make_vec_env(env_id, n_envs=2, seed=0)
    assert vec_env.render_mode == "rgb_array"
    vec_env.reset()
    rng = np.random.default_rng(0)
    for _ in range(3):
        vec_env.step(rng.integers(0, vec_env.action_space.n, size=2))
    frames = vec_env.get_images()
    assert len(frames) == 2 and all(f.shape == frames[0].shape and f.dtype == np.uint8 for f in frames)
    assert all(f.min() == 0 and f.max() == 255 for f in frames)  # black text on white
    vec_env.close()
