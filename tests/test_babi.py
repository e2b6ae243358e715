import re

import numpy as np
import pytest

from textgym.splits import SPLITS
from textgym.tasks import make_task

MOVE = re.compile(r"(\w+) (?:moved|went|journeyed|travelled) to the (\w+)")
GRAB = re.compile(r"(\w+) (?:picked up|got|grabbed) the (\w+)")
DROP = re.compile(r"(\w+) (?:dropped|discarded|put down) the (\w+)")


def statements_and_question(prompt: str) -> tuple[list[str], str]:
    """A prompt's statements and question, whichever comes first."""
    if prompt.endswith(" ?"):  # the story first
        story, question = prompt.removesuffix(" ?").rsplit(" . ", 1)
    else:
        question, story = prompt.split(" ? ", 1)
    return [part.strip() for part in story.split(" .") if part.strip()], question


def answer_by_reading(prompt: str) -> str:
    """Answer a story's question by reading its statements, written independently of the simulation."""
    statements, question = statements_and_question(prompt)
    room_of, holder_of, dropped_in = {}, {}, {}
    for statement in statements:
        if m := MOVE.fullmatch(statement):
            room_of[m[1]] = m[2]
        elif m := GRAB.fullmatch(statement):
            assert m[1] in room_of and dropped_in.get(m[2], room_of[m[1]]) == room_of[m[1]], statement
            holder_of[m[2]] = m[1]
            dropped_in.pop(m[2], None)
        elif m := DROP.fullmatch(statement):
            assert holder_of.pop(m[2]) == m[1], statement
            dropped_in[m[2]] = room_of[m[1]]
        else:
            raise AssertionError(f"not a statement: {statement!r}")
    if m := re.fullmatch(r"where is the (\w+)", question):
        return room_of[holder_of[m[1]]] if m[1] in holder_of else dropped_in[m[1]]
    if m := re.fullmatch(r"where is (\w+)", question):
        return room_of[m[1]]
    m = re.fullmatch(r"is (\w+) in the (\w+)", question)
    return "yes" if room_of[m[1]] == m[2] else "no"


@pytest.mark.parametrize("babi_task", [1, 2, 6])
def test_answers_follow_from_the_story(babi_task):
    task = make_task("BabiQA", babi_task=babi_task, max_statements=8)
    rng = np.random.default_rng(babi_task)
    answers, lengths, kinds = [], set(), set()
    for split in SPLITS:
        for _ in range(400):
            example = task.sample(rng, split)
            assert example.references == (answer_by_reading(example.prompt),)
            answers.append(example.references[0])
            lengths.add(len(statements_and_question(example.prompt)[0]))
            kinds |= {kind for kind, rule in (("grab", GRAB), ("drop", DROP)) if rule.search(example.prompt)}
    assert lengths == set(range(2, 9))  # statements drawn from [2, max_statements]
    if babi_task == 6:
        assert np.mean([a == "yes" for a in answers]) == pytest.approx(0.5, abs=0.05)
    else:
        assert set(answers) == {"bathroom", "bedroom", "garden", "hallway", "kitchen", "office"}
    assert kinds == ({"grab", "drop"} if babi_task == 2 else set())  # tasks 1 and 6 only move people


def test_questions_of_each_task():
    rng = np.random.default_rng(0)
    patterns = {1: r"where is (mary|john|daniel|sandra) \?", 2: r"where is the \w+ \?", 6: r"is \w+ in the \w+ \?"}
    for babi_task, pattern in patterns.items():
        prompt = make_task("BabiQA", babi_task=babi_task).sample(rng).prompt
        assert re.match(pattern + " \\w", prompt), prompt  # the question first, then the story
        prompt = make_task("BabiQA", babi_task=babi_task, question_first=False).sample(rng).prompt
        assert re.search("\\. " + pattern + "$", prompt), prompt  # the story first


@pytest.mark.parametrize("babi_task", [1, 2, 6])
def test_both_layouts_hold_the_same_examples_in_the_same_splits(babi_task):
    layouts = [make_task("BabiQA", babi_task=babi_task, question_first=first) for first in (True, False)]
    for split in SPLITS:
        draws = [[task.sample(np.random.default_rng(7), split) for _ in range(50)] for task in layouts]
        for question_first, story_first in zip(*draws):
            statements, question = statements_and_question(question_first.prompt)
            assert story_first.prompt == " . ".join([*statements, question]) + " ?"
            assert question_first.references == story_first.references
    assert layouts[0].max_prompt_len == layouts[1].max_prompt_len


def test_one_word_answers_masked_to_rooms_or_yes_no():
    for babi_task, answers in ((1, 6), (2, 6), (6, 2)):
        task = make_task("BabiQA", babi_task=babi_task)
        assert task.max_gen_len == 2 and task.answer_mask().sum() == answers + 1


def test_splits_are_disjoint():
    task = make_task("BabiQA", babi_task=2)
    rng = np.random.default_rng(3)
    prompts = {split: {task.sample(rng, split).prompt for _ in range(300)} for split in SPLITS}
    assert not prompts["train"] & prompts["test"] and not prompts["train"] & prompts["validation"]
    assert all(len(group) > 250 for group in prompts.values())  # stories rarely repeat
