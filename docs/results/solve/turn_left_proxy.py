"""A stand-in for SCAN addprim_turn_left's test, built from its training commands only, to choose settings on.

addprim_turn_left shows "turn left" in training only on its own and tests every command that composes it. Its
validation split is drawn from the training commands, so it measures nothing of that generalisation. This script
repeats the split's construction one level down, inside the paper's train file: a held-out BIGRAM (default
``walk left``, which the training commands compose as freely as "turn right" is composed) is kept in training only
on its own, repeated as the paper repeats its primitive (to a tenth of the commands), and every other command
containing it becomes the stand-in validation set. The model is the `solve` suite's `supervised` agent (three
rotary layers, weight decay 0.1, cosine schedule over TOKENS) with OPTIONS (JSON of agent options, ``model``
fields merged) on top; greedy exact match on 500 stand-in validation commands every 500,000 tokens and at the end.

    python docs/results/solve/turn_left_proxy.py SEED TOKENS [OPTIONS] [BIGRAM]

Prints one JSON line per evaluation. One torch thread, bf16 autocast unless OPTIONS says otherwise. The test
split of addprim_turn_left is never read.
"""

import json
import sys

import gymnasium as gym
import numpy as np
import torch
from scan_budget import ENV, SUPERVISED, learn_validating  # this directory's

from textgym.agents import make_agent
from textgym.agents.evaluation import evaluate
from textgym.examples import Example
from textgym.tasks.scan import SCAN, hold_out_primitive, paper_split


class HeldOutBigram(SCAN):
    """addprim_turn_left's training commands, split again around ``bigram`` (see the module docstring); its
    ``validation`` split is the stand-in test, and it has no ``test`` split."""

    def __init__(self, bigram: str) -> None:
        super().__init__(scan_split="addprim_turn_left", metric="token_accuracy")
        train, held = hold_out_primitive(paper_split("addprim_turn_left")[0], bigram)
        self.proxy = {"train": train, "validation": tuple(sorted(held))}

    def examples(self, split: str) -> tuple[Example, ...]:
        return tuple(map(self._example, self.proxy[split]))

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        if split not in self.proxy:
            raise ValueError(f"the stand-in task has only the splits {sorted(self.proxy)}, got {split!r}")
        commands = self.proxy[split]
        return self._example(commands[int(rng.integers(len(commands)))])


def main() -> None:
    torch.set_num_threads(1)
    seed, tokens = int(sys.argv[1]), int(sys.argv[2])
    options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    task = HeldOutBigram(sys.argv[4] if len(sys.argv) > 4 else "walk left")
    model = {**SUPERVISED["model"], **options.pop("model", {})}
    agent = make_agent("supervised", seed=seed, **{**SUPERVISED, "precision": "bf16", **options, "model": model})
    print(json.dumps({"held_out": len(task.proxy["validation"]), "train": len(task.proxy["train"])}), flush=True)
    env = gym.make_vec(ENV, num_envs=8, task=task, reward_mode="dense")
    learn_validating(
        agent,
        env,
        tokens,
        lambda: evaluate(agent, ENV, 500, split="validation", task=task, reward_mode="dense")["success"],
    )


if __name__ == "__main__":
    main()
