"""RL Baselines3 Zoo trains on textgym's IDs with the hyper-parameter files textgym ships, end to end with the real
``rl_zoo3`` package, as the README's command runs it."""

import subprocess
import sys

import pytest
from sb3_contrib import MaskablePPO  # noqa: F401  (RL Zoo imports it too)
from stable_baselines3 import A2C, DQN, PPO
from test_sb3_learns import SMALL_COPY, greedy_success

from textgym.benchmarks import RL_ZOO_DIR

ALGORITHMS = {"ppo": PPO, "a2c": A2C, "dqn": DQN}


def zoo_train(algo, steps, folder):
    """``python -m rl_zoo3.train`` on a small Copy; the trained model."""
    env_kwargs = [f"{key}:{value}" for key, value in SMALL_COPY.items()] + ["reward_mode:'dense'"]
    command = [sys.executable, "-m", "rl_zoo3.train", "--algo", algo, "--env", "textgym/Copy-v0"]
    command += ["--gym-packages", "textgym", "--conf-file", str(RL_ZOO_DIR / f"{algo}.yml"), "-n", str(steps)]
    command += ["--env-kwargs", *env_kwargs, "-f", str(folder), "--seed", "0", "--eval-freq", "-1"]
    subprocess.run(command, check=True, capture_output=True)
    (saved,) = folder.glob(f"{algo}/textgym-Copy-v0_1/textgym-Copy-v0.zip")
    return ALGORITHMS[algo].load(saved, device="cpu")


def test_the_shipped_files_cover_every_algorithmic_id_for_each_algorithm():
    import yaml

    for algo in ALGORITHMS:
        config = yaml.safe_load((RL_ZOO_DIR / f"{algo}.yml").read_text())
        assert {"textgym/Copy-v0", "textgym/Addition-v0", "default"} <= set(config)
        assert config["default"]["env_kwargs"] == {"reward_mode": "dense"}


@pytest.mark.learning
def test_rl_zoo_ppo_learns_small_copy_with_the_shipped_hyperparameters(tmp_path):
    model = zoo_train("ppo", 16_384, tmp_path)
    assert greedy_success(model, "test") >= 0.3  # random: below 0.05


@pytest.mark.parametrize("algo", ["a2c", "dqn"])
def test_rl_zoo_trains_a2c_and_dqn_on_textgym_end_to_end(tmp_path, algo):
    model = zoo_train(algo, 1_000, tmp_path)
    assert model.num_timesteps >= 1_000
