"""How far teacher forcing on the scripted binary search's conversations gets in guess the number (1 to 100, 10
turns), by the number of demonstrated tokens: greedy success on the train, validation and test secrets.

The warm start of the `dialogue` suite's `pg+warm-start` agent (rotary positions, batches of 8 conversations,
learning rate 3e-3, the default model), for TOKENS answer tokens, then 200 greedy episodes per split. OPTIONS, a
JSON object, overrides agent options (for example '{"warm_start_lr_schedule": "cosine"}').

    python docs/results/beyond_imitation/guess_number_warm_start.py TOKENS [SEED [OPTIONS]]

Prints one JSON line. One torch thread.
"""

import json
import sys
import time

import gymnasium as gym
import torch

from textgym.agents import make_agent
from textgym.agents.evaluation import evaluate

ENV = "textgym/GuessNumber-v0"


def main() -> None:
    torch.set_num_threads(1)
    tokens, seed = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0
    options = {
        "positions": "rotary",
        "kl_coef": 0.05,
        "warm_start_batch_size": 8,
        "warm_start_learning_rate": 3e-3,
        **(json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}),
    }
    agent = make_agent("pg", seed=seed, warm_start_steps=tokens, **options)
    began = time.perf_counter()
    agent.learn(gym.make_vec(ENV, num_envs=agent.config.num_envs, reward_mode="dense"), tokens)
    result = {"tokens": tokens, "seed": seed, "options": options, "wall_s": round(time.perf_counter() - began)}
    for split in ("train", "validation", "test"):
        result[split] = evaluate(agent, ENV, episodes=200, split=split)["success"]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
