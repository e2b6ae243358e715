"""How PG after a warm start keeps (or loses) what teacher forcing taught: SCAN simple, seed 0, validation split.

Warms the `pg+demonstrations` model of the solve suite up once (2,500,000 answer tokens of teacher forcing,
cosine schedule), saves it, then runs the PG phase of each variant from that same checkpoint and evaluates
greedy exact match on held-out validation commands every 100,000 steps (200 commands) and at the end (500).

    python docs/results/solve/pg_after_warm_start.py OUT_DIR '[["NAME", {PG options}], ...]' [PG_STEPS]

Each variant's curve goes to OUT_DIR/NAME.json. One torch thread.
"""

import json
import sys
import time
from pathlib import Path

import torch

from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.evaluation import evaluate
from textgym.agents.pg import PolicyGradientAgent

ENV = "textgym/SCAN-v0"
ENV_OPTIONS = {"scan_split": "simple", "metric": "token_accuracy", "reward_mode": "dense"}
WARM_START = {
    "model": {"positions": "rotary", "n_layers": 3},
    "weight_decay": 0.1,
    "mask_actions": True,
    "warm_start_steps": 2_500_000,
    "warm_start_lr_schedule": "cosine",
    "kl_coef": 0.05,
}


def validation(agent, episodes: int = 200) -> float:
    return evaluate(agent, ENV, episodes, split="validation", **ENV_OPTIONS)["success"]


def main() -> None:
    torch.set_num_threads(1)
    out, variants = Path(sys.argv[1]), json.loads(sys.argv[2])
    pg_steps = int(sys.argv[3]) if len(sys.argv) > 3 else 200_000
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "warm_start.pt"
    if not checkpoint.exists():
        agent = make_agent("pg", seed=0, **WARM_START)
        agent.learn(env_spec(ENV, **ENV_OPTIONS), WARM_START["warm_start_steps"])
        print("warm start: validation exact match", validation(agent, 500), flush=True)
        agent.save(checkpoint)
    for name, options in variants:
        result = pg_phase(name, options, checkpoint, pg_steps)
        print(json.dumps(result), flush=True)
        (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")


def pg_phase(name: str, options: dict, checkpoint: Path, pg_steps: int) -> dict:
    """The PG phase with ``options`` from the warm-started ``checkpoint``, and its validation curve."""
    agent = PolicyGradientAgent.load(checkpoint)
    for key, value in options.items():  # load restores the saved options; the PG phase's are these
        setattr(agent.config, key, value)
    agent.kl_coef = agent.config.kl_coef
    agent.optimizer = None  # built at the end of the warm start with the saved learning rate, no step taken
    start, began = agent.num_env_steps, time.perf_counter()
    curve = [[0, validation(agent)]]
    next_evaluation = start + 100_000

    def evaluate_every_100k(metrics: dict) -> None:
        nonlocal next_evaluation
        if metrics["env_steps"] >= next_evaluation:
            curve.append([metrics["env_steps"] - start, validation(agent), round(metrics["kl"], 4)])
            print(name, curve[-1], flush=True)
            next_evaluation += 100_000

    agent.learn(env_spec(ENV, **ENV_OPTIONS), pg_steps, callback=evaluate_every_100k)
    result = {"name": name, "options": options, "pg_steps": pg_steps, "curve": curve}
    return {**result, "final": validation(agent, 500), "wall_s": round(time.perf_counter() - began)}


if __name__ == "__main__":
    main()
