"""The SB3 baselines behind the agent protocol: they learn, keep the budget exactly, continue, save and load."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from textgym.agents import make_agent
from textgym.agents.envs import as_vector_env, env_spec
from textgym.agents.evaluation import evaluate

SMALL_COPY = {"min_length": 1, "max_length": 3, "num_symbols": 3}
BASELINES = ["sb3-ppo", "sb3-a2c", "sb3-dqn", "sb3-maskable-ppo"]
# Small rollouts so that a few hundred steps hold several updates.
SHORT_ROLLOUTS = {
    "sb3-ppo": {"n_steps": 16},
    "sb3-maskable-ppo": {"n_steps": 16},
    "sb3-a2c": {},
    "sb3-dqn": {},
    "sb3-ppo-transformer": {"n_steps": 16, "model": {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64}},
}


def small_copy():
    return env_spec("textgym/Copy-v0", **SMALL_COPY)


def sample_observations(n=64):
    space = gym.make(small_copy()).observation_space
    space.seed(0)
    return np.stack([space.sample() for _ in range(n)])


@pytest.mark.learning
@pytest.mark.parametrize("name", BASELINES)
def test_each_baseline_learns_small_copy_above_random(name):
    random_score = evaluate(make_agent("random").learn(small_copy(), 0), "textgym/Copy-v0", 200, **SMALL_COPY)
    reported = []
    agent = make_agent(name, seed=0).learn(small_copy(), 20_000, callback=lambda m: reported.append(m["env_steps"]))
    assert agent.num_env_steps == 20_000  # the budget, exactly
    assert reported[-1] == 20_000 and np.all(np.diff(reported) > 0)
    result = evaluate(agent, "textgym/Copy-v0", 200, **SMALL_COPY)  # held-out test prompts
    assert random_score["score"] < 0.15
    assert result["score"] >= 0.3, result


def test_learn_continues_across_calls_and_stops_when_the_callback_says_so():
    agent = make_agent("sb3-ppo", seed=0, n_steps=16)
    agent.learn(small_copy(), 0)
    assert agent.num_env_steps == 0
    agent.learn(small_copy(), 200).learn(small_copy(), 200)
    assert agent.num_env_steps == 400 and agent.model.num_timesteps == 400
    stopper = make_agent("sb3-ppo", seed=0, n_steps=16)
    stopper.learn(small_copy(), 10_000, callback=lambda metrics: False)
    assert stopper.num_env_steps == 16 * 8 + 8  # told to stop after the first update, it stops at the next step


@pytest.mark.parametrize("name", sorted(SHORT_ROLLOUTS))
def test_save_and_load_round_trip(name, tmp_path):
    agent = make_agent(name, seed=0, **SHORT_ROLLOUTS[name]).learn(small_copy(), 512)
    path = tmp_path / "agent.zip"
    agent.save(path)
    loaded = type(agent).load(path)
    obs = sample_observations()
    assert type(loaded) is type(agent) and loaded is not agent
    assert loaded.seed == 0 and loaded.num_env_steps == 512 and loaded.config == agent.config
    assert np.array_equal(loaded.predict(obs), agent.predict(obs))
    loaded.learn(small_copy(), 256)  # a loaded agent continues learning
    assert loaded.num_env_steps == 768


def test_same_seed_same_agent():
    first, again, other = (make_agent("sb3-ppo", seed=s, n_steps=16).learn(small_copy(), 1024) for s in (3, 3, 4))
    params = [agent.model.policy.state_dict() for agent in (first, again, other)]
    assert all(torch.equal(params[0][key], params[1][key]) for key in params[0])
    assert not all(torch.equal(params[0][key], params[2][key]) for key in params[0])
    obs = sample_observations()
    assert np.array_equal(first.predict(obs), again.predict(obs))


def test_maskable_ppo_masks_the_tokens_the_environment_never_allows():
    agent = make_agent("sb3-maskable-ppo", seed=0, n_steps=16).learn(small_copy(), 512)
    _, info = gym.make(small_copy()).reset(seed=0)
    assert np.array_equal(agent.valid_actions, info["action_mask"])  # <eos> and the letters, never <pad> or <eot>
    actions = agent.predict(sample_observations(), deterministic=False)
    assert np.all(info["action_mask"][actions])


def test_bad_use_raises_clear_errors():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['n_step'\] for PPOConfig"):
        make_agent("sb3-ppo", n_step=16)
    with pytest.raises(ValueError, match=r"\['d_model'\] are options of ModelConfig: give them as model=\{...\}"):
        make_agent("sb3-ppo-transformer", d_model=32)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['layers'\] for ModelConfig"):
        make_agent("sb3-ppo-transformer", model={"layers": 1})
    agent = make_agent("sb3-a2c")
    with pytest.raises(RuntimeError, match="call learn"):
        agent.predict(sample_observations(2))
    with pytest.raises(RuntimeError, match="nothing to save"):
        agent.save("never.zip")
    with pytest.raises(ValueError, match="registered ID or an EnvSpec"):
        agent.learn(as_vector_env("textgym/Copy-v0", num_envs=2), 10)


def test_the_model_option_sizes_the_transformer_features_extractor():
    model = {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64, "dropout": 0.0, "positions": "rotary"}
    agent = make_agent("sb3-ppo-transformer", seed=0, n_steps=16, model=model).learn(small_copy(), 0)
    extractor = agent.model.policy.features_extractor
    assert extractor.features_dim == 32
    assert {name: getattr(extractor.transformer.config, name) for name in model} == model
