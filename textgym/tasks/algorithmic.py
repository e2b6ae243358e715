"""Algorithmic tasks: the token-generation heirs of the old Gym algorithmic environments.

Each task turns a random input string into a prompt and one correct answer. All use a character tokenizer,
score with token accuracy by default (partial credit per position, 1.0 only for the exact answer) and count an
exact answer as success. Prompts are split into train / validation / test by a stable hash of their text, so a
held-out prompt is never trained on.

========================  ===================  =====================================
task                      prompt               answer
========================  ===================  =====================================
Copy                      ``abca``             ``abca``
Reverse                   ``abca``             ``acba``
RepeatCopy                ``abc``              ``abccbaabc`` (x, reversed x, x)
DuplicatedInput           ``aabbcc``           ``abc``
Sort                      ``cabd``             ``abcd``
Addition                  ``37+5=``            ``42``
ReversedAddition          ``73+5=``            ``24`` (digits least significant first)
Dyck                      ``([(``              ``)])`` (shortest valid closing)
========================  ===================  =====================================
"""

from __future__ import annotations

import numpy as np

from textgym.metrics import get_metric
from textgym.task import Example, Task, check_int, draw_in_split
from textgym.tokenizers import CharTokenizer

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
BRACKETS = ("()", "[]", "{}", "<>")


class AlgorithmicTask(Task):
    """Shared options and sampling of the algorithmic tasks.

    Args:
        min_length: shortest input, in symbols (digits per operand for the addition tasks).
        max_length: longest input.
        metric: ``"token_accuracy"`` (default), ``"exact_match"`` or ``"edit_similarity"``.

    Subclasses define :meth:`draw_prompt_and_answer` and set ``name``, ``tokenizer``, ``answer_symbols``, and the
    prompt / answer lengths of the longest input through :meth:`prompt_len` and :meth:`answer_len`.
    """

    reward_threshold = 0.95

    def __init__(self, min_length: int, max_length: int, metric: str = "token_accuracy") -> None:
        min_length = check_int("min_length", min_length, 1)
        max_length = check_int("max_length", max_length, 1)
        if max_length < min_length:
            raise ValueError(f"max_length must be >= min_length ({min_length}), got {max_length}")
        get_metric(metric)
        self.metric_name = metric
        self.length_range = (min_length, max_length)
        self.max_prompt_len = self.prompt_len(max_length)
        self.max_gen_len = self.answer_len(max_length) + 1

    def prompt_len(self, length: int) -> int:
        """Tokens in the longest prompt of an input of ``length``."""
        return length

    def answer_len(self, length: int) -> int:
        """Tokens in the longest answer of an input of ``length``."""
        return length

    def draw_prompt_and_answer(self, rng: np.random.Generator, length: int) -> tuple[str, str]:
        raise NotImplementedError

    def draw_length(self, rng: np.random.Generator, low: int, high: int) -> int:
        """The input length of the next example: uniform in ``[low, high]``."""
        return int(rng.integers(low, high + 1))

    def sample(self, rng: np.random.Generator, split: str = "train", max_length: int | None = None) -> Example:
        low, high = self.length_range
        if max_length is not None:
            high = check_int("max_length", max_length, low, high)

        def draw() -> tuple[str, str]:
            return self.draw_prompt_and_answer(rng, self.draw_length(rng, low, high))

        # The split is decided by the prompt's text, so only the accepted draw is encoded into an Example.
        prompt, answer = draw_in_split(draw, split, key=lambda drawn: drawn[0])
        return self.make_example(prompt, (answer,))


class SymbolTask(AlgorithmicTask):
    """A task over a random string of the first ``num_symbols`` letters.

    Args:
        min_length: shortest input string.
        max_length: longest input string.
        num_symbols: alphabet size, 2 to 26 (``a``, ``b``, ...).
        metric: see :class:`AlgorithmicTask`.
    """

    def __init__(
        self, min_length: int = 1, max_length: int = 5, num_symbols: int = 5, metric: str = "token_accuracy"
    ) -> None:
        self.alphabet = LETTERS[: check_int("num_symbols", num_symbols, 2, len(LETTERS))]
        self.tokenizer = CharTokenizer(self.alphabet)
        self.answer_symbols = self.alphabet
        super().__init__(min_length, max_length, metric)

    def draw_prompt_and_answer(self, rng: np.random.Generator, length: int) -> tuple[str, str]:
        alphabet = self.alphabet
        x = "".join([alphabet[i] for i in rng.integers(0, len(alphabet), size=length).tolist()])
        return self.prompt_of(x), self.answer_of(x)

    def prompt_of(self, x: str) -> str:
        return x

    def answer_of(self, x: str) -> str:
        raise NotImplementedError


class Copy(SymbolTask):
    """Copy the input: ``abca`` -> ``abca``."""

    name = "Copy"

    def answer_of(self, x: str) -> str:
        return x


class Reverse(SymbolTask):
    """Reverse the input: ``abca`` -> ``acba``."""

    name = "Reverse"

    def answer_of(self, x: str) -> str:
        return x[::-1]


class RepeatCopy(SymbolTask):
    """The input, then its reverse, then the input again: ``abc`` -> ``abccbaabc``."""

    name = "RepeatCopy"

    def answer_len(self, length: int) -> int:
        return 3 * length

    def answer_of(self, x: str) -> str:
        return x + x[::-1] + x


class DuplicatedInput(SymbolTask):
    """Every input symbol appears twice; answer each once: ``aabbcc`` -> ``abc``. Lengths count answer symbols."""

    name = "DuplicatedInput"

    def prompt_len(self, length: int) -> int:
        return 2 * length

    def prompt_of(self, x: str) -> str:
        return "".join(symbol * 2 for symbol in x)

    def answer_of(self, x: str) -> str:
        return x


class Sort(SymbolTask):
    """Sort the input's symbols alphabetically: ``cabd`` -> ``abcd``."""

    name = "Sort"

    def answer_of(self, x: str) -> str:
        return "".join(sorted(x))


class Addition(AlgorithmicTask):
    """Add two non-negative integers: ``37+5=`` -> ``42``.

    The operands are drawn independently and uniformly among the numbers with ``min_length`` to ``max_length``
    digits (``0 .. 99`` for the defaults), as "two-digit addition" is usually meant: every sum of the range is
    equally likely, so a held-out split weighs all its prompts alike (drawing the digit count first would give
    the ten one-digit numbers half of all operands). A curriculum's ``max_length`` caps the digits.

    Args:
        min_length: fewest digits per operand.
        max_length: most digits per operand.
        metric: see :class:`AlgorithmicTask`.
    """

    name = "Addition"
    reverse_digits = False

    def __init__(self, min_length: int = 1, max_length: int = 2, metric: str = "token_accuracy") -> None:
        self.tokenizer = CharTokenizer(DIGITS + "+=")
        self.answer_symbols = DIGITS
        super().__init__(min_length, max_length, metric)

    def prompt_len(self, length: int) -> int:
        return 2 * length + 2

    def answer_len(self, length: int) -> int:
        return length + 1

    def draw_length(self, rng: np.random.Generator, low: int, high: int) -> int:
        """The most digits an operand may have: always ``high`` (the operands' own draw covers shorter ones)."""
        return high

    def draw_prompt_and_answer(self, rng: np.random.Generator, length: int) -> tuple[str, str]:
        smallest = 0 if self.length_range[0] == 1 else 10 ** (self.length_range[0] - 1)
        a, b = rng.integers(smallest, 10**length, size=2).tolist()
        digits = (lambda n: str(n)[::-1]) if self.reverse_digits else str
        return f"{digits(a)}+{digits(b)}=", digits(a + b)


class ReversedAddition(Addition):
    """Addition with every number written least significant digit first: ``73+5=`` -> ``24`` (37 + 5 = 42)."""

    name = "ReversedAddition"
    reverse_digits = True


class Dyck(AlgorithmicTask):
    """Close a prefix of balanced brackets with the shortest valid closing: ``([(`` -> ``)])``.

    The prefix is a random walk that opens a bracket (kind drawn uniformly) or closes the innermost open one, each
    with probability 1/2, and always leaves at least one bracket open.

    Args:
        min_length: shortest prefix.
        max_length: longest prefix.
        num_kinds: kinds of brackets, 2 to 4 (``()``, ``[]``, ``{}``, ``<>``).
        metric: see :class:`AlgorithmicTask`.
    """

    name = "Dyck"

    def __init__(
        self, min_length: int = 2, max_length: int = 8, num_kinds: int = 2, metric: str = "token_accuracy"
    ) -> None:
        self.pairs = BRACKETS[: check_int("num_kinds", num_kinds, 2, len(BRACKETS))]
        self.tokenizer = CharTokenizer("".join(self.pairs))
        self.answer_symbols = "".join(close for _, close in self.pairs)
        super().__init__(min_length, max_length, metric)

    def draw_prompt_and_answer(self, rng: np.random.Generator, length: int) -> tuple[str, str]:
        prefix, stack = [], []
        for position in range(length):
            closing_empties_stack = len(stack) == 1 and position == length - 1
            if stack and not closing_empties_stack and rng.random() < 0.5:
                prefix.append(stack.pop())
            else:
                opening, closing = self.pairs[int(rng.integers(len(self.pairs)))]
                prefix.append(opening)
                stack.append(closing)
        return "".join(prefix), "".join(reversed(stack))
