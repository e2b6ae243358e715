"""How far teacher forcing on the scripted binary search's conversations gets in guess the number (1 to 100, 10
turns), by the number of demonstrated tokens: greedy success on the train, validation and test secrets, and where
the held-out conversations that are lost leave the binary search.

The warm start of the `dialogue` suite's `pg+warm-start` agent (rotary positions, batches of 8 conversations,
learning rate 3e-3, the default model), for TOKENS answer tokens, then 200 greedy episodes per split. OPTIONS, a
JSON object, overrides agent options (for example '{"warm_start_lr_schedule": "cosine"}'; its ``model`` overrides
the model options it names, '{"model": {"n_layers": 4}}'). Its key ``"train_sub_ranges"``
is the environment's option of that name (the share of training games played on sub-ranges; held-out games always
play the whole range). ``departures`` lists, for each validation and test
secret the greedy policy does not win, the turn at which its conversation first differs from the binary search's
and how many numbers were still possible before that turn.

    python docs/results/beyond_imitation/guess_number_warm_start.py TOKENS [SEED [OPTIONS]]

Prints one JSON line. One torch thread.
"""

import json
import sys
import time

import gymnasium as gym
import numpy as np
import torch

from textgym import TextGenEnv
from textgym.agents import make_agent
from textgym.agents.evaluation import evaluate
from textgym.conversation import split_turns
from textgym.episodes import play_demonstration

ENV = "textgym/GuessNumber-v0"


def main() -> None:
    torch.set_num_threads(1)
    tokens, seed = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0
    overrides = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    env_options = {"train_sub_ranges": overrides.pop("train_sub_ranges")} if "train_sub_ranges" in overrides else {}
    options = {
        "kl_coef": 0.05,
        "warm_start_batch_size": 8,
        "warm_start_learning_rate": 3e-3,
        **overrides,
        "model": {"positions": "rotary", **overrides.get("model", {})},
    }
    agent = make_agent("pg", seed=seed, warm_start_steps=tokens, **options)
    began = time.perf_counter()
    agent.learn(gym.make_vec(ENV, num_envs=agent.config.num_envs, reward_mode="dense", **env_options), tokens)
    result = {"tokens": tokens, "seed": seed, "options": options, "env_options": env_options}
    result["wall_s"] = round(time.perf_counter() - began)
    for split in ("train", "validation", "test"):
        result[split] = evaluate(agent, ENV, episodes=200, split=split)["success"]
    result["departures"] = {split: departures(agent, split) for split in ("validation", "test")}
    print(json.dumps(result), flush=True)


def departures(agent, split: str) -> dict[str, dict[str, int]]:
    """For each secret of ``split`` the greedy policy loses: the turn (from 1) at which its conversation first
    differs from the scripted one, and the numbers still possible before that turn."""
    task = TextGenEnv("GuessNumber").task
    prompt_len, gen_len = task.max_prompt_len, task.max_gen_len

    def greedy(example, conversation: list[int]) -> int:
        obs = np.zeros(prompt_len + gen_len, dtype=np.int64)
        obs[: len(example.prompt_ids)] = example.prompt_ids
        obs[prompt_len : prompt_len + len(conversation)] = conversation
        return int(agent.predict(obs)[0])

    lost = {}
    for example in task.examples(split):
        slots, _ = play_demonstration(task, example, greedy)
        conversation = slots[:-1] if slots[-1] == task.tokenizer.eos_id else slots
        if task.is_success(conversation, example):
            continue
        played, _ = split_turns(conversation, task.tokenizer.eot_id)
        scripted, _ = split_turns(task.demonstration(example)[0], task.tokenizer.eot_id)
        differing = (k for k, (a, b) in enumerate(zip(played, scripted)) if a.question != b.question)
        turn = next(differing, min(len(played), len(scripted)))
        lost[example.references[0].replace(" ", "")] = {
            "turn": turn + 1,
            "candidates": int(task.candidates(played[:turn]).sum()),
        }
    return lost


if __name__ == "__main__":
    main()
