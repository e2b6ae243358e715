"""Turning what a user passes (an ID or a vector environment) into the vector environment an agent trains on."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

import textgym  # registers the textgym IDs
from textgym.agents.base import EnvLike


def env_spec(env_id: str, **options: Any) -> EnvSpec:
    """The registered spec of ``env_id`` with ``options`` added to its keyword arguments: an ID with options.

    Args:
        env_id: a registered ID; ``ValueError`` naming it when it is not registered.
        **options: task and environment options (``max_length=3``, ``reward_mode="dense"``, ...).
    """
    if env_id not in gym.registry:
        raise ValueError(f"unknown environment ID {env_id!r}; expected a registered ID, e.g. one of {textgym.ENV_IDS}")
    spec = gym.spec(env_id)
    return dataclasses.replace(spec, kwargs={**spec.kwargs, **options})


def as_vector_env(env: EnvLike, num_envs: int, seed: int | None = None, **env_kwargs: Any) -> gym.vector.VectorEnv:
    """A vector environment for ``env``.

    Args:
        env: a registered ID or an ``EnvSpec``, made with ``gym.make_vec`` (the native batched environment where
            the ID registers one), or a vector environment, returned as it is.
        num_envs: sub-environments to make for an ID.
        seed: seeds the action spaces of a new environment (episodes are seeded through ``reset``).
        **env_kwargs: options for ``gym.make_vec`` (task options, ``split``, ``reward_mode``, ...).
    """
    if isinstance(env, gym.vector.VectorEnv):
        if env_kwargs:
            raise ValueError(f"environment options {sorted(env_kwargs)} given with an already built vector env")
        return env
    if not isinstance(env, (str, EnvSpec)):
        raise ValueError(f"env must be a registered ID, an EnvSpec or a gymnasium VectorEnv, got {env!r}")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    vector_env = gym.make_vec(env, num_envs=num_envs, **env_kwargs)
    if seed is not None:
        vector_env.action_space.seed(seed)
    return vector_env
