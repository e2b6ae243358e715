"""Checkpoints are data: a saved agent goes on exactly where it stopped, a file that is not a checkpoint gets one
clear error naming it, and a crafted file runs no code."""

import base64
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from textgym.agents import make_agent
from textgym.agents.base import CheckpointError
from textgym.agents.envs import env_spec

COPY = env_spec("textgym/Copy-v0", max_length=3, num_symbols=3)
SMALL_PG = {"num_envs": 16, "d_model": 32, "n_heads": 2, "d_ff": 64}
SAVED = {
    "random": {},
    "pg": SMALL_PG,
    "supervised": {"d_model": 32, "n_heads": 2, "d_ff": 64},
    "sb3-ppo": {"n_steps": 8},
    "sb3-dqn": {"learning_starts": 10},
}


def saved_agent(tmp_path, name):
    path = tmp_path / f"{name}.ckpt"
    make_agent(name, seed=0, **SAVED[name]).learn(COPY, 64).save(path)
    return path


def parameters(agent):
    return [tensor.clone() for tensor in agent.model.state_dict().values()]


CONTINUE = """
import sys, torch
torch.set_num_threads(1)  # as the tests run: the same sums in the same order
from textgym.agents import make_agent
from textgym.agents.envs import env_spec
agent = make_agent("pg", seed=99).load(sys.argv[1])
agent.learn(env_spec("textgym/Copy-v0", max_length=3, num_symbols=3), int(sys.argv[2]))
torch.save({"parameters": list(agent.model.state_dict().values()), "steps": agent.num_env_steps}, sys.argv[3])
"""


@pytest.mark.parametrize(
    "options, first",
    [
        ({"warm_start_steps": 300, "kl_coef": 0.1, "baseline": "mean"}, 200),  # saved inside the warm start
        ({"kl_target": 0.05, "baseline": "value"}, 192),  # saved between PG updates, adaptive KL
    ],
)
def test_pg_saved_and_loaded_in_a_fresh_process_learns_on_exactly_as_without_the_break(tmp_path, options, first):
    then = 320
    unbroken = make_agent("pg", seed=1, **SMALL_PG, **options).learn(COPY, first).learn(COPY, then)
    make_agent("pg", seed=1, **SMALL_PG, **options).learn(COPY, first).save(tmp_path / "pg.pt")
    subprocess.run(
        [sys.executable, "-c", CONTINUE, tmp_path / "pg.pt", str(then), tmp_path / "after.pt"],
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    resumed = torch.load(tmp_path / "after.pt", weights_only=True)
    assert resumed["steps"] == unbroken.num_env_steps > first + then - 32
    assert all(torch.equal(a, b) for a, b in zip(resumed["parameters"], parameters(unbroken), strict=True))


def test_a_loaded_pg_keeps_its_warm_start_progress_optimizer_and_counters(tmp_path):
    agent = make_agent("pg", seed=1, **SMALL_PG, warm_start_steps=100, kl_coef=0.1).learn(COPY, 300)
    agent.save(tmp_path / "pg.pt")
    loaded = make_agent("pg", seed=3).load(tmp_path / "pg.pt")
    assert loaded.warm_start_tokens == agent.warm_start_tokens >= 100
    assert loaded.num_updates == agent.num_updates > 0 and loaded.kl_coef == agent.kl_coef
    assert loaded.optimizer.state_dict()["state"].keys() == agent.optimizer.state_dict()["state"].keys()
    steps = [s["step"] for s in loaded.optimizer.state_dict()["state"].values()]
    assert steps == [s["step"] for s in agent.optimizer.state_dict()["state"].values()] and steps[0] > 0
    assert all(torch.equal(a, b) for a, b in zip(loaded.reference.parameters(), agent.reference.parameters()))


@pytest.mark.parametrize("name", sorted(SAVED))
def test_a_file_that_is_not_a_checkpoint_gets_one_error_naming_it(tmp_path, name):
    whole = saved_agent(tmp_path, name).read_bytes()
    other = "random" if name != "random" else "pg"
    wrong_agent = saved_agent(tmp_path, other)
    for content in (whole[: len(whole) // 2], b"", b"\x00garbage\xff" * 10, json.dumps([1, 2]).encode()):
        path = tmp_path / "broken.ckpt"
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match=f"^'{path}'"):
            make_agent(name, seed=0).load(path)
    with pytest.raises(CheckpointError, match=f"^'{wrong_agent}'"):
        make_agent(name, seed=0).load(wrong_agent)
    with pytest.raises(FileNotFoundError):
        make_agent(name, seed=0).load(tmp_path / "missing.ckpt")


def test_a_pg_checkpoint_of_another_shape_is_refused_by_name(tmp_path):
    path = saved_agent(tmp_path, "pg")
    state = torch.load(path, weights_only=True)
    state["model"] = {key: torch.zeros(3) for key in state["model"]}
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=f"^'{path}' is not a PolicyGradientAgent checkpoint: RuntimeError"):
        make_agent("pg", seed=0).load(path)


class RunsAShellCommand:
    """What a crafted checkpoint entry does when unpickled: call ``os.system``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_an_sb3_checkpoint_with_code_in_its_data_is_refused_without_running_it(tmp_path):
    path = saved_agent(tmp_path, "sb3-ppo")
    marker = tmp_path / "code-ran"
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(files["data"])
    data["policy_class"][":serialized:"] = base64.b64encode(pickle.dumps(RunsAShellCommand(marker))).decode()
    files["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    with pytest.raises(CheckpointError, match="entry 'policy_class' of its data is refused: it names posix.system"):
        make_agent("sb3-ppo", seed=0).load(path)
    assert not marker.exists()
