"""The throughput benchmark runs in quick mode and writes every field as a number (no timing is asserted)."""

import json
import math

import pytest

from textgym.benchmarks.perf import env as perf_env


@pytest.mark.learning  # no training, but over 5 s: the benchmark steps every kind of environment
def test_quick_run_writes_measurements_ratios_and_memory(tmp_path, capsys):
    out = tmp_path / "perf" / "env.json"
    returned = perf_env.main(["--quick", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report == json.loads(json.dumps(returned)) and report["settings"]["quick"] is True

    measured = {(r["task"], r["env"], r["num_envs"]): r for r in report["results"]}
    expected = {(task, kind, n) for task in perf_env.TASKS for kind, sizes in perf_env.SIZES.items() for n in sizes}
    assert set(measured) == expected
    for result in measured.values():
        (round_,) = result["rounds"]  # quick: one round
        assert round_["steps"] >= 3 and round_["seconds"] > 0
        assert math.isclose(result["steps_per_second"], round_["steps"] / round_["seconds"])

    for task in perf_env.TASKS:
        for other in ("SyncVectorEnv", "DummyVecEnv"):
            ratios = report["ratios"][task][f"native/{other}"]
            assert sorted(map(int, ratios)) == sorted(perf_env.SIZES[other])
            for n, ratio in ratios.items():
                native, baseline = measured[task, "native", int(n)], measured[task, other, int(n)]
                assert math.isclose(ratio, native["steps_per_second"] / baseline["steps_per_second"])

    assert {kind: entry["num_envs"] for kind, entry in report["memory"].items()} == {
        "native": 4096,
        "SyncVectorEnv": 1024,
    }
    for entry in report["memory"].values():
        assert entry["peak_bytes"] > 0 and math.isclose(entry["bytes_per_env"], entry["peak_bytes"] / entry["num_envs"])

    assert set(report["native_4096_over_1024"]) == set(perf_env.TASKS)
    for task, ratio in report["native_4096_over_1024"].items():
        native = measured[task, "native", 4096]["steps_per_second"] / measured[task, "native", 1024]["steps_per_second"]
        assert math.isclose(ratio, native)
    assert "targets" not in report

    printed = capsys.readouterr().out
    assert "native/SyncVectorEnv" in printed and "KiB per env" in printed and f"wrote {out}" in printed
    assert "N=4096 over N=1024" in printed
    assert not any(word in printed.lower() for word in ("target", "goal"))


def test_the_runner_cli_runs_the_throughput_benchmarks(monkeypatch):
    from textgym.benchmarks import cli
    from textgym.benchmarks.perf import agent as perf_agent

    calls = []
    monkeypatch.setattr(perf_env, "main", lambda argv: calls.append(("env", argv)))
    monkeypatch.setattr(perf_agent, "main", lambda argv: calls.append(("agent", argv)))
    assert cli.main(["perf-env", "--quick", "--out", "x.json"]) == 0
    assert cli.main(["perf-agent", "--quick"]) == 0
    assert calls == [("env", ["--quick", "--out", "x.json"]), ("agent", ["--quick"])]
