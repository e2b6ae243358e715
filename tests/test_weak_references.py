"""The weak demonstrator of SentimentContinuation and KeywordsToSentence (``demonstrator="weak"``): fluent
demonstrations that score clearly below the references, which the task still scores against; deterministic per
example, and played alike by the task and the environment."""

import gymnasium as gym
import numpy as np
import pytest

from textgym import env_id
from textgym.tasks import make_task
from textgym.tasks.keywords import coverage, sentences_for
from textgym.tasks.sentiment import TARGETS, polar_continuations

SENTIMENT, KEYWORDS = "SentimentContinuation", "KeywordsToSentence"


def held_out_examples(task, count=300):
    """``count`` examples of the test split, drawn with seed 0."""
    rng = np.random.default_rng(0)
    return [task.sample(rng, "test") for _ in range(count)]


def answers(task, examples):
    """Each example's demonstrated answer: its ids without the final ``<eos>``."""
    return [task.demonstration(example)[0][:-1] for example in examples]


@pytest.mark.parametrize("target", TARGETS)
def test_mixed_sentiment_demonstrations_score_clearly_lower_and_are_as_fluent(target):
    """Measured on 300 test examples: references 0.920 / 0.917 (positive / negative), weak demonstrations 0.616 /
    0.568 (44% / 37% of them succeed); fluency 0.297 / 0.292 against 0.295 / 0.293."""
    task = make_task(SENTIMENT, target=target)
    weak = make_task(SENTIMENT, target=target, demonstrator="weak")
    examples = held_out_examples(task)
    references, demonstrated = answers(task, examples), answers(weak, examples)
    reference_scores = [task.score(ids, example) for ids, example in zip(references, examples)]
    weak_scores = [task.score(ids, example) for ids, example in zip(demonstrated, examples)]
    assert np.mean(reference_scores) >= 0.9
    assert 0.5 <= np.mean(weak_scores) <= np.mean(reference_scores) - 0.25
    assert 0.25 <= np.mean([task.is_success(ids, e) for ids, e in zip(demonstrated, examples)]) <= 0.55
    fluency = {
        name: np.mean([task.final_info(ids, example)["fluency"] for ids, example in zip(answered, examples)])
        for name, answered in (("references", references), ("weak", demonstrated))
    }
    assert fluency["weak"] == pytest.approx(fluency["references"], rel=0.1)


def test_partial_keyword_demonstrations_cover_some_concepts():
    """Measured on 300 test examples: coverage 0.664, score 0.560 (ROUGE-L), 23% exact references; the references
    score 1."""
    task, weak = make_task(KEYWORDS), make_task(KEYWORDS, demonstrator="weak")
    examples = held_out_examples(task)
    demonstrated = answers(weak, examples)
    covered = np.mean([coverage(task.words(ids), e.meta["concepts"]) for ids, e in zip(demonstrated, examples)])
    assert 0.55 <= covered <= 0.75
    assert 0.45 <= np.mean([task.score(ids, e) for ids, e in zip(demonstrated, examples)]) <= 0.65
    assert 0.1 <= np.mean([task.is_success(ids, e) for ids, e in zip(demonstrated, examples)]) <= 0.35
    assert all(task.score(ids, e) == 1.0 for ids, e in zip(answers(task, examples), examples))


def test_weak_keyword_sentences_keep_the_verb_and_come_from_the_grammar():
    task = make_task(KEYWORDS, demonstrator="weak")
    for example in held_out_examples(task, 100):
        verb = example.meta["concepts"][1]
        sentence = task.weak_answer(example)
        words = sentence.split()
        assert coverage(words, (verb,)) == 1.0 and words[0] == "the" and words[-1] == "."
        assert len(words) <= len(example.references[0].split())  # a place may be dropped, never added


@pytest.mark.parametrize(
    "name, seed, demonstrated",
    [
        (SENTIMENT, 0, "the ending was incredibly brilliant and wonderful ."),
        (SENTIMENT, 1, "it was really superb and the script was brilliant ."),
        (KEYWORDS, 0, "the woman kicks the ball ."),
        (KEYWORDS, 2, "the farmer carries the box ."),
    ],
)
def test_the_default_demonstration_is_still_the_first_reference(name, seed, demonstrated):
    env = gym.make(env_id(name), split="test")
    env.reset(seed=seed)
    task, example = env.unwrapped.task, env.unwrapped.example
    actions, own = task.demonstration(example)
    assert actions == [*example.reference_ids[0], task.tokenizer.eos_id] and all(own)
    assert task.tokenizer.decode(actions) == demonstrated == example.references[0]
    assert make_task(name, demonstrator="reference").demonstration(example) == (actions, own)


def sentiment_example(task, reference):
    return task.make_example("i watched this movie last night and", [reference])


def keywords_example(task, concepts):
    return task.make_example(" ".join(sorted(concepts)), sentences_for(*concepts, None), concepts=concepts)


def test_weak_demonstrations_are_pinned_and_fixed_per_example():
    """Hand-built examples (no numpy draw), so the pinned answers hold in any process and numpy version."""
    sentiment, keywords = make_task(SENTIMENT, demonstrator="weak"), make_task(KEYWORDS, demonstrator="weak")
    pinned = [
        (sentiment, sentiment_example(sentiment, "the plot was very great and lovely ."), SENTIMENT),
        (keywords, keywords_example(keywords, ("girl", "eat", "apple")), KEYWORDS),
    ]
    expected = ["i enjoyed the script , and the music was absolutely horrible .", "the child eats the cake ."]
    for (task, example, name), answer in zip(pinned, expected):
        actions, own = task.demonstration(example)
        assert task.tokenizer.decode(actions) == answer and all(own)
        assert task.oracle_actions(example) == actions
        assert make_task(name, demonstrator="weak").demonstration(example) == (actions, own)


@pytest.mark.parametrize("name", [SENTIMENT, KEYWORDS])
def test_a_bad_demonstrator_names_the_value_and_the_choices(name):
    with pytest.raises(ValueError, match=r"demonstrator must be one of \('reference', 'weak'\), got 'scripted'"):
        make_task(name, demonstrator="scripted")
    with pytest.raises(ValueError, match="got 'partial'"):
        gym.make(env_id(name), demonstrator="partial")


@pytest.mark.parametrize("name, tokenizer", [(SENTIMENT, "word"), (SENTIMENT, "bpe"), (KEYWORDS, "word")])
def test_weak_demonstrations_play_alike_in_the_environment(name, tokenizer):
    """The weak demonstration stepped through ``gym.make(ID, demonstrator="weak")`` ends the episode on its
    ``<eos>`` with the score and success the task computes for it; the references in the info do not change."""
    env = gym.make(env_id(name), split="test", demonstrator="weak", tokenizer=tokenizer)
    task = env.unwrapped.task
    reference_task = make_task(name, tokenizer=tokenizer)
    for seed in range(30):
        _, reset_info = env.reset(seed=seed)
        example = env.unwrapped.example
        actions = task.demonstration(example)[0]
        for step, action in enumerate(actions):
            _, reward, terminated, _, info = env.step(action)
            assert terminated == (step == len(actions) - 1)
        assert reward == info["score"] == reference_task.score(actions[:-1], example)
        assert info["success"] == reference_task.is_success(actions[:-1], example)
        assert (
            reset_info["references"]
            == example.references
            == reference_task.make_example(example.prompt, example.references).references
        )


@pytest.mark.parametrize("tokenizer", ["word", "bpe"])
def test_every_weak_continuation_fits_the_generation_slots(tokenizer):
    """With the BPE tokenizer a few mixed continuations are 2 tokens longer than any reference, so the weak
    demonstrator's task has 2 more generation slots there; the default keeps its own."""
    weak = make_task(SENTIMENT, demonstrator="weak", tokenizer=tokenizer)
    default = make_task(SENTIMENT, tokenizer=tokenizer)
    longest = max(weak.cost(text) for a in TARGETS for b in TARGETS for text in polar_continuations(a, b).expand())
    assert longest == weak.max_gen_len - 1
    assert default.max_gen_len == weak.max_gen_len - (2 if tokenizer == "bpe" else 0)
