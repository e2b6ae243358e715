"""Wall time and environment steps to the threshold for `pg` with fewer gradient steps per batch, beside SB3 PPO.

For each task, trains seed 0 of each candidate until a greedy evaluation of 200 validation episodes every 10,000
steps reaches the task's reward threshold (``time_to_threshold`` of ``benchmarks/perf/agent.py``, evaluations left
out of the time), and prints one JSON line per run. One torch thread.

    python docs/results/solve/gradient_steps.py textgym/Copy-v0,textgym/Sort-v0 defaults,e2m2,e4m2,ppo

Candidates: ``defaults`` (`pg` as it is: 4 epochs of 4 minibatches), ``e2m2`` (2 epochs of 2), ``e4m2`` (4 epochs
of 2), ``ppo`` (`sb3-ppo` with its defaults).
"""

import json
import sys

import torch

from textgym.benchmarks.perf.agent import time_to_threshold

CANDIDATES = {
    "defaults": ("pg", {}),
    "e2m2": ("pg", {"update_epochs": 2, "num_minibatches": 2}),
    "e4m2": ("pg", {"update_epochs": 4, "num_minibatches": 2}),
    "ppo": ("sb3-ppo", {}),
}


def main() -> None:
    torch.set_num_threads(1)
    candidates = sys.argv[2].split(",")
    unknown = [name for name in candidates if name not in CANDIDATES]
    if unknown:
        raise SystemExit(f"unknown candidate(s) {unknown}; expected some of {sorted(CANDIDATES)}")
    for env_id in sys.argv[1].split(","):
        for candidate in candidates:
            agent, options = CANDIDATES[candidate]
            result = time_to_threshold(agent, env_id, options, 1_000_000, 10_000, 200)
            print(json.dumps({"env": env_id, "candidate": candidate, **result}), flush=True)


if __name__ == "__main__":
    main()
