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

import gymnasium as gym
import torch

from textgym.agents import make_agent
from textgym.agents.evaluation import evaluate

ENV = "textgym/SCAN-v0"
ENV_OPTIONS = {"scan_split": "simple", "metric": "token_accuracy", "reward_mode": "dense"}
EVAL_EVERY = 500_000


def main() -> None:
    torch.set_num_threads(1)
    seed, tokens = int(sys.argv[1]), int(sys.argv[2])
    precision = sys.argv[3] if len(sys.argv) > 3 else "fp32"
    agent = make_agent(
        "supervised",
        seed=seed,
        model={"positions": "rotary", "n_layers": 3},
        weight_decay=0.1,
        precision=precision,
    )
    began, next_evaluation = time.perf_counter(), EVAL_EVERY

    def report(**line) -> None:
        print(json.dumps({**line, "wall_s": round(time.perf_counter() - began)}), flush=True)

    def validation() -> float:
        return evaluate(agent, ENV, 500, split="validation", **ENV_OPTIONS)["success"]

    def every_half_million(metrics: dict) -> None:
        nonlocal next_evaluation
        if metrics["env_steps"] >= next_evaluation:
            next_evaluation += EVAL_EVERY
            report(tokens=int(metrics["env_steps"]), validation=validation())

    agent.learn(gym.make_vec(ENV, num_envs=8, **ENV_OPTIONS), tokens, callback=every_half_million)
    at_end = validation()
    report(tokens=agent.num_env_steps, validation=at_end, test=evaluate(agent, ENV, 200, **ENV_OPTIONS)["success"])


if __name__ == "__main__":
    main()
