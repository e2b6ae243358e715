"""Agent throughput, in one run:

1. **Decoding with the KV cache vs recomputing the whole sequence**: the cost of choosing one token when the
   sequence is L tokens long, for L = 16, 64, 256 (batch of 64 sequences, the PG agent's default model size). With
   the cache a token costs one incremental step; without it, a forward pass over all L tokens. Reported with the
   ratio of the cache's cost per token at L = 256 over that at L = 16.
2. **Training throughput**: environment steps per second while learning, the PG agent (with its defaults, in fp32
   and in bf16, and with one gradient step per batch) vs SB3 PPO (``MlpPolicy``) on the same task with the same
   number of environments, and the ratio PG (defaults) / SB3 PPO.
3. **Supervised tokens per second** in fp32 and bf16 (teacher forcing on the same task), reported with whether
   the CPU has bf16 matrix instructions (without them torch emulates bf16, slower than fp32).
4. **Wall time to the threshold** on Copy, Reverse, Sort and Dyck at their defaults: the training seconds (its
   evaluations left out) until a greedy evaluation on the validation split reaches the task's ``reward_threshold``,
   PG with its defaults vs SB3 PPO, one seed each, and the ratio PG / SB3 PPO per task and its largest value.
5. **Model FLOP/s during PG training** (counted with ``torch.utils.flop_counter``) as a fraction of the machine's
   measured fp32 matrix-multiply peak (a large ``torch.mm``), reported.

Prints a table and writes JSON. Timings are wall-clock on a possibly shared machine: each measurement is the
best of a few rounds, and the ratios compare measurements taken side by side in this run.

Usage: ``python -m textgym.benchmarks.perf.agent [--quick] [--out results/perf_agent.json]``.
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

from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.evaluation import evaluate
from textgym.agents.torch_agent import PolicyConfig
from textgym.agents.transformer import TransformerConfig, TransformerPolicy
from textgym.benchmarks.results import write_text
from textgym.benchmarks.versions import package_versions

DECODE_LENGTHS = (16, 64, 256)
DECODE_BATCH = 64
TRAIN_ENV = "textgym/Copy-v0"
TRAIN_NUM_ENVS = 128
THRESHOLD_ENVS = ("textgym/Copy-v0", "textgym/Reverse-v0", "textgym/Sort-v0", "textgym/Dyck-v0")


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
    size = PolicyConfig().model  # the agents' default model
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
    warm-up of a tenth of that); for ``supervised``, demonstrated tokens per second."""
    agent = make_agent(name, seed=0, **options)
    spec = env_spec(TRAIN_ENV)
    agent.learn(spec, steps // 10)
    before, began = agent.num_env_steps, time.perf_counter()
    agent.learn(spec, steps)
    return (agent.num_env_steps - before) / (time.perf_counter() - began)


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 matrix instructions (AVX512-BF16 or AMX), read from ``/proc/cpuinfo``."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def time_to_threshold(
    name: str, env_id: str, options: dict[str, Any], max_steps: int, eval_every: int, episodes: int
) -> dict[str, Any]:
    """Train agent ``name`` (seed 0) on ``env_id`` until a greedy evaluation of ``episodes`` validation episodes
    every ``eval_every`` steps reaches the task's ``reward_threshold``, or ``max_steps``. Returns the training
    seconds (evaluations left out) and steps when it was reached (``None`` if not) and the last score."""
    agent = make_agent(name, seed=0, **options)
    threshold = gym.spec(env_id).reward_threshold
    result: dict[str, Any] = {"threshold": threshold, "seconds": None, "steps": None, "score": None}
    evaluated_s, next_eval, began = 0.0, eval_every, time.perf_counter()

    def check(metrics: dict[str, Any]) -> bool:
        nonlocal evaluated_s, next_eval
        if metrics["env_steps"] < next_eval:
            return True
        next_eval = (metrics["env_steps"] // eval_every + 1) * eval_every
        eval_began = time.perf_counter()
        result["score"] = evaluate(agent, env_id, episodes, split="validation")["score"]
        evaluated_s += time.perf_counter() - eval_began
        if result["score"] >= threshold:
            result["seconds"] = time.perf_counter() - began - evaluated_s
            result["steps"] = int(metrics["env_steps"])
            return False
        return True

    agent.learn(env_spec(env_id), max_steps, callback=check)
    return result


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
    """All five measurements; JSON-ready (see the module docstring). ``quick`` shrinks every budget."""
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
        "pg, bf16": training_throughput("pg", steps // 4, {"num_envs": TRAIN_NUM_ENVS, "precision": "bf16"}),
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

    tokens = 2_000 if quick else 30_000
    supervised = {  # a demonstrated token counts as one environment step
        precision: training_throughput("supervised", tokens, {"precision": precision}) for precision in ("fp32", "bf16")
    }
    report(
        f"supervised fp32 {supervised['fp32']:,.0f} tokens/s, bf16 {supervised['bf16']:,.0f} tokens/s "
        f"(CPU bf16 instructions: {cpu_has_bf16()})"
    )

    to_threshold: dict[str, dict[str, Any]] = {}
    for env_id in THRESHOLD_ENVS[:1] if quick else THRESHOLD_ENVS:
        to_threshold[env_id] = {
            name: time_to_threshold(
                name,
                env_id,
                options,
                max_steps=4_000 if quick else 1_000_000,
                eval_every=2_000 if quick else 10_000,
                episodes=50 if quick else 200,
            )
            for name, options in (("pg", {}), ("sb3-ppo", {}))
        }
        report(threshold_line(env_id, to_threshold[env_id]))

    peak = matmul_peak(512 if quick else 2048, repeats)
    flops = pg_flops_per_second(1_000 if quick else 20_000)
    utilisation = flops["flops_per_second"] / peak
    report(f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s; PG training {flops['flops_per_second'] / 1e9:.2f} GFLOP/s")

    time_ratios = {
        env_id: times["pg"]["seconds"] / times["sb3-ppo"]["seconds"]
        if times["pg"]["seconds"] is not None and times["sb3-ppo"]["seconds"] is not None
        else None
        for env_id, times in to_threshold.items()
    }
    largest_ratio = None if None in time_ratios.values() else max(time_ratios.values())  # None: a run fell short
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
        "supervised_tokens_per_second": supervised,
        "cpu_has_bf16": cpu_has_bf16(),
        "time_to_threshold": to_threshold,
        "time_to_threshold_pg_over_sb3_ppo": time_ratios,
        "time_to_threshold_pg_over_sb3_ppo_largest": largest_ratio,
        "matmul_peak_flops": peak,
        "pg_training": flops,
        "pg_flops_fraction_of_peak": utilisation,
    }


def threshold_line(env_id: str, times: dict[str, dict[str, Any]]) -> str:
    """Each agent's time to the threshold on ``env_id``, as one line of the table."""
    cells = []
    for name, result in times.items():
        if result["seconds"] is None:
            cells.append(f"{name} not reached (last score {result['score']:.3f})")
        else:
            cells.append(f"{name} {result['seconds']:.1f} s ({result['steps']:,} steps)")
    return f"to threshold {env_id}: " + ", ".join(cells)


def format_table(report: dict[str, Any]) -> str:
    """The measurements and their ratios as text, one line each."""
    lines = [f"{'L':>5} {'cache ms/token':>15} {'recompute ms/token':>19} {'recompute/cache':>16}"]
    for length, costs in report["decode"].items():
        cache, recompute = costs["cache_s_per_token"], costs["recompute_s_per_token"]
        lines.append(f"{length:>5} {cache * 1e3:>15.3f} {recompute * 1e3:>19.3f} {recompute / cache:>15.1f}x")
    lines.append(f"cache cost per token, L=256 over L=16: {report['cache_growth_256_over_16']:.2f}x")
    for name, rate in report["training_steps_per_second"].items():
        lines.append(f"training {name:<32} {rate:>10,.0f} env steps/s")
    lines.append(f"PG (defaults) / SB3 PPO: {report['pg_over_sb3_ppo']:.2f}x")
    rates = report["supervised_tokens_per_second"]
    lines.append(
        f"supervised tokens/s: fp32 {rates['fp32']:,.0f}, bf16 {rates['bf16']:,.0f} "
        f"(bf16/fp32 {rates['bf16'] / rates['fp32']:.2f}; CPU bf16 instructions: {report['cpu_has_bf16']})"
    )
    for env_id, times in report["time_to_threshold"].items():
        ratio = report["time_to_threshold_pg_over_sb3_ppo"][env_id]
        ratio_text = "not measured (a run fell short)" if ratio is None else f"{ratio:.2f}x"
        lines.append(f"{threshold_line(env_id, times)}; PG / SB3 PPO {ratio_text}")
    lines.append(
        f"PG training: {report['pg_training']['flops_per_second'] / 1e9:.2f} GFLOP/s = "
        f"{report['pg_flops_fraction_of_peak']:.1%} of the measured fp32 matmul peak "
        f"({report['matmul_peak_flops'] / 1e9:.1f} GFLOP/s)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m textgym.benchmarks.perf.agent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
