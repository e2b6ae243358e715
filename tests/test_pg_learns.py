"""The policy-gradient agent learns: from scratch on Copy and Reverse (lengths 1 to 5, five symbols), and after a
supervised warm start on Addition. Fixed seeds, held-out test prompts, greedy decoding, asserted thresholds."""

import gymnasium as gym
import pytest

from agents import make_agent
from agents.evaluation import evaluate


def learn_and_evaluate(env_id, steps, env_options=None, **agent_options):
    env_options = env_options or {}
    agent = make_agent("pg", seed=0, **agent_options)
    env = gym.make_vec(env_id, num_envs=agent.config.num_envs, reward_mode="dense", **env_options)
    agent.learn(env, steps)
    return agent, evaluate(agent, env_id, episodes=200, **env_options)


@pytest.mark.parametrize("env_id", ["textgym/Copy-v0", "textgym/Reverse-v0"])
def test_pg_learns_from_scratch(env_id):
    agent, result = learn_and_evaluate(env_id, 120_000)
    assert agent.model.config.gen_len == 6 and agent.model.config.prompt_len == 5  # lengths up to 5
    assert result["success"] >= 0.95, result


def test_warm_start_then_pg_learns_one_digit_addition():
    """Supervised teacher forcing on the train split's answers, then PG with the KL reference at the warm-started
    policy. One-digit operands: 100 prompts, so the test split holds about ten of them."""
    options = {"max_length": 1}
    agent, result = learn_and_evaluate("textgym/Addition-v0", 60_000, options, warm_start_steps=20_000, kl_coef=0.01)
    assert agent.warm_start_tokens >= 20_000 and agent.reference is not None
    assert result["success"] >= 0.95, result
    train = evaluate(agent, "textgym/Addition-v0", episodes=200, split="train", **options)
    assert train["success"] >= 0.95, train
