"""Number words: English number words <-> digits, ``three hundred and twelve`` <-> ``3 1 2``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textgym.tasks.grammar import Cost
from textgym.tasks.language import Draw, LanguageTask, check_choice

UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
DIGITS = tuple("0123456789")
NUMBER_WORDS = (*UNITS, *TENS, "hundred", "thousand", "and")
DIRECTIONS = ("to_digits", "to_words")
MAX_DIGITS = 6


def number_to_words(n: int) -> str:
    """British English words of ``0 <= n <= 999,999``, tens and units unhyphenated: 312 -> ``three hundred and
    twelve``, 12,005 -> ``twelve thousand and five``, 101,001 -> ``one hundred and one thousand and one``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n < 10**MAX_DIGITS:
        raise ValueError(f"number_to_words takes an integer in [0, {10**MAX_DIGITS - 1}], got {n!r}")
    if n < 1000:
        return _below_thousand(int(n))
    thousands, rest = divmod(int(n), 1000)
    return f"{_below_thousand(thousands)} thousand{_thousands_tail(rest)}"


def _below_thousand(n: int) -> str:
    if n < 20:
        return UNITS[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return TENS[tens - 2] + (f" {UNITS[units]}" if units else "")
    hundreds, rest = divmod(n, 100)
    return f"{UNITS[hundreds]} hundred" + (f" and {_below_thousand(rest)}" if rest else "")


def _thousands_tail(rest: int) -> str:
    """What follows ``thousand``: nothing, ``and`` + a number below 100, or a number of hundreds."""
    if rest == 0:
        return ""
    return f" and {_below_thousand(rest)}" if rest < 100 else f" {_below_thousand(rest)}"


def number_to_digits(n: int) -> str:
    """The digits of ``n`` separated by spaces (one word each): 312 -> ``3 1 2``."""
    return " ".join(str(n))


class NumberWords(LanguageTask):
    """Number words: English number words <-> digits, both directions, 0 to 999,999.

    ``direction="to_digits"`` (default): ``three hundred and twelve`` -> ``3 1 2``; ``"to_words"``: the reverse.
    Words are British English without hyphens (``forty two``, ``one thousand and five``); digits are written one
    word each, separated by spaces. A number has a digit count drawn uniformly from ``[1, max_digits]`` and a
    value drawn uniformly among the numbers with that many digits (0 to 9 for one digit).

    Splits are made by the number (a hash of its digits), so a held-out number is never seen in training, in
    either direction.

    Reward: chrF (sacrebleu; ``metric="chrf"``, default) or exact match (``metric="exact_match"``). Success:
    exact match. Threshold 0.95. Action mask: the digits (``to_digits``) or the number words (``to_words``),
    and ``<eos>``.

    Args:
        direction: ``"to_digits"`` (default) or ``"to_words"``.
        max_digits: most digits of a number, 1 to 6 (default 6).
        metric: ``"chrf"`` (default) or ``"exact_match"``.
        tokenizer, bpe_vocab_size: see :class:`~textgym.tasks.language.LanguageTask` (defaults ``"word"``, 128).
    """

    name = "NumberWords"
    metrics = ("chrf", "exact_match")
    reward_threshold = 0.95

    def __init__(
        self,
        direction: str = "to_digits",
        max_digits: int = MAX_DIGITS,
        metric: str = "chrf",
        tokenizer: str = "word",
        bpe_vocab_size: int = 128,
    ) -> None:
        self.direction = check_choice("direction", direction, DIRECTIONS)
        self.max_digits = check_choice("max_digits", max_digits, range(1, MAX_DIGITS + 1))
        super().__init__(metric, tokenizer, bpe_vocab_size)

    def vocabulary(self) -> Sequence[str]:
        return NUMBER_WORDS + DIGITS

    def answer_words(self) -> Sequence[str]:
        return DIGITS if self.direction == "to_digits" else NUMBER_WORDS

    def length_bounds(self, cost: Cost) -> tuple[int, int]:
        digits = self.max_digits * max(map(cost, DIGITS))
        below = [cost(_below_thousand(n)) for n in range(min(10**self.max_digits, 1000))]
        words = max(below)
        if self.max_digits > 3:
            tails = max(cost(_thousands_tail(rest)) for rest in range(1000))
            words = max(words, max(below[1 : 10 ** (self.max_digits - 3)]) + cost("thousand") + tails)
        return (words, digits) if self.direction == "to_digits" else (digits, words)

    def draw(self, rng: np.random.Generator) -> Draw:
        num_digits = int(rng.integers(1, self.max_digits + 1))
        n = int(rng.integers(0 if num_digits == 1 else 10 ** (num_digits - 1), 10**num_digits))
        words, digits = number_to_words(n), number_to_digits(n)
        prompt, answer = (words, digits) if self.direction == "to_digits" else (digits, words)
        return Draw(prompt, (answer,), key=str(n), meta={"number": n})
