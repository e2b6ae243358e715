"""Stable-Baselines3 baselines behind the agent protocol: ``sb3-ppo``, ``sb3-a2c``, ``sb3-dqn``, ``sb3-maskable-ppo``,
and ``sb3-ppo-transformer`` (PPO with our Transformer as its features extractor).

Every baseline uses SB3's ``MlpPolicy`` (SB3 one-hot encodes the ``MultiDiscrete`` token-id observations) and
trains on the VecEnv that :func:`make_sb3_vec_env` builds. Hyper-parameters are SB3's defaults except where a
field's comment gives the reason; every one is an option of the agent (``make_agent("sb3-ppo", n_epochs=4)``).

Budgets are exact: ``learn(env, n)`` stops after ``n`` environment steps (rounded up to a multiple of
``num_envs``), even inside a rollout; a rollout cut short by the budget is not trained on.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec
from gymnasium.vector import AutoresetMode
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import TrainFrequencyUnit
from stable_baselines3.common.vec_env import VecEnv

import textgym  # noqa: F401  (registers the textgym IDs)
from textgym.agents.base import (
    Agent,
    Callback,
    EnvLike,
    batch_observations,
    check_option_types,
    check_total_steps,
    make_config,
    reading_checkpoint,
)
from textgym.agents.sb3_checkpoint import safe_custom_objects
from textgym.agents.sb3_vec_env import TextGenSB3VecEnv
from textgym.agents.torch_agent import nested_options
from textgym.agents.training_log import checked_log_dir
from textgym.agents.transformer import ModelConfig, TransformerConfig, TransformerPolicy

AGENT_STATE_FILE = "textgym_agent.json"
"""The entry that :meth:`SB3Agent.save` adds to SB3's zip file: the agent's seed, options and action mask."""


def make_sb3_vec_env(env: EnvLike, num_envs: int, seed: int) -> VecEnv:
    """The SB3 ``VecEnv`` every baseline trains on: the adapter over the native batched environment, which returns
    exactly what SB3's ``DummyVecEnv`` over ``num_envs`` copies of ``TextGenEnv`` would, without the Python loop.

    Args:
        env: a registered ID or an ``EnvSpec`` (an ID with options). A Gymnasium vector environment is refused:
            SB3 needs same-step resets and its own seeding, so the baseline builds its own.
        num_envs: sub-environments stepped side by side.
        seed: sub-environment ``i`` starts from ``reset(seed=seed + i)``.
    """
    if not isinstance(env, (str, EnvSpec)):
        raise ValueError(f"SB3 baselines train on a registered ID or an EnvSpec, got {env!r}")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    native = gym.make_vec(
        env, num_envs=num_envs, vectorization_mode="vector_entry_point", autoreset_mode=AutoresetMode.SAME_STEP
    )
    vec_env = TextGenSB3VecEnv(native)
    vec_env.seed(seed)
    return vec_env


@dataclass
class SB3Config:
    """Options every SB3 baseline takes."""

    num_envs: int = 8  # environments stepped side by side; batching the policy's forward pass is what makes SB3 fast
    net_arch: tuple[int, ...] = (64, 64)  # hidden layer sizes of the MLP (SB3's default)
    device: str = "cpu"  # SB3's "auto" picks a GPU, which is slower than the CPU for MLPs this small
    log_dir: str | None = None  # SB3's tensorboard_log: its TensorBoard events (needs textgym[tensorboard])

    def __post_init__(self) -> None:
        check_option_types(self)
        self.log_dir = checked_log_dir(self.log_dir)
        self.net_arch = tuple(self.net_arch)  # a list from a suite file or a saved agent means the same


@dataclass
class ActorCriticConfig(SB3Config):
    """What PPO and A2C share, with the defaults they share in SB3."""

    gamma: float = 0.99
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5


@dataclass
class PPOConfig(ActorCriticConfig):
    """PPO's hyper-parameters (``sb3-ppo`` and ``sb3-maskable-ppo``)."""

    learning_rate: float = 3e-4
    n_steps: int = 256  # per environment: 256 x 8 = 2048 transitions per update, SB3's default rollout size
    batch_size: int = 64
    n_epochs: int = 10
    gae_lambda: float = 0.95
    clip_range: float = 0.2


@dataclass
class A2CConfig(ActorCriticConfig):
    """A2C's hyper-parameters (SB3's defaults; A2C is made for several environments in parallel)."""

    learning_rate: float = 7e-4
    n_steps: int = 5
    gae_lambda: float = 1.0
    use_rms_prop: bool = True
    normalize_advantage: bool = False


@dataclass
class DQNConfig(SB3Config):
    """DQN's hyper-parameters (SB3's defaults unless commented)."""

    num_envs: int = 4  # with train_freq=1: one gradient step per 4 transitions, SB3's default ratio
    learning_rate: float = 1e-4
    buffer_size: int = 1_000_000
    learning_starts: int = 100
    batch_size: int = 32
    tau: float = 1.0
    gamma: float = 0.99
    train_freq: int = 1  # in steps of all environments (4 transitions); SB3's default is 4 steps of one environment
    gradient_steps: int = 1
    target_update_interval: int = 10_000
    exploration_fraction: float = 0.1
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.05


class SB3Agent(Agent):
    """An SB3 algorithm with ``MlpPolicy`` behind the agent protocol.

    ``learn`` builds the model on its first call and continues training on later calls (SB3's
    ``reset_num_timesteps=False``); ``callback`` is called after every rollout and its update, and once at the end
    of ``learn``, with ``{"env_steps": ...}``. ``save`` writes SB3's zip file with the agent's own state added.

    Args:
        seed: seeds SB3 (Python, NumPy and torch generators) and the environments.
        **options: fields of the algorithm's config class (:class:`PPOConfig`, :class:`A2CConfig`,
            :class:`DQNConfig`); an unknown one is a ``ValueError`` naming it.
    """

    algorithm: ClassVar[type[BaseAlgorithm]]
    config_class: ClassVar[type[SB3Config]]
    policy_options: ClassVar[tuple[str, ...]] = ("num_envs", "net_arch", "device")
    """Config fields that shape the policy or the environment rather than being arguments of the algorithm."""

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed)
        self.config = make_config(self.config_class, options)
        self.model: BaseAlgorithm | None = None
        self._env: EnvSpec | None = None

    def learn(self, env: EnvLike, total_steps: int, callback: Callback | None = None) -> SB3Agent:
        total_steps = check_total_steps(total_steps)
        spec = gym.spec(env) if isinstance(env, str) else env
        if self.model is None:
            self.model = self._build_model(make_sb3_vec_env(spec, self.config.num_envs, self.seed))
        elif spec != self._env:
            self.model.set_env(make_sb3_vec_env(spec, self.config.num_envs, self.seed))
        self._env = spec
        bridge = _ProtocolBridge(self, self.num_env_steps + total_steps, callback)
        self.model.learn(total_timesteps=total_steps, callback=bridge, reset_num_timesteps=False)
        self.num_env_steps = self.model.num_timesteps
        return self

    @property
    def log_dir(self) -> str | None:
        """Where SB3 writes its TensorBoard events (the ``log_dir`` option, SB3's ``tensorboard_log``); the
        benchmark runner sets it per trial."""
        return self.config.log_dir

    @log_dir.setter
    def log_dir(self, directory: str | Path | None) -> None:
        self.config.log_dir = checked_log_dir(directory)
        if self.model is not None:
            self.model.tensorboard_log = self.config.log_dir

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        if self.model is None:
            raise RuntimeError(
                f"{type(self).__name__}.predict needs a model: call learn(env, ...) first, or make it with load(path)"
            )
        actions, _ = self.model.predict(batch_observations(obs), deterministic=deterministic)
        return np.asarray(actions, dtype=np.int64).reshape(-1)

    def save(self, path: str | Path) -> None:
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__} has nothing to save: call learn(env, ...) first")
        with open(path, "wb") as file:
            self.model.save(file)
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(AGENT_STATE_FILE, json.dumps(self._state()))

    @classmethod
    def load(cls, path: str | Path) -> SB3Agent:
        """A new agent restored from the file ``path`` that :meth:`save` wrote (on the device it was saved with),
        its pickled entries read as data only (:func:`~textgym.agents.sb3_checkpoint.safe_custom_objects`);
        :class:`~textgym.agents.base.CheckpointError` naming the file when it holds no such agent or holds code.

        Args:
            path: the file.
        """
        with reading_checkpoint(path, cls.__name__):
            with zipfile.ZipFile(path) as archive:
                state = json.loads(archive.read(AGENT_STATE_FILE))
            agent = cls(seed=state["seed"], **nested_options(state["config"]))
            agent._restore(state)
            custom_objects = safe_custom_objects(path)
            with open(path, "rb") as file:
                agent.model = cls.algorithm.load(file, device=agent.config.device, custom_objects=custom_objects)
            agent.model.tensorboard_log = agent.config.log_dir
            agent.num_env_steps = agent.model.num_timesteps
        return agent

    def _build_model(self, vec_env: VecEnv) -> BaseAlgorithm:
        options = dataclasses.asdict(self.config)
        for name in self.policy_options:
            del options[name]
        options["tensorboard_log"] = options.pop("log_dir")
        return self.algorithm(
            "MlpPolicy",
            vec_env,
            seed=self.seed,
            device=self.config.device,
            policy_kwargs=self._policy_kwargs(vec_env),
            **options,
        )

    def _policy_kwargs(self, vec_env: VecEnv) -> dict[str, Any]:
        """SB3's ``policy_kwargs`` for the policy trained on ``vec_env``."""
        return {"net_arch": list(self.config.net_arch)}

    def _state(self) -> dict[str, Any]:
        """What :meth:`save` stores beside SB3's own files."""
        return {"seed": self.seed, "config": dataclasses.asdict(self.config)}

    def _restore(self, state: dict[str, Any]) -> None:
        """Restore the extra state of subclasses from what :meth:`_state` stored."""

    def _after_rollout(self) -> None:
        """Called after every completed rollout, before its update."""


class PPOAgent(SB3Agent):
    """``sb3-ppo``: SB3's PPO. Options: :class:`PPOConfig`."""

    algorithm = PPO
    config_class = PPOConfig


class A2CAgent(SB3Agent):
    """``sb3-a2c``: SB3's A2C. Options: :class:`A2CConfig`."""

    algorithm = A2C
    config_class = A2CConfig


class DQNAgent(SB3Agent):
    """``sb3-dqn``: SB3's DQN. Options: :class:`DQNConfig`."""

    algorithm = DQN
    config_class = DQNConfig


class MaskablePPOAgent(SB3Agent):
    """``sb3-maskable-ppo``: sb3-contrib's MaskablePPO, which samples only the tokens the environment's
    ``action_masks()`` allows. Options: :class:`PPOConfig`.

    The protocol's ``predict`` receives observations only, so the agent remembers which tokens the environment
    ever allowed during training and masks the rest at prediction. That is exact for tasks whose valid tokens do
    not depend on the state (every algorithmic task) and a superset of the valid tokens otherwise.
    """

    algorithm = MaskablePPO
    config_class = PPOConfig

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed, **options)
        self.valid_actions: np.ndarray | None = None

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        if self.model is None or self.valid_actions is None:
            return super().predict(obs, deterministic)
        obs = batch_observations(obs)
        masks = np.repeat(self.valid_actions[None], len(obs), axis=0)
        actions, _ = self.model.predict(obs, deterministic=deterministic, action_masks=masks)
        return np.asarray(actions, dtype=np.int64).reshape(-1)

    def _after_rollout(self) -> None:
        masks = self.model.rollout_buffer.action_masks
        seen = masks.reshape(-1, masks.shape[-1]).any(axis=0)
        self.valid_actions = seen if self.valid_actions is None else self.valid_actions | seen

    def _state(self) -> dict[str, Any]:
        valid = None if self.valid_actions is None else self.valid_actions.tolist()
        return {**super()._state(), "valid_actions": valid}

    def _restore(self, state: dict[str, Any]) -> None:
        valid = state["valid_actions"]
        self.valid_actions = None if valid is None else np.asarray(valid, dtype=bool)


@dataclass
class TransformerPPOConfig(PPOConfig):
    """PPO's hyper-parameters plus the Transformer's sizes, ``model`` (a
    :class:`~textgym.agents.transformer.ModelConfig` or a dict of its fields; the ``pg`` agent's defaults, so that
    the two agents differ in the algorithm only); ``net_arch`` sizes SB3's policy and value heads on top of the
    features."""

    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        self.model = ModelConfig.of(self.model)
        super().__post_init__()


class TransformerFeaturesExtractor(BaseFeaturesExtractor):
    """Our :class:`~textgym.agents.transformer.TransformerPolicy` as an SB3 features extractor.

    SB3 one-hot encodes ``MultiDiscrete`` observations before a features extractor sees them; this one takes the
    ids back (argmax over each slot's one-hot block), reads them as the Transformer does, and returns the hidden
    state that chooses the next token (``features_dim = d_model``). SB3's heads map it to logits and a value.

    Args:
        observation_space: the environment's ``MultiDiscrete([V] * (P + G))``.
        prompt_len: P, the prompt slots.
        **model: the Transformer's sizes, fields of :class:`~textgym.agents.transformer.ModelConfig` (SB3 saves
            them with the policy; a checkpoint from before ``dropout`` and ``positions`` were options names the
            other four only).
    """

    def __init__(self, observation_space: spaces.MultiDiscrete, prompt_len: int, **model: Any) -> None:
        slots = len(observation_space.nvec)
        config = TransformerConfig(
            vocab_size=int(observation_space.nvec[0]), prompt_len=prompt_len, max_len=slots + 1, **model
        )
        super().__init__(observation_space, features_dim=config.d_model)
        self.vocab_size, self.slots = config.vocab_size, slots
        self.transformer = TransformerPolicy(config)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        ids = observations.view(-1, self.slots, self.vocab_size).argmax(dim=-1)
        return self.transformer.features(ids)


class TransformerPPOAgent(SB3Agent):
    """``sb3-ppo-transformer``: SB3's PPO with :class:`TransformerFeaturesExtractor`, our Transformer, in place of
    the MLP's input layers. Options: :class:`TransformerPPOConfig`."""

    algorithm = PPO
    config_class = TransformerPPOConfig
    policy_options = (*SB3Agent.policy_options, "model")

    def _policy_kwargs(self, vec_env: VecEnv) -> dict[str, Any]:
        prompt_len = vec_env.get_attr("task")[0].max_prompt_len
        return {
            **super()._policy_kwargs(vec_env),
            "features_extractor_class": TransformerFeaturesExtractor,
            "features_extractor_kwargs": {"prompt_len": prompt_len, **dataclasses.asdict(self.config.model)},
            "share_features_extractor": True,
        }


class _ProtocolBridge(BaseCallback):
    """Turns SB3's callback events into the protocol's: report after updates, stop at the exact budget.

    Args:
        agent: the agent whose model is learning.
        target: the value of ``num_timesteps`` at which learning stops.
        callback: the protocol callback, or ``None``.
    """

    def __init__(self, agent: SB3Agent, target: int, callback: Callback | None) -> None:
        super().__init__()
        self.agent = agent
        self.target = target
        self.callback = callback
        self.stop = False
        self.start = -1
        self.rollout_start = 0
        self.reported = -1

    def _on_training_start(self) -> None:
        self.start = self.model.num_timesteps

    def _on_rollout_start(self) -> None:
        self.rollout_start = self.model.num_timesteps
        if self.rollout_start > self.start:  # an update has just been made
            self._report()

    def _on_rollout_end(self) -> None:
        self.agent._after_rollout()

    def _on_step(self) -> bool:
        steps = self.model.num_timesteps
        if self.stop:
            return False
        if steps < self.target:
            return True
        # At the budget: finish only a rollout that is complete with this step, so that it is trained on.
        rollout_size = _rollout_size(self.model)
        return rollout_size is not None and steps - self.rollout_start >= rollout_size

    def _on_training_end(self) -> None:
        if self.model.num_timesteps != self.reported:
            self._report()

    def _report(self) -> None:
        self.reported = self.agent.num_env_steps = self.model.num_timesteps
        if self.callback is not None and self.callback({"env_steps": self.reported}) is False:
            self.stop = True


def _rollout_size(model: BaseAlgorithm) -> int | None:
    """Transitions per rollout of ``model``, or ``None`` when a rollout is counted in episodes."""
    if isinstance(model, OnPolicyAlgorithm):
        return model.n_steps * model.n_envs
    if model.train_freq.unit == TrainFrequencyUnit.STEP:
        return model.train_freq.frequency * model.n_envs
    return None
