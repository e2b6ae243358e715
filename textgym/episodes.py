"""The rules of an episode, written once, for N episodes side by side.

An episode shows its example's prompt in observation slots ``[0, P)`` and fills its conversation slots
``[P, P + G)`` as the agent acts (:mod:`textgym.conversation` says how a conversation reads):

- ``<eos>`` ends the episode; it is shown in its slot but is not part of the answer the task scores.
- Any other token is appended. For a task with turns, the agent's turn ends when the token is ``<eot>`` or when
  the turn now holds ``max_turn_len`` tokens (the environment then writes the ``<eot>`` itself); the simulated
  user's reply and an ``<eot>`` are appended at once, and the episode ends if the reply says so.
- The episode also ends when the conversation fills all G slots.
- Rewards: sparse, the final score on the last step and 0 before; dense, the task's progress minus the progress
  before the step, and on the last step the score minus the progress before it (so they sum to the score).

:class:`Episodes` applies these rules to the rows it is given, with array operations where the task allows (its
batched methods), and Python per row only where a simulated user replies. :class:`~textgym.env.TextGenEnv` is one
row of it, :class:`~textgym.vector_env.TextGenVectorEnv` N rows, and a dialogue task's demonstration plays its
scripted policy on one row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from textgym.examples import Example, ExampleBatch
from textgym.task import Task


class Episodes:
    """``size`` episodes of ``task``, one per row of the arrays below.

    Args:
        task: the task whose examples, scores and replies the episodes use.
        size: N, the number of rows.
        reward_mode: ``"sparse"`` or ``"dense"`` (checked by the environments).

    Attributes:
        obs: int64 ``(N, P + G)``: each row's observation (prompt slots, then conversation slots, pad 0 elsewhere).
        generated: int64 ``(N, G)``, a view of ``obs``'s conversation slots.
        filled: int64 ``(N,)``: conversation slots written, a final ``<eos>`` included.
        lengths: int64 ``(N,)``: the same without a final ``<eos>``: the part the task scores.
        scores: float64 ``(N,)``: each episode's latest progress (dense) or its score once it ended.
        ended: bool ``(N,)``: which episodes have ended.
        examples: each row's current example (an :class:`~textgym.examples.ExampleBatch`).
    """

    def __init__(self, task: Task, size: int, reward_mode: str = "sparse") -> None:
        self.task, self.size, self.reward_mode = task, size, reward_mode
        self.prompt_len, self.gen_len = task.max_prompt_len, task.max_gen_len
        self.obs = np.zeros((size, self.prompt_len + self.gen_len), dtype=np.int64)
        self.generated = self.obs[:, self.prompt_len :]
        self.filled = np.zeros(size, dtype=np.int64)
        self.lengths = np.zeros(size, dtype=np.int64)
        self.turn_lengths = np.zeros(size, dtype=np.int64)  # tokens of the agent's current turn (tasks with turns)
        self.scores = np.zeros(size, dtype=np.float64)
        self.ended = np.zeros(size, dtype=bool)
        self.examples = ExampleBatch.empty(size, self.prompt_len, self.gen_len)
        self.all_rows = np.arange(size)

    def start(self, rows: np.ndarray, examples: ExampleBatch) -> None:
        """Start a new episode in each of ``rows``, of ``examples``' row ``k`` in ``rows[k]``."""
        self.examples.put(rows, examples)
        self.obs[rows] = self.task.tokenizer.pad_id
        self.obs[rows, : self.prompt_len] = examples.prompt_ids
        self.filled[rows] = self.lengths[rows] = self.turn_lengths[rows] = 0
        self.scores[rows] = 0.0
        self.ended[rows] = False

    def play(self, rows: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Play ``tokens[k]`` in the episode of ``rows[k]`` (rows ascending, their episodes not ended).

        Returns the rows whose episode ended, their success (bool, in that order) and the reward of every row
        (float64 ``(N,)``, 0 outside ``rows``).
        """
        tokenizer = self.task.tokenizer
        self.generated[rows, self.filled[rows]] = tokens
        self.filled[rows] += 1
        is_eos = tokens == tokenizer.eos_id
        self.lengths[rows] += ~is_eos
        ended = is_eos
        if self.task.max_turn_len is not None:
            is_eot = tokens == tokenizer.eot_id
            self.turn_lengths[rows] += ~(is_eos | is_eot)
            turn_over = ~is_eos & (is_eot | (self.turn_lengths[rows] == self.task.max_turn_len))
            ended = ended | np.isin(rows, self._end_turns(rows[turn_over], ~is_eot[turn_over]))
        done = ended | (self.lengths[rows] == self.gen_len)
        finished = rows[done]
        self.ended[finished] = True

        rewards = np.zeros(self.size, dtype=np.float64)
        if self.reward_mode == "dense" and not done.all():
            ongoing = rows[~done]
            progress = self.task.progress_batch(self.generated[ongoing], self.lengths[ongoing], self._of(ongoing))
            rewards[ongoing] = progress - self.scores[ongoing]
            self.scores[ongoing] = progress
        success = np.zeros(0, dtype=bool)
        if finished.size:
            answers, lengths, examples = self.generated[finished], self.lengths[finished], self._of(finished)
            scores = self.task.score_batch(answers, lengths, examples)
            success = self.task.is_success_batch(answers, lengths, examples)
            rewards[finished] = scores - self.scores[finished] if self.reward_mode == "dense" else scores
            self.scores[finished] = scores
        return finished, success, rewards

    def _end_turns(self, rows: np.ndarray, cut: np.ndarray) -> np.ndarray:
        """End the agent's turn in ``rows`` (``cut``: at the turn length limit, without ``<eot>``, which is written
        here) and append each simulated user's reply and its ``<eot>``; return the rows whose conversation ends.
        A reply that would overflow the conversation slots is the task's error: ``RuntimeError`` naming it."""
        eot, ending = self.task.tokenizer.eot_id, []
        for i, cut_here in zip(rows.tolist(), cut.tolist()):  # the simulated user answers one turn at a time
            length = int(self.lengths[i])
            closed = self.generated[i, :length].tolist() + ([eot] if cut_here else [])
            reply = self.task.reply(self._current(i), closed)
            room = self.gen_len - len(closed) - 1
            if len(reply.ids) > room:  # checked before anything is written, which might not fit either
                raise RuntimeError(
                    f"{self.task!r} replied with {len(reply.ids)} tokens where the conversation had room for {room}; "
                    "its max_gen_len must hold max_turns turns of the longest question and reply with their <eot>s"
                )
            appended = [*closed[length:], *reply.ids, eot]
            self.generated[i, length : length + len(appended)] = appended
            self.lengths[i] = self.filled[i] = length + len(appended)
            if reply.end:
                ending.append(i)
        self.turn_lengths[rows] = 0
        return np.array(ending, dtype=np.intp)

    def final_info(self, finished: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """The decoded conversation (special tokens by name) of each row in ``finished``, and the task's
        :meth:`~textgym.task.Task.final_info` of each."""
        answers, lengths = self.generated[finished], self.lengths[finished]
        texts = self.task.tokenizer.decode_batch(answers, lengths, skip_special=False)
        if not self.task.final_info_keys:
            return texts, [{} for _ in range(len(finished))]
        extras = [
            self.task.final_info(answer[:length], self._current(row))
            for row, answer, length in zip(finished.tolist(), answers.tolist(), lengths.tolist())
        ]
        return texts, extras

    def action_masks(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The action masks (bool ``(len(rows), V)``) of ``rows`` (ascending; every row by default)."""
        if rows is None or len(rows) == self.size:
            return self.task.action_mask_batch(self.generated, self.lengths, self.examples)
        return self.task.action_mask_batch(self.generated[rows], self.lengths[rows], self.examples[rows])

    def _of(self, rows: np.ndarray) -> ExampleBatch:
        """The current examples of ``rows`` (ascending, as every caller passes them): all of them without a copy."""
        return self.examples if len(rows) == self.size else self.examples[rows]

    def example(self, row: int) -> Example | None:
        """The current example of ``row`` (None before its first episode)."""
        return self.examples.example(row)

    def _current(self, row: int) -> Example:
        """The example of ``row``'s episode under way (one was started)."""
        example = self.examples.example(row)
        assert example is not None, f"row {row} has no episode"
        return example

    def conversation(self, row: int) -> list[int]:
        """The conversation slots of ``row``'s episode so far, without a final ``<eos>``."""
        return self.generated[row, : self.lengths[row]].tolist()


def play_demonstration(task: Task, example: Example, policy: Any) -> tuple[list[int], list[bool]]:
    """Play ``policy`` (a function of the example and the conversation so far, giving the next token) on one episode
    of ``example``; return the episode's conversation slots (a final ``<eos>`` included) and, for each slot, whether
    it holds one of the policy's own actions (``False`` for what the environment wrote)."""
    episode = Episodes(task, 1)
    episode.start(
        np.zeros(1, dtype=np.intp), ExampleBatch.from_examples([example], task.max_prompt_len, task.max_gen_len)
    )
    own: list[bool] = []
    while not episode.ended[0]:
        before = int(episode.filled[0])
        episode.play(np.zeros(1, dtype=np.intp), np.array([policy(example, episode.conversation(0))]))
        own += [True] + [False] * (int(episode.filled[0]) - before - 1)
    return episode.generated[0, : episode.filled[0]].tolist(), own
