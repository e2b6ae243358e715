import math

import gymnasium as gym
import numpy as np
import pytest
from test_env import play, random_actions

import textgym  # noqa: F401  (registers the IDs)
from textgym.tasks import make_task
from textgym.tasks.sentiment import CONTINUATIONS, OPENINGS, BigramModel, vader_compound


@pytest.fixture(scope="module")
def positive():
    return make_task("SentimentContinuation")


def ids(task, text):
    return task.tokenizer.encode(text)


def test_vader_compound_hand_computed():
    # VADER: "good" has valence 1.9; compound = 1.9 / sqrt(1.9 ** 2 + 15), rounded to 4 places
    assert vader_compound("good") == round(1.9 / math.sqrt(1.9**2 + 15), 4) == 0.4404
    assert vader_compound("") == 0.0


def test_score_maps_compound_to_unit_interval(positive):
    negative = make_task("SentimentContinuation", target="negative")
    example = positive.sample(np.random.default_rng(0))
    great = ids(positive, "great")  # valence 3.1: compound 3.1 / sqrt(3.1 ** 2 + 15) = 0.6249
    assert positive.score(great, example) == pytest.approx((1 + 0.6249) / 2)
    assert negative.score(great, example) == pytest.approx((1 - 0.6249) / 2)
    assert positive.score([], example) == negative.score([], example) == 0.5


def test_success_needs_strong_sentiment_and_fluency(positive):
    negative = make_task("SentimentContinuation", target="negative")
    example = positive.sample(np.random.default_rng(0))
    strong = ids(positive, "it was really wonderful and the plot was superb .")  # compound 0.8439
    mild = ids(positive, "it was great .")  # compound 0.6249: positive, not strongly
    assert positive.is_success(strong, example) and not negative.is_success(strong, example)
    assert not positive.is_success(mild, example) and not positive.is_success([], example)
    hated = ids(negative, "i hated the plot , and the music was pathetic .")
    assert negative.is_success(hated, example) and negative.score(hated, example) > 0.9


def test_every_reference_scores_above_the_threshold_and_reads_fluently(positive):
    example = positive.sample(np.random.default_rng(0))
    for target, grammar in CONTINUATIONS.items():
        sign = 1 if target == "positive" else -1
        texts = list(grammar.expand())
        assert min(sign * vader_compound(text) for text in texts) >= 0.8, target  # score (1 + 0.8) / 2 = 0.9
        fluencies = [positive.final_info(ids(positive, text), example)["fluency"] for text in texts]
        assert min(fluencies) > 0.22, target


def test_openings_and_splits(positive):
    assert len(set(OPENINGS.expand())) == 360
    rng = np.random.default_rng(1)
    prompts = {split: {positive.sample(rng, split).prompt for _ in range(200)} for split in ("train", "test")}
    assert not prompts["train"] & prompts["test"] and all(p.endswith(" and") for p in prompts["train"])


@pytest.mark.parametrize("target", ["positive", "negative"])
def test_oracle_succeeds_on_1000_seeded_episodes(target):
    env = gym.make("textgym/SentimentContinuation-v0", target=target)
    scores = []
    for seed in range(1000):
        env.reset(seed=seed)
        for action in env.unwrapped.task.oracle_actions(env.unwrapped.example):
            _, reward, terminated, _, info = env.step(action)
        assert terminated and info["success"] and reward == info["score"] >= 0.9
        assert info["fluency"] > 0.2 and abs(info["sentiment"]) >= 0.8  # final_info merged into the env's info
        scores.append(reward)
    assert np.mean(scores) >= gym.spec("textgym/SentimentContinuation-v0").reward_threshold


def test_random_policy_stays_neutral(positive):
    env = gym.make("textgym/SentimentContinuation-v0")
    scores, successes, fluencies = [], [], []
    for seed in range(300):
        _, info, _ = play(env, random_actions(seed), seed)
        scores.append(info["score"])
        successes.append(info["success"])
        assert info["fluency"] == positive.final_info(env.unwrapped.generated, env.unwrapped.example)["fluency"]
        fluencies.append(info["fluency"])
    assert np.mean(scores) == pytest.approx(0.5, abs=0.1) and np.mean(scores) < 0.9
    assert np.mean(successes) < 0.05
    example = positive.sample(np.random.default_rng(0))
    oracle = positive.final_info(example.reference_ids[0], example)["fluency"]
    assert max(fluencies) < oracle / 10


def test_fluency_is_reported_beside_the_reward_and_exposes_word_salad(positive):
    example = positive.sample(np.random.default_rng(0))
    salad = ids(positive, "great great superb superb amazing amazing ! ! !")
    reference = example.reference_ids[0]
    assert positive.score(salad, example) > positive.score(reference, example) >= 0.9  # the lexicon is fooled ...
    salad_info, reference_info = positive.final_info(salad, example), positive.final_info(reference, example)
    assert reference_info["fluency"] > 20 * salad_info["fluency"]  # ... the fluency measure is not
    assert salad_info["sentiment"] > 0.8 and not positive.is_success(salad, example)
    assert reference_info["sentiment"] == vader_compound(example.references[0])
    assert 0 < salad_info["fluency"] < reference_info["fluency"] <= 1


def test_bigram_fluency_hand_computed():
    model = BigramModel(["a b", "a c"], vocabulary=["a", "b", "c"])
    # P(a | <s>) = (2 + 1) / (2 + 4), P(b | a) = (1 + 1) / (2 + 4), P(</s> | b) = (1 + 1) / (1 + 4)
    assert model.fluency(["a", "b"]) == pytest.approx((1 / 2 * 1 / 3 * 2 / 5) ** (1 / 3))
    # an unseen start and an unseen pair: 1 / (2 + 4), then 1 / (0 + 4) for the end after an unseen context
    assert model.fluency(["d"]) == pytest.approx((1 / 6 * 1 / 4) ** 0.5)
