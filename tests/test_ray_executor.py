"""The Ray executor on a real local Ray: trials run as Ray actors, and a trial that raises, dies or hangs is a
failed record with the reason while the others finish; records are the process executor's."""

import pytest
import ray
from misbehaving_agents import DyingAgent, HangingAgent, RaisingAgent, agent_path

from textgym.benchmarks.cli import main
from textgym.benchmarks.executors import RayExecutor, make_executor
from textgym.benchmarks.results import RESULTS_FILE, read_results


@pytest.mark.learning  # starts a local Ray and trains its trials
def test_a_suite_through_a_local_ray_records_every_trial_with_the_reason_when_it_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    misbehaving = [agent_path(agent) for agent in (RaisingAgent, DyingAgent, HangingAgent)]
    agents = ", ".join(f'"{name}"' for name in ["random", *misbehaving])
    suite = tmp_path / "ray.toml"
    suite.write_text(
        "seeds = 1\nsteps = 100\neval_every = 100\neval_episodes = 5\n"
        'envs = [{ id = "textgym/Copy-v0", options = { max_length = 3, num_symbols = 3 } }]\n'
        f"agents = [{agents}]\n"
    )
    out = tmp_path / "out"
    command = [str(suite), "--executor", "ray", "--workers", "2", "--trial-timeout", "20", "--out", str(out)]
    assert main(command) == 1
    assert not ray.is_initialized()  # the local Ray it started is shut down
    records = {r["agent"].rsplit(":", 1)[-1]: r for r in read_results(out / RESULTS_FILE)}
    assert records["random"]["status"] == "ok" and records["random"]["final_score"] is not None
    assert records["RaisingAgent"]["error"].rstrip().endswith("RuntimeError: learning exploded (seed 0)")
    assert records["DyingAgent"]["error"] == "WorkerDied: the Ray actor running this trial died: ActorDiedError"
    # stopped by the alarm inside the trial (a traceback) or, where the actor runs it off the main thread, killed
    assert "TrialTimeout: ran past its time limit of 20 s" in records["HangingAgent"]["error"]
    assert "4 trial(s) run, 0 already done, 3 failed" in capsys.readouterr().out
    assert main(command) == 1  # resumable as with the other executors: nothing runs again
    assert "0 trial(s) run, 4 already done, 3 failed" in capsys.readouterr().out


def test_the_ray_executor_is_chosen_by_name_with_an_address():
    executor = make_executor("ray", 4, address="auto")
    assert isinstance(executor, RayExecutor) and (executor.workers, executor.address) == (4, "auto")
    with pytest.raises(ValueError, match="--address is for the Ray executor, not 'process'"):
        make_executor("process", 2, address="auto")
    with pytest.raises(SystemExit) as exit_:
        main(["quick", "--address", "auto"])
    assert exit_.value.code == 2
