"""How many demonstrated tokens teacher forcing needs on SCAN simple: the `solve` suite's `supervised` agent (three
layers, rotary positions, weight decay 0.1, cosine schedule over the whole budget) for TOKENS tokens, greedy exact
match on 500 validation commands every 500,000 tokens and at the end, then on the suite's 200 test commands.

    python docs/results/solve/scan_budget.py SEED TOKENS [PRECISION]

PRECISION is ``fp32`` (default) or ``bf16`` (bfloat16 autocast in the Transformer blocks). Prints one JSON line per
evaluation. One torch thread.
"""

import json
import sys
import time
from collections.abc import Callable

import gymnasium as gym
import torch

from textgym.agents import Agent, make_agent
from textgym.agents.evaluation import evaluate

ENV = "textgym/SCAN-v0"
ENV_OPTIONS = {"scan_split": "simple", "metric": "token_accuracy", "reward_mode": "dense"}
EVAL_EVERY = 500_000
SUPERVISED = {"model": {"positions": "rotary", "n_layers": 3}, "weight_decay": 0.1}  # the suite's, on SCAN


def learn_validating(agent: Agent, env: gym.vector.VectorEnv, tokens: int, validation: Callable[[], float]) -> None:
    """Train ``agent`` on ``env`` for ``tokens`` tokens, printing ``validation()`` as a JSON line (with the tokens so
    far and the seconds since the call) every :data:`EVAL_EVERY` tokens and at the end, once."""
    began, next_evaluation, evaluated_at = time.perf_counter(), EVAL_EVERY, 0

    def evaluate_now(tokens_so_far: int) -> None:
        nonlocal evaluated_at
        evaluated_at = tokens_so_far
        line = {"tokens": tokens_so_far, "validation": validation(), "wall_s": round(time.perf_counter() - began)}
        print(json.dumps(line), flush=True)

    def every_half_million(metrics: dict) -> None:
        nonlocal next_evaluation
        if metrics["env_steps"] >= next_evaluation:
            next_evaluation += EVAL_EVERY
            evaluate_now(int(metrics["env_steps"]))

    agent.learn(env, tokens, callback=every_half_million)
    if evaluated_at != agent.num_env_steps:
        evaluate_now(agent.num_env_steps)


def main() -> None:
    torch.set_num_threads(1)
    seed, tokens = int(sys.argv[1]), int(sys.argv[2])
    precision = sys.argv[3] if len(sys.argv) > 3 else "fp32"
    agent = make_agent("supervised", seed=seed, precision=precision, **SUPERVISED)
    env = gym.make_vec(ENV, num_envs=8, **ENV_OPTIONS)
    learn_validating(
        agent, env, tokens, lambda: evaluate(agent, ENV, 500, split="validation", **ENV_OPTIONS)["success"]
    )
    print(json.dumps({"tokens": agent.num_env_steps, "test": evaluate(agent, ENV, 200, **ENV_OPTIONS)["success"]}))


if __name__ == "__main__":
    main()
