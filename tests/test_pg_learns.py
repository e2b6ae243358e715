"""The policy-gradient agent learns: from scratch on Copy and Reverse (lengths 1 to 5, five symbols), after a
supervised warm start on Addition, after a warm start on scripted conversations in guess the number, and faster
when restricted to the answer tokens. Fixed seeds, greedy decoding, asserted thresholds."""

import gymnasium as gym
import pytest

from textgym.agents import make_agent
from textgym.agents.evaluation import evaluate


def learn_and_evaluate(env_id, steps, env_options=None, **agent_options):
    env_options = env_options or {}
    agent = make_agent("pg", seed=0, **agent_options)
    env = gym.make_vec(env_id, num_envs=agent.config.num_envs, reward_mode="dense", **env_options)
    agent.learn(env, steps)
    return agent, evaluate(agent, env_id, episodes=200, **env_options)


@pytest.mark.learning
@pytest.mark.parametrize("env_id", ["textgym/Copy-v0", "textgym/Reverse-v0"])
def test_pg_learns_from_scratch(env_id):
    agent, result = learn_and_evaluate(env_id, 120_000)
    assert agent.model.config.gen_len == 6 and agent.model.config.prompt_len == 5  # lengths up to 5
    assert result["success"] >= 0.95, result


@pytest.mark.learning
def test_warm_start_then_pg_learns_the_one_digit_addition_table():
    """Supervised teacher forcing on the train split's answers, then PG with a KL penalty to the warm-started
    policy. One-digit operands make 100 prompts; the 90 or so of the train split are judged (the test split's ten
    or so held-out sums are not: a table of one-digit sums leaves little to generalise from)."""
    options = {"max_length": 1}
    agent, _ = learn_and_evaluate("textgym/Addition-v0", 80_000, options, warm_start_steps=60_000, kl_coef=0.1)
    assert agent.warm_start_tokens >= 60_000 and agent.reference is not None
    # PG ran after the warm start; the KL is non-negative up to rounding (the first update's policy is its reference)
    assert agent.log_rows and all(row["kl"] >= -1e-6 for row in agent.log_rows)
    train = evaluate(agent, "textgym/Addition-v0", episodes=200, split="train", **options)
    assert train["success"] >= 0.95, train


@pytest.mark.learning
def test_pg_restricted_to_the_answer_tokens_learns_scan_faster():
    """SCAN's vocabulary holds the command words too; with ``mask_actions`` the policy samples only the action
    tokens and ``<eos>``. Measured after 20,000 steps, token accuracy on held-out commands: 0.253 with the
    restriction, 0.073 without."""
    options = {"scan_split": "simple", "metric": "token_accuracy"}
    _, masked = learn_and_evaluate("textgym/SCAN-v0", 20_000, options, mask_actions=True)
    _, free = learn_and_evaluate("textgym/SCAN-v0", 20_000, options)
    assert masked["score"] >= 0.2 and masked["score"] >= free["score"] + 0.1, (masked, free)


@pytest.mark.learning
def test_warm_start_on_scripted_conversations_then_pg_plays_guess_the_number():
    """A dialogue: teacher forcing on the binary-search policy's conversations with the simulated user (the user's
    replies are read, not trained on), then PG with a KL penalty. Numbers 1 to 16: the 12 or so secrets of the
    train split are judged (the test split's two are never named in training). Measured: success 0.785 after the
    warm start, 0.83 after PG; a random policy, masked or not, almost never succeeds."""
    options = {"high": 16, "max_turns": 6}
    agent_options = dict(
        model={"positions": "rotary"}, kl_coef=0.05, warm_start_batch_size=8, warm_start_learning_rate=3e-3
    )
    agent = make_agent("pg", seed=0, warm_start_steps=160_000, **agent_options)
    env = gym.make_vec("textgym/GuessNumber-v0", num_envs=agent.config.num_envs, reward_mode="dense", **options)
    agent.learn(env, 160_000)
    imitated = evaluate(agent, "textgym/GuessNumber-v0", episodes=200, split="train", **options)
    assert imitated["success"] >= 0.7, imitated
    agent.learn(env, 20_000)
    assert agent.log_rows  # PG ran after the warm start
    played = evaluate(agent, "textgym/GuessNumber-v0", episodes=200, split="train", **options)
    assert played["success"] >= 0.7, played


@pytest.mark.slow
def test_warm_start_then_pg_on_two_digit_addition():
    """Two-digit Addition (operands uniform in 0..99), judged on held-out sums (about 6 minutes on one core).
    Weight decay 0.1 during the warm start closes most of the gap between train and held-out sums. Measured:
    0.97 exact match on the test split after the warm start, 0.975 after PG (0.966 over 1,000 test episodes)."""
    options = dict(
        model={"n_layers": 3, "positions": "rotary"}, kl_coef=0.05, warm_start_lr_schedule="cosine", weight_decay=0.1
    )
    agent, result = learn_and_evaluate("textgym/Addition-v0", 800_000, warm_start_steps=600_000, **options)
    assert agent.warm_start_tokens >= 600_000 and agent.log_rows  # PG ran after the warm start
    assert result["success"] >= 0.95, result


@pytest.mark.slow
def test_a_newcomers_first_run_solves_reverse():
    """``make_agent("pg").learn("textgym/Reverse-v0", 400_000)``: the agent's and the environment's defaults (sparse
    reward), judged on the held-out test split (about 8 minutes on one core)."""
    agent = make_agent("pg", seed=0).learn("textgym/Reverse-v0", 400_000)
    result = evaluate(agent, "textgym/Reverse-v0", episodes=500)
    assert result["success"] >= 0.95, result
