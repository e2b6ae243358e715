"""What a benchmark run guarantees whatever its agents, a signal or a file do: every trial recorded once, with the
reason when it failed, in strict JSON; the other trials unharmed; a clean stop that a rerun resumes; one run per
results directory."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from misbehaving_agents import (
    DyingAgent,
    ExitingAgent,
    HangingAgent,
    NanStepsAgent,
    SlowAgent,
    StubbornAgent,
    agent_path,
)

from textgym.benchmarks.cli import main
from textgym.benchmarks.executors import ProcessExecutor, SerialExecutor
from textgym.benchmarks.results import (
    RESULTS_FILE,
    SET_ASIDE_DIR,
    TRIALS_DIR,
    loads,
    locked,
    read_record,
    read_results,
    record_problem,
    save_trial,
)
from textgym.benchmarks.runner import run_suite
from textgym.benchmarks.suite import SUITES_DIR, AgentEntry, EnvEntry, Suite, SuiteError, load_suite
from textgym.benchmarks.trial import TrialSpec

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SMALL = {"max_length": 3, "num_symbols": 3}
TIMINGS = ("wall_s", "train_s", "eval_s", "steps_per_s", "started_at")


def small_suite(*agents, seeds=1, trial_timeout=None):
    return Suite(
        name="small",
        envs=(EnvEntry("textgym/Copy-v0", SMALL),),
        agents=tuple(AgentEntry(a if isinstance(a, str) else agent_path(a)) for a in agents),
        seeds=seeds,
        steps=100,
        eval_every=100,
        eval_episodes=5,
        trial_timeout=trial_timeout,
    )


def suite_file(path, agents, seeds):
    names = ", ".join(f'"{a if isinstance(a, str) else agent_path(a)}"' for a in agents)
    path.write_text(
        f"seeds = {seeds}\nsteps = 100\neval_every = 100\neval_episodes = 5\n"
        f'envs = [{{ id = "textgym/Copy-v0", options = {{ max_length = 3, num_symbols = 3 }} }}]\n'
        f"agents = [{names}]\n"
    )
    return path


def by_agent(records):
    return {(r["agent"].rsplit(":", 1)[-1], r["seed"]): r for r in records}


def without_timings(record):
    return {key: value for key, value in record.items() if key not in TIMINGS}


def default_sigint() -> None:
    """In a child process before ``exec``: SIGINT back to its default disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(args, marker=None, **popen):
    """``python -m textgym.benchmarks ARGS`` in a child process that can import this module's agents."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)])}
    if marker is not None:
        env["TEXTGYM_TEST_MARKER"] = marker
    return subprocess.Popen(
        [sys.executable, "-m", "textgym.benchmarks", *map(str, args)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def trial_files(out):
    """The trial records in ``out`` (not the temporary files of a record being written)."""
    return [path for path in (out / TRIALS_DIR).glob("*.json") if not path.name.startswith(".")]


def wait_for(condition, timeout_s=120.0):
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout_s, "timed out waiting"
        time.sleep(0.05)


def processes_marked(marker):
    """Processes of this machine started with ``TEXTGYM_TEST_MARKER=marker`` in their environment."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and f"TEXTGYM_TEST_MARKER={marker}".encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def test_an_agent_reporting_nan_steps_fails_its_trial_and_every_file_stays_strict_json(tmp_path):
    outcome = run_suite(small_suite("random", NanStepsAgent), tmp_path, SerialExecutor(), progress=False)
    records = by_agent(outcome.records)
    assert records["random", 0]["status"] == "ok"
    nan = records["NanStepsAgent", 0]
    assert nan["status"] == "failed" and nan["final_score"] is None
    assert nan["error"].startswith("InvalidRecord") and "env_steps = nan" in nan["error"]
    for path in [tmp_path / RESULTS_FILE, *(tmp_path / TRIALS_DIR).glob("*.json")]:
        text = path.read_text()
        assert "NaN" not in text
        for line in text.splitlines() if path.suffix == ".jsonl" else [text]:
            loads(line)
    assert "NanStepsAgent / seed 0: `InvalidRecord" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ([], "a record is a JSON object, got list"),
        ({}, "missing field(s) ['env', 'agent'"),
        ({"final_score": "high"}, "missing field(s)"),
        ("high", "a record is a JSON object, got str"),
    ],
)
def test_what_is_not_a_record_is_named(record, problem):
    assert problem in record_problem(record)


def test_records_with_nan_or_wrong_types_are_refused_when_written_and_when_read(tmp_path):
    outcome = run_suite(small_suite("random"), tmp_path, SerialExecutor(), progress=False)
    good = outcome.records[0]
    assert record_problem(good) is None
    for change, problem in [
        ({"final_score": float("nan")}, "final_score = nan is not valid"),
        ({"final_score": "high"}, "final_score = 'high' is not valid"),
        ({"seed": True}, "seed = True is not valid"),
        ({"status": "great"}, "status = 'great' is not valid"),
        ({"curve": [[0, 0.5]]}, "curve = [[0, 0.5]] is not valid"),
        ({"final_score": 0.123456}, "final_score and final_success are its curve's last point"),
        ({"error": "boom"}, "error = 'boom' is not valid"),
    ]:
        bad = {**good, **change}
        assert problem in record_problem(bad)
        spec = TrialSpec("textgym/Copy-v0", "random", 0, 100, 100, 5)
        with pytest.raises(ValueError, match="not a trial record"):
            save_trial(tmp_path / "refused", spec, bad)
        jsonl = tmp_path / "bad.jsonl"
        jsonl.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
        with pytest.raises(ValueError, match=f"{jsonl}:2: not (a trial record|JSON \\(NaN is not JSON\\))"):
            read_results(jsonl)
    jsonl.write_text(json.dumps({**good, "final_score": float("nan")}) + "\n")
    with pytest.raises(ValueError, match=f"{jsonl}:1: not JSON \\(NaN is not JSON\\)"):
        read_results(jsonl)
    assert not (tmp_path / "refused").exists() or not list((tmp_path / "refused").rglob("*.json"))


def test_a_trial_past_its_time_limit_is_stopped_and_failed_with_the_reason_in_process(tmp_path):
    outcome = run_suite(
        small_suite(HangingAgent, "random", trial_timeout=1), tmp_path, SerialExecutor(), progress=False
    )
    records = by_agent(outcome.records)
    assert records["random", 0]["status"] == "ok"
    hung = records["HangingAgent", 0]
    assert hung["status"] == "failed" and "TrialTimeout: ran past its time limit of 1 s" in hung["error"]
    assert len(hung["curve"]) == 1 and 0.5 <= hung["wall_s"] < 30  # the evaluation before training is kept


@pytest.mark.learning
def test_a_worker_past_its_time_limit_is_killed_and_replaced(tmp_path):
    suite = small_suite(StubbornAgent, HangingAgent, "random", trial_timeout=3)
    outcome = run_suite(suite, tmp_path, ProcessExecutor(workers=2, kill_grace_s=1), progress=False)
    records = by_agent(outcome.records)
    assert (outcome.ran, outcome.failed) == (3, 2)
    assert records["random", 0]["status"] == "ok"
    assert "TrialTimeout: ran past its time limit of 3 s" in records["HangingAgent", 0]["error"]
    assert records["StubbornAgent", 0]["error"] == (
        "TrialTimeout: ran past its time limit of 3 s and did not stop; its worker process was killed"
    )


def test_the_time_limit_comes_from_the_suite_or_the_command_line(tmp_path):
    base = (REPO / "benchmarks" / "suites" / "quick.toml").read_text()
    (tmp_path / "limited.toml").write_text("trial_timeout = 90\n" + base)
    assert load_suite(tmp_path / "limited.toml").trial_timeout == 90
    solve = load_suite("solve").with_overrides(trial_timeout=60.5)
    assert {part.trial_timeout for part in solve.parts()} == {60.5}
    for bad in ('"soon"', "0", "-5", "true"):
        (tmp_path / "bad.toml").write_text(f"trial_timeout = {bad}\n" + base)
        with pytest.raises(SuiteError, match="'trial_timeout' must be a positive number of seconds"):
            load_suite(tmp_path / "bad.toml")
    with pytest.raises(SystemExit) as exit_:
        main(["quick", "--trial-timeout", "0"])
    assert exit_.value.code == 2


def test_a_dying_worker_fails_only_its_own_trial(tmp_path):
    suite = small_suite(DyingAgent, "random")
    outcome = run_suite(suite, tmp_path, ProcessExecutor(workers=1), progress=False)
    records = by_agent(outcome.records)
    assert (outcome.ran, outcome.failed) == (2, 1)
    assert records["random", 0]["status"] == "ok"  # run by the worker that replaced the dead one
    assert records["DyingAgent", 0]["error"] == "WorkerDied: the worker process running this trial exited (3)"
    again = run_suite(suite, tmp_path, ProcessExecutor(workers=1), progress=False)
    assert (again.ran, again.skipped) == (0, 2)  # a failed trial is a record: the rerun leaves it


def test_sys_exit_inside_an_agent_fails_its_trial_under_the_serial_executor(tmp_path, capsys):
    path = suite_file(tmp_path / "exiting.toml", [ExitingAgent, "random"], seeds=2)
    assert main([str(path), "--executor", "serial", "--out", str(tmp_path / "out")]) == 1
    records = by_agent(read_results(tmp_path / "out" / RESULTS_FILE))
    assert [records["random", s]["status"] for s in (0, 1)] == ["ok", "ok"]
    for seed in (0, 1):
        assert records["ExitingAgent", seed]["status"] == "failed"
        assert records["ExitingAgent", seed]["error"].rstrip().endswith("SystemExit: 3")
    assert "4 trial(s) run, 0 already done, 2 failed" in capsys.readouterr().out


@pytest.mark.learning
@pytest.mark.parametrize(("signal_", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_run_writes_the_summary_of_its_finished_trials_and_a_rerun_finishes_it(tmp_path, signal_, code):
    path = suite_file(tmp_path / "slow.toml", [SlowAgent], seeds=6)
    out = tmp_path / "out"
    # A shell starts a background job with SIGINT ignored, and Python then leaves it ignored; pytest run that way
    # would pass its disposition on, so the child gets a terminal's default, as a run under Ctrl-C has.
    run = cli([path, "--workers", "2", "--out", out], start_new_session=True, preexec_fn=default_sigint)
    wait_for(lambda: len(trial_files(out)) >= 2)
    if signal_ == signal.SIGINT:  # Ctrl-C in a terminal: the whole process group gets it
        os.killpg(run.pid, signal_)
    else:
        run.send_signal(signal_)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == code, stderr
    assert "Traceback" not in stderr and "leaked" not in stderr
    assert f"stopped by {signal_.name}:" in stderr and "run the same command again" in stderr
    finished = read_results(out / RESULTS_FILE)
    assert 2 <= len(finished) < 6 and len(finished) == len(trial_files(out))
    assert (out / "summary.md").is_file() and f"{len(finished)} trial(s) run" in stdout
    rerun = cli([path, "--workers", "2", "--out", out])
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    assert f"{6 - len(finished)} trial(s) run, {len(finished)} already done, 0 failed" in stdout
    assert sorted(r["seed"] for r in read_results(out / RESULTS_FILE)) == list(range(6))


@pytest.mark.learning
def test_a_run_killed_at_any_moment_resumes_to_the_records_of_a_clean_run(tmp_path):
    path = suite_file(tmp_path / "mixed.toml", ["random", SlowAgent, "sb3-a2c"], seeds=2)
    clean = run_suite(load_suite(path), tmp_path / "clean", SerialExecutor(), progress=False)
    out, marker = tmp_path / "out", uuid.uuid4().hex
    run = cli([path, "--workers", "2", "--out", out], marker=marker)
    wait_for(lambda: 1 <= len(trial_files(out)))
    run.kill()
    run.communicate()
    assert len(trial_files(out)) < 6
    wait_for(lambda: not processes_marked(marker), timeout_s=10)  # its workers ended with it
    rerun = cli([path, "--workers", "2", "--out", out])
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read()
    resumed = read_results(out / RESULTS_FILE)
    assert [without_timings(r) for r in resumed] == [without_timings(r) for r in clean.records]


def test_a_second_run_into_a_directory_in_use_is_refused(tmp_path, capsys):
    path = suite_file(tmp_path / "small.toml", ["random"], seeds=1)
    out = tmp_path / "out"
    with locked(out):
        assert main([str(path), "--executor", "serial", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"results directory '{out}' is in use by another run (pid {os.getpid()})" in error
    assert not (out / TRIALS_DIR).exists()
    assert main([str(path), "--executor", "serial", "--out", str(out)]) == 0  # the lock went with its holder


def test_corrupt_trial_files_are_set_aside_by_name_and_their_trials_run_again(tmp_path):
    suite = small_suite("random", seeds=7)
    first = run_suite(suite, tmp_path, SerialExecutor(), progress=False)
    files = [tmp_path / TRIALS_DIR / f"{spec.key}.json" for spec in suite.trials()]
    whole = files[0].read_bytes()
    corruptions = {
        files[0]: (whole[: len(whole) // 2], "it is not JSON"),
        files[1]: (b"", "it is not JSON"),
        files[2]: (b"\xff\xfe\x00garbage", "it is not UTF-8 text (invalid start byte at byte 0)"),
        files[3]: (b"[]", "a record is a JSON object, got list"),
        files[4]: (b'{"final_score": "high"}', "missing field(s)"),
        files[5]: (files[6].read_bytes(), "it records textgym/Copy-v0 / random / seed 6, not textgym/Copy-v0 / random"),
    }
    for path, (content, _) in corruptions.items():
        path.write_bytes(content)
    files[6].unlink()
    files[6].mkdir()
    (files[6] / "inside").write_text("kept")
    again = run_suite(suite, tmp_path, SerialExecutor(), progress=False)
    assert (again.ran, again.skipped) == (7, 0)
    assert [without_timings(r) for r in again.records] == [without_timings(r) for r in first.records]
    assert len(again.set_aside) == 7
    for path, (content, reason) in corruptions.items():
        (message,) = [m for m in again.set_aside if m.startswith(f"{path} is not a trial record")]
        assert reason in message and message.endswith("its trial runs again")
        assert (tmp_path / SET_ASIDE_DIR / path.name).read_bytes() == content
    assert (tmp_path / SET_ASIDE_DIR / files[6].name / "inside").read_text() == "kept"
    assert any(m.startswith(f"{files[6]} is not a trial record (it is not a file)") for m in again.set_aside)


def test_a_wrong_agent_option_fails_the_suite_check_before_any_trial(tmp_path, capsys):
    path = suite_file(tmp_path / "typo.toml", ["random"], seeds=1)
    path.write_text(path.read_text().replace('["random"]', '[{ name = "pg", options = { learning_rate = "fast" } }]'))
    assert main([str(path), "--executor", "serial", "--out", str(tmp_path / "out")]) == 2
    assert "option 'learning_rate' must be of type float, got 'fast'" in capsys.readouterr().err
    assert not (tmp_path / "out" / TRIALS_DIR).exists()


def test_a_suite_file_that_is_not_utf8_or_names_an_unknown_reference_is_refused_by_name(tmp_path):
    path = suite_file(tmp_path / "latin1.toml", ["random"], seeds=1)
    path.write_bytes(path.read_bytes().replace(b"seeds = 1", b'description = "caf\xe9"\nseeds = 1'))
    with pytest.raises(SuiteError, match=f"suite '{path}' is not UTF-8 text"):
        load_suite(path)
    path = suite_file(tmp_path / "reference.toml", ["random", "sb3-ppo"], seeds=1)
    path.write_text('reference = "pgg"\n' + path.read_text())
    with pytest.raises(SuiteError, match=r"reference 'pgg' is not one of its agents \['random', 'sb3-ppo'\]"):
        load_suite(path)


def test_run_json_and_the_report_say_when_the_command_line_chose_part_of_a_suite(tmp_path):
    path = suite_file(tmp_path / "two.toml", ["random", "sb3-ppo"], seeds=1)
    path.write_text('description = "two agents"\n' + path.read_text())
    out = tmp_path / "out"
    assert main([str(path), "--agents", "random", "--executor", "serial", "--out", str(out)]) == 0
    assert json.loads((out / "run.json").read_text())["suite"]["description"] == "two agents; only --agents random"
    assert "two agents; only --agents random" in (out / "summary.md").read_text()
    assert load_suite("solve").with_overrides(envs=["SCAN-simple"]).description.endswith("; only --envs SCAN-simple")


def test_an_out_directory_that_cannot_be_written_is_refused_before_any_trial(tmp_path, capsys):
    path = suite_file(tmp_path / "small.toml", ["random"], seeds=1)
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a directory")
    for out in (a_file, a_file / "below"):
        assert main([str(path), "--executor", "serial", "--out", str(out)]) == 2
        assert f"textgym-bench: error: cannot write results into '{out}'" in capsys.readouterr().err
    assert a_file.read_text() == "not a directory"


def test_a_trial_keeps_its_key_when_its_model_options_are_nested():
    """Suites gave the model's sizes flat before they were nested under ``model``: a trial finished then is found
    by its key, so a rerun skips it."""
    flat = TrialSpec("textgym/Copy-v0", "pg", 0, 100, 100, 5, agent_options={"n_layers": 3, "positions": "rotary"})
    nested = replace(flat, agent_options={"model": {"positions": "rotary", "n_layers": 3}})
    assert nested.key == flat.key and nested.agent_options == {"model": {"positions": "rotary", "n_layers": 3}}
    assert replace(flat, agent_options={"model": {"n_layers": 2, "positions": "rotary"}}).key != flat.key


@pytest.mark.parametrize("suite", sorted(path.stem for path in SUITES_DIR.glob("*.toml")))
def test_every_committed_trial_record_is_found_by_a_trial_of_its_suite(suite):
    """The records under ``docs/results/<suite>`` belong to trials of the suite as it is now, by key and by what
    they record: a rerun into that directory skips them."""
    trials = {trial.key: trial for trial in load_suite(suite).trials()}
    for path in (REPO / "docs" / "results" / suite).glob(f"**/{TRIALS_DIR}/*.json"):
        assert path.stem in trials, f"{path} matches no trial of suite {suite!r}"
        read_record(path, trials[path.stem])
