"""An SB3 ``VecEnv`` over the native :class:`~textgym.vector_env.TextGenVectorEnv`, so Stable-Baselines3 algorithms
train on the batched environment instead of a Python loop over single environments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from textgym.vector_env import TextGenVectorEnv


class TextGenSB3VecEnv(VecEnv):
    """Stable-Baselines3 ``VecEnv`` over :class:`~textgym.vector_env.TextGenVectorEnv`.

    SB3 cannot consume a Gymnasium vector environment: it expects same-step resets, one info dict per
    sub-environment and its own method names. This adapter steps the native environment in
    ``AutoresetMode.SAME_STEP`` and returns, for the same seeds and actions, exactly what SB3's ``DummyVecEnv`` over
    ``TextGenEnv`` returns:

    - ``reset()`` seeds sub-environment ``i`` with ``seed + i`` after ``seed(seed)`` (SB3's convention) and fills
      ``reset_infos`` (``prompt``, ``references``, ``action_mask``);
    - ``step`` returns observations ``(N, P + G)`` int64, rewards float32, dones, and a list of info dicts: each has
      ``action_mask`` and ``TimeLimit.truncated`` (always False: episodes are never truncated); a finished episode's
      dict adds ``generated``, ``score``, ``success`` and ``terminal_observation`` (its last observation), and the
      returned observation already starts the next episode, whose reset info goes to ``reset_infos``;
    - ``env_method("action_masks")`` returns one mask per sub-environment and ``has_attr("action_masks")`` is True,
      so sb3-contrib's ``MaskablePPO`` uses the masks;
    - ``get_attr`` returns an attribute of the native environment (task, tokenizer, split, ...; they are shared by
      all sub-environments) once per requested index, ``set_attr`` sets one for all of them, and
      ``env_is_wrapped`` is False (there are no Gymnasium wrappers).

    Wrap it in SB3's ``VecMonitor`` for episode statistics in SB3's logs.

    Args:
        env: a registered ID, made with ``gym.make_vec`` in same-step mode, or a ``TextGenVectorEnv`` built with
            ``autoreset_mode=AutoresetMode.SAME_STEP``.
        num_envs: sub-environments to make for an ID.
        **env_kwargs: task and environment options for an ID (``split``, ``reward_mode``, ``max_length``, ...).
    """

    def __init__(self, env: str | TextGenVectorEnv, num_envs: int = 1, **env_kwargs: Any) -> None:
        if isinstance(env, str):
            env = gym.make_vec(
                env,
                num_envs=num_envs,
                vectorization_mode="vector_entry_point",
                autoreset_mode=AutoresetMode.SAME_STEP,
                **env_kwargs,
            )
        elif env_kwargs:
            raise ValueError(f"environment options {sorted(env_kwargs)} given with an already built environment")
        if not isinstance(env, TextGenVectorEnv):
            raise ValueError(f"env must be a registered textgym ID or a TextGenVectorEnv, got {env!r}")
        if env.autoreset_mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"env resets in mode {env.autoreset_mode}; SB3 needs AutoresetMode.SAME_STEP "
                "(make it with autoreset_mode=AutoresetMode.SAME_STEP)"
            )
        self.venv = env
        self._actions: np.ndarray | None = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

    def reset(self) -> VecEnvObs:
        options = [options for options in self._options if options]
        if options:
            raise ValueError(f"unknown reset option(s) {options}; textgym environments take none")
        obs, info = self.venv.reset(seed=list(self._seeds))
        self.reset_infos = [self._reset_info(info, i) for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() was called without step_async(actions)")
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        time_limit = (truncated & ~terminated).tolist()
        infos = [
            {"action_mask": mask, "TimeLimit.truncated": cut} for mask, cut in zip(info["action_mask"], time_limit)
        ]
        for i in np.flatnonzero(dones).tolist():
            final = info["final_info"]
            infos[i] = {
                "action_mask": final["action_mask"][i],
                "generated": final["generated"][i],
                "score": final["score"][i].item(),
                "success": final["success"][i].item(),
                "TimeLimit.truncated": time_limit[i],
                "terminal_observation": info["final_obs"][i],
            }
            self.reset_infos[i] = self._reset_info(info, i)
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        if sorted(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"set_attr({attr_name!r}) for indices {indices!r}: the sub-environments share their attributes, so "
                "only all of them can be set at once (indices=None)"
            )
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        if method_name != "action_masks":
            raise AttributeError(
                f"env_method({method_name!r}): the sub-environments answer only 'action_masks'; call the native "
                "environment's methods on .venv"
            )
        masks = self.venv.action_masks(*method_args, **method_kwargs)
        return [masks[i] for i in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    @staticmethod
    def _reset_info(info: dict[str, Any], i: int) -> dict[str, Any]:
        """Sub-environment ``i``'s reset info, as ``TextGenEnv.reset`` returns it."""
        return {key: info[key][i] for key in ("prompt", "references", "action_mask")}

    def _get_indices(self, indices: VecEnvIndices) -> Sequence[int]:
        indices = list(super()._get_indices(indices))
        outside = [i for i in indices if not 0 <= i < self.num_envs]
        if outside:
            raise IndexError(f"indices {outside} are outside the {self.num_envs} sub-environments")
        return indices
