"""Agent throughput, in one run:

1. **Decoding with the KV cache vs recomputing the whole sequence**: the cost of choosing one token when the
   sequence is L tokens long, for L = 16, 64, 256 (batch of 64 sequences, the PG agent's default model size). With
   the cache a token costs one incremental step; without it, a forward pass over all L tokens. Target: with the
   cache, the cost per token at L = 256 is at most 2x that at L = 16.
2. **Training throughput**: environment steps per second while learning, the PG agent (with its defaults, 4
   epochs of 4 minibatches per batch, and with one gradient step per batch) vs SB3 PPO (``MlpPolicy``) on the same
   task with the same number of environments. Target: PG >= 10x SB3 PPO.
3. **Model FLOP/s during PG training** (counted with ``torch.utils.flop_counter``) as a fraction of the machine's
   measured fp32 matrix-multiply peak (a large ``torch.mm``), reported.

Prints a table and writes JSON. Timings are wall-clock on a possibly shared machine: each measurement is the
best of a few rounds, and the ratios compare measurements taken side by side in this run.

Usage: ``python -m benchmarks.perf_agent [--quick] [--out results/perf_agent.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from torch.utils.flop_counter import FlopCounterMode

from agents import make_agent
from agents.envs import env_spec
from agents.torch_agent import PolicyConfig
from agents.transformer import TransformerConfig, TransformerPolicy
from benchmarks.results import target_lines, write_text
from benchmarks.versions import package_versions

DECODE_LENGTHS = (16, 64, 256)
DECODE_BATCH = 64
TRAIN_ENV = "textgym/Copy-v0"
TRAIN_NUM_ENVS = 128
CACHE_TARGET = 2.0  # cache cost per token at L = 256 over L = 16, at most
SPEEDUP_TARGET = 10.0  # PG over SB3 PPO, at least


def best_time(run: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` timed calls of ``run`` (after one untimed warm-up call)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


@torch.no_grad()
def decode_costs(length: int, tokens: int, repeats: int) -> dict[str, float]:
    """Seconds per token of choosing the last ``tokens`` tokens of a length-``length`` sequence, with the cache and
    by recomputing."""
    size = PolicyConfig()
    config = TransformerConfig(
        vocab_size=32,
        prompt_len=length // 2,
        max_len=length,
        d_model=size.d_model,
        n_heads=size.n_heads,
        n_layers=size.n_layers,
        d_ff=size.d_ff,
    )
    torch.manual_seed(0)
    model = TransformerPolicy(config).eval()
    sequence = torch.randint(1, config.vocab_size, (DECODE_BATCH, length))
    start = length - tokens

    def cached() -> None:
        cache = model.new_cache(DECODE_BATCH)
        model.extend(sequence[:, :start], cache)
        began = time.perf_counter()
        for position in range(start, length):
            model.step(sequence[:, position], cache)
        timings.append(time.perf_counter() - began)

    def recomputed() -> None:
        for position in range(start, length):
            model(sequence[:, : position + 1])

    timings: list[float] = []
    best_time(cached, repeats)  # prefill is excluded: only the incremental steps are timed
    return {
        "cache_s_per_token": min(timings) / tokens,
        "recompute_s_per_token": best_time(recomputed, repeats) / tokens,
    }


def training_throughput(name: str, steps: int, options: dict[str, Any]) -> float:
    """Environment steps per second of agent ``name`` learning on :data:`TRAIN_ENV` for ``steps`` steps (after a
    warm-up of a tenth of that)."""
    agent = make_agent(name, seed=0, **options)
    spec = env_spec(TRAIN_ENV)
    agent.learn(spec, steps // 10)
    before, began = agent.num_env_steps, time.perf_counter()
    agent.learn(spec, steps)
    return (agent.num_env_steps - before) / (time.perf_counter() - began)


def matmul_peak(size: int, repeats: int) -> float:
    """Measured fp32 FLOP/s of ``torch.mm`` on two ``size`` x ``size`` matrices (torch's threads, this machine)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / best_time(lambda: torch.mm(a, b), repeats)


def pg_flops_per_second(steps: int) -> dict[str, float]:
    """Model FLOPs of PG training (rollouts and updates) per second of training, for ``steps`` env steps."""
    agent = make_agent("pg", seed=0, num_envs=TRAIN_NUM_ENVS)
    env = gym.make_vec(TRAIN_ENV, num_envs=TRAIN_NUM_ENVS)
    agent.learn(env, steps // 10)
    counter = FlopCounterMode(display=False)
    with counter:
        agent.learn(env, steps)
    counted_steps = agent.num_env_steps
    began = time.perf_counter()
    agent.learn(env, steps)
    seconds = time.perf_counter() - began
    flops_per_step = counter.get_total_flops() / (counted_steps - steps // 10)
    return {"flops_per_env_step": flops_per_step, "flops_per_second": flops_per_step * steps / seconds}


def run(quick: bool = False, report: Callable[[str], None] = print) -> dict[str, Any]:
    """All three measurements; JSON-ready (see the module docstring). ``quick`` shrinks every budget."""
    repeats = 1 if quick else 3
    decode = {}
    for length in DECODE_LENGTHS:
        decode[str(length)] = decode_costs(length, tokens=4 if quick else 8, repeats=repeats)
        report(
            f"decode L={length:<4} cache {decode[str(length)]['cache_s_per_token'] * 1e3:8.3f} ms/token   "
            f"recompute {decode[str(length)]['recompute_s_per_token'] * 1e3:8.3f} ms/token"
        )
    cache_growth = decode["256"]["cache_s_per_token"] / decode["16"]["cache_s_per_token"]

    steps = 2_000 if quick else 30_000
    throughput = {
        "pg": training_throughput("pg", steps, {"num_envs": TRAIN_NUM_ENVS}),
        "pg, one gradient step per batch": training_throughput(
            "pg", steps, {"num_envs": TRAIN_NUM_ENVS, "update_epochs": 1, "num_minibatches": 1}
        ),
        "sb3-ppo": training_throughput(
            "sb3-ppo", steps, {"num_envs": TRAIN_NUM_ENVS, "n_steps": 2048 // TRAIN_NUM_ENVS}
        ),
    }
    for name, rate in throughput.items():
        report(f"training {name:<32} {rate:10,.0f} env steps/s ({TRAIN_ENV}, {TRAIN_NUM_ENVS} envs)")
    speedup = throughput["pg"] / throughput["sb3-ppo"]

    peak = matmul_peak(512 if quick else 2048, repeats)
    flops = pg_flops_per_second(1_000 if quick else 20_000)
    utilisation = flops["flops_per_second"] / peak
    report(f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s; PG training {flops['flops_per_second'] / 1e9:.2f} GFLOP/s")

    targets = [
        {
            "name": "cache cost per token, L=256 over L=16",
            "value": cache_growth,
            "goal": CACHE_TARGET,
            "met": cache_growth <= CACHE_TARGET,
        },
        {
            "name": "training env steps/s, PG over SB3 PPO",
            "value": speedup,
            "goal": SPEEDUP_TARGET,
            "met": speedup >= SPEEDUP_TARGET,
        },
    ]
    settings = {
        "quick": quick,
        "decode_batch": DECODE_BATCH,
        "train_env": TRAIN_ENV,
        "train_num_envs": TRAIN_NUM_ENVS,
        "train_steps": steps,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "device": "cpu",
        "python": platform.python_version(),
        "versions": package_versions(),
    }
    return {
        "settings": settings,
        "decode": decode,
        "cache_growth_256_over_16": cache_growth,
        "training_steps_per_second": throughput,
        "pg_over_sb3_ppo": speedup,
        "matmul_peak_flops": peak,
        "pg_training": flops,
        "pg_flops_fraction_of_peak": utilisation,
        "targets": targets,
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [f"{'L':>5} {'cache ms/token':>15} {'recompute ms/token':>19} {'recompute/cache':>16}"]
    for length, costs in report["decode"].items():
        cache, recompute = costs["cache_s_per_token"], costs["recompute_s_per_token"]
        lines.append(f"{length:>5} {cache * 1e3:>15.3f} {recompute * 1e3:>19.3f} {recompute / cache:>15.1f}x")
    for name, rate in report["training_steps_per_second"].items():
        lines.append(f"training {name:<32} {rate:>10,.0f} env steps/s")
    lines.append(f"PG (defaults) / SB3 PPO: {report['pg_over_sb3_ppo']:.2f}x")
    lines.append(
        f"PG training: {report['pg_training']['flops_per_second'] / 1e9:.2f} GFLOP/s = "
        f"{report['pg_flops_fraction_of_peak']:.1%} of the measured fp32 matmul peak "
        f"({report['matmul_peak_flops'] / 1e9:.1f} GFLOP/s)"
    )
    lines += target_lines(report["targets"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small budgets (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("results/perf_agent.json"), help="where to write the JSON")
    args = parser.parse_args(argv)
    report = run(quick=args.quick)
    print(format_table(report))
    write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
