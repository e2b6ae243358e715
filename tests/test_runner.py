"""The benchmark runner end to end: files, tables and plots that hold the numbers of results.jsonl, resume,
failing and third-party agents, the process pool, and errors before any trial starts."""

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import scipy.stats
from misbehaving_agents import RaisingAgent, agent_path
from PIL import Image

from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.benchmarks.cli import main
from textgym.benchmarks.executors import ProcessExecutor, SerialExecutor
from textgym.benchmarks.plots import PLOT_DATA_KEY, curves_file_name
from textgym.benchmarks.report import markdown, summarize
from textgym.benchmarks.results import CONTRACT_FIELDS, RESULTS_FILE, TRIALS_DIR, read_results
from textgym.benchmarks.runner import run_suite
from textgym.benchmarks.suite import AgentEntry, EnvEntry, Suite, SuiteError, check_suite, load_suite
from textgym.benchmarks.versions import source_commit

REPO = Path(__file__).resolve().parents[1]
SMALL = {"max_length": 3, "num_symbols": 3}
TINY_SUITE = """
description = "2 envs x 2 agents x 2 seeds"
seeds = 2
steps = 600
eval_every = 200
eval_episodes = 20
envs = [
    { id = "textgym/Copy-v0", options = { max_length = 3, num_symbols = 3 } },
    { id = "textgym/Reverse-v0", options = { max_length = 3, num_symbols = 3 } },
]
agents = ["random", { name = "sb3-a2c", options = { num_envs = 4 } }]
"""
TIMINGS = ("wall_s", "train_s", "eval_s", "steps_per_s", "started_at")


def without_timings(record):
    return {key: value for key, value in record.items() if key not in TIMINGS}


def png_data(path):
    with Image.open(path) as image:
        return json.loads(image.text[PLOT_DATA_KEY])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny suite, run once with the serial executor."""
    base = tmp_path_factory.mktemp("tiny")
    (base / "tiny.toml").write_text(TINY_SUITE)
    suite = load_suite(base / "tiny.toml")
    out = base / "out"
    return suite, out, run_suite(suite, out, SerialExecutor(), progress=False)


def test_tiny_suite_writes_records_tables_and_plots_that_agree(tiny_run):
    suite, out, outcome = tiny_run
    assert (outcome.ran, outcome.skipped, outcome.failed, outcome.stopped_by) == (8, 0, 0, None)
    records = read_results(out / RESULTS_FILE)
    assert len(records) == 8 and len(list((out / TRIALS_DIR).glob("*.json"))) == 8
    for record in records:
        assert set(CONTRACT_FIELDS) <= set(record) and record["status"] == "ok" and record["error"] is None
        assert record["final_score"] == record["curve"][-1][1] and record["final_success"] == record["curve"][-1][2]
        assert record["versions"]["stable-baselines3"] and record["env_options"] == SMALL
        assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", record["versions"]["commit"])
        if record["agent"] == "sb3-a2c":  # rollouts of 5 x 4 steps: evaluations exactly at the checkpoints
            assert record["env_steps"] == 600 and [p[0] for p in record["curve"]] == [0, 200, 400, 600]
            assert record["steps_per_s"] > 0
        else:  # random takes no environment steps: one evaluation
            assert record["env_steps"] == 0 and len(record["curve"]) == 1 and record["steps_per_s"] is None
    assert sorted((r["env"], r["agent"], r["seed"]) for r in records) == sorted(
        (e, a, s) for e in ("textgym/Copy-v0", "textgym/Reverse-v0") for a in ("random", "sb3-a2c") for s in (0, 1)
    )
    assert json.loads((out / "run.json").read_text())["suite"]["steps"] == 600

    def final(env, agent):
        return [r["final_score"] for r in records if r["env"] == env and r["agent"] == agent]

    with open(out / "summary.csv") as file:
        rows = list(csv.DictReader(file))
    markdown = (out / "summary.md").read_text()
    assert [(row["env"], row["agent"]) for row in rows] == [
        (e, a) for e in ("textgym/Copy-v0", "textgym/Reverse-v0") for a in ("random", "sb3-a2c")
    ]
    for row in rows:
        scores = final(row["env"], row["agent"])
        runs = [r for r in records if r["env"] == row["env"] and r["agent"] == row["agent"]]
        iqm = scipy.stats.trim_mean(scores, 0.25)
        assert int(row["seeds"]) == 2 and int(row["failed"]) == 0
        assert float(row["score_mean"]) == pytest.approx(np.mean(scores), abs=1e-12)
        assert float(row["score_iqm"]) == pytest.approx(iqm, abs=1e-12)
        assert min(scores) <= float(row["score_iqm_low"]) <= iqm <= float(row["score_iqm_high"]) <= max(scores)
        assert float(row["success_rate"]) == pytest.approx(np.mean([r["final_success"] for r in runs]))
        assert float(row["env_steps"]) == np.mean([r["env_steps"] for r in runs])
        threshold = gym.spec(row["env"]).reward_threshold
        assert float(row["threshold"]) == threshold == 0.95
        assert row["solved"] == str(bool(np.mean(scores) >= threshold))
        assert f"| {'yes' if np.mean(scores) >= threshold else 'no'} (0.95) |" in markdown
        line = f"| {row['env']} | {row['agent']} | 2 | {np.mean(scores):.3f} | {iqm:.3f} ["
        assert line in markdown, line

    for env in ("textgym/Copy-v0", "textgym/Reverse-v0"):
        bands = png_data(out / curves_file_name(env))["agents"]
        assert bands["sb3-a2c"]["env_steps"] == [0, 200, 400, 600] and bands["random"]["env_steps"] == [0]
        for agent, band in bands.items():
            assert band["iqm"][-1] == pytest.approx(scipy.stats.trim_mean(final(env, agent), 0.25))

    aggregate = png_data(out / "aggregate.png")
    both = {a.name: final("textgym/Copy-v0", a.name) + final("textgym/Reverse-v0", a.name) for a in suite.agents}
    for agent, scores in both.items():
        assert aggregate["iqm"][agent][0] == pytest.approx(scipy.stats.trim_mean(scores, 0.25))
    best = max(both, key=lambda agent: scipy.stats.trim_mean(both[agent], 0.25))  # no pg: the best is the reference
    other = next(agent for agent in both if agent != best)
    wins = np.mean(
        [
            np.mean([(x > y) + 0.5 * (x == y) for x in final(env, best) for y in final(env, other)])
            for env in ("textgym/Copy-v0", "textgym/Reverse-v0")
        ]
    )
    assert aggregate["reference"] == best
    assert aggregate["probability_of_improvement"][other][0] == pytest.approx(wins)
    assert f"| {other} | 2 | {wins:.3f}" in markdown
    with open(out / "aggregate.csv") as file:
        assert {(r["metric"], r["agent"]) for r in csv.DictReader(file)} == {
            ("iqm", "random"),
            ("iqm", "sb3-a2c"),
            ("probability_of_improvement", other),
        }


def test_records_name_the_source_commit_they_ran():
    """A task's draws can change without a version bump, so records name the commit (``-dirty`` with uncommitted
    changes to tracked files); outside a git checkout, ``unknown``."""
    if not (REPO / ".git").exists():
        assert source_commit() == "unknown"
        return
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert source_commit() == head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def test_a_copy_installed_from_git_names_the_commit_it_was_built_from(tmp_path):
    """Long runs start from a copy of one commit installed from git (as docs/results/README.md shows); outside any
    checkout, its records name the commit that pip recorded in ``direct_url.json``."""
    if not (REPO / ".git").exists():
        pytest.skip("needs the repository's git history to install a commit from")
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=REPO, capture_output=True, text=True)
    if shallow.stdout.strip() == "true":
        pytest.skip("pip installs from git with a partial clone, which fetches blob by blob from a shallow one")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    commit = head.stdout.strip()
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site)]
    subprocess.run([*pip, f"git+file://{REPO}@{commit}"], check=True, capture_output=True)
    code = "import textgym.benchmarks.versions as v; print(v.__file__); print(v.source_commit())"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True
    )
    module, named = run.stdout.decode().split()
    assert module.startswith(str(site)) and named == commit


def test_rerun_with_the_same_directory_does_nothing_new(tiny_run):
    suite, out, _ = tiny_run
    trial_files = sorted((out / TRIALS_DIR).glob("*.json"))
    before = {path: path.stat().st_mtime_ns for path in trial_files}
    results, summary = (out / RESULTS_FILE).read_bytes(), (out / "summary.csv").read_bytes()
    again = run_suite(suite, out, SerialExecutor(), progress=False)
    assert (again.ran, again.skipped) == (0, 8)
    assert {path: path.stat().st_mtime_ns for path in trial_files} == before
    assert (out / RESULTS_FILE).read_bytes() == results and (out / "summary.csv").read_bytes() == summary


@pytest.mark.learning  # trains the tiny suite again in two worker processes
def test_process_pool_gives_the_same_numbers_as_the_serial_run(tiny_run, tmp_path):
    suite, out, _ = tiny_run
    parallel = run_suite(suite, tmp_path, ProcessExecutor(workers=2), progress=False)
    assert (parallel.ran, parallel.failed) == (8, 0)
    serial = read_results(out / RESULTS_FILE)
    assert [without_timings(r) for r in read_results(tmp_path / RESULTS_FILE)] == [without_timings(r) for r in serial]


def test_a_failing_agent_is_recorded_with_its_traceback_while_the_others_finish(tmp_path, capsys):
    suite_file = tmp_path / "failing.toml"
    suite_file.write_text(
        TINY_SUITE.replace('"textgym/Reverse-v0"', '"textgym/Sort-v0"').replace(
            '{ name = "sb3-a2c", options = { num_envs = 4 } }', f'"{agent_path(RaisingAgent)}"'
        )
    )
    out = tmp_path / "out"
    assert main([str(suite_file), "--executor", "serial", "--out", str(out)]) == 1
    records = read_results(out / RESULTS_FILE)
    failed = [r for r in records if r["status"] == "failed"]
    assert len(records) == 8 and len(failed) == 4
    assert all(r["agent"] == "random" for r in records if r["status"] == "ok")
    for record in failed:
        assert record["agent"] == agent_path(RaisingAgent)
        assert record["error"].startswith("Traceback")
        assert f"RuntimeError: learning exploded (seed {record['seed']})" in record["error"]
        assert record["final_score"] is None and len(record["curve"]) == 1  # the evaluation before training
    printed = capsys.readouterr().out
    assert "## Failed trials" in printed and "4 failed" in printed
    line = f"- textgym/Sort-v0 / {agent_path(RaisingAgent)} / seed 1: `RuntimeError: learning exploded (seed 1)`"
    assert line in printed


def test_the_third_party_agent_of_the_docs_runs_through_the_runner(tmp_path, monkeypatch):
    docs = (REPO / "docs" / "agents.md").read_text()
    code = re.search(r"Save it as `my_agents.py`.*?```python\n(.*?)```", docs, re.DOTALL).group(1)
    (tmp_path / "my_agents.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    suite = Suite(
        name="third-party",
        envs=(EnvEntry("textgym/Copy-v0", SMALL),),
        agents=(AgentEntry("random"), AgentEntry("my_agents:LinearAgent", {"learning_rate": 0.5})),
        seeds=1,
        steps=5_000,
        eval_every=2_500,
        eval_episodes=100,
    )
    outcome = run_suite(suite, tmp_path / "out", SerialExecutor(), progress=False)
    random, linear = outcome.records
    assert linear["status"] == "ok" and linear["agent"] == "my_agents:LinearAgent"
    assert linear["env_steps"] == 5_000 and linear["curve"][0][0] == 0 and len(linear["curve"]) >= 3
    assert linear["final_score"] > random["final_score"] + 0.15  # it learns, on held-out prompts
    agent = make_agent("my_agents:LinearAgent", seed=0).learn(env_spec("textgym/Copy-v0", **SMALL), 500)
    agent.save(tmp_path / "linear.npz")
    loaded = type(agent).load(tmp_path / "linear.npz")
    obs = np.stack([gym.make(env_spec("textgym/Copy-v0", **SMALL)).reset(seed=s)[0] for s in range(20)])
    assert loaded.seed == 0 and loaded.num_env_steps == 500 and np.array_equal(loaded.predict(obs), agent.predict(obs))


GOOD = {
    "seeds": "2",
    "steps": "100",
    "eval_every": "50",
    "eval_episodes": "5",
    "envs": '["textgym/Copy-v0"]',
    "agents": '["random"]',
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"seeds": "["}, "is not valid TOML"),
        ({"sedes": "3"}, r"unknown key\(s\) \['sedes'\]"),
        ({"steps": None}, r"missing key\(s\) \['steps'\]"),
        ({"seeds": "0"}, "'seeds' must be a positive integer, got 0"),
        ({"steps": '"many"'}, "'steps' must be a positive integer, got 'many'"),
        ({"envs": '"textgym/Copy-v0"'}, "'envs' must be a list"),
        ({"envs": "[3]"}, "each of 'envs' must be a string or a table, got 3"),
        ({"envs": '[{ name = "textgym/Copy-v0" }]'}, r"unknown key\(s\) \['name'\] in 'envs' entry"),
        ({"envs": '["textgym/Copy-v0", "textgym/Copy-v0"]'}, r"'envs' lists \['textgym/Copy-v0'\] more than once"),
        ({"agents": "[]"}, "'agents' must list at least one entry"),
        ({"agents": '[{ name = "random", options = 3 }]'}, "'options' of 'random' must be a table, got 3"),
        ({"envs": '["textgym/Cpy-v0"]'}, "environment 'textgym/Cpy-v0'.*unknown environment ID 'textgym/Cpy-v0'"),
        (
            {"envs": '[{ id = "textgym/Copy-v0", options = { max_len = 3 } }]'},
            r"environment 'textgym/Copy-v0' with options \{'max_len': 3\}: unknown option\(s\) \['max_len'\]",
        ),
        ({"agents": '["rnadom"]'}, "agent 'rnadom'.*unknown agent 'rnadom'"),
        (
            {"agents": '[{ name = "sb3-ppo", options = { n_step = 3 } }]'},
            r"agent 'sb3-ppo' with options \{'n_step': 3\}: unknown option\(s\) \['n_step'\]",
        ),
        ({"agents": '["random", { name = "random", options = { vocab_size = 9 } }]'}, r"lists \['random'\] more"),
        ({"agents": '[{ name = "random", label = 3 }]'}, "'label' of 'random' must be a non-empty string, got 3"),
        ({"envs": '[{ id = "textgym/Copy-v0", labels = "copy" }]'}, r"unknown key\(s\) \['labels'\] in 'envs'"),
        ({"envs": '["textgym/Copy-v0", { id = "textgym/Copy-v0", options = { max_length = 2 } }]'}, "more than once"),
        ({"eval_decoding": '"beam"'}, r"'eval_decoding' must be one of \['greedy', 'sampled'\], got 'beam'"),
    ],
)
def test_bad_suites_are_refused_before_any_trial_starts(change, message, tmp_path, capsys):
    entries = {**GOOD, **change}
    suite_file = tmp_path / "bad.toml"
    suite_file.write_text("".join(f"{key} = {value}\n" for key, value in entries.items() if value is not None))
    assert main([str(suite_file), "--executor", "serial", "--out", str(tmp_path / "out")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_command_line_choices_are_checked_before_any_trial_starts(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["quik", "--out", str(out)]) == 2
    expected = "unknown suite 'quik'; expected a path to a .toml file or one of "
    expected += "['beyond_imitation', 'dialogue', 'full', 'language', 'quick', 'reasoning', 'solve']"
    assert expected in capsys.readouterr().err
    assert main(["quick", "--agents", "random", "nope", "--executor", "serial", "--out", str(out)]) == 2
    assert "unknown agent 'nope'" in capsys.readouterr().err
    assert main(["quick", "--envs", "textgym/Copy-v0", "textgym/Nope-v0", "--out", str(out)]) == 2
    assert "unknown environment ID 'textgym/Nope-v0'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["quick", "--seeds", "0"])
    assert "--seeds: invalid positive_int value: '0'" in capsys.readouterr().err
    assert not out.exists()


def test_python_dash_m_benchmarks_is_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "textgym.benchmarks", "--agents", "random", "nothing-like-this"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 2 and "unknown agent 'nothing-like-this'" in result.stderr


def test_overrides_keep_the_suite_options_of_the_entries_they_name():
    quick = load_suite("quick")
    assert [agent.name for agent in quick.agents] == ["random", "sb3-ppo", "sb3-a2c", "pg"] and quick.seeds == 3
    assert len(quick.envs) >= 3
    suite = quick.with_overrides(envs=["textgym/Copy-v0", "textgym/Dyck-v0"], agents=["random"], seeds=2, steps=50)
    assert suite.envs == (EnvEntry("textgym/Copy-v0", quick.envs[0].options), EnvEntry("textgym/Dyck-v0"))
    trials = suite.trials()
    assert [(t.env, t.seed, t.steps) for t in trials] == [
        ("textgym/Copy-v0", 0, 50),
        ("textgym/Copy-v0", 1, 50),
        ("textgym/Dyck-v0", 0, 50),
        ("textgym/Dyck-v0", 1, 50),
    ]
    assert len({t.key for t in trials}) == 4 and trials[0].key != quick.trials()[0].key  # other budget, other key


def test_labels_let_one_agent_or_env_run_with_two_sets_of_options(tmp_path):
    suite_file = tmp_path / "labels.toml"
    suite_file.write_text(
        "".join(f"{key} = {value}\n" for key, value in GOOD.items() if key not in ("agents", "envs"))
        + 'agents = ["random", { name = "random", label = "random-seeded-vocab", options = { vocab_size = 8 } }]\n'
        + 'envs = ["textgym/Copy-v0", { id = "textgym/Copy-v0", label = "Copy-2", options = { max_length = 2 } }]\n'
    )
    suite = load_suite(suite_file)
    assert [agent.key for agent in suite.agents] == ["random", "random-seeded-vocab"]
    assert main([str(suite_file), "--executor", "serial", "--out", str(tmp_path / "out")]) == 0
    records = read_results(tmp_path / "out" / RESULTS_FILE)
    assert sorted({(r["agent"], r["agent_name"]) for r in records}) == [
        ("random", "random"),
        ("random-seeded-vocab", "random"),
    ]
    assert sorted({(r["env"], r["env_id"], r["env_options"].get("max_length")) for r in records}) == [
        ("Copy-2", "textgym/Copy-v0", 2),
        ("textgym/Copy-v0", "textgym/Copy-v0", None),
    ]
    assert "| Copy-2 | random |" in (tmp_path / "out" / "summary.md").read_text()
    assert "| textgym/Copy-v0 | random-seeded-vocab |" in (tmp_path / "out" / "summary.md").read_text()
    only = suite.with_overrides(agents=["random-seeded-vocab"])
    assert only.agents == (AgentEntry("random", {"vocab_size": 8}, "random-seeded-vocab"),)


def test_a_sampled_suite_evaluates_sampled_actions_and_records_the_task_measures(tmp_path):
    """``eval_decoding = "sampled"``: the same trial evaluates the policy's sampled actions, under its own key; every
    record keeps the other numbers the task reports (here sentiment continuation's fluency), and the report lists
    them."""
    scores = {}
    for decoding in ("greedy", "sampled"):
        suite_file = tmp_path / f"{decoding}.toml"
        suite_file.write_text(
            f'seeds = 1\nsteps = 1\neval_every = 1\neval_episodes = 30\neval_decoding = "{decoding}"\n'
            'envs = ["textgym/SentimentContinuation-v0"]\nagents = [{ name = "pg", options = { num_envs = 8 } }]\n'
        )
        suite = load_suite(suite_file)
        (spec,) = suite.trials()
        assert spec.eval_decoding == decoding
        assert main([str(suite_file), "--executor", "serial", "--out", str(tmp_path / decoding)]) == 0
        (record,) = read_results(tmp_path / decoding / RESULTS_FILE)
        assert record["eval_decoding"] == decoding and (tmp_path / decoding / TRIALS_DIR / f"{spec.key}.json").exists()
        assert set(record["final_measures"]) >= {"fluency", "sentiment"}
        assert all(0 <= value <= 1 for value in record["final_measures"].values())
        assert "## Task measures" in (tmp_path / decoding / "summary.md").read_text()
        scores[decoding] = (spec.key, record["final_score"])
    assert scores["greedy"][0] != scores["sampled"][0]  # a sampled trial is another trial
    assert scores["greedy"][1] != scores["sampled"][1]  # an untrained policy: its mode is not its samples


def test_a_suite_includes_other_suites_each_at_its_own_budget(tmp_path):
    (tmp_path / "part.toml").write_text(
        'seeds = 1\nsteps = 300\neval_every = 150\neval_episodes = 5\nagents = ["random"]\n'
        'envs = [{ id = "textgym/Reverse-v0", options = { max_length = 2 } }]\n'
    )
    (tmp_path / "whole.toml").write_text(
        "".join(f"{key} = {value}\n" for key, value in GOOD.items()) + 'include = ["part.toml"]\n'
    )
    whole, part = load_suite(tmp_path / "whole.toml"), load_suite(tmp_path / "part.toml")
    assert [p.name for p in whole.parts()] == ["whole", "part"]
    trials = whole.trials()
    assert [(t.env, t.seed, t.steps) for t in trials] == [
        ("textgym/Copy-v0", 0, 100),
        ("textgym/Copy-v0", 1, 100),
        ("textgym/Reverse-v0", 0, 300),
    ]
    assert trials[2].key == part.trials()[0].key  # a part's trials are the trials of the suite run alone
    # A run of the part alone is resumed by a run of the whole: only the whole's own trials run.
    out = tmp_path / "out"
    assert run_suite(part, out, SerialExecutor(), progress=False).ran == 1
    outcome = run_suite(whole, out, SerialExecutor(), progress=False)
    assert (outcome.ran, outcome.skipped) == (2, 1)
    assert [(r["env"], r["seed"], r["steps"]) for r in outcome.records] == [
        ("textgym/Copy-v0", 0, 100),
        ("textgym/Copy-v0", 1, 100),
        ("textgym/Reverse-v0", 0, 300),
    ]
    summary = (out / "summary.md").read_text()
    assert "| textgym/Copy-v0 | random |" in summary and "| textgym/Reverse-v0 | random |" in summary
    # Command-line choices pick among the parts' entries and set the numbers of every part.
    only = whole.with_overrides(envs=["textgym/Reverse-v0"], seeds=2)
    assert [(t.env, t.seed, t.steps, t.env_options) for t in only.trials()] == [
        ("textgym/Reverse-v0", seed, 300, {"max_length": 2}) for seed in (0, 1)
    ]
    assert only.name == "whole" and only.reference == whole.reference
    with pytest.raises(SuiteError, match=r"--envs chooses among its entries; \['textgym/Sort-v0'\] not among"):
        whole.with_overrides(envs=["textgym/Sort-v0"])


def test_the_full_suite_includes_the_language_and_dialogue_suites():
    full = load_suite("full")
    assert [part.name for part in full.parts()] == ["full", "language", "dialogue"]
    included = [trial.key for name in ("language", "dialogue") for trial in load_suite(name).trials()]
    assert [trial.key for trial in full.trials()][-len(included) :] == included
    assert {"SCAN-simple", "textgym/BabiQA-v0", "textgym/GuessNumber-v0"} <= {t.env_name for t in full.trials()}


def test_the_solve_suite_gives_every_agent_the_same_budget_on_each_task_and_evaluates_without_curriculum():
    solve = load_suite("solve")
    check_suite(solve)  # every environment and agent builds, the curriculum envs' test splits included
    parts = solve.parts()
    assert [part.name for part in parts] == ["solve", "scan_simple_turn_left", "scan_length", "scan", "qa", "ladder"]
    assert solve.seeds == 3
    tasks = {env.key for part in parts for env in part.envs}
    assert tasks == {
        "textgym/Addition-v0", "textgym/ReversedAddition-v0", "textgym/RepeatCopy-v0", "SCAN-simple",
        "SCAN-addprim_turn_left", "SCAN-length", "SCAN-addprim_jump", "bAbI-1", "bAbI-2", "bAbI-6",
        "textgym/NumberWords-v0", "Copy-20", "Reverse-20", "Addition-5",
    }  # fmt: skip
    labels = ["random", "sb3-ppo", "sb3-maskable-ppo", "pg", "supervised", "pg+demonstrations"]
    for part in parts:
        assert [agent.key for agent in part.agents] == labels and part.seeds == 3
        demonstrated = next(agent for agent in part.agents if agent.key == "pg+demonstrations")
        assert 0 < demonstrated.options["warm_start_steps"] < part.steps
    budgets = {}
    for trial in solve.trials():
        budgets.setdefault(trial.env_name, set()).add(trial.steps)
    assert all(len(steps) == 1 for steps in budgets.values())
    ladder = parts[-1].envs
    assert all(env.options["curriculum"] is True for env in ladder)
    assert {env.options["max_length"] for env in ladder} == {20, 5}


@pytest.mark.parametrize(
    "files, message",
    [
        ({"a.toml": 'include = ["a.toml"]'}, r"includes itself"),
        ({"a.toml": 'include = ["b.toml"]', "b.toml": 'include = ["a.toml"]'}, r"includes itself"),
        ({"a.toml": 'include = "quick"'}, r"'include' must be a list of suite names or paths, got 'quick'"),
        ({"a.toml": 'include = ["nope"]'}, r"unknown suite 'nope'"),
        ({"a.toml": 'include = ["b.toml"]', "b.toml": ""}, r"environment\(s\) \['textgym/Copy-v0'\] in more than one"),
    ],
)
def test_bad_includes_are_refused(files, message, tmp_path):
    good = "".join(f"{key} = {value}\n" for key, value in GOOD.items())
    for name, extra in files.items():
        (tmp_path / name).write_text(good + extra + "\n")
    with pytest.raises(SuiteError, match=message):
        load_suite(tmp_path / "a.toml")


def test_the_report_says_which_agents_reach_the_reward_threshold():
    def record(env, env_id, agent, seed, score):
        return {
            "env": env,
            "env_id": env_id,
            "agent": agent,
            "seed": seed,
            "status": "ok",
            "final_score": score,
            "final_success": score == 1.0,
            "env_steps": 10,
            "steps_per_s": 1.0,
            "error": None,
        }

    records = [
        *(record("textgym/Copy-v0", "textgym/Copy-v0", "a", seed, score) for seed, score in enumerate((1.0, 0.8))),
        *(record("textgym/Copy-v0", "textgym/Copy-v0", "b", seed, score) for seed, score in enumerate((1.0, 0.96))),
        record("Copy-2", "textgym/Copy-v0", "a", 0, 0.95),  # a label: the threshold of the ID behind it
        record("CartPole-v1", "CartPole-v1", "a", 0, 0.5),  # 475: far above any score in [0, 1]
        record("someone/Unknown-v0", "someone/Unknown-v0", "a", 0, 0.5),
    ]
    rows = {(row["env"], row["agent"]): row for row in summarize(records).rows}
    assert rows["textgym/Copy-v0", "a"]["threshold"] == 0.95 and rows["textgym/Copy-v0", "a"]["solved"] is False
    assert rows["textgym/Copy-v0", "b"]["solved"] is True  # mean 0.98
    assert rows["Copy-2", "a"]["solved"] is True  # exactly the threshold counts
    assert rows["CartPole-v1", "a"]["threshold"] == 475 and rows["CartPole-v1", "a"]["solved"] is False
    assert (
        math.isnan(rows["someone/Unknown-v0", "a"]["threshold"]) and rows["someone/Unknown-v0", "a"]["solved"] is None
    )
    text = markdown(summarize(records), [{**r, "steps": 10, "eval_episodes": 5} for r in records])
    assert "| textgym/Copy-v0 | a | 2 | 0.900 |" in text and "| no (0.95) |" in text and "| yes (0.95) |" in text
    assert "| someone/Unknown-v0 | a | 1 | 0.500 | 0.500 | – |" in text
