"""The conversation slots of an episode: how they fill as the agent acts, and how to read them back as turns.

An episode's slots ``[P, P + G)`` hold its conversation, left-aligned, pad after. For a single-turn task that is
the agent's answer. For a task with turns (:attr:`~textgym.task.Task.max_turn_len` set) it is the agent's tokens,
the ``<eot>`` that ends the agent's turn, the simulated user's reply, the ``<eot>`` that ends the user's turn, the
agent's next turn, and so on::

    is it more than 5 0 <eot> no <eot> is it more than 2 5 <eot> yes <eot> ...

:func:`advance` is the rule by which one action fills the slots; :class:`~textgym.env.TextGenEnv` plays it,
:class:`~textgym.vector_env.TextGenVectorEnv` plays the same rule in numpy, and a dialogue task's demonstration
plays it with its scripted policy. :func:`split_turns` reads a conversation back as turns; :func:`turn_length`
measures the turn in progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textgym.task import Example, Task


@dataclass(frozen=True)
class Reply:
    """The simulated user's turn, as :meth:`Task.reply <textgym.task.Task.reply>` returns it.

    Attributes:
        ids: the reply's token ids, without the ``<eot>`` that closes it (the environment writes that).
        end: whether the conversation ends after this reply (success, a final answer, or the turn limit).
    """

    ids: tuple[int, ...]
    end: bool


@dataclass(frozen=True)
class Turn:
    """One answered agent turn: the agent's tokens and the user's reply, each without its ``<eot>``."""

    question: tuple[int, ...]
    reply: tuple[int, ...]


def advance(task: Task, example: Example, generated: list[int], token: int) -> bool:
    """Play the agent's ``token`` on the conversation ``generated`` (the slot contents so far) and return whether
    the episode ends.

    - ``<eos>`` ends the episode; it is not appended (the environment shows it in its slot).
    - Any other token is appended. For a task with turns, the agent's turn ends when the token is ``<eot>`` or
      when the turn now holds ``max_turn_len`` tokens (an implicit ``<eot>``, appended here); then the user's reply
      and its ``<eot>`` are appended (:func:`end_turn`), and the episode ends if the reply says so.
    - The episode also ends when the conversation fills all ``max_gen_len`` slots.
    """
    if token == task.tokenizer.eos_id:
        return True
    generated.append(token)
    if task.max_turn_len is not None:
        eot = task.tokenizer.eot_id
        if token == eot or turn_length(generated, eot) == task.max_turn_len:
            appended, end = end_turn(task, example, generated, cut=token != eot)
            generated.extend(appended)
            if end:
                return True
    return len(generated) >= task.max_gen_len


def end_turn(task: Task, example: Example, conversation: Sequence[int], cut: bool) -> tuple[list[int], bool]:
    """What the environment appends when the agent's turn ends, and whether the conversation ends after it.

    Args:
        task: a task with turns.
        example: the episode's example (the simulated user's secret).
        conversation: the slots so far, the agent's last token included.
        cut: the turn reached ``max_turn_len`` tokens without ``<eot>``: the environment writes the ``<eot>``.

    Returns ``([<eot> if cut] + reply + [<eot>], reply.end)``. A reply that would overflow the ``max_gen_len``
    slots is the task's error and raises ``RuntimeError`` naming the task.
    """
    eot = task.tokenizer.eot_id
    closed = [*conversation, eot] if cut else list(conversation)
    reply = task.reply(example, closed)
    room = task.max_gen_len - len(closed) - 1
    if len(reply.ids) > room:
        raise RuntimeError(
            f"{task!r} replied with {len(reply.ids)} tokens where the conversation had room for {room}; "
            "its max_gen_len must hold max_turns turns of the longest question and reply with their <eot>s"
        )
    return [*closed[len(conversation) :], *reply.ids, eot], reply.end


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
