"""The agent protocol every agent follows, ours, SB3's and third parties' alike."""

from __future__ import annotations

import contextlib
import dataclasses
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

Callback = Callable[[dict[str, Any]], bool | None]
"""Called after every update with a dict of metrics (at least ``env_steps``); returning ``False`` stops learning."""

EnvLike = str | gym.envs.registration.EnvSpec | gym.vector.VectorEnv
"""A registered environment ID (e.g. ``"textgym/Copy-v0"``), an ``EnvSpec`` (an ID with options, as
:func:`textgym.agents.envs.env_spec` makes it; ``gym.make`` and ``gym.make_vec`` take it like an ID) or a
Gymnasium vector environment."""


class Agent(ABC):
    """An agent that learns on textgym environments.

    The protocol is four methods; the benchmark runner uses nothing else:

    - ``learn(env, total_steps, callback=None) -> self``: train for ``total_steps`` more environment steps
      (calling it again continues training; ``num_env_steps`` counts them all);
    - ``predict(obs, deterministic=True) -> actions``: actions for a batch of observations, shape ``(N,)``;
    - ``save(path)`` and the class method ``load(path) -> agent``: everything needed to predict again, in one file,
      and a new agent restored from it (as Stable-Baselines3's ``PPO.load(path)``).

    Args:
        seed: seeds every source of randomness the agent owns.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.num_env_steps = 0

    @abstractmethod
    def learn(self, env: EnvLike, total_steps: int, callback: Callback | None = None) -> Agent:
        """Train for ``total_steps`` environment steps on ``env``."""

    @abstractmethod
    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions (int64, shape ``(N,)``) for observations of shape ``(N, P + G)``."""

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the agent to ``path``."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> Agent:
        """A new agent restored from the file ``path`` that :meth:`save` wrote.

        Args:
            path: the file.
        """


class CheckpointError(ValueError):
    """A file that is not a checkpoint the agent can load: truncated, empty, of another agent, of another shape,
    or holding code where data belongs."""


@contextlib.contextmanager
def reading_checkpoint(path: str | Path, agent: str) -> Iterator[None]:
    """Turn any error inside the block (reading and restoring ``path``) into a :class:`CheckpointError` that names
    the file, the agent and what went wrong; a missing file stays a ``FileNotFoundError``."""
    try:
        yield
    except (CheckpointError, FileNotFoundError):
        raise
    except Exception as error:
        raise CheckpointError(f"{str(path)!r} is not a {agent} checkpoint: {type(error).__name__}: {error}") from error


def check_total_steps(total_steps: Any) -> int:
    """``total_steps`` as an int, or ``ValueError`` naming it when it is not a non-negative integer."""
    if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps < 0:
        raise ValueError(f"total_steps must be a non-negative integer, got {total_steps!r}")
    return int(total_steps)


def batch_observations(obs: np.ndarray) -> np.ndarray:
    """``obs`` as a 2-D int64 batch; a single observation becomes a batch of one."""
    obs = np.asarray(obs)
    if obs.ndim == 1:
        obs = obs[None]
    if obs.ndim != 2 or not np.issubdtype(obs.dtype, np.integer):
        raise ValueError(f"expected integer observations of shape (N, P + G), got dtype {obs.dtype} shape {obs.shape}")
    return obs.astype(np.int64, copy=False)


def _has_type(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the type hint ``hint`` as an option from code or a suite file may: an int is a
    float, a list is a tuple, a bool is neither an int nor a float."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint in (int, float):
        numbers = (int, np.integer) if hint is int else (int, float, np.integer, np.floating)
        return isinstance(value, numbers) and not isinstance(value, (bool, np.bool_))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return isinstance(value, (tuple, list)) and all(_has_type(item, args[0]) for item in value)
    return isinstance(value, origin or hint)


def make_config(config_class: type, options: dict[str, Any]) -> Any:
    """``config_class(**options)``, with ``ValueError`` naming an unknown option and listing the valid ones (and,
    for an option of a nested config, such as a model size given flat, where it goes).

    Args:
        config_class: a dataclass.
        options: its fields' values by name.
    """
    names = [field.name for field in dataclasses.fields(config_class)]
    unknown = sorted(set(options) - set(names))
    if unknown:
        message = f"unknown option(s) {unknown} for {config_class.__name__}; valid options: {names}"
        for name, hint in typing.get_type_hints(config_class).items():
            nested = [field.name for field in dataclasses.fields(hint)] if dataclasses.is_dataclass(hint) else []
            if inner := [option for option in unknown if option in nested]:
                message += f"; {inner} are options of {hint.__name__}: give them as {name}={{...}}"
        raise ValueError(message)
    return config_class(**options)


def check_option_types(config: Any) -> None:
    """``TypeError`` naming the first field of the dataclass ``config`` whose value does not have the field's type
    (agents call it first thing in their config's ``__post_init__``, so a suite's wrong option fails before any
    trial runs)."""
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if not _has_type(value, hints[field.name]):
            hint = hints[field.name]
            expected = hint.__name__ if isinstance(hint, type) else str(hint)
            raise TypeError(f"option {field.name!r} must be of type {expected}, got {value!r}")
