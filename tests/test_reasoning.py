"""textgym/ReasoningGym-v0: reasoning-gym's datasets as tasks, scored by the datasets' own checkers."""

import pickle
import sys

import gymnasium as gym
import pytest

import textgym  # noqa: F401  (registers the IDs)
from textgym import TextGenEnv
from textgym.splits import SPLITS, split_of
from textgym.tasks import make_task
from textgym.tasks.reasoning import ReasoningGym

# The reasoning suite's datasets and configurations (benchmarks/suites/reasoning.toml).
DATASETS = {
    "basic_arithmetic": {
        "max_terms": 2,
        "max_digits": 1,
        "operators": ["+", "-", "*"],
        "allow_parentheses": False,
        "allow_negation": False,
    },
    "chain_sum": {"max_terms": 2, "max_digits": 2},
    "spell_backward": {"max_word_len": 4},
    "count_bits": {"max_n": 255},
    "gcd": {"max_value": 50},
}


def wrong(answer: str) -> str:
    """A different answer of the same length, made of the answer's own characters where it can be."""
    if len(set(answer)) > 1:
        return answer[1:] + answer[0] if answer[1:] + answer[0] != answer else answer[::-1]
    return "1" if answer != "1" else "2"


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_reference_scores_one_and_a_wrong_answer_less_through_both_interfaces(dataset):
    """The dataset's own answer, played as tokens, wins every held-out question; a wrong one (a rotation of its
    characters) scores below 1 and fails; the text-level view gives the same scores."""
    config = DATASETS[dataset]
    env = TextGenEnv("ReasoningGym", split="test", dataset=dataset, **config)
    task = env.task
    examples = task.examples("test")
    assert len(examples) >= 20
    for example in examples:
        assert task.score(example.reference_ids[0], example) == 1.0
        assert task.is_success(example.reference_ids[0], example)
        bad = wrong(example.references[0])
        assert bad != example.references[0]
        assert task.score(task.tokenizer.encode(bad), example) < 1.0
        assert not task.is_success(task.tokenizer.encode(bad), example)
    text = gym.make("textgym/ReasoningGym-v0", split="test", dataset=dataset, interface="text", **config)
    for seed in range(10):
        prompt, info = text.reset(seed=seed)
        env.reset(seed=seed)
        assert env.example.prompt == prompt
        for action in env.task.oracle_actions(env.example):
            _, reward, terminated, _, token_info = env.step(action)
        assert (reward, token_info["success"]) == (1.0, True)
        _, reward, terminated, _, info = text.step(info["references"][0])
        assert (reward, info["success"], terminated) == (1.0, True, True)
        text.reset(seed=seed)
        _, _, _, _, info = text.step(wrong(info["generated"]))
        assert info["score"] < 1.0 and not info["success"]


def test_splits_are_disjoint_by_question_and_the_same_for_the_same_options():
    task = make_task("ReasoningGym", dataset="chain_sum", **DATASETS["chain_sum"])
    again = make_task("ReasoningGym", dataset="chain_sum", **DATASETS["chain_sum"])
    prompts = {split: [example.prompt for example in task.examples(split)] for split in SPLITS}
    assert prompts == {split: [example.prompt for example in again.examples(split)] for split in SPLITS}
    assert sum(map(len, prompts.values())) == len(task.entries) == len({p for ps in prompts.values() for p in ps})
    assert all(split_of(prompt) == split for split in SPLITS for prompt in prompts[split])
    shares = {split: len(prompts[split]) / len(task.entries) for split in SPLITS}
    assert shares["train"] == pytest.approx(0.8, abs=0.04) and shares["test"] == pytest.approx(0.1, abs=0.03)
    # reasoning-gym seeds item i with seed + i: seed 1 shifts the items by one, a seed past size draws new ones
    shifted = make_task("ReasoningGym", dataset="chain_sum", dataset_seed=1, **DATASETS["chain_sum"])
    assert [shifted.dataset[i]["question"] for i in range(5)] == [task.dataset[i]["question"] for i in range(1, 6)]
    other = make_task("ReasoningGym", dataset="chain_sum", dataset_seed=10_000, **DATASETS["chain_sum"])
    assert [e.prompt for e in other.examples("test")][:50] != prompts["test"][:50]


def test_an_episode_draws_its_split_with_its_seed():
    env = TextGenEnv("ReasoningGym", split="validation", dataset="gcd", max_value=50)
    drawn = []
    for seed in (0, 1, 0):
        env.reset(seed=seed)
        drawn.append(env.example.prompt)
        assert split_of(env.example.prompt) == "validation"
    assert drawn[0] == drawn[2] != drawn[1]


def test_the_vocabulary_spells_every_question_and_the_mask_allows_the_answer_characters():
    task = make_task("ReasoningGym", dataset="spell_backward", max_word_len=4)
    mask = task.answer_mask()
    for split in SPLITS:
        for example in task.examples(split):
            assert task.tokenizer.decode(example.prompt_ids) == example.prompt
            assert all(mask[i] for i in example.reference_ids[0])
    assert task.max_gen_len == 5  # words of at most 4 letters, then <eos>
    assert not mask[task.tokenizer.token_id(":")]  # a character of the questions only


@pytest.mark.parametrize(
    "options, match",
    [
        ({"dataset": "no_such_dataset"}, "unknown reasoning-gym dataset 'no_such_dataset'; expected one of .*'gcd'"),
        ({"dataset": "gcd", "bogus": 1}, "reasoning-gym dataset 'gcd' refused the options {'bogus': 1}"),
        ({"dataset": "gcd", "min_numbers": 0}, "options {'min_numbers': 0}: min_numbers must be at least 2"),
        ({"size": 3}, r"size must be in \[10, 1000000\], got 3"),
        ({"dataset_seed": -1}, "dataset_seed must be"),
    ],
)
def test_bad_options_raise_value_error_naming_them(options, match):
    with pytest.raises(ValueError, match=match):
        gym.make("textgym/ReasoningGym-v0", **options)


def test_without_reasoning_gym_the_task_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)  # what an environment without the package imports
    with pytest.raises(ImportError, match=r"needs the reasoning-gym package: pip install 'textgym\[reasoning\]'"):
        ReasoningGym()


def test_the_task_pickles_and_rebuilds_its_examples():
    env = TextGenEnv("ReasoningGym", dataset="gcd", max_value=50)
    copy = pickle.loads(pickle.dumps(env.task))
    assert [e.prompt for e in copy.examples("test")] == [e.prompt for e in env.task.examples("test")]
    example = copy.examples("test")[0]
    assert copy.score(example.reference_ids[0], example) == 1.0
