"""Registers every task as a Gymnasium environment ID, ``textgym/<Task>-v0``: ``gym.make`` gives a
:class:`~textgym.env.TextGenEnv` (or its text-level :class:`~textgym.text_view.TextView` with
``interface="text"``), ``gym.make_vec`` a :class:`~textgym.vector_env.TextGenVectorEnv` (or Gymnasium's
``SyncVectorEnv`` over ``TextGenEnv`` with ``vectorization_mode="sync"``)."""

from __future__ import annotations

import gymnasium as gym

from textgym.tasks import TASKS

NAMESPACE = "textgym"


def env_id(task_name: str) -> str:
    """The registered ID of a task, e.g. ``textgym/Copy-v0``."""
    return f"{NAMESPACE}/{task_name}-v0"


def register_envs() -> list[str]:
    """Register one ID per task (idempotent) and return the IDs in suite order."""
    ids = []
    for name, task_class in TASKS.items():
        id_ = env_id(name)
        if id_ not in gym.registry:
            gym.register(
                id=id_,
                entry_point="textgym.text_view:make_env",
                vector_entry_point="textgym.vector_env:TextGenVectorEnv",
                reward_threshold=task_class.reward_threshold,
                nondeterministic=False,
                kwargs={"task": name},
            )
        ids.append(id_)
    return ids
