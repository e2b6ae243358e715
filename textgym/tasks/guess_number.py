"""Guess the number: the user holds a whole number in a range; the agent narrows it down with yes/no questions."""

from __future__ import annotations

import numpy as np

from textgym.examples import Example
from textgym.task import check_int
from textgym.tasks.dialogue import MALFORMED
from textgym.tasks.guessing import GuessingGame, cached, read_only
from textgym.tasks.language import check_no_length_knob
from textgym.tokenizers import WordTokenizer

DIGITS = tuple("0123456789")
MAX_HIGH = 999
MIN_SUB_RANGE = 8  # the fewest numbers a training sub-range holds (train_sub_ranges)
SUB_RANGE_DRAWS = 10_000  # sub-ranges drawn, at most, before one that fits is found


def spell(number: int) -> str:
    """A number as the task writes it: its digits, one word each (``42`` -> ``"4 2"``)."""
    return " ".join(str(number))


class GuessNumber(GuessingGame):
    """Guess the number: find the user's secret number in ``[low, high]`` with as few questions as possible.

    ## Conversation

    The prompt states the range, ``from 1 to 1 0 0``; numbers are written digit by digit (``4 2``), one token per
    digit. The agent asks one question per turn:

    - ``is it more than K``: the user answers ``yes`` or ``no``;
    - ``is it K``: ``yes`` wins (the conversation ends in success), ``no`` costs the turn.

    ``K`` is any number of at most as many digits as ``high``, written without leading zeros. Any other turn gets
    ``i do not understand`` and costs a turn too. An example::

        from 1 to 1 0 0 -> is it more than 5 0 <eot> no <eot> is it more than 2 5 <eot> yes <eot> ...
                           ... is it 3 1 <eot> yes <eot>

    ## Limits, score, success

    A turn holds at most ``4 + digits(high)`` tokens (``is it more than 1 0 0``); a question of that length ends
    the turn by itself (the environment writes its ``<eot>``), a shorter one needs the agent's ``<eot>``. At most
    ``max_turns`` turns. Success: the user answers ``yes`` to ``is it K``. Score: ``1 - turn_cost * turns`` on
    success, 0 otherwise. Dense rewards (``reward_mode="dense"``): the information gained per answered turn,
    ``log2`` of the shrinking of the candidate numbers over ``log2(high - low + 1)`` (see
    :class:`~textgym.tasks.guessing.GuessingGame`); they sum to the score.

    ## Scripted policy

    Binary search: ``is it more than K`` at the median of the numbers still possible, and ``is it K`` once one is
    left (or among two or three, where it splits as well and may win at once). It needs at most
    ``ceil(log2(high - low + 1)) + 1`` turns: 8 for the default range (7.08 on average, a mean score of 0.929).

    ## Weak policy

    ``demonstrator="weak"``: an off-centre search. ``is it more than K`` with ``K`` drawn uniformly among the numbers
    still possible but the largest (so that both answers are possible), and ``is it K`` for one of the numbers
    drawn uniformly once at most two are left. The draws are a hash of the secret and the turn number
    (:func:`~textgym.task.weak_draw`), the same in every process. On the default range it wins 74 of the
    100 numbers within the 10 turns (8.42 turns on average, a mean score of 0.682), and 11 of the 14 test numbers.

    ## Splits

    Disjoint by the secret number (a hash of its digits as written): 70 / 16 / 14 numbers of the default range in
    train / validation / test.

    ## Training games on sub-ranges

    ``train_sub_ranges`` (default 0) is the share of training episodes played on a sub-range of ``[low, high]``:
    the prompt states it (``from 2 3 to 8 7``), the secret is a training number inside it, and the candidates, the
    scripted and weak policies and the dense rewards start from it. Its ends are drawn uniformly among the ranges
    of at least :data:`MIN_SUB_RANGE` numbers, other than ``[low, high]``, whose prompt fits the prompt slots and
    that hold a training number. Validation and test episodes always play the whole range, so the held-out numbers
    stay held out. Why it exists: a binary search over one range plays one conversation per secret, so 70 training
    games show some end games a handful of times; sub-ranges show the same questions and end games at many places
    (the warm start's results in ``docs/results/beyond_imitation/``).

    Args:
        low: the smallest secret, 0 to 998 (default 1).
        high: the largest secret, ``low + 1`` to 999 (default 100).
        max_turns, turn_cost: see :class:`~textgym.tasks.dialogue.DialogueTask` (defaults 10 and 0.01).
        demonstrator: the policy of ``scripted_action``, ``demonstration`` and ``oracle_actions``: ``"scripted"``
            (default, the binary search) or ``"weak"`` (the off-centre search).
        train_sub_ranges: the share of training episodes played on a sub-range, in ``[0, 1]`` (default 0), see
            above.
    """

    name = "GuessNumber"
    reward_threshold = 0.9

    def __init__(
        self,
        low: int = 1,
        high: int = 100,
        max_turns: int = 10,
        turn_cost: float = 0.01,
        demonstrator: str = "scripted",
        train_sub_ranges: float = 0.0,
    ) -> None:
        self.low = check_int("low", low, 0, MAX_HIGH - 1)
        self.high = check_int("high", high, self.low + 1, MAX_HIGH)
        named = np.arange(10 ** len(str(self.high)))  # every number a question may name
        vocabulary = ("from", "to", *DIGITS, "is", "it", "more", "than", "yes", "no", *MALFORMED.split())
        self.tokenizer = WordTokenizer(vocabulary)
        self.prompt = f"from {spell(self.low)} to {spell(self.high)}"
        self.secrets = tuple(spell(number) for number in range(self.low, self.high + 1))
        self.questions = (
            *(f"is it more than {spell(k)}" for k in named),
            *(f"is it {spell(k)}" for k in named),
        )
        self.replies = ("no", "yes")
        self._is_more = np.repeat([True, False], len(named))
        self._named = np.tile(named, 2)
        self.winning_questions = len(named) + np.arange(self.low, self.high + 1)
        self.final_questions = np.zeros(len(self.questions), dtype=bool)
        self.probe_questions = self._is_more
        super().__init__(max_turns, turn_cost, demonstrator)
        if isinstance(train_sub_ranges, bool) or not isinstance(train_sub_ranges, (int, float)):
            raise ValueError(f"train_sub_ranges must be a number in [0, 1], got {train_sub_ranges!r}")
        if not 0 <= train_sub_ranges <= 1:
            raise ValueError(f"train_sub_ranges must be a number in [0, 1], got {train_sub_ranges!r}")
        if train_sub_ranges and self.high - self.low + 1 <= MIN_SUB_RANGE:
            raise ValueError(
                f"train_sub_ranges needs a range of more than {MIN_SUB_RANGE} numbers, got {self.low} to {self.high}"
            )
        self.train_sub_ranges = float(train_sub_ranges)

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        """A uniformly drawn secret of ``split`` on the whole range; on the train split, with probability
        ``train_sub_ranges``, a training number on a sub-range instead (see the class docstring)."""
        if split != "train" or not self.train_sub_ranges or rng.random() >= self.train_sub_ranges:
            return super().sample(rng, split, length_cap)
        check_no_length_knob(self, length_cap)
        train = np.array([example.meta["secret"] for example in self.examples("train")]) + self.low
        for _ in range(SUB_RANGE_DRAWS):
            low, high = sorted(int(end) for end in rng.integers(self.low, self.high + 1, size=2))
            prompt = f"from {spell(low)} to {spell(high)}"
            inside = train[(train >= low) & (train <= high)]
            fits = len(self.tokenizer.encode(prompt)) <= self.max_prompt_len
            if high - low + 1 >= MIN_SUB_RANGE and (low, high) != (self.low, self.high) and len(inside) and fits:
                number = int(inside[rng.integers(len(inside))])
                return self.make_example(prompt, (spell(number),), secret=number - self.low)
        raise ValueError(f"no training sub-range of {self!r} found in {SUB_RANGE_DRAWS} draws")

    def opening(self, prompt: str) -> np.ndarray:
        """The numbers of the prompt's range (``from L to H``)."""
        if prompt == self.prompt:
            return super().opening(prompt)
        low, high = (int(end.replace(" ", "")) for end in prompt.removeprefix("from ").split(" to "))
        numbers = np.arange(self.low, self.high + 1)
        return cached(self._candidates, prompt, lambda: read_only((numbers >= low) & (numbers <= high)))

    def outcomes(self, questions: np.ndarray, secrets: np.ndarray) -> np.ndarray:
        """1 (``yes``) or 0 (``no``) for each question and secret."""
        numbers = self.low + secrets[None, :]
        named = self._named[questions][:, None]
        return np.where(self._is_more[questions][:, None], numbers > named, numbers == named).astype(np.int64)
