"""TextGenVectorEnv: N text-generation episodes of one task, stepped together with numpy array operations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from textgym.env import RENDER_MODES, TextGenBase, check_reset_options, check_seed
from textgym.examples import ExampleBatch
from textgym.task import Task

Seeds = int | Sequence[int | None] | None


class TextGenVectorEnv(TextGenBase, VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """``num_envs`` episodes of :class:`~textgym.env.TextGenEnv` side by side, stepped together in numpy.

    ## Description

    Sub-environment ``i`` plays exactly the episodes that a :class:`~textgym.env.TextGenEnv` with the same options
    plays: for the same seeds and actions, this environment returns what Gymnasium's ``SyncVectorEnv`` over
    ``TextGenEnv`` returns (observations, rewards, terminations, truncations and infos), in every autoreset mode.
    Both play the rules of :mod:`textgym.episodes` (``TextGenEnv`` on one row, this class on N), so ``step``
    updates all sub-environments with array operations, and the task scores and masks all of them in one call of
    its batched methods (in numpy for the algorithmic tasks). Python code runs per sub-environment only for a task
    that scores, masks or reports a final info in Python, and, for a dialogue task, where an agent turn ends (the
    task's simulated user replies), and where a sub-environment starts an episode with an empty block of examples:
    new examples come from an :class:`~textgym.example_queue.ExampleQueue`, which draws each sub-environment's
    examples with its own generator, a block at a time (one per call for the tasks that draw one by one).

    ``gym.make_vec("textgym/Copy-v0", num_envs=N)`` returns this class (it is every ID's ``vector_entry_point``);
    ``gym.make_vec(..., vectorization_mode="sync")`` gives ``SyncVectorEnv`` over ``TextGenEnv`` instead.

    ## Spaces

    ``single_observation_space`` and ``single_action_space`` are those of ``TextGenEnv``
    (``MultiDiscrete([V] * (P + G))`` and ``Discrete(V)``); ``observation_space`` is their batch, shape
    ``(N, P + G)`` int64, and ``action_space`` is ``MultiDiscrete([V] * N)``.

    ## Rewards, episode end, success

    As in ``TextGenEnv``: sparse or dense rewards from the task's metric (dense: from its progress); a
    sub-environment terminates on ``<eos>``, when its conversation slots are full, or when a dialogue task's reply
    ends the conversation, and is never truncated: the rules of :mod:`textgym.episodes`.

    ## Autoreset

    ``autoreset_mode`` (``metadata["autoreset_mode"]``) says what happens after a sub-environment terminates:

    - ``AutoresetMode.NEXT_STEP`` (default, as in Gymnasium): the next ``step`` ignores its action and starts a
      new episode, returning its first observation with reward 0 and its reset info;
    - ``AutoresetMode.SAME_STEP``: the terminating ``step`` already returns the new episode's first observation;
      the last observation and the final step's info are in ``info["final_obs"]`` and ``info["final_info"]``;
    - ``AutoresetMode.DISABLED``: the caller restarts it with ``reset(options={"reset_mask": mask})``; stepping it
      before that raises ``ResetNeeded``.

    ## Info

    Gymnasium's vector convention: each key holds an array over sub-environments and ``_key`` a boolean array
    marking the sub-environments that reported it. The keys are those of ``TextGenEnv``: ``prompt`` and
    ``references`` (object arrays) where an episode started, ``action_mask`` (bool ``(N, V)``) for every
    sub-environment, and ``generated`` (object), ``score`` (float64), ``success`` (bool) where an episode ended
    (inside ``final_info`` in the same-step mode).

    ## Seeding

    ``reset(seed=s)`` seeds sub-environment ``i`` with ``s + i``, and ``reset(seed=[s0, s1, ...])`` with ``s_i``
    (non-negative integers, or None in a list), exactly as ``SyncVectorEnv`` does. A sub-environment's episodes
    are then a deterministic function of its seed, the same as a ``TextGenEnv``'s with that seed: its generator
    (``gymnasium.utils.seeding.np_random(seed)``'s) draws its examples in successive blocks of the task's
    ``block_size`` (:meth:`~textgym.task.Task.sample_batch`; one :meth:`~textgym.task.Task.sample` call per
    example for the tasks that draw one by one). ``seed=None`` keeps the generators and what was drawn ahead (or
    seeds them from entropy the first time).

    ## Curriculum

    With ``curriculum``, all sub-environments share one :class:`~textgym.curriculum.LengthCurriculum`: every finished
    episode counts towards it, and every new episode uses its current level. (``SyncVectorEnv`` would keep one
    curriculum per sub-environment, so the two differ in this mode.)

    ## Attributes

    Besides Gymnasium's: ``task``, ``tokenizer``, ``split``, ``reward_mode``, ``curriculum``, ``prompt_len`` (P),
    ``gen_len`` (G) as in ``TextGenEnv``, and ``examples``, an :class:`~textgym.examples.ExampleBatch` holding each
    sub-environment's current example (also as padded id arrays).

    ## Errors

    - ``actions`` not an integer array of shape ``(N,)``, or with an id outside ``[0, V)``: ``ValueError`` naming it;
    - ``step`` or :meth:`action_masks` before every sub-environment was reset, or stepping a terminated
      sub-environment with autoreset disabled: ``gymnasium.error.ResetNeeded``;
    - bad ``num_envs``, ``autoreset_mode``, seeds (an int that is negative, or a list that is not N entries each
      None or a non-negative integer: the message names the entry), ``options`` that is not a dict, a bad
      ``reset_mask`` or an unknown reset option: ``ValueError``; ``reset`` checks every seed and option before it
      changes anything, so a failed ``reset`` reseeds no sub-environment. Bad task and environment options
      (``curriculum`` included) as in ``TextGenEnv``, raised when the environment is built.

    ## Arguments

    Args:
        task: a task name from :data:`textgym.tasks.TASKS` or a :class:`~textgym.task.Task` instance.
        num_envs: N, the number of episodes played side by side.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        reward_mode: ``"sparse"`` or ``"dense"``.
        render_mode: ``None``, ``"ansi"`` (``render()`` returns one ``"prompt -> tokens so far"`` per
            sub-environment) or ``"rgb_array"`` (one image of that text per sub-environment).
        curriculum: as for ``TextGenEnv``, shared by all sub-environments (see above).
        autoreset_mode: an :class:`~gymnasium.vector.AutoresetMode` or its value (``"NextStep"``, ``"SameStep"``,
            ``"Disabled"``).
        **task_options: options of the named task, e.g. ``max_length=8``.

    Example:
        >>> import gymnasium as gym, textgym
        >>> envs = gym.make_vec("textgym/Copy-v0", num_envs=3)
        >>> obs, info = envs.reset(seed=0)
        >>> obs.shape, info["prompt"].shape
        ((3, 11), (3,))
        >>> obs, rewards, terminated, truncated, info = envs.step(envs.action_masks().argmax(axis=1))
    """

    def __init__(
        self,
        task: str | Task,
        num_envs: int = 1,
        split: str = "train",
        reward_mode: str = "sparse",
        render_mode: str | None = None,
        curriculum: bool | Mapping[str, Any] = False,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        **task_options: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if task_options.get("interface", "tokens") != "tokens":
            raise ValueError(
                f"interface {task_options['interface']!r}: the native vector environment is token-level; "
                "gym.make_vec(..., vectorization_mode='sync') gives SyncVectorEnv over the text-level view"
            )
        task_options.pop("interface", None)
        self.num_envs = int(num_envs)
        try:
            self.autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"unknown autoreset_mode {autoreset_mode!r}; expected an AutoresetMode or one of "
                f"{[mode.value for mode in AutoresetMode]}"
            ) from None
        self.metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4, "autoreset_mode": self.autoreset_mode}
        self.single_observation_space, self.single_action_space = self._configure(
            task, self.num_envs, split, reward_mode, render_mode, curriculum, task_options
        )
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        self._started = np.zeros(self.num_envs, dtype=bool)
        self._all_started = False  # self._started.all(), kept up to date by reset
        self._all_rows = self._episodes.all_rows

    def reset(self, *, seed: Seeds = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new episodes in all sub-environments, or in those of ``options["reset_mask"]`` (a bool array of
        shape ``(N,)``); ``seed`` is a non-negative int (``seed + i`` for sub-environment ``i``), a list of N
        non-negative ints or Nones, or None. Bad seeds or options raise ``ValueError`` before anything changes."""
        rows = self._rows_to_reset(options)  # these two check their arguments and change nothing
        seeds = self._seed_list(seed)
        for i in rows.tolist():
            self._queue.seed(i, seeds[i])
        self._started[rows] = True
        self._all_started = bool(self._started.all())
        info = self._episode_starts(rows)
        masks = np.zeros((self.num_envs, self.tokenizer.vocab_size), dtype=bool)
        masks[rows] = self._episodes.action_masks(rows)
        info["action_mask"], info["_action_mask"] = masks, self._flags(rows)
        return self._episodes.obs.copy(), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Apply one token id per sub-environment (an integer array of shape ``(N,)``); see the class docstring for
        autoreset and infos."""
        actions = self._check_actions(actions)
        self._check_started()
        episodes = self._episodes
        restarting = np.flatnonzero(episodes.ended)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP and restarting.size:
            rows = np.flatnonzero(~episodes.ended)
        else:
            if self.autoreset_mode == AutoresetMode.DISABLED and restarting.size:
                raise ResetNeeded(
                    f"sub-environments {restarting.tolist()} terminated and autoreset is disabled; "
                    "restart them with reset(options={'reset_mask': mask}) before stepping"
                )
            restarting, rows = self._all_rows[:0], self._all_rows

        finished, success, rewards = episodes.play(rows, actions[rows])
        terminated = self._flags(finished)
        info: dict[str, Any] = {}
        if self.autoreset_mode == AutoresetMode.SAME_STEP and finished.size:
            info["final_obs"] = self._object_column(finished, episodes.obs[finished])
            info["_final_obs"] = terminated.copy()
            final_info = self._final_info(finished, success)
            final_info["action_mask"] = np.zeros((self.num_envs, self.tokenizer.vocab_size), dtype=bool)
            final_info["action_mask"][finished] = episodes.action_masks(finished)
            final_info["_action_mask"] = terminated.copy()
            info["final_info"], info["_final_info"] = final_info, terminated.copy()
            restarting = finished
        elif finished.size:
            info.update(self._final_info(finished, success))
        if restarting.size:
            info.update(self._episode_starts(restarting))
        info["action_mask"], info["_action_mask"] = episodes.action_masks(), np.ones(self.num_envs, dtype=bool)
        return episodes.obs.copy(), rewards, terminated, np.zeros(self.num_envs, dtype=bool), info

    def action_masks(self) -> np.ndarray:
        """Boolean array ``(N, V)``: the tokens the task considers valid next in each sub-environment."""
        self._check_started()
        return self._episodes.action_masks()

    def render(self) -> tuple[str | np.ndarray, ...] | None:
        """One rendering per sub-environment: with ``render_mode="ansi"`` its ``"prompt -> tokens so far"`` ("" before
        its first reset), with ``"rgb_array"`` that text as an image; otherwise None."""
        if self.render_mode is None:
            return None
        episodes = self._episodes
        return tuple(
            self._render_episode(episodes.example(i), episodes.generated[i, : episodes.filled[i]])
            for i in range(self.num_envs)
        )

    @property
    def examples(self) -> ExampleBatch:
        """Each sub-environment's current example, one per row (a copy)."""
        return self._episodes.examples[self._all_rows]

    def _final_info(self, finished: np.ndarray, success: np.ndarray) -> dict[str, Any]:
        """``generated``, ``score``, ``success`` and the task's :meth:`~textgym.task.Task.final_info` of the episodes
        that just ended in ``finished`` (with their ``success``); also counts them for the curriculum."""
        self._record(success)
        texts, extras = self._episodes.final_info(finished)
        flags = self._flags(finished)
        succeeded = np.zeros(self.num_envs, dtype=bool)
        succeeded[finished] = success
        info = {
            "generated": self._object_column(finished, texts),
            "_generated": flags,
            "score": np.where(flags, self._episodes.scores, 0.0),
            "_score": flags.copy(),
            "success": succeeded,
            "_success": flags.copy(),
        }
        for row, extra in zip(finished.tolist(), extras):
            if extra:
                info = self._add_info(info, extra, row)
        return info

    def _episode_starts(self, rows: np.ndarray) -> dict[str, Any]:
        """Start new episodes in ``rows``; return their ``prompt`` and ``references`` infos."""
        prompts, references = self._start_episodes(rows).texts(np.arange(len(rows)))
        flags = self._flags(rows)
        return {
            "prompt": self._object_column(rows, prompts),
            "_prompt": flags,
            "references": self._object_column(rows, references),
            "_references": flags.copy(),
        }

    def _flags(self, rows: np.ndarray) -> np.ndarray:
        """A new bool array over the sub-environments, True at ``rows``."""
        flags = np.zeros(self.num_envs, dtype=bool)
        flags[rows] = True
        return flags

    def _object_column(self, rows: np.ndarray, values: Iterable[Any]) -> np.ndarray:
        """An object array over the sub-environments holding ``values`` (an object array or any iterable) at
        ``rows`` (each value kept whole, tuples and arrays included) and None elsewhere."""
        column = np.empty(self.num_envs, dtype=object)  # None everywhere
        if not (isinstance(values, np.ndarray) and values.dtype == object):
            values = np.fromiter(values, dtype=object, count=len(rows))
        column[rows] = values
        return column

    def _check_actions(self, actions: Any) -> np.ndarray:
        array = np.asarray(actions)
        if (
            array.dtype == np.int64
            and array.shape == (self.num_envs,)
            and 0 <= array.min() <= array.max() < self.tokenizer.vocab_size
        ):
            return array  # the common case, checked in three operations
        if array.shape != (self.num_envs,) or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"actions {actions!r} are not one integer token id per sub-environment; expected an integer array "
                f"of shape ({self.num_envs},), got dtype {array.dtype} and shape {array.shape}"
            )
        outside = np.flatnonzero((array < 0) | (array >= self.tokenizer.vocab_size))
        if outside.size:
            i = int(outside[0])
            raise ValueError(
                f"action {array[i].item()!r} of sub-environment {i} is outside the action space: expected token ids in "
                f"[0, {self.tokenizer.vocab_size})"
            )
        return array.astype(np.int64, copy=False)

    def _check_started(self) -> None:
        if not self._all_started:
            raise ResetNeeded(
                f"sub-environments {np.flatnonzero(~self._started).tolist()} were never reset; call reset() first"
            )

    def _rows_to_reset(self, options: dict[str, Any] | None) -> np.ndarray:
        options = dict(check_reset_options(options))
        reset_mask = options.pop("reset_mask", None)
        if options:
            raise ValueError(
                f"unknown reset option(s) {sorted(options, key=repr)}; TextGenVectorEnv.reset takes only reset_mask"
            )
        if reset_mask is None:
            return self._all_rows
        if not isinstance(reset_mask, np.ndarray) or reset_mask.dtype != bool or reset_mask.shape != (self.num_envs,):
            raise ValueError(
                f"reset_mask {reset_mask!r} must be a numpy bool array of shape ({self.num_envs},) marking the "
                "sub-environments to reset"
            )
        if not reset_mask.any():
            raise ValueError("reset_mask marks no sub-environment; at least one must be True")
        return np.flatnonzero(reset_mask)

    def _seed_list(self, seed: Seeds) -> list[int | None]:
        """Each sub-environment's seed, every one checked (:func:`~textgym.env.check_seed`) before any is used."""
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            first = int(seed)
            check_seed(seed)
            return [first + i for i in range(self.num_envs)]
        if isinstance(seed, Sequence) and not isinstance(seed, str) and len(seed) == self.num_envs:
            return [check_seed(seed_i, f"seed[{i}]") for i, seed_i in enumerate(seed)]
        raise ValueError(f"seed {seed!r} must be None, an int, or a list of {self.num_envs} ints or Nones")
