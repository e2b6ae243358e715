"""Wordle: the user holds a five-letter word; the agent guesses words and the user colours each guessed letter."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

import numpy as np

from textgym.conversation import Turn
from textgym.examples import Example
from textgym.tasks.dialogue import MALFORMED
from textgym.tasks.guessing import GuessingGame
from textgym.tokenizers import WordTokenizer

LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")
WORD_LENGTH = 5
FEEDBACK = ("grey", "yellow", "green")  # a letter not in the word (or no copy left), elsewhere, right here
WORD_LIST = "wordle_words.txt"


@cache
def load_words() -> tuple[str, ...]:
    """The shipped word list, ``textgym/data/wordle_words.txt``: five-letter lower-case words, one a line, sorted
    and distinct (``#`` lines are comments). A malformed file raises ``ValueError`` naming the line."""
    text = resources.files("textgym").joinpath("data").joinpath(WORD_LIST).read_text(encoding="utf-8")
    words = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for word in words:
        if len(word) != WORD_LENGTH or not set(word) <= set(LETTERS):
            raise ValueError(f"{WORD_LIST}: {word!r} is not {WORD_LENGTH} lower-case letters a-z")
    if words != sorted(set(words)):
        raise ValueError(f"{WORD_LIST} must list distinct words in sorted order")
    return tuple(words)


def feedback_codes(guesses: np.ndarray, secrets: np.ndarray) -> np.ndarray:
    """Wordle's feedback (int ``(Q, S)``) for every guess and secret, both given as letter indices (``(Q, 5)`` and
    ``(S, 5)``).

    Letter ``i`` of a guess is green (2) where the secret has the same letter at ``i``; else yellow (1) if the
    secret's copies of that letter outside its green positions are more than the guess's earlier non-green copies
    of it (which use them up first); else grey (0). The code is ``sum(colour_i * 3**i)``; 242 is all green.
    """
    counts = np.zeros((len(secrets), len(LETTERS)), dtype=np.int64)
    np.add.at(counts, (np.arange(len(secrets))[:, None], secrets), 1)  # (S, 26): copies of each letter
    same = guesses[:, :, None] == guesses[:, None, :]  # (Q, i, j): letters i and j of a guess are the same
    earlier = (same & np.tri(WORD_LENGTH, k=-1, dtype=bool)).astype(np.int64)  # ... and j comes before i
    green = (guesses[:, None, :] == secrets[None, :, :]).astype(np.int64)  # (Q, S, 5)
    # copies of guess letter i in the secret outside the green positions (a green k holds letter i iff same[k, i])
    copies = counts[:, guesses].transpose(1, 0, 2) - green @ same.astype(np.int64)
    used = (1 - green) @ earlier.transpose(0, 2, 1)  # the guess's earlier non-green copies of letter i
    yellow = (1 - green) * (used < copies)
    return (2 * green + yellow) @ 3 ** np.arange(WORD_LENGTH)


class Wordle(GuessingGame):
    """Wordle: find the user's five-letter word in at most six guesses.

    ## Conversation

    The prompt is ``guess the word``. Each turn the agent spells a word, one letter token each (``c r a n e``);
    five letters end the turn by themselves (the environment writes the ``<eot>``). The user answers with one
    feedback token per letter: ``green`` (right letter, right place), ``yellow`` (in the word elsewhere) or
    ``grey`` (not in the word, or no copy of it left; see :func:`feedback_codes`). A guess that is not in the word
    list, or a turn shorter than five letters (ended by the agent's ``<eot>``), gets ``i do not understand`` and
    costs a try. An example::

        guess the word -> c r a n e <eot> grey grey yellow grey green <eot> ... s a b l e <eot> green green ...

    ## Words

    1,073 common five-letter English words shipped with the package (``textgym/data/wordle_words.txt``); each is a
    valid guess, and the secret is one of them. Splits are disjoint by the secret word (852 / 122 / 99 words in
    train / validation / test); guesses may be any word of the list.

    ## Limits, score, success

    At most ``max_turns`` guesses (six). Success: all five letters green. Score: ``1 - turn_cost * turns`` on
    success, 0 otherwise. Dense rewards: the information the feedback gives about the word (see
    :class:`~textgym.tasks.guessing.GuessingGame`), summing to the score.

    ## Scripted policy

    A solver that guesses only words consistent with all the feedback so far, choosing the one that leaves the
    fewest words expected. It solves 1,070 of the 1,073 words within six guesses (3.30 guesses on average, at most
    6); its first guess is always ``raise``.

    ## Weak policy

    ``demonstrator="weak"``: a forgetful player. It guesses a word drawn uniformly among those consistent with the
    feedback to its last guess alone (any word of the list before the first feedback, or after a guess the user
    did not understand). The draws are a hash of the secret and the turn number
    (:func:`~textgym.task.weak_draw`), the same in every process. It solves 882 of the 1,073 words within
    six guesses (82.2%, 4.41 guesses on average, a mean score of 0.789), and 85 of the 99 test words.

    Args:
        max_turns, turn_cost: see :class:`~textgym.tasks.dialogue.DialogueTask` (defaults 6 and 0.01).
        demonstrator: the policy of ``scripted_action``, ``demonstration`` and ``oracle_actions``: ``"scripted"``
            (default, the solver) or ``"weak"`` (the forgetful player).
    """

    name = "Wordle"
    reward_threshold = 0.9

    def __init__(self, max_turns: int = 6, turn_cost: float = 0.01, demonstrator: str = "scripted") -> None:
        words = load_words()
        vocabulary = dict.fromkeys(["guess", "the", "word", *LETTERS, *FEEDBACK, *MALFORMED.split()])  # "i": a letter
        self.tokenizer = WordTokenizer(vocabulary)
        self.prompt = "guess the word"
        self.secrets = self.questions = tuple(" ".join(word) for word in words)
        self.replies = tuple(
            " ".join(FEEDBACK[code // 3**i % 3] for i in range(WORD_LENGTH)) for code in range(3**WORD_LENGTH)
        )
        self._letters = np.array([[LETTERS.index(letter) for letter in word] for word in words])
        self.winning_questions = np.arange(len(words))
        self.final_questions = np.zeros(len(words), dtype=bool)
        self.probe_questions = self.final_questions  # no probes: the solver guesses only words still possible
        super().__init__(max_turns, turn_cost, demonstrator)

    def outcomes(self, questions: np.ndarray, secrets: np.ndarray) -> np.ndarray:
        """The feedback code of each guessed word for each secret word."""
        return feedback_codes(self._letters[questions], self._letters[secrets])

    def weak_question(self, example: Example, turns: Sequence[Turn], draw: int) -> tuple[int, ...]:
        consistent = np.flatnonzero(self.candidates(turns[-1:], example.prompt))
        return self.question_ids[consistent[draw % len(consistent)]]
