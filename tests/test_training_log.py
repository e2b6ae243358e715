"""TensorBoard logs: the agents' training metrics (``log_dir``) and the runner's per-trial logs (``--log-dir``)."""

import csv
import json
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.training_log import TrainingLog, check_tensorboard
from textgym.benchmarks.cli import main
from textgym.benchmarks.results import TRIALS_DIR

SMALL_COPY = env_spec("textgym/Copy-v0", max_length=3, num_symbols=3, reward_mode="dense")
TINY = {"model": {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64}}


def scalars(directory):
    """``{tag: [(step, value), ...]}`` of every TensorBoard scalar in the event files of ``directory``."""
    events = EventAccumulator(str(directory))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def csv_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_training_log_writes_csv_rows_and_tensorboard_scalars_and_appends_under_the_first_header(tmp_path):
    log = TrainingLog(tmp_path / "run")
    log.write("pg", {"loss": 1.0, "return": 0.5}, 10)
    log.write("pg", {"loss": 0.75, "return": 0.25}, 20)
    TrainingLog(tmp_path / "run").write("pg", {"return": 0.125, "loss": 0.5}, 30)  # a later run, keys reordered
    rows = csv_rows(tmp_path / "run" / "pg.csv")
    assert [(row["loss"], row["return"]) for row in rows] == [("1.0", "0.5"), ("0.75", "0.25"), ("0.5", "0.125")]
    logged = scalars(tmp_path / "run")
    assert logged["pg/loss"] == [(10, 1.0), (20, 0.75), (30, 0.5)]
    assert logged["pg/return"] == [(10, 0.5), (20, 0.25), (30, 0.125)]


def test_pg_logs_its_warm_start_and_its_updates(tmp_path):
    agent = make_agent("pg", seed=0, num_envs=16, warm_start_steps=1200, log_dir=str(tmp_path), **TINY)
    agent.learn(SMALL_COPY, 2000)
    warm_start, updates = csv_rows(tmp_path / "warm_start.csv"), csv_rows(tmp_path / "pg.csv")
    assert len(warm_start) >= 2 and int(warm_start[-1]["env_steps"]) >= 1200
    assert len(updates) == len(agent.log_rows) >= 2
    assert float(updates[-1]["env_steps"]) == agent.num_env_steps
    logged = scalars(tmp_path)
    assert [step for step, _ in logged["pg/return"]] == [int(row["env_steps"]) for row in agent.log_rows]
    assert len(logged["warm_start/loss"]) == len(warm_start)
    assert logged["warm_start/loss"][-1][1] < logged["warm_start/loss"][0][1]  # teacher forcing lowers its loss
    assert {"pg/loss", "pg/kl", "pg/learning_rate", "warm_start/learning_rate"} <= set(logged)


def test_supervised_logs_every_update(tmp_path):
    agent = make_agent("supervised", seed=0, batch_size=16, log_dir=str(tmp_path), **TINY)
    agent.learn(SMALL_COPY, 1500)
    rows = csv_rows(tmp_path / "supervised.csv")
    assert int(rows[-1]["env_steps"]) == agent.num_env_steps >= 1500
    losses = scalars(tmp_path)["supervised/loss"]
    assert len(losses) == len(rows) and losses[-1][1] < losses[0][1]


def test_sb3_agents_log_through_sb3s_own_tensorboard_log(tmp_path):
    agent = make_agent("sb3-ppo", seed=0, num_envs=2, n_steps=64, batch_size=32, n_epochs=1, log_dir=str(tmp_path))
    agent.learn(SMALL_COPY, 256)
    (run,) = tmp_path.glob("PPO_*")  # SB3's own run directory under tensorboard_log
    logged = scalars(run)
    assert "train/policy_gradient_loss" in logged and "time/fps" in logged
    assert max(step for step, _ in logged["time/fps"]) == agent.num_env_steps == 256


def test_without_tensorboard_a_log_dir_fails_first_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"textgym\[tensorboard\]"):
        check_tensorboard()
    for name in ("pg", "supervised", "sb3-ppo"):
        with pytest.raises(ImportError, match=r"textgym\[tensorboard\]"):
            make_agent(name, log_dir=str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        main(["quick", "--log-dir", str(tmp_path / "logs"), "--out", str(tmp_path / "out")])
    assert stopped.value.code == 2 and "textgym[tensorboard]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_runner_gives_each_trial_its_own_log_directory(tmp_path):
    (tmp_path / "logged.toml").write_text(
        """
seeds = 1
steps = 600
eval_every = 300
eval_episodes = 10
envs = [{ id = "textgym/Copy-v0", options = { max_length = 3, num_symbols = 3, reward_mode = "dense" } }]
agents = [
    "random",
    { name = "pg", options = { num_envs = 16, model = { d_model = 32, n_heads = 2, n_layers = 1, d_ff = 64 } } },
    { name = "sb3-ppo", options = { num_envs = 4, n_steps = 32, batch_size = 64, n_epochs = 1 } },
]
"""
    )
    out, logs = tmp_path / "out", tmp_path / "logs"
    argv = [str(tmp_path / "logged.toml"), "--workers", "1", "--out", str(out), "--log-dir", str(logs)]
    assert main(argv) == 0
    trials = {path.stem for path in (out / TRIALS_DIR).glob("*.json")}
    assert {path.name for path in logs.iterdir()} == trials and len(trials) == 3  # named as the trial files
    for trial in trials:  # the evaluations logged are the record's learning curve
        curve = json.loads((out / TRIALS_DIR / f"{trial}.json").read_text())["curve"]
        evaluations = csv_rows(logs / trial / "eval.csv")
        assert [[int(row["env_steps"]), float(row["score"]), float(row["success"])] for row in evaluations] == curve
        logged = scalars(logs / trial)["eval/score"]  # TensorBoard keeps float32
        assert [step for step, _ in logged] == [step for step, _, _ in curve]
        assert [value for _, value in logged] == pytest.approx([score for _, score, _ in curve], rel=1e-6)
    (pg,) = [trial for trial in trials if "__pg__" in trial]
    (ppo,) = [trial for trial in trials if "__sb3-ppo__" in trial]
    assert len(csv_rows(logs / pg / "pg.csv")) >= 1 and "pg/return" in scalars(logs / pg)
    (sb3_run,) = (logs / ppo).glob("PPO_*")  # SB3's own run directory
    assert "train/policy_gradient_loss" in scalars(sb3_run)
