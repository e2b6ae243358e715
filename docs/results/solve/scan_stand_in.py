"""Stand-ins for SCAN's generalisation splits, built from a split's training commands only, to choose settings on.

addprim_turn_left and length test what their training commands never show (compositions of "turn left"; action
sequences longer than 22), and their validation splits are drawn from the training commands, so they measure
nothing of that generalisation. This script repeats a split's construction one level down, inside the paper's
train file of that split (our train and validation splits together), and makes the commands it holds out the
stand-in's validation set. HELD_OUT says how:

- ``bigram:WORDS`` (default ``bigram:turn right``), inside addprim_turn_left: WORDS is kept in training only on
  its own, repeated as the paper repeats its primitive (to a tenth of the commands), and every other command
  containing it is held out (``turn right``: 1,172 commands);
- ``longer:N`` (for example ``longer:12``), inside length: the commands of at most N actions train, the longer
  ones are held out (N = 12: 11,870 and 5,120 commands, lengths 13 to 22; the split itself trains up to 22 and
  tests 24 to 48).

The model is the `solve` suite's `supervised` agent (three rotary layers, weight decay 0.1, cosine schedule over
TOKENS) with OPTIONS (JSON of agent options, ``model`` fields merged) on top; greedy exact match on 500 stand-in
validation commands every 500,000 tokens and at the end.

    python docs/results/solve/scan_stand_in.py SEED TOKENS [OPTIONS] [HELD_OUT]

Prints one JSON line per evaluation. One torch thread, bf16 autocast unless OPTIONS says otherwise. The test
splits are never read.
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
from textgym.tasks.scan import SCAN, hold_out_longer, hold_out_primitive, paper_split


class StandIn(SCAN):
    """A SCAN split's training commands, split again (see the module docstring); its ``validation`` split is the
    stand-in test, and it has no ``test`` split."""

    def __init__(self, held_out: str) -> None:
        kind, _, value = held_out.partition(":")
        if kind == "bigram":
            super().__init__(scan_split="addprim_turn_left", metric="token_accuracy")
            train, held = hold_out_primitive(paper_split("addprim_turn_left")[0], value)
        elif kind == "longer" and value.isdigit():
            super().__init__(scan_split="length", metric="token_accuracy")
            train, held = hold_out_longer(paper_split("length")[0], int(value))
        else:
            raise ValueError(f"HELD_OUT must be 'bigram:WORDS' or 'longer:N', got {held_out!r}")
        self.stand_in = {"train": train, "validation": tuple(sorted(held))}

    def examples(self, split: str) -> tuple[Example, ...]:
        return tuple(map(self._example, self.stand_in[split]))

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        if split not in self.stand_in:
            raise ValueError(f"the stand-in task has only the splits {sorted(self.stand_in)}, got {split!r}")
        commands = self.stand_in[split]
        return self._example(commands[int(rng.integers(len(commands)))])


def main() -> None:
    torch.set_num_threads(1)
    seed, tokens = int(sys.argv[1]), int(sys.argv[2])
    options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    task = StandIn(sys.argv[4] if len(sys.argv) > 4 else "bigram:turn right")
    model = {**SUPERVISED["model"], **options.pop("model", {})}
    agent = make_agent("supervised", seed=seed, **{**SUPERVISED, "precision": "bf16", **options, "model": model})
    print(json.dumps({"held_out": len(task.stand_in["validation"]), "train": len(task.stand_in["train"])}), flush=True)
    env = gym.make_vec(ENV, num_envs=8, task=task, reward_mode="dense")
    learn_validating(
        agent,
        env,
        tokens,
        lambda: evaluate(agent, ENV, 500, split="validation", task=task, reward_mode="dense")["success"],
    )


if __name__ == "__main__":
    main()
