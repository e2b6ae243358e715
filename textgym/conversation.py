"""The conversation slots of an episode, read back as turns.

An episode's slots ``[P, P + G)`` hold its conversation, left-aligned, pad after. For a single-turn task that is
the agent's answer. For a task with turns (:attr:`~textgym.task.Task.max_turn_len` set) it is the agent's tokens,
the ``<eot>`` that ends the agent's turn, the simulated user's reply, the ``<eot>`` that ends the user's turn, the
agent's next turn, and so on::

    is it more than 5 0 <eot> no <eot> is it more than 2 5 <eot> yes <eot> ...

The rules by which actions fill the slots are in :mod:`textgym.episodes`. :func:`split_turns` reads a
conversation back as turns; :func:`turn_length` measures the turn in progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    """One answered agent turn: the agent's tokens and the user's reply, each without its ``<eot>``."""

    question: tuple[int, ...]
    reply: tuple[int, ...]


def split_turns(conversation: Sequence[int], eot_id: int) -> tuple[list[Turn], tuple[int, ...]]:
    """The answered turns of a conversation, and the agent's tokens after them.

    The second part is the agent's turn in progress, or a question closed by ``<eot>`` and not yet answered (its
    ``<eot>`` left out); empty when the conversation ends with a reply.
    """
    segments: list[list[int]] = [[]]
    for token in conversation:
        if token == eot_id:
            segments.append([])
        else:
            segments[-1].append(int(token))
    # Segments alternate agent, user, agent, ...; the last one is unfinished (it may be empty).
    answered = (len(segments) - 1) // 2
    turns = [Turn(tuple(segments[2 * i]), tuple(segments[2 * i + 1])) for i in range(answered)]
    return turns, tuple(segments[2 * answered])


def turn_length(conversation: Sequence[int], eot_id: int) -> int:
    """The number of tokens after the last ``<eot>`` (all of them if there is none): in an agent's turn, the turn
    so far."""
    for back, token in enumerate(reversed(conversation)):
        if token == eot_id:
            return back
    return len(conversation)
