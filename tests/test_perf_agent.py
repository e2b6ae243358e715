"""The agent throughput benchmark runs in quick mode and writes every field as a number (no timing is asserted)."""

import json
import math

import pytest

from textgym.benchmarks.perf import agent as perf_agent


@pytest.mark.learning
def test_quick_run_writes_decode_costs_throughputs_and_flops(tmp_path, capsys):
    out = tmp_path / "perf" / "agent.json"
    returned = perf_agent.main(["--quick", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report == json.loads(json.dumps(returned)) and report["settings"]["quick"] is True

    assert sorted(report["decode"], key=int) == [str(n) for n in perf_agent.DECODE_LENGTHS]
    for costs in report["decode"].values():
        assert costs["cache_s_per_token"] > 0 and costs["recompute_s_per_token"] > 0
    growth = report["decode"]["256"]["cache_s_per_token"] / report["decode"]["16"]["cache_s_per_token"]
    assert math.isclose(report["cache_growth_256_over_16"], growth)

    rates = report["training_steps_per_second"]
    assert set(rates) == {"pg", "pg, bf16", "pg, one gradient step per batch", "sb3-ppo"}
    assert all(r > 0 for r in rates.values())
    assert math.isclose(report["pg_over_sb3_ppo"], rates["pg"] / rates["sb3-ppo"])
    assert set(report["supervised_tokens_per_second"]) == {"fp32", "bf16"}
    assert all(r > 0 for r in report["supervised_tokens_per_second"].values())
    assert isinstance(report["cpu_has_bf16"], bool)

    times = report["time_to_threshold"]["textgym/Copy-v0"]
    for result in times.values():
        assert result["threshold"] == 0.95 and 0.0 <= result["score"] <= 1.0
        assert (result["seconds"] is None) == (result["steps"] is None) == (result["score"] < 0.95)
    ratio = report["time_to_threshold_pg_over_sb3_ppo"]["textgym/Copy-v0"]
    if None in (times["pg"]["seconds"], times["sb3-ppo"]["seconds"]):
        assert ratio is None
    else:
        assert math.isclose(ratio, times["pg"]["seconds"] / times["sb3-ppo"]["seconds"])

    flops = report["pg_training"]
    assert flops["flops_per_env_step"] > 0 and report["matmul_peak_flops"] > 0
    assert math.isclose(report["pg_flops_fraction_of_peak"], flops["flops_per_second"] / report["matmul_peak_flops"])
    assert report["time_to_threshold_pg_over_sb3_ppo_largest"] == ratio  # quick: Copy only
    assert "targets" not in report

    printed = capsys.readouterr().out
    assert "L=256 over L=16" in printed and "PG / SB3 PPO" in printed and f"wrote {out}" in printed
    assert not any(word in printed.lower() for word in ("target", "goal"))
