"""TextGenEnv: one generated text per episode, one token per step."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from textgym.curriculum import LengthCurriculum
from textgym.task import Example, Task, check_split
from textgym.tasks import make_task
from textgym.tokenizers import Tokenizer

REWARD_MODES = ("sparse", "dense")
RENDER_MODES = ("ansi",)


class TextGenBase:
    """What :class:`TextGenEnv` and :class:`~textgym.vector_env.TextGenVectorEnv` share: their options, how they are
    checked, and the spaces and text of one episode. See :class:`TextGenEnv` for what each option means."""

    task: Task
    split: str
    reward_mode: str
    render_mode: str | None
    curriculum: LengthCurriculum | None
    tokenizer: Tokenizer
    prompt_len: int
    gen_len: int

    def _configure(
        self,
        task: str | Task,
        split: str,
        reward_mode: str,
        render_mode: str | None,
        curriculum: bool | Mapping[str, Any],
        task_options: Mapping[str, Any],
    ) -> tuple[spaces.MultiDiscrete, spaces.Discrete]:
        """Check the options, set the attributes above and return one episode's observation and action spaces."""
        if isinstance(task, Task):
            if task_options:
                raise ValueError(
                    f"task options {sorted(task_options)} given with a Task instance; set them on the task"
                )
            self.task = task
        else:
            self.task = make_task(task, **task_options)
        self.split = check_split(split)
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"unknown reward_mode {reward_mode!r}; expected one of {REWARD_MODES}")
        self.reward_mode = reward_mode
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"unknown render_mode {render_mode!r}; expected None or one of {list(RENDER_MODES)}")
        self.render_mode = render_mode
        self.curriculum = LengthCurriculum.from_option(curriculum, self.task.length_range)

        self.tokenizer = self.task.tokenizer
        self.prompt_len = self.task.max_prompt_len
        self.gen_len = self.task.max_gen_len
        vocab_size = self.tokenizer.vocab_size
        observation_space = spaces.MultiDiscrete(np.full(self.prompt_len + self.gen_len, vocab_size), dtype=np.int64)
        return observation_space, spaces.Discrete(vocab_size)

    def _render_episode(self, example: Example, actions: np.ndarray) -> str:
        """``"prompt -> actions so far"``, special tokens by name: the ``"ansi"`` rendering of one episode."""
        return f"{example.prompt} -> {self.tokenizer.decode(actions, skip_special=False)}"


class TextGenEnv(TextGenBase, gym.Env[np.ndarray, np.int64]):
    """Text generation as a Gymnasium environment.

    ## Description

    Each episode draws one example (a prompt and its reference answers) from a :class:`~textgym.task.Task`. The
    agent writes the answer one token per step and ends it with ``<eos>``; the task's metric scores the answer.

    ## Observation space

    ``MultiDiscrete([V] * (P + G))`` with dtype int64, where ``V`` is the vocabulary size, ``P`` the task's
    ``max_prompt_len`` and ``G`` its ``max_gen_len``:

    - slots ``[0, P)`` hold the prompt's token ids, left-aligned, then pad (0);
    - slots ``[P, P + G)`` hold the actions taken so far in this episode, left-aligned, then pad (0).

    The last action of an episode (``<eos>`` or the G-th token) is shown in the final observation. A fixed slot
    per position lets an MLP see position ``t`` of the answer at the same input index in every episode.

    ## Action space

    ``Discrete(V)``: the id of the next token. Every id is accepted: ``<eos>`` (id 1) ends the answer, any other id
    is appended to it (special tokens count as wrong symbols). :meth:`action_masks` advises which ids make sense.

    ## Rewards

    - ``reward_mode="sparse"`` (default): 0 at every step but the last, which gives the answer's score in [0, 1].
    - ``reward_mode="dense"``: at every step, the score of the answer so far minus the score before the step
      (the empty answer counts as 0), so the rewards of an episode sum to its sparse return.

    ## Episode end

    The episode terminates when the agent emits ``<eos>`` or after ``G`` generated tokens; it is never truncated.
    Success is the task's rule (exact match of a reference for the algorithmic tasks).

    ## Info

    ``reset`` returns ``prompt`` (str), ``references`` (tuple of str) and ``action_mask``; every step returns
    ``action_mask``; the final step adds ``generated`` (str; special tokens shown by name), ``score`` (float) and
    ``success`` (bool).

    ## Errors

    - an action that is not an integer id in ``[0, V)``: ``ValueError`` naming the action;
    - ``step`` before ``reset``, or after the episode terminated: ``gymnasium.error.ResetNeeded``;
    - an unknown task, task option, split, reward mode, render mode or reset option: ``ValueError``.

    ## Arguments

    Args:
        task: a task name from :data:`textgym.tasks.TASKS` or a :class:`~textgym.task.Task` instance.
        split: ``"train"``, ``"validation"`` or ``"test"``; which prompts episodes draw.
        reward_mode: ``"sparse"`` or ``"dense"``.
        render_mode: ``None`` or ``"ansi"`` (``render()`` returns ``"prompt -> tokens so far"``, ``<eos>`` by name).
        curriculum: ``False``, ``True`` or a mapping of :class:`~textgym.curriculum.LengthCurriculum` options;
            grows the input length as recent success passes a threshold (tasks with a length range only).
        **task_options: options of the named task, e.g. ``max_length=8``.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(
        self,
        task: str | Task,
        split: str = "train",
        reward_mode: str = "sparse",
        render_mode: str | None = None,
        curriculum: bool | Mapping[str, Any] = False,
        **task_options: Any,
    ) -> None:
        self.observation_space, self.action_space = self._configure(
            task, split, reward_mode, render_mode, curriculum, task_options
        )

        self.example: Example | None = None
        self.generated: list[int] = []
        self._obs = np.zeros(self.prompt_len + self.gen_len, dtype=np.int64)
        self._num_actions = 0
        self._last_score = 0.0
        self._ended = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"unknown reset option(s) {sorted(options)}; TextGenEnv.reset takes none")
        max_length = None if self.curriculum is None else self.curriculum.level
        self.example = self.task.sample(self.np_random, self.split, max_length=max_length)
        self.generated = []
        self._obs[:] = self.tokenizer.pad_id
        self._obs[: len(self.example.prompt_ids)] = self.example.prompt_ids
        self._num_actions = 0
        self._last_score = 0.0
        self._ended = False
        info = {
            "prompt": self.example.prompt,
            "references": self.example.references,
            "action_mask": self.action_masks(),
        }
        return self._obs.copy(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.example is None:
            raise ResetNeeded("step() was called before reset(); call reset() to start an episode")
        if self._ended:
            raise ResetNeeded("step() was called after the episode terminated; call reset() to start a new one")
        token = self._check_action(action)

        self._obs[self.prompt_len + self._num_actions] = token
        self._num_actions += 1
        if token != self.tokenizer.eos_id:
            self.generated.append(token)
        terminated = token == self.tokenizer.eos_id or self._num_actions == self.gen_len

        reward = 0.0
        if self.reward_mode == "dense" or terminated:
            score = self.task.score(self.generated, self.example)
            reward = score - self._last_score if self.reward_mode == "dense" else score
            self._last_score = score
        info: dict[str, Any] = {"action_mask": self.action_masks()}
        if terminated:
            self._ended = True
            success = self.task.is_success(self.generated, self.example)
            info.update(
                generated=self.tokenizer.decode(self.generated, skip_special=False),
                score=self._last_score,
                success=success,
            )
            info.update(self.task.final_info(self.generated, self.example))
            if self.curriculum is not None:
                self.curriculum.record(success)
        return self._obs.copy(), float(reward), terminated, False, info

    def action_masks(self) -> np.ndarray:
        """Boolean array of length ``V``: the tokens the task considers valid next (sb3-contrib's convention)."""
        if self.example is None:
            raise ResetNeeded("action_masks() was called before reset()")
        return self.task.action_mask(self.example, self.generated)

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if self.example is None:
            return ""
        return self._render_episode(self.example, self._obs[self.prompt_len : self.prompt_len + self._num_actions])

    def _check_action(self, action: Any) -> int:
        try:
            token = operator.index(action.item() if isinstance(action, np.ndarray) and action.size == 1 else action)
        except TypeError:
            raise ValueError(
                f"action {action!r} is not an integer token id; expected an int in [0, {self.action_space.n})"
            ) from None
        if not 0 <= token < self.action_space.n:
            raise ValueError(
                f"action {action!r} is outside the action space: expected a token id in [0, {self.action_space.n})"
            )
        return token
