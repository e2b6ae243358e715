"""DialogueTask: the base of the multi-turn tasks, where the agent talks with a simulated user.

An episode is a conversation (:mod:`textgym.conversation`). The agent asks, turn by turn; the task's simulated
user, a deterministic rule over the example and the agent's turn, answers each one. The conversation ends on
success, on a final answer, at the turn limit, or when the agent gives up with ``<eos>``. The score is success
minus a cost per turn, so that a shorter conversation is a better one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textgym.conversation import Turn, split_turns
from textgym.episodes import play_demonstration
from textgym.examples import Example
from textgym.task import Reply, Task, check_int, weak_draw
from textgym.tasks.language import check_choice

MALFORMED = "i do not understand"
"""The user's reply to a turn it cannot read (not a question of the task); such a turn still costs a turn."""
DEMONSTRATORS = ("scripted", "weak")
"""The values of the ``demonstrator`` option: the policy that :meth:`DialogueTask.demonstration` plays."""


@dataclass(frozen=True)
class Answer:
    """The simulated user's answer to one agent turn.

    Attributes:
        ids: the reply's token ids.
        win: the agent reached the goal; the conversation ends in success.
        final: the turn was a final answer; the conversation ends whether or not it won.
    """

    ids: tuple[int, ...]
    win: bool = False
    final: bool = False


class DialogueTask(Task):
    """Base of the tasks with turns.

    ## Turns and limits

    The agent's turn holds at most ``max_turn_len`` tokens (M, the task's longest question): a turn ends with the
    agent's ``<eot>``, or is ended by the environment when it reaches M tokens. The user answers every turn, a
    malformed one with :data:`MALFORMED`. A conversation has at most ``max_turns`` agent turns; the reply to the
    last one ends it. ``max_gen_len`` (G) is ``max_turns * (M + max_reply_len + 2)``, room for every turn at its
    longest with both ``<eot>`` s.

    ## Score and success

    Success: the user's last reply is a win (:attr:`Answer.win`). Score: ``success * max(0, 1 - turn_cost * turns)``,
    where ``turns`` counts the agent turns the user answered (a turn abandoned with ``<eos>`` is not counted).

    ## Scripted policy, weak policy and demonstrations

    The ``demonstrator`` option chooses the policy the task demonstrates: ``"scripted"`` (default), the task's
    near-optimal scripted policy (:meth:`scripted_question`), or ``"weak"``, a worse questioner that still wins
    some conversations (:meth:`weak_question`). Its randomness is :func:`weak_draw`, a hash of the example and the
    turn number, so the same example always gets the same weak conversation.

    :meth:`scripted_action` plays the chosen policy one token at a time from the conversation so far, and
    :meth:`demonstration` is the conversation it has with the user (the simulator is deterministic given the
    example). :meth:`oracle_actions` are the policy's actions in that conversation.

    Subclasses set ``name``, ``tokenizer``, ``max_prompt_len``, ``max_turn_len``, ``max_reply_len``,
    ``answer_symbols`` and ``reward_threshold``, call ``super().__init__(max_turns, turn_cost, demonstrator)`` and
    implement :meth:`sample`, :meth:`answer`, :meth:`scripted_question` and :meth:`weak_question`.

    Args:
        max_turns: the most agent turns in one conversation (at least 1).
        turn_cost: score lost per answered turn, in ``[0, 1)``.
        demonstrator: the policy of :meth:`scripted_action` and :meth:`demonstration`, one of
            :data:`DEMONSTRATORS`: ``"scripted"`` or ``"weak"``.
    """

    metric_name = "success_minus_turn_cost"  # the score of every dialogue task; not in textgym.metrics.METRICS
    max_turn_len: int
    max_reply_len: int

    def __init__(self, max_turns: int, turn_cost: float, demonstrator: str = "scripted") -> None:
        self.max_turns = check_int("max_turns", max_turns, 1)
        if isinstance(turn_cost, bool) or not isinstance(turn_cost, (int, float)) or not 0 <= turn_cost < 1:
            raise ValueError(f"turn_cost must be a number in [0, 1), got {turn_cost!r}")
        self.turn_cost = float(turn_cost)
        self.demonstrator = check_choice("demonstrator", demonstrator, DEMONSTRATORS)
        self.max_gen_len = self.max_turns * (self.max_turn_len + self.max_reply_len + 2)

    def answer(self, example: Example, question: tuple[int, ...]) -> Answer:
        """The simulated user's answer to the agent's turn ``question`` (its tokens, without ``<eot>``)."""
        raise NotImplementedError

    def scripted_question(self, example: Example, turns: Sequence[Turn]) -> tuple[int, ...]:
        """The scripted policy's next question (token ids), given the example's prompt and the answered turns so
        far. It reads only the prompt and the conversation, never the user's secret."""
        raise NotImplementedError

    def weak_question(self, example: Example, turns: Sequence[Turn], draw: int) -> tuple[int, ...]:
        """The weak policy's next question (token ids), given the example's prompt and the answered turns so far.

        Args:
            example: the episode's example (only its prompt is read).
            turns: the answered turns so far.
            draw: the policy's only randomness, an integer in ``[0, 2**64)`` (:func:`weak_draw`); a uniform choice
                among ``n`` things takes item ``draw % n``.
        """
        raise NotImplementedError

    def demonstrator_question(self, example: Example, turns: Sequence[Turn]) -> tuple[int, ...]:
        """The next question of the policy the ``demonstrator`` option chooses.

        Args:
            example: the episode's example (the weak policy's randomness is drawn from it).
            turns: the answered turns so far.
        """
        if self.demonstrator == "weak":
            return self.weak_question(example, turns, weak_draw(example, len(turns)))
        return self.scripted_question(example, turns)

    def answer_mask(self) -> np.ndarray:
        """The tokens the agent types anywhere in a conversation: its questions' words, ``<eot>`` and ``<eos>``
        (:meth:`action_mask` narrows them, turn by turn, to the questions' grammar)."""
        mask = super().answer_mask()
        mask[self.tokenizer.eot_id] = True
        return mask

    def reply(self, example: Example, conversation: Sequence[int]) -> Reply:
        turns, question = split_turns(conversation, self.tokenizer.eot_id)
        answer = self.answer(example, question)
        return Reply(answer.ids, answer.win or answer.final or len(turns) + 1 >= self.max_turns)

    def outcome(self, generated_ids: Sequence[int], example: Example) -> tuple[bool, int]:
        """``(success, turns)`` of a conversation: whether the user's last reply was a win, and the answered turns."""
        turns, _ = split_turns(generated_ids, self.tokenizer.eot_id)
        return bool(turns) and self.answer(example, turns[-1].question).win, len(turns)

    def score(self, generated_ids: Sequence[int], example: Example) -> float:
        success, turns = self.outcome(generated_ids, example)
        return max(0.0, 1.0 - self.turn_cost * turns) if success else 0.0

    def is_success(self, generated_ids: Sequence[int], example: Example) -> bool:
        return self.outcome(generated_ids, example)[0]

    final_info_keys = ("transcript", "turns")

    def final_info(self, generated_ids: Sequence[int], example: Example) -> dict[str, Any]:
        """``transcript``: a tuple of ``(speaker, text)`` pairs, ``"agent"`` and ``"user"`` in turn (an abandoned
        turn of the agent last, if it has tokens); ``turns``: the agent turns the user answered."""
        turns, pending = split_turns(generated_ids, self.tokenizer.eot_id)
        decode = self.tokenizer.decode
        transcript = []
        for turn in turns:
            transcript += [("agent", decode(turn.question, skip_special=False)), ("user", decode(turn.reply))]
        if pending:
            transcript.append(("agent", decode(pending, skip_special=False)))
        return {"transcript": tuple(transcript), "turns": len(turns)}

    def scripted_action(self, example: Example, conversation: Sequence[int]) -> int:
        """The demonstrator's next action (the scripted policy by default, see the ``demonstrator`` option), given
        the conversation slots so far (trailing pad slots are ignored, so an observation's whole conversation part
        may be passed): the next token of its planned question, or ``<eot>`` when the question is complete or the
        turn so far is not the start of it."""
        conversation = list(conversation)
        while conversation and conversation[-1] == self.tokenizer.pad_id:
            conversation.pop()
        turns, pending = split_turns(conversation, self.tokenizer.eot_id)
        question = self.demonstrator_question(example, turns)
        typed = len(pending)
        if typed < len(question) and pending == question[:typed]:
            return question[typed]
        return self.tokenizer.eot_id

    def demonstration(self, example: Example) -> tuple[list[int], list[bool]]:
        """The demonstrator's conversation with the user (see :meth:`Task.demonstration`)."""
        return play_demonstration(self, example, self.scripted_action)

    def oracle_actions(self, example: Example) -> list[int]:
        """The demonstrator's actions: the agent's own slots of :meth:`demonstration`."""
        slots, own = self.demonstration(example)
        return [token for token, mine in zip(slots, own) if mine]
