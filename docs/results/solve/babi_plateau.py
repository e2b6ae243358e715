"""When teacher forcing leaves bAbI 1's last-room shortcut: the `supervised` agent's update, validation split.

Trains the model of the solve suite's `qa` part (two layers, sinusoidal positions, weight decay 0.1 on the
matrices) with the `supervised` agent's own update (`supervised_update`: fresh train stories, gradient clipping
at 1.0) and a learning rate set per update, and prints the greedy exact match on 500 validation stories of six
statements at most every 500 updates. Naming the story's last room scores about 0.53.

    python docs/results/solve/babi_plateau.py '{"seed": 1, "warmup": 780, "curriculum": [[1000, 2], [2500, 5]]}'

Options (JSON): ``seed``; ``learning_rate`` (constant after ``warmup`` updates of linear rise); ``updates``;
``batch`` (stories per update, 64); ``model`` (the model's options replacing the part's); ``curriculum``:
``[[until_update, max_statements], ...]``, stories drawn with at most that many statements up to that update (six
after the last), padded as six-statement ones; ``shortcut_wrong``: the share of training stories on which naming
the last room is wrong (each training story is redrawn until it falls on the side a draw chose; about 0.48 in the
task's own stories; validation is unchanged). One torch thread.
"""

import json
import sys
import time

import numpy as np
import torch

from textgym.agents import make_agent
from textgym.agents.evaluation import evaluate
from textgym.agents.supervised import supervised_update
from textgym.agents.torch_agent import adamw
from textgym.tasks.babi import BabiQA

MODEL = {"positions": "sinusoidal", "n_layers": 2}
DEFAULTS = {
    "seed": 0,
    "learning_rate": 1e-3,
    "warmup": 0,
    "updates": 6000,
    "batch": 64,
    "model": {},
    "curriculum": [],
    "shortcut_wrong": None,
}


class ShorterStories(BabiQA):
    """Six-statement bAbI 1 (its prompt length and vocabulary) whose training stories have at most ``level``
    statements."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = BabiQA(max_statements=level)

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None):
        return self.level.sample(rng, split, length_cap)


class Rebalanced(BabiQA):
    """bAbI 1 whose training stories are, with probability ``share``, ones on which naming the story's last room is
    wrong, else ones on which it is right."""

    def __init__(self, share: float) -> None:
        super().__init__()
        self.share = share

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None):
        if split != "train":
            return super().sample(rng, split, length_cap)
        wrong = bool(rng.random() < self.share)
        while True:
            example = super().sample(rng, split, length_cap)
            last_room = example.prompt.rstrip(" .").split()[-1]
            if (last_room != example.references[0]) == wrong:
                return example


def main() -> None:
    torch.set_num_threads(1)
    options = {**DEFAULTS, **json.loads(sys.argv[1])}
    print(options, flush=True)
    agent = make_agent("supervised", seed=options["seed"], model={**MODEL, **options["model"]}, weight_decay=0.1)
    model = agent.build_model(BabiQA())
    optimizer = adamw(model, options["learning_rate"], agent.config.weight_decay)
    stages = [(until, ShorterStories(level)) for until, level in options["curriculum"]]
    full = BabiQA() if options["shortcut_wrong"] is None else Rebalanced(options["shortcut_wrong"])
    began = time.perf_counter()
    for update in range(1, options["updates"] + 1):
        task = next((task for until, task in stages if update <= until), full)
        rise = update / options["warmup"] if update <= options["warmup"] else 1.0
        for group in optimizer.param_groups:
            group["lr"] = options["learning_rate"] * rise
        _, loss = supervised_update(model, task, optimizer, agent.rng, options["batch"], 1.0)
        if update % 500 == 0:
            score = evaluate(agent, "textgym/BabiQA-v0", 500, split="validation")["success"]
            seconds = time.perf_counter() - began
            print(f"update {update}  loss {loss:.3f}  validation exact match {score:.3f}  {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
