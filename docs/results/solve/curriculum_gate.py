"""What holds the length curriculum back: `pg` with its defaults on a task at MAX_LENGTH, with or without the
curriculum, reporting every 10,000 steps the curriculum's level, the success of the training (sampled) episodes
in its current window, and greedy success on 200 validation prompts of every length.

    python docs/results/solve/curriculum_gate.py ENV_ID MAX_LENGTH CURRICULUM REWARD_MODE STEPS [PG_OPTIONS]

CURRICULUM is JSON: ``false``, ``true`` or a mapping of the curriculum's options (``'{"threshold": 0.5}'``);
the mapping may also hold ``"mix"``, a fraction of episodes drawn over the task's whole length range (uncapped),
the rest at the cap, with the gate counting the capped ones only (Zaremba and Sutskever's "combined" curriculum;
patched into the native vector environment here, not an environment option). PG_OPTIONS a JSON object of
``make_agent("pg")`` options. Prints one JSON line per report. One torch thread.
"""

import json
import sys
import time

import gymnasium as gym
import numpy as np
import torch

from textgym.agents import make_agent
from textgym.agents.evaluation import evaluate
from textgym.examples import ExampleBatch

REPORT_EVERY = 10_000


def mix_uncapped_episodes(env: gym.vector.VectorEnv, mix: float, seed: int = 1234) -> None:
    """Draw a fraction ``mix`` of new episodes uncapped and count only the capped ones towards the gate."""
    inner, rng = env.unwrapped, np.random.default_rng(seed)
    uncapped = np.zeros(inner.num_envs, dtype=bool)
    pop, final_info = inner._queue.pop, inner._final_info

    def mixed_pop(rows: np.ndarray, length_cap: int | None = None) -> ExampleBatch:
        uncapped[rows] = rng.random(rows.size) < mix
        batch = None
        for group, cap in ((uncapped[rows], None), (~uncapped[rows], length_cap)):
            if group.any():
                drawn = pop(rows[group], cap)
                batch = drawn[np.zeros(rows.size, dtype=np.intp)] if batch is None else batch  # its shape, a copy
                batch.put(np.flatnonzero(group), drawn)
        return batch

    def gated_final_info(finished: np.ndarray, success: np.ndarray) -> dict:
        gate, inner.curriculum = inner.curriculum, None
        try:
            info = final_info(finished, success)
        finally:
            inner.curriculum = gate
        for row, succeeded in zip(finished.tolist(), np.asarray(success).tolist()):
            if not uncapped[row]:
                gate.record(succeeded)
        return info

    inner._queue.pop, inner._final_info = mixed_pop, gated_final_info


def main() -> None:
    torch.set_num_threads(1)
    env_id, max_length, curriculum, reward_mode, steps = sys.argv[1:6]
    options = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    agent = make_agent("pg", seed=0, **options)
    curriculum = json.loads(curriculum)
    mix = curriculum.pop("mix", None) if isinstance(curriculum, dict) else None
    if mix is not None and not curriculum:
        curriculum = True  # {"mix": ...} alone: the default curriculum
    env = gym.make_vec(
        env_id,
        num_envs=agent.config.num_envs,
        max_length=int(max_length),
        reward_mode=reward_mode,
        curriculum=curriculum,
    )
    if mix is not None:
        mix_uncapped_episodes(env, mix)
    began, next_report = time.perf_counter(), REPORT_EVERY

    def report(progress: dict) -> None:
        nonlocal next_report
        if progress["env_steps"] < next_report:
            return
        next_report += REPORT_EVERY
        gate = env.curriculum
        window = None if gate is None or not gate.recent else round(sum(gate.recent) / len(gate.recent), 2)
        validation = evaluate(agent, env_id, episodes=200, split="validation", max_length=int(max_length))
        line = {
            "env_steps": progress["env_steps"],
            "level": None if gate is None else gate.level,
            "window_success": window,
            "validation_score": round(validation["score"], 3),
            "validation_success": validation["success"],
            "wall_s": round(time.perf_counter() - began),
        }
        print(json.dumps(line), flush=True)

    agent.learn(env, int(steps), callback=report)


if __name__ == "__main__":
    main()
