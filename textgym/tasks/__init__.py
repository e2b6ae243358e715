"""The task suite: every task class by name, and :func:`make_task` to build one with options."""

from __future__ import annotations

import inspect
from typing import Any

from textgym.task import Task
from textgym.tasks.algorithmic import Addition, Copy, DuplicatedInput, Dyck, RepeatCopy, Reverse, ReversedAddition, Sort
from textgym.tasks.babi import BabiQA
from textgym.tasks.guess_number import GuessNumber
from textgym.tasks.keywords import KeywordsToSentence
from textgym.tasks.number_words import NumberWords
from textgym.tasks.reasoning import ReasoningGym
from textgym.tasks.scan import SCAN
from textgym.tasks.sentiment import SentimentContinuation
from textgym.tasks.summarisation import Summarisation
from textgym.tasks.twenty_questions import TwentyQuestions
from textgym.tasks.wordle import Wordle

ALGORITHMIC_TASKS: tuple[type[Task], ...] = (
    Copy,
    Reverse,
    RepeatCopy,
    DuplicatedInput,
    Sort,
    Addition,
    ReversedAddition,
    Dyck,
)
LANGUAGE_TASKS: tuple[type[Task], ...] = (
    SCAN,
    NumberWords,
    BabiQA,
    KeywordsToSentence,
    SentimentContinuation,
    Summarisation,
)
DIALOGUE_TASKS: tuple[type[Task], ...] = (
    GuessNumber,
    TwentyQuestions,
    Wordle,
)
REASONING_TASKS: tuple[type[Task], ...] = (ReasoningGym,)
TASKS: dict[str, type[Task]] = {
    task.name: task for task in (*ALGORITHMIC_TASKS, *LANGUAGE_TASKS, *DIALOGUE_TASKS, *REASONING_TASKS)
}


def make_task(name: str, **options: Any) -> Task:
    """Build the task called ``name`` with its keyword ``options``.

    Raises ``ValueError`` for an unknown task name or an option the task does not take, naming it and listing the
    valid ones (a task whose ``__init__`` takes ``**options`` checks the options it passes on itself); each task
    checks its option values itself.
    """
    try:
        task_class = TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; expected one of {sorted(TASKS)}") from None
    parameters = list(inspect.signature(task_class.__init__).parameters.values())[1:]
    accepted = [p.name for p in parameters if p.kind is not p.VAR_KEYWORD]
    unknown = sorted(set(options) - set(accepted))
    if unknown and len(accepted) == len(parameters):  # a task with **options checks the others itself
        raise ValueError(f"unknown option(s) {unknown} for task {name!r}; it takes {accepted}")
    return task_class(**options)
