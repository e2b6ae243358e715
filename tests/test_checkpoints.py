"""Checkpoints are data: a saved agent goes on exactly where it stopped, a file that is not a checkpoint gets one
clear error naming it, and a crafted file runs no code."""

import base64
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from textgym.agents import make_agent
from textgym.agents.base import CheckpointError
from textgym.agents.envs import env_spec
from textgym.agents.pg import PolicyGradientAgent
from textgym.agents.sb3 import AGENT_STATE_FILE, PPOAgent, TransformerPPOAgent

COPY = env_spec("textgym/Copy-v0", max_length=3, num_symbols=3)
SMALL_MODEL = {"d_model": 32, "n_heads": 2, "d_ff": 64}
SMALL_PG = {"num_envs": 16, "model": SMALL_MODEL}
SAVED = {
    "random": {},
    "pg": SMALL_PG,
    "supervised": {"model": SMALL_MODEL},
    "sb3-ppo": {"n_steps": 8},
    "sb3-dqn": {"learning_starts": 10},
    "sb3-ppo-transformer": {"n_steps": 8, "model": SMALL_MODEL},
}


def saved_agent(tmp_path, name, **options):
    path = tmp_path / f"{name}.ckpt"
    agent = make_agent(name, seed=0, **{**SAVED[name], **options}).learn(COPY, 64)
    agent.save(path)
    return path, agent


def agent_class(name):
    return type(make_agent(name))


def rewrite_zip(path, rewrite):
    """Rewrite the entries of the zip file ``path`` (an SB3 checkpoint): ``rewrite`` changes the dict of them."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    rewrite(files)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def parameters(agent):
    return [tensor.clone() for tensor in agent.model.state_dict().values()]


CONTINUE = """
import sys, torch
torch.set_num_threads(1)  # as the tests run: the same sums in the same order
from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.pg import PolicyGradientAgent
agent = PolicyGradientAgent.load(sys.argv[1])
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
    loaded = PolicyGradientAgent.load(tmp_path / "pg.pt")
    assert loaded.warm_start_tokens == agent.warm_start_tokens >= 100
    assert loaded.num_updates == agent.num_updates > 0 and loaded.kl_coef == agent.kl_coef
    assert loaded.optimizer.state_dict()["state"].keys() == agent.optimizer.state_dict()["state"].keys()
    steps = [s["step"] for s in loaded.optimizer.state_dict()["state"].values()]
    assert steps == [s["step"] for s in agent.optimizer.state_dict()["state"].values()] and steps[0] > 0
    assert all(torch.equal(a, b) for a, b in zip(loaded.reference.parameters(), agent.reference.parameters()))


@pytest.mark.parametrize("name", sorted(SAVED))
def test_load_makes_a_new_agent_that_predicts_as_the_saved_one(tmp_path, name):
    path, agent = saved_agent(tmp_path, name)
    loaded = agent_class(name).load(path)
    assert type(loaded) is type(agent) and loaded is not agent
    assert loaded.seed == agent.seed and loaded.num_env_steps == agent.num_env_steps
    obs = np.stack([gym.make(COPY).reset(seed=seed)[0] for seed in range(20)])
    assert np.array_equal(loaded.predict(obs), agent.predict(obs))


@pytest.mark.parametrize("name", sorted(SAVED))
def test_a_file_that_is_not_a_checkpoint_gets_one_error_naming_it(tmp_path, name):
    whole = saved_agent(tmp_path, name)[0].read_bytes()
    other = "random" if name != "random" else "pg"
    wrong_agent = saved_agent(tmp_path, other)[0]
    for content in (whole[: len(whole) // 2], b"", b"\x00garbage\xff" * 10, json.dumps([1, 2]).encode()):
        path = tmp_path / "broken.ckpt"
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match=f"^'{path}'"):
            agent_class(name).load(path)
    with pytest.raises(CheckpointError, match=f"^'{wrong_agent}'"):
        agent_class(name).load(wrong_agent)
    with pytest.raises(FileNotFoundError):
        agent_class(name).load(tmp_path / "missing.ckpt")


def test_a_pg_checkpoint_of_another_shape_is_refused_by_name(tmp_path):
    path = saved_agent(tmp_path, "pg")[0]
    state = torch.load(path, weights_only=True)
    state["model"] = {key: torch.zeros(3) for key in state["model"]}
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=f"^'{path}' is not a PolicyGradientAgent checkpoint: RuntimeError"):
        PolicyGradientAgent.load(path)


def flat(config, sizes=None):
    """A config in the layout checkpoints had before the model's sizes were nested: the sizes (``sizes`` of them,
    all by default) among the other options and, for pg and supervised, the Hugging Face model as ``model``."""
    options = {name: value for name, value in config.items() if name not in ("model", "hf_model")}
    model = {name: value for name, value in config["model"].items() if sizes is None or name in sizes}
    return {**options, **model, **({"model": config["hf_model"]} if "hf_model" in config else {})}


@pytest.mark.parametrize("name", ["pg", "supervised"])
def test_a_checkpoint_with_the_model_sizes_saved_flat_still_loads(tmp_path, name):
    path, agent = saved_agent(tmp_path, name, model={**SMALL_MODEL, "positions": "rotary"})
    state = torch.load(path, weights_only=True)
    old = flat(state["config"])
    assert old["d_model"] == 32 and old["positions"] == "rotary" and old["model"] is None
    torch.save({**state, "config": old}, path)
    loaded = agent_class(name).load(path)
    assert loaded.config == agent.config and loaded.config.model.positions == "rotary"
    obs = np.stack([gym.make(COPY).reset(seed=seed)[0] for seed in range(20)])
    assert np.array_equal(loaded.predict(obs), agent.predict(obs))
    loaded.learn(COPY, 64)


def test_a_transformer_ppo_checkpoint_from_before_the_model_option_still_loads(tmp_path):
    """Its config held the four sizes flat, and SB3 saved them (no dropout, no positions) as the keyword arguments
    of the features extractor."""
    path, agent = saved_agent(tmp_path, "sb3-ppo-transformer")
    sizes = ("d_model", "n_heads", "n_layers", "d_ff")

    def to_old_layout(files):
        state = json.loads(files[AGENT_STATE_FILE])
        files[AGENT_STATE_FILE] = json.dumps({**state, "config": flat(state["config"], sizes)}).encode()
        data = json.loads(files["data"])
        entry = data["policy_kwargs"]
        policy_kwargs = pickle.loads(base64.b64decode(entry[":serialized:"]))
        kwargs = policy_kwargs["features_extractor_kwargs"]
        policy_kwargs["features_extractor_kwargs"] = {name: kwargs[name] for name in ("prompt_len", *sizes)}
        entry[":serialized:"] = base64.b64encode(pickle.dumps(policy_kwargs)).decode()
        files["data"] = json.dumps(data).encode()

    rewrite_zip(path, to_old_layout)
    loaded = TransformerPPOAgent.load(path)
    assert loaded.config == agent.config and loaded.config.model.d_model == 32
    obs = np.stack([gym.make(COPY).reset(seed=seed)[0] for seed in range(20)])
    assert np.array_equal(loaded.predict(obs), agent.predict(obs))


class RunsAShellCommand:
    """What a crafted checkpoint entry does when unpickled: call ``os.system``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_an_sb3_checkpoint_with_code_in_its_data_is_refused_without_running_it(tmp_path):
    path = saved_agent(tmp_path, "sb3-ppo")[0]
    marker = tmp_path / "code-ran"

    def add_code(files):
        data = json.loads(files["data"])
        data["policy_class"][":serialized:"] = base64.b64encode(pickle.dumps(RunsAShellCommand(marker))).decode()
        files["data"] = json.dumps(data).encode()

    rewrite_zip(path, add_code)
    with pytest.raises(CheckpointError, match="entry 'policy_class' of its data is refused: it names posix.system"):
        PPOAgent.load(path)
    assert not marker.exists()
