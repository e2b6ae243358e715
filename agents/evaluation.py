"""Greedy evaluation on a fixed, seeded set of held-out prompts: the same prompts for every agent."""

from __future__ import annotations

from typing import Any

import numpy as np

from textgym.agents.base import Agent
from textgym.agents.envs import as_vector_env


def evaluation_options(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The environment options an evaluation uses: ``env_kwargs`` less ``curriculum``, because a curriculum shapes
    training, and evaluation covers the split's whole distribution."""
    return {key: value for key, value in env_kwargs.items() if key != "curriculum"}


def evaluate(
    agent: Agent,
    env_id: str,
    episodes: int = 200,
    seed: int = 10_000,
    split: str = "test",
    deterministic: bool = True,
    num_envs: int = 200,
    **env_kwargs: Any,
) -> dict[str, float]:
    """Mean score and success rate of ``agent`` over ``episodes`` episodes of ``env_id``, and the mean of every
    other number the task reports in its final info (a dialogue's ``turns``, sentiment continuation's ``fluency``
    and ``sentiment``, ...).

    Episode ``i`` is the one ``reset(seed=seed + i)`` draws from ``split``, so every agent sees the same prompts.

    Args:
        agent: any agent of the protocol; only ``predict`` is called.
        env_id: a registered ID.
        episodes: number of episodes.
        seed: seed of the first episode.
        split: which prompts; ``"test"`` by default (never trained on).
        deterministic: greedy actions (default) or sampled ones.
        num_envs: episodes played side by side.
        **env_kwargs: task and environment options (less a ``curriculum``: :func:`evaluation_options`).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    scores, successes = [], []
    reported: dict[str, list[float]] = {}
    env = as_vector_env(env_id, num_envs=min(num_envs, episodes), split=split, **evaluation_options(env_kwargs))
    n = env.num_envs
    for start in range(0, episodes, n):
        count = min(n, episodes - start)
        obs, _ = env.reset(seed=[seed + start + i for i in range(n)])
        done = np.zeros(n, dtype=bool)
        done[count:] = True  # surplus sub-environments of the last block are not counted
        while not done.all():
            obs, _, terminated, truncated, info = env.step(agent.predict(obs, deterministic=deterministic))
            finished = (terminated | truncated) & ~done
            for i in np.flatnonzero(finished):
                scores.append(float(info["score"][i]))
                successes.append(bool(info["success"][i]))
                for key, value in final_numbers(info, i).items():
                    reported.setdefault(key, []).append(value)
            done |= finished
    env.close()
    result = {"score": float(np.mean(scores)), "success": float(np.mean(successes)), "episodes": len(scores)}
    # an entry some episodes lack (a key reported only on success, say) would average over a biased subset: left out
    result.update({key: float(np.mean(values)) for key, values in reported.items() if len(values) == len(scores)})
    return result


def final_numbers(info: dict[str, Any], row: int) -> dict[str, float]:
    """The real-valued entries of a vector environment's ``info`` that row ``row`` holds (its final info when the
    row has just ended), less ``score`` and ``success``: booleans, strings and arrays are left out."""
    numbers = {}
    for key, values in info.items():
        held = info.get(f"_{key}")  # gymnasium's mask of the rows that hold ``key``
        if key.startswith("_") or key in ("score", "success") or (held is not None and not held[row]):
            continue
        value = values[row]
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
            numbers[key] = float(value)
    return numbers
