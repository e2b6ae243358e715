"""TextGenEnv: one generated text (or one conversation) per episode, one token per step."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from textgym.curriculum import LengthCurriculum
from textgym.episodes import Episodes
from textgym.example_queue import ExampleQueue
from textgym.examples import Example, ExampleBatch
from textgym.rendering import text_frame
from textgym.splits import check_split
from textgym.task import Task
from textgym.tasks import make_task
from textgym.tokenizers import Tokenizer

REWARD_MODES = ("sparse", "dense")
RENDER_MODES = ("ansi", "rgb_array")
_ROW = np.zeros(1, dtype=np.intp)  # the one row of a single environment's episodes


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """Return ``seed`` as an int if it is a non-negative integer (a numpy one included, not a bool), None if it is
    None; else raise ``ValueError`` naming ``name`` and the value."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be None or a non-negative integer, got {seed!r}")
    return int(seed)


def check_reset_options(options: Any) -> Mapping[str, Any]:
    """Return ``options`` (``{}`` for None) if it is a mapping, else raise ``ValueError`` naming it."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"options must be a dict of reset options or None, got {options!r}")
    return options


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
        size: int,
        split: str,
        reward_mode: str,
        render_mode: str | None,
        curriculum: bool | Mapping[str, Any],
        task_options: Mapping[str, Any],
    ) -> tuple[spaces.MultiDiscrete, spaces.Discrete]:
        """Check the options, set the attributes above, build ``size`` rows of episodes and where their examples
        come from, and return one episode's observation and action spaces."""
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
        self._check_split_has_prompts()

        self.tokenizer = self.task.tokenizer
        self.prompt_len = self.task.max_prompt_len
        self.gen_len = self.task.max_gen_len
        self._episodes = Episodes(self.task, size, reward_mode)
        # Each row's examples, drawn a block at a time (one at a time with a curriculum, whose level may change).
        block = self.task.block_size if self.curriculum is None else 1
        self._queue = ExampleQueue(self.task, size, self.split, block)
        vocab_size = self.tokenizer.vocab_size
        observation_space = spaces.MultiDiscrete(np.full(self.prompt_len + self.gen_len, vocab_size), dtype=np.int64)
        return observation_space, spaces.Discrete(vocab_size)

    def _check_split_has_prompts(self) -> None:
        """Draw one example of the split (at the curriculum's first level) with a generator of its own, so that
        options leaving the split no prompt raise ``ValueError`` here rather than at the first ``reset``."""
        level = None if self.curriculum is None else self.curriculum.level
        try:
            self.task.sample(np.random.default_rng(0), self.split, length_cap=level)
        except ValueError as error:
            if level is None:
                raise
            raise ValueError(f"{error}; or raise the curriculum start (now {level})") from None

    def _start_episodes(self, rows: np.ndarray) -> ExampleBatch:
        """Start new episodes in ``rows``, each with its row's next example; return those examples."""
        examples = self._queue.pop(rows, None if self.curriculum is None else self.curriculum.level)
        self._episodes.start(rows, examples)
        return examples

    def _record(self, success: np.ndarray) -> None:
        """Count finished episodes' ``success`` towards the curriculum, if there is one."""
        if self.curriculum is not None:
            for succeeded in success.tolist():
                self.curriculum.record(succeeded)

    def _render_episode(self, example: Example | None, slots: np.ndarray) -> str | np.ndarray:
        """One episode as the render mode shows it: ``"ansi"``, the text ``"prompt -> conversation so far"`` with
        special tokens by name ("" before the first reset); ``"rgb_array"``, that text as an image
        (:func:`textgym.rendering.text_frame`)."""
        text = "" if example is None else f"{example.prompt} -> {self.tokenizer.decode(slots, skip_special=False)}"
        return text_frame(text) if self.render_mode == "rgb_array" else text


class TextGenEnv(TextGenBase, gym.Env[np.ndarray, np.int64]):
    """Text generation as a Gymnasium environment.

    ## Description

    Each episode draws one example (a prompt and its reference answers) from a :class:`~textgym.task.Task`. The
    agent writes the answer one token per step and ends it with ``<eos>``; the task's metric scores the answer.

    A task with turns (a dialogue: ``task.max_turn_len`` is set) makes the episode a conversation with a simulated
    user; see "Dialogue" below.

    ## Observation space

    ``MultiDiscrete([V] * (P + G))`` with dtype int64, where ``V`` is the vocabulary size, ``P`` the task's
    ``max_prompt_len`` and ``G`` its ``max_gen_len``:

    - slots ``[0, P)`` hold the prompt's token ids, left-aligned, then pad (0);
    - slots ``[P, P + G)`` hold the actions taken so far in this episode, left-aligned, then pad (0) (for a dialogue,
      the conversation so far: see "Dialogue").

    The last action of an episode (``<eos>`` or the G-th token) is shown in the final observation. A fixed slot
    per position lets an MLP see position ``t`` of the answer at the same input index in every episode.

    ## Dialogue

    For a task with turns, slots ``[P, P + G)`` hold the conversation so far, left-aligned (see
    :mod:`textgym.conversation`): the agent's tokens, the agent's ``<eot>`` (id 2), the simulated user's reply and
    an ``<eot>`` that ends the user's turn, the agent's next turn, and so on. The agent's actions are written where
    they are. When the agent's turn ends, the environment appends, within the same ``step``, the user's reply
    (:meth:`Task.reply <textgym.task.Task.reply>`) and its ``<eot>``; the next observation shows them. A turn ends
    on the agent's ``<eot>``, or when it holds ``task.max_turn_len`` tokens: then the environment writes the
    ``<eot>`` itself (an over-long turn is cut there). ``<eos>`` ends the conversation (the agent gives up). The
    episode also ends when the task's reply says so: on success, on a final answer, or at the task's turn limit.
    ``G`` is the turn limit times the longest turn (agent tokens, reply and the two ``<eot>`` s).

    ## Action space

    ``Discrete(V)``: the id of the next token. Every id is accepted: ``<eos>`` (id 1) ends the answer, any other id
    is appended to it (special tokens count as wrong symbols). :meth:`action_masks` advises which ids make sense.

    ## Rewards

    - ``reward_mode="sparse"`` (default): 0 at every step but the last, which gives the answer's score in [0, 1].
    - ``reward_mode="dense"``: at every step, the task's :meth:`~textgym.task.Task.progress` of the episode so far
      minus its progress before the step (0 at the start); the last step gives the score minus the progress before
      it, so the rewards of an episode sum to its sparse return. For most tasks progress is the score of the answer
      so far; the guessing dialogues measure the information gained about the user's secret.

    ## Episode end

    The episode terminates when the agent emits ``<eos>``, when the conversation slots are full (after ``G``
    generated tokens for a single-turn task), or when a dialogue task's reply ends the conversation; it is never
    truncated. Success is the task's rule (exact match of a reference for the algorithmic tasks).

    ## Info

    ``reset`` returns ``prompt`` (str), ``references`` (tuple of str) and ``action_mask``; every step returns
    ``action_mask``; the final step adds ``generated`` (str; special tokens shown by name), ``score`` (float) and
    ``success`` (bool), plus the task's :meth:`~textgym.task.Task.final_info` (the dialogue tasks add ``transcript``,
    a tuple of ``(speaker, text)`` pairs, and ``turns``, the agent turns the user answered).

    ## Seeding

    ``reset(seed=s)`` seeds the environment's generator (``gymnasium.utils.seeding.np_random(s)``, as Gymnasium
    does); later resets without a seed go on with it. The episodes are a deterministic function of the seed: the
    generator draws the task's examples in successive blocks of its ``block_size`` (of 1 with a curriculum)
    (:meth:`~textgym.task.Task.sample_batch`; one :meth:`~textgym.task.Task.sample` call per example for the tasks
    that draw one by one), the same ones a sub-environment of :class:`~textgym.vector_env.TextGenVectorEnv` seeded
    with ``s`` plays. The rules of an episode are those of :mod:`textgym.episodes`, played on one row.

    ## Errors

    - an action that is not an integer id in ``[0, V)``: ``ValueError`` naming the action;
    - ``step`` before ``reset``, or after the episode terminated: ``gymnasium.error.ResetNeeded``;
    - an unknown task, task option, split, reward mode or render mode, a bad task option value or ``curriculum``
      option (each named in the message), or options that leave the split no prompt (too few distinct prompts for
      three disjoint splits, or at the curriculum's start): ``ValueError`` when the environment is built;
    - a ``seed`` that is not None or a non-negative integer (an int or a numpy integer; not a bool), ``options``
      that is not a dict, or an unknown reset option: ``ValueError`` from ``reset``, raised before it changes
      anything (the generator and the episode under way are kept).

    ## Arguments

    Args:
        task: a task name from :data:`textgym.tasks.TASKS` or a :class:`~textgym.task.Task` instance.
        split: ``"train"``, ``"validation"`` or ``"test"``; which prompts episodes draw.
        reward_mode: ``"sparse"`` or ``"dense"``.
        render_mode: ``None``, ``"ansi"`` (``render()`` returns ``"prompt -> slots so far"``, specials by name) or
            ``"rgb_array"`` (that text as a fixed-size RGB image, wrapped and cut to fit: see
            :mod:`textgym.rendering`), which video recorders and SB3's ``make_vec_env`` use.
        curriculum: ``False``, ``True`` or a mapping of :class:`~textgym.curriculum.LengthCurriculum` options
            (``start``, ``threshold``, ``window``); grows the input length as recent success passes a threshold
            (tasks with a length range only).
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
            task, 1, split, reward_mode, render_mode, curriculum, task_options
        )
        self._started = False

    @property
    def example(self) -> Example | None:
        """The current episode's example (None before the first reset)."""
        return self._episodes.example(0)

    @property
    def generated(self) -> list[int]:
        """The conversation slots so far, without a final ``<eos>``."""
        return self._episodes.conversation(0)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        seed = check_seed(seed)
        unknown = check_reset_options(options)
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown, key=repr)}; TextGenEnv.reset takes none")
        super().reset(seed=seed)
        if seed is not None or self._queue.generators[0] is None:
            self._queue.use(0, self.np_random)
        prompts, references = self._start_episodes(_ROW).texts(_ROW)
        self._started = True
        info = {"prompt": prompts[0], "references": references[0], "action_mask": self.action_masks()}
        return self._episodes.obs[0].copy(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise ResetNeeded("step() was called before reset(); call reset() to start an episode")
        if self._episodes.ended[0]:
            raise ResetNeeded("step() was called after the episode terminated; call reset() to start a new one")
        token = self._check_action(action)
        finished, success, rewards = self._episodes.play(_ROW, np.array([token]))
        info: dict[str, Any] = {"action_mask": self.action_masks()}
        if finished.size:
            self._record(success)
            texts, (extra,) = self._episodes.final_info(finished)
            info.update(generated=texts[0], score=float(self._episodes.scores[0]), success=bool(success[0]))
            info.update(extra)
        return self._episodes.obs[0].copy(), float(rewards[0]), bool(finished.size), False, info

    def action_masks(self) -> np.ndarray:
        """Boolean array of length ``V``: the tokens the task considers valid next (sb3-contrib's convention)."""
        if not self._started:
            raise ResetNeeded("action_masks() was called before reset()")
        return self._episodes.action_masks(_ROW)[0]

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            return None
        return self._render_episode(self.example, self._episodes.generated[0, : self._episodes.filled[0]])

    def _check_action(self, action: Any) -> int:
        try:
            token = operator.index(action.item() if isinstance(action, np.ndarray) and action.size == 1 else action)
        except TypeError:
            raise ValueError(
                f"action {action!r} is not an integer token id; expected an int in [0, {self.tokenizer.vocab_size})"
            ) from None
        if not 0 <= token < self.tokenizer.vocab_size:
            vocab_size = self.tokenizer.vocab_size
            raise ValueError(f"action {action!r} is outside the action space: expected a token id in [0, {vocab_size})")
        return token
