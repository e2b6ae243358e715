"""TextView: a textgym environment seen as text in, text out, as language-model agents see a task."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from textgym.conversation import turn_length
from textgym.env import TextGenEnv

INTERFACES = ("tokens", "text")
SPEAKERS = ("agent", "user")


class TextView(gym.Wrapper[str, str, np.ndarray, np.int64]):
    """The text-level view of a :class:`~textgym.env.TextGenEnv`: the observation is a string, an action is a whole
    answer (or one dialogue turn) as a string, the reward is the same task metric.

    ``gym.make(ID, interface="text")`` builds it on every registered ID; ``TextView(TextGenEnv(...))`` does the same
    by hand. It plays each action on the wrapped token-level environment, one token per step, so a text-level and a
    token-level run of the same episode (same seed, same tokens) get the same rewards, score and final info.

    ## Observation

    A string: the prompt. In a dialogue, followed by the conversation so far, one line per turn, ``agent: `` or
    ``user: `` then the turn's text::

        from 1 to 1 0 0
        agent: is it more than 5 0
        user: no

    ## Action

    A string: the whole answer of a single-turn task, or the agent's next turn in a dialogue. It is read by
    :meth:`Tokenizer.encode_any <textgym.tokenizers.Tokenizer.encode_any>` after surrounding whitespace is
    stripped, then played token by token, and closed as the token-level agent would close it: ``<eos>`` after an
    answer, ``<eot>`` after a turn. The rules for text the tokens cannot say as written:

    - a symbol the vocabulary lacks (a word, or a character in a character-level task), or a special token's name,
      becomes one ``<pad>``: a wrong symbol, played and scored as the token-level environment plays and scores
      ``<pad>``;
    - over-long text is cut where the token-level environment cuts it: an answer when it fills the task's
      ``max_gen_len`` slots, a turn when it holds ``max_turn_len`` tokens (the environment then ends the turn
      itself); the rest of the action is dropped, and ``info["dropped"]`` counts its tokens;
    - an empty turn is just ``<eot>`` (the user does not understand it); an empty answer is just ``<eos>``.

    ## Rewards, episode end, info

    The reward of a step is the sum of the token-level rewards of the tokens it played (``reward_mode`` as in
    :class:`~textgym.env.TextGenEnv`). The episode ends when the token-level one does. ``info`` is the token-level
    info of the last token played, without ``action_mask`` (a token-level hint), plus ``dropped``.

    Args:
        env: the token-level environment.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, TextGenEnv):
            raise ValueError(f"TextView wraps a textgym TextGenEnv, got {type(base).__name__}")
        self.base: TextGenEnv = base
        self.token_env: gym.Env[np.ndarray, np.int64] = env  # the wrapped token-level environment
        tokenizer = base.tokenizer
        symbols = tokenizer.tokens[tokenizer.num_special :]
        longest = max(map(len, tokenizer.tokens)) + 1  # a token and the space after it
        charset = frozenset("".join(tokenizer.tokens) + " \n:" + "".join(SPEAKERS))  # <pad> shows by name
        self.observation_space = spaces.Text(
            max_length=(base.prompt_len + base.gen_len) * (longest + len("\nagent: ")), charset=charset
        )
        turn = base.task.max_turn_len or base.gen_len
        self.action_space = spaces.Text(max_length=turn * longest, charset=frozenset("".join(symbols) + " "))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        _, info = self.env.reset(seed=seed, options=options)
        info.pop("action_mask")
        return self.text(), info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if not isinstance(action, str):
            raise ValueError(f"action {action!r} is not a string; the text-level view takes a whole answer or turn")
        tokenizer = self.base.tokenizer
        dialogue = self.base.task.max_turn_len is not None
        ids = [*tokenizer.encode_any(action.strip()), tokenizer.eot_id if dialogue else tokenizer.eos_id]
        eot = tokenizer.eot_id
        total, played = 0.0, 0
        for token in ids:
            _, reward, terminated, truncated, info = self.token_env.step(np.int64(token))
            total += float(reward)
            played += 1
            turn_over = dialogue and turn_length(self.base.generated, eot) == 0
            if terminated or truncated or turn_over:
                break
        info.pop("action_mask")
        info["dropped"] = max(0, len(ids) - 1 - played)  # text tokens not played (the closer is not text)
        return self.text(), total, terminated, truncated, info

    def text(self) -> str:
        """The observation: the prompt, and in a dialogue one line per turn so far."""
        base, example = self.base, self.base.example
        if example is None:
            raise ResetNeeded("the text view has no observation before reset()")
        if base.task.max_turn_len is None:
            return example.prompt
        transcript = base.task.final_info(base.generated, example)["transcript"]
        return "\n".join([example.prompt, *(f"{speaker}: {text}" for speaker, text in transcript)])


def make_env(task: str, interface: str = "tokens", **options: Any) -> gym.Env:
    """What ``gym.make`` builds for a textgym ID: a :class:`~textgym.env.TextGenEnv` (``interface="tokens"``, the
    default) or its :class:`TextView` (``interface="text"``); ``options`` go to :class:`~textgym.env.TextGenEnv`."""
    if interface not in INTERFACES:
        raise ValueError(f"unknown interface {interface!r}; expected one of {INTERFACES}")
    env = TextGenEnv(task, **options)
    return TextView(env) if interface == "text" else env
