"""GuessingGame: dialogues in which the simulated user holds a secret from a finite set and the agent asks about it.

Every well-formed question has one answer per secret (an outcome code, replied in words), so what the agent knows
after some turns is the set of secrets consistent with the replies so far: the *candidates*. That one idea gives
the dense reward (the information gained about the secret), the scripted policy (ask the question that leaves the
fewest candidates expected; name the secret when one is left) and the action masks (the questions' grammar).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import numpy as np

from textgym.conversation import Turn, split_turns, turn_length
from textgym.examples import Example, ExampleBatch
from textgym.splits import check_split, split_of
from textgym.tasks.dialogue import MALFORMED, Answer, DialogueTask
from textgym.tasks.language import check_no_length_knob

CACHE_SIZE = 1 << 14  # entries a cache holds before it is emptied: a bound on memory over long training runs
WEAK_GUESS_AT = 2  # the weak policy names a random candidate once at most this many are left
Value = TypeVar("Value")


def cached(cache: dict[Hashable, Value], key: Hashable, compute: Callable[[], Value]) -> Value:
    """``cache[key]``, computed by ``compute()`` on first use; the cache is emptied when it holds ``CACHE_SIZE``
    entries. (Plain dicts, unlike ``functools.lru_cache`` on a method, keep a task picklable.)"""
    if key not in cache:
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[key] = compute()
    return cache[key]


def read_only(array: np.ndarray) -> np.ndarray:
    """``array``, made read-only (what a cache hands out must not be changed by the caller)."""
    array.flags.writeable = False
    return array


class GuessingGame(DialogueTask):
    """Base of the dialogue tasks where the user holds a secret and answers questions about it.

    ## Secrets, questions, replies

    The user holds one of ``secrets``; an episode's example has the secret's text as its reference and its index
    as ``meta["secret"]``. Splits are disjoint by the secret (a hash of its text, :func:`~textgym.splits.split_of`),
    so no held-out secret is ever the answer of a training episode. ``questions`` lists every well-formed agent
    turn; anything else gets :data:`~textgym.tasks.dialogue.MALFORMED`. The answer to question ``q`` when the
    secret is ``s`` is the reply ``replies[outcomes(q, s)]``; question ``winning_questions[s]`` wins for ``s``; a
    question in ``final_questions`` ends the conversation whatever its answer.

    ## Dense reward

    The progress of a conversation is the information gained about the secret, ``log(S / candidates) / log(S)``
    for the ``S`` secrets its prompt allows (:meth:`opening`; every secret unless a task's prompts differ): 0 at the
    start, 1 once the replies leave one candidate. Only answered turns count, so dense
    rewards arrive at the end of the agent's turns.

    ## Scripted policy

    With one candidate left, ask its winning question. Otherwise ask, among the ``probe_questions`` and the winning
    questions of the candidates that are not final, the one that leaves the fewest candidates expected (the
    smallest sum over its outcomes of the squared number of candidates with that outcome); ties go to a question
    that may win, then to the first question listed.

    ## Weak policy

    ``demonstrator="weak"`` (see :class:`~textgym.tasks.dialogue.DialogueTask`): with at most two candidates left,
    ask the winning question of one of them, drawn uniformly; otherwise ask a probe question drawn uniformly among
    those whose answer is not the same for every candidate (a question whose answer it does not know yet). A
    subclass may override :meth:`weak_question` with a rule of its own.

    ## Action masks

    The tokens that continue a well-formed question (a prefix of one of ``questions``), ``<eot>`` after a complete
    question, ``<eot>`` alone once the turn is off the grammar, and ``<eos>`` always.

    Subclasses set ``name``, ``reward_threshold``, ``tokenizer``, ``prompt`` (the same for every episode),
    ``secrets``, ``questions``, ``replies``, ``winning_questions`` (int ``(S,)``), ``final_questions`` and
    ``probe_questions`` (bool ``(Q,)``), implement :meth:`outcomes` and call
    ``super().__init__(max_turns, turn_cost, demonstrator)``.
    """

    prompt: str
    secrets: tuple[str, ...]
    questions: tuple[str, ...]
    replies: tuple[str, ...]
    winning_questions: np.ndarray
    final_questions: np.ndarray
    probe_questions: np.ndarray

    def __init__(self, max_turns: int, turn_cost: float, demonstrator: str) -> None:
        encode = self.tokenizer.encode
        self.question_ids: tuple[tuple[int, ...], ...] = tuple(tuple(encode(question)) for question in self.questions)
        self._question_index = {ids: q for q, ids in enumerate(self.question_ids)}
        self._reply_ids = tuple(tuple(encode(reply)) for reply in self.replies)
        self._reply_codes = {ids: code for code, ids in enumerate(self._reply_ids)}
        self._malformed_ids = tuple(encode(MALFORMED))
        self.max_prompt_len = len(encode(self.prompt))
        self.max_turn_len = max(map(len, self.question_ids))
        self.max_reply_len = max(map(len, (*self._reply_ids, self._malformed_ids)))
        used = sorted({token for ids in self.question_ids for token in ids})
        self.answer_symbols = tuple(self.tokenizer.tokens[token] for token in used)
        super().__init__(max_turns, turn_cost, demonstrator)
        self._transitions, self._masks = self._grammar()
        self._examples: dict[str, tuple[Example, ...]] = {}
        self._candidates: dict[Hashable, np.ndarray] = {}  # by the prompt (and the answered turns)
        self._plans: dict[Hashable, int] = {}  # by the candidates
        self._weak_plans: dict[Hashable, int] = {}  # by the candidates and the draw

    def __getstate__(self) -> dict[str, Any]:
        # An Example's meta is a read-only mapping, which does not pickle: the examples are rebuilt on first use.
        return {**self.__dict__, "_examples": {}}

    def outcomes(self, questions: np.ndarray, secrets: np.ndarray) -> np.ndarray:
        """Outcome codes (int ``(Q, S)``): the reply to each of the question indices when the secret is each of the
        secret indices."""
        raise NotImplementedError

    def examples(self, split: str) -> tuple[Example, ...]:
        """Every example of ``split``: one per secret of the split, in the order of ``secrets``."""
        if split not in self._examples:
            check_split(split)
            self._examples[split] = tuple(
                self.make_example(self.prompt, (secret,), secret=index)
                for index, secret in enumerate(self.secrets)
                if split_of(secret) == split
            )
        return self._examples[split]

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        """A uniformly drawn secret of ``split`` (one call on ``rng``)."""
        check_no_length_knob(self, length_cap)
        examples = self.examples(split)
        if not examples:
            raise ValueError(
                f"no secret of {self!r} lies in the {split!r} split (its {len(self.secrets)} secrets are split "
                "80/10/10 by a hash); choose options with more secrets"
            )
        return examples[int(rng.integers(len(examples)))]

    def answer(self, example: Example, question: tuple[int, ...]) -> Answer:
        q = self._question_index.get(question)
        if q is None:
            return Answer(self._malformed_ids)
        secret = example.meta["secret"]
        code = int(self.outcomes(np.array([q]), np.array([secret]))[0, 0])
        return Answer(self._reply_ids[code], bool(self.winning_questions[secret] == q), bool(self.final_questions[q]))

    def opening(self, prompt: str) -> np.ndarray:
        """Bool ``(S,)``: the secrets ``prompt`` allows before any question (read-only). Every secret here; a task
        whose prompts differ (:class:`~textgym.tasks.guess_number.GuessNumber`'s sub-ranges) narrows it."""
        return cached(self._candidates, prompt, lambda: read_only(np.ones(len(self.secrets), dtype=bool)))

    def candidates(self, turns: Sequence[Turn], prompt: str | None = None) -> np.ndarray:
        """Bool ``(S,)``: the secrets consistent with ``prompt`` (default: the task's ``prompt``) and the replies to
        the well-formed questions of ``turns`` (read-only; cached)."""
        key = (self.prompt if prompt is None else prompt, tuple(turns))
        return cached(self._candidates, key, lambda: self._find_candidates(*key))

    def progress(self, generated_ids: Sequence[int], example: Example) -> float:
        turns, _ = split_turns(generated_ids, self.tokenizer.eot_id)
        possible = int(self.opening(example.prompt).sum())
        left = max(int(self.candidates(turns, example.prompt).sum()), 1)
        return math.log(possible / left) / math.log(possible)

    def scripted_question(self, example: Example, turns: Sequence[Turn]) -> tuple[int, ...]:
        candidates = np.flatnonzero(self.candidates(turns, example.prompt))
        return self.question_ids[cached(self._plans, candidates.tobytes(), lambda: self._find_plan(candidates))]

    def weak_question(self, example: Example, turns: Sequence[Turn], draw: int) -> tuple[int, ...]:
        candidates = np.flatnonzero(self.candidates(turns, example.prompt))
        key = (candidates.tobytes(), draw)
        return self.question_ids[cached(self._weak_plans, key, lambda: self._find_weak_plan(candidates, draw))]

    def action_mask(self, example: Example, generated_ids: Sequence[int]) -> np.ndarray:
        state = 0
        for token in generated_ids[len(generated_ids) - turn_length(generated_ids, self.tokenizer.eot_id) :]:
            state = self._transitions[state, token]
        return self._masks[state].copy()

    def action_mask_batch(self, generated: np.ndarray, lengths: np.ndarray, examples: ExampleBatch) -> np.ndarray:
        """:meth:`action_mask` of every row, the turns in progress read through the grammar with array operations."""
        rows, width = generated.shape
        is_eot = (generated == self.tokenizer.eot_id) & (np.arange(width) < lengths[:, None])
        turn_start = np.where(is_eot.any(axis=1), width - np.argmax(is_eot[:, ::-1], axis=1), 0)
        state = np.zeros(rows, dtype=np.int64)
        for offset in range(int((lengths - turn_start).max(initial=0))):
            position = turn_start + offset
            token = generated[np.arange(rows), np.minimum(position, width - 1)]
            state = np.where(position < lengths, self._transitions[state, token], state)
        return self._masks[state]

    def _find_candidates(self, prompt: str, turns: tuple[Turn, ...]) -> np.ndarray:
        if not turns:
            return self.opening(prompt)
        candidates = self.candidates(turns[:-1], prompt).copy()
        q = self._question_index.get(turns[-1].question)
        code = self._reply_codes.get(turns[-1].reply)
        if q is not None and code is not None:
            candidates &= self.outcomes(np.array([q]), np.arange(len(self.secrets)))[0] == code
        return read_only(candidates)

    def _find_plan(self, candidates: np.ndarray) -> int:
        if len(candidates) == 1:
            return int(self.winning_questions[candidates[0]])
        may_win = self.winning_questions[candidates]
        pool = np.union1d(np.flatnonzero(self.probe_questions), may_win[~self.final_questions[may_win]])
        codes = self.outcomes(pool, candidates)
        kinds = int(codes.max()) + 1
        counts = np.bincount((np.arange(len(pool))[:, None] * kinds + codes).ravel(), minlength=len(pool) * kinds)
        left = (counts.reshape(len(pool), kinds).astype(np.int64) ** 2).sum(axis=1)  # an integer: ties are exact
        return int(pool[np.lexsort((pool, ~np.isin(pool, may_win), left))[0]])

    def _find_weak_plan(self, candidates: np.ndarray, draw: int) -> int:
        if len(candidates) <= WEAK_GUESS_AT:
            return int(self.winning_questions[candidates[draw % len(candidates)]])
        probes = np.flatnonzero(self.probe_questions)
        codes = self.outcomes(probes, candidates)
        unknown = probes[(codes != codes[:, :1]).any(axis=1)]
        return int(unknown[draw % len(unknown)])

    def _grammar(self) -> tuple[np.ndarray, np.ndarray]:
        """The questions' grammar as an automaton over the turn so far: state 0 is the empty turn, one state per
        prefix of a question, and a last state for a turn off the grammar. Returns the transitions (int
        ``(states, V)``) and each state's action mask (bool ``(states, V)``)."""
        states: dict[tuple[int, ...], int] = {(): 0}
        for ids in self.question_ids:
            for end in range(1, len(ids) + 1):
                states.setdefault(ids[:end], len(states))
        off_grammar = len(states)
        transitions = np.full((off_grammar + 1, self.tokenizer.vocab_size), off_grammar, dtype=np.int64)
        masks = np.zeros((off_grammar + 1, self.tokenizer.vocab_size), dtype=bool)
        for prefix, state in states.items():
            if prefix:
                transitions[states[prefix[:-1]], prefix[-1]] = state
                masks[states[prefix[:-1]], prefix[-1]] = True
        masks[[states[ids] for ids in self.question_ids], self.tokenizer.eot_id] = True
        masks[off_grammar, self.tokenizer.eot_id] = True
        masks[:, self.tokenizer.eos_id] = True
        return transitions, masks
