"""The agent throughput benchmark runs in quick mode and writes every field as a number (no timing is asserted)."""

import json
import math

from benchmarks import perf_agent


def test_quick_run_writes_decode_costs_throughputs_flops_and_targets(tmp_path):
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
    assert set(rates) == {"pg", "pg, one gradient step per batch", "sb3-ppo"} and all(r > 0 for r in rates.values())
    assert math.isclose(report["pg_over_sb3_ppo"], rates["pg"] / rates["sb3-ppo"])

    flops = report["pg_training"]
    assert flops["flops_per_env_step"] > 0 and report["matmul_peak_flops"] > 0
    assert math.isclose(report["pg_flops_fraction_of_peak"], flops["flops_per_second"] / report["matmul_peak_flops"])
    cache, throughput = report["targets"]
    assert cache["value"] == report["cache_growth_256_over_16"] and cache["goal"] == 2.0
    assert throughput["value"] == report["pg_over_sb3_ppo"] and throughput["goal"] == 10.0
    assert cache["met"] == (cache["value"] <= 2.0) and throughput["met"] == (throughput["value"] >= 10.0)
