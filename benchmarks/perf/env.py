"""Environment throughput: environment steps per second with random valid actions, in one run, for

- one ``TextGenEnv`` from ``gym.make`` (with Gymnasium's default wrappers),
- Gymnasium's ``SyncVectorEnv`` over ``TextGenEnv`` at N = 16, 256, 1024,
- SB3's ``DummyVecEnv`` over ``TextGenEnv`` at N = 16, 256,
- the SB3 adapter over the native env (``textgym.agents.sb3_vec_env``) at N = 16, 256,
- the native ``TextGenVectorEnv`` at N = 16, 256, 1024, 4096,

on Copy, Addition and Reverse scored by edit similarity (a costlier metric: rapidfuzz per finished answer).
Prints a table and writes JSON with every measurement, the ratios native / SyncVectorEnv and native / DummyVecEnv
at equal N, the ratio of the native env's steps per second at N = 4096 over N = 1024, and the peak memory per
environment at the largest N.

A step is one action that advances an episode: the calls in which a next-step-autoreset vector env restarts a
sub-environment (and ignores its action) are not counted for that sub-environment. Actions are uniform over each
task's answer mask (its symbols and ``<eos>``), drawn in advance so that drawing them is not timed. Timings are
wall-clock and noisy on a shared machine; the ratios compare configurations measured side by side in one run.

Usage: ``python -m textgym.benchmarks.perf.env [--quick] [--seconds S] [--repeats K] [--out results/perf_env.json]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import stable_baselines3
from stable_baselines3.common.vec_env import DummyVecEnv

import textgym
from textgym.agents.sb3_vec_env import TextGenSB3VecEnv
from textgym.benchmarks.results import write_text

TASKS: dict[str, tuple[str, dict[str, Any]]] = {
    "Copy": ("textgym/Copy-v0", {}),
    "Addition": ("textgym/Addition-v0", {}),
    "Reverse (edit_similarity)": ("textgym/Reverse-v0", {"metric": "edit_similarity"}),
}
"""Benchmarked tasks: label -> (ID, options)."""

SIZES: dict[str, tuple[int, ...]] = {
    "TextGenEnv": (1,),
    "SyncVectorEnv": (16, 256, 1024),
    "DummyVecEnv": (16, 256),
    "SB3 adapter": (16, 256),
    "native": (16, 256, 1024, 4096),
}
"""Environment kinds and the numbers of sub-environments each is measured at."""

Stepper = Callable[[np.ndarray], int]
"""Applies one batch of actions and returns how many episode steps it made."""


def make_stepper(kind: str, env_id: str, num_envs: int, options: dict[str, Any]) -> Stepper:
    """Build an environment of ``kind``, reset it with seed 0, and return its stepper."""
    if kind == "TextGenEnv":
        env = gym.make(env_id, **options)
        env.reset(seed=0)

        def step_single(actions: np.ndarray) -> int:
            _, _, terminated, truncated, _ = env.step(actions[0])
            if terminated or truncated:
                env.reset()
            return 1

        return step_single
    if kind in ("SyncVectorEnv", "native"):
        mode = "sync" if kind == "SyncVectorEnv" else "vector_entry_point"
        vector_env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **options)
        vector_env.reset(seed=0)
        restarting = np.zeros(num_envs, dtype=bool)

        def step_vector(actions: np.ndarray) -> int:
            nonlocal restarting
            _, _, terminated, truncated, _ = vector_env.step(actions)
            made = num_envs - int(restarting.sum())  # a sub-environment that restarts makes no step this call
            restarting = terminated | truncated
            return made

        return step_vector
    if kind in ("DummyVecEnv", "SB3 adapter"):
        if kind == "DummyVecEnv":
            sb3_env = DummyVecEnv([lambda: gym.make(env_id, **options) for _ in range(num_envs)])
        else:
            sb3_env = TextGenSB3VecEnv(env_id, num_envs=num_envs, **options)
        sb3_env.seed(0)
        sb3_env.reset()

        def step_sb3(actions: np.ndarray) -> int:
            sb3_env.step(actions)
            return num_envs

        return step_sb3
    raise ValueError(f"unknown environment kind {kind!r}; expected one of {list(SIZES)}")


def action_table(env_id: str, num_envs: int, options: dict[str, Any], seed: int = 0) -> np.ndarray:
    """Rows of random valid actions (uniform over the task's answer mask), one row per call, cycled through."""
    valid = np.flatnonzero(gym.make(env_id, **options).unwrapped.task.answer_mask())
    rows = max(8, min(256, 2**18 // num_envs))
    return valid[np.random.default_rng(seed).integers(0, len(valid), size=(rows, num_envs))]


def measure(stepper: Stepper, actions: np.ndarray, seconds: float, min_calls: int) -> tuple[int, float]:
    """Step for at least ``seconds`` and ``min_calls`` calls after a short warm-up; return (steps, elapsed)."""
    for row in actions[:3]:
        stepper(row)
    steps, calls, start = 0, 0, time.perf_counter()
    while True:
        steps += stepper(actions[calls % len(actions)])
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and calls >= min_calls:
            return steps, elapsed


def peak_memory(kind: str, env_id: str, num_envs: int, options: dict[str, Any], calls: int) -> int:
    """Peak bytes Python allocated (tracemalloc, numpy included) to build, reset and step an environment."""
    actions = action_table(env_id, num_envs, options)
    gc.collect()
    tracemalloc.start()
    try:
        stepper = make_stepper(kind, env_id, num_envs, options)
        for call in range(calls):
            stepper(actions[call % len(actions)])
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(
    seconds: float = 1.0, repeats: int = 3, quick: bool = False, report: Callable[[str], None] = print
) -> dict[str, Any]:
    """Measure every task, kind and size; return the JSON-ready results (see the module docstring).

    Each configuration is measured ``repeats`` times for ``seconds``, in rounds that visit all configurations of a
    task in turn, and its best round counts: other work on the machine only ever slows a round down, and the
    rounds spread that over all configurations alike. ``quick`` makes it one round of 0.05 s. The environments of
    a task are built before its rounds and frozen out of the garbage collector's scans (``gc.freeze``).
    """
    if quick:
        seconds, repeats = min(seconds, 0.05), 1
    results = []
    for label, (env_id, options) in TASKS.items():
        configs = [(kind, num_envs) for kind, sizes in SIZES.items() for num_envs in sizes]
        steppers = {config: make_stepper(config[0], env_id, config[1], options) for config in configs}
        tables = {config: action_table(env_id, config[1], options) for config in configs}
        rounds: dict[tuple[str, int], list[dict[str, float]]] = {config: [] for config in configs}
        # The environments live through all rounds; freezing them keeps the garbage collector from scanning one
        # configuration's objects while it cleans up after another.
        gc.collect()
        gc.freeze()
        try:
            for _ in range(repeats):
                for config in configs:
                    steps, elapsed = measure(steppers[config], tables[config], seconds, min_calls=3)
                    rounds[config].append({"steps": steps, "seconds": elapsed, "steps_per_second": steps / elapsed})
        finally:
            gc.unfreeze()
        del steppers
        for (kind, num_envs), measured in rounds.items():
            best = max(round_["steps_per_second"] for round_ in measured)
            results.append(
                {"task": label, "env_id": env_id, "options": options, "env": kind, "num_envs": num_envs}
                | {"rounds": measured, "steps_per_second": best}
            )
            report(f"{label:<26} {kind:<14} N={num_envs:<5} {best:>12,.0f} steps/s (best of {repeats})")

    rates = {(r["task"], r["env"], r["num_envs"]): r["steps_per_second"] for r in results}
    ratios = {
        label: {
            f"native/{other}": {str(n): rates[label, "native", n] / rates[label, other, n] for n in SIZES[other]}
            for other in ("SyncVectorEnv", "DummyVecEnv")
        }
        for label in TASKS
    }
    copy_id, copy_options = TASKS["Copy"]
    memory = {}
    for kind in ("native", "SyncVectorEnv"):
        num_envs = max(SIZES[kind])
        peak = peak_memory(kind, copy_id, num_envs, copy_options, calls=10)
        memory[kind] = {"task": "Copy", "num_envs": num_envs, "peak_bytes": peak, "bytes_per_env": peak / num_envs}
    native_4096_over_1024 = {label: rates[label, "native", 4096] / rates[label, "native", 1024] for label in TASKS}
    settings = {
        "seconds_per_round": seconds,
        "rounds": repeats,
        "quick": quick,
        "actions": "uniform over each task's answer mask, seeded 0",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "textgym": textgym.__version__,
    }
    return {
        "settings": settings,
        "results": results,
        "ratios": ratios,
        "native_4096_over_1024": native_4096_over_1024,
        "memory": memory,
    }


def format_table(report: dict[str, Any]) -> str:
    """The measurements as a text table (thousands of steps per second), then ratios and memory."""
    sizes = sorted({n for kind_sizes in SIZES.values() for n in kind_sizes})
    rates = {(r["task"], r["env"], r["num_envs"]): r["steps_per_second"] for r in report["results"]}
    lines = [f"{'task':<26} {'env':<22}" + "".join(f"{'N=' + str(n):>10}" for n in sizes) + "   (k steps/s)"]
    for label in TASKS:
        for kind in SIZES:
            cells = [f"{rates[label, kind, n] / 1e3:>10.1f}" if (label, kind, n) in rates else " " * 10 for n in sizes]
            lines.append(f"{label:<26} {kind:<22}" + "".join(cells))
        for name, by_size in report["ratios"][label].items():
            cells = [f"{by_size[str(n)]:>9.1f}x" if str(n) in by_size else " " * 10 for n in sizes]
            lines.append(f"{label:<26} {name:<22}" + "".join(cells))
    for label, ratio in report["native_4096_over_1024"].items():
        lines.append(f"native steps/s at N=4096 over N=1024 on {label}: {ratio:.2f}x")
    for kind, entry in report["memory"].items():
        lines.append(f"peak memory, {kind} at N={entry['num_envs']}: {entry['bytes_per_env'] / 1024:.1f} KiB per env")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m textgym.benchmarks.perf.env",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a small run (one round of 0.05 s per configuration)")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per configuration and round (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the best one counts (default 3)")
    parser.add_argument("--out", type=Path, default=Path("results/perf_env.json"), help="where to write the JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error(f"--seconds must be positive, got {args.seconds}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    report = run(seconds=args.seconds, repeats=args.repeats, quick=args.quick)
    print(format_table(report))
    write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
