"""Behaviour shared by every language task: sizes, tokenizers, options, checkers, oracle and splits."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import tokenizers
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from textgym.splits import SPLITS
from textgym.tasks import LANGUAGE_TASKS, make_task
from textgym.tokenizers import BPETokenizer, WordTokenizer

LANGUAGE = [task.name for task in LANGUAGE_TASKS]

# The sizes docs/envs.md states for the default options: (P, G, V).
DEFAULT_SIZES = {
    "SCAN": (9, 49, 22),
    "NumberWords": (11, 7, 44),
    "BabiQA": (40, 2, 37),
    "KeywordsToSentence": (4, 12, 86),
    "SentimentContinuation": (17, 13, 77),
    "Summarisation": (36, 7, 161),
}

# Options other than the defaults that change what a task generates; each must pass the checkers too.
VARIANTS = [
    ("SCAN", {"scan_split": "length"}),
    ("SCAN", {"scan_split": "addprim_jump", "metric": "token_accuracy"}),
    ("NumberWords", {"direction": "to_words", "max_digits": 3}),
    ("NumberWords", {"metric": "exact_match"}),
    ("BabiQA", {"babi_task": 2, "max_statements": 10}),
    ("BabiQA", {"babi_task": 6}),
    ("KeywordsToSentence", {"metric": "bleu"}),
    ("SentimentContinuation", {"target": "negative"}),
    ("Summarisation", {"num_sentences": 5}),
    *((name, {"tokenizer": "bpe"}) for name in LANGUAGE),
]


def test_default_sizes_are_the_documented_ones():
    for name, (P, G, V) in DEFAULT_SIZES.items():
        task = make_task(name)
        assert (task.max_prompt_len, task.max_gen_len, task.tokenizer.vocab_size) == (P, G, V), name
    assert list(DEFAULT_SIZES) == LANGUAGE


@pytest.mark.parametrize("name, options", VARIANTS, ids=lambda value: str(value))
def test_variants_pass_both_checkers_without_warnings(name, options):
    env_id = f"textgym/{name}-v0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(gym.make(env_id, **options).unwrapped)
        gym_check_env(gym.make(env_id, render_mode="ansi", **options).unwrapped)
        sb3_check_env(gym.make(env_id, **options), warn=True)


@pytest.mark.parametrize("name, options", [(name, {}) for name in LANGUAGE] + VARIANTS, ids=lambda value: str(value))
def test_examples_fit_and_the_oracle_succeeds(name, options):
    task = make_task(name, **options)
    rng = np.random.default_rng(0)
    for split in SPLITS:
        for _ in range(100):
            example = task.sample(rng, split)
            assert len(example.prompt_ids) <= task.max_prompt_len
            for reference, ids in zip(example.references, example.reference_ids):
                assert len(ids) < task.max_gen_len
                assert task.tokenizer.decode(ids) == reference  # every reference survives the tokenizer
            answer = task.oracle_actions(example)[:-1]
            assert task.is_success(answer, example)
            if name != "SentimentContinuation":  # a lexicon score, not a match: see test_sentiment.py
                assert task.score(answer, example) == 1.0


@pytest.mark.parametrize("name", LANGUAGE)
def test_vocabulary_comes_from_the_word_lists(name):
    task = make_task(name)
    assert isinstance(task.tokenizer, WordTokenizer)
    assert task.tokenizer.tokens[3:] == tuple(task.vocabulary())
    assert make_task(name).tokenizer.tokens == task.tokenizer.tokens  # stable ids
    mask = task.answer_mask()
    assert mask[task.tokenizer.eos_id] and mask.sum() == len(task.answer_words()) + 1


@pytest.mark.parametrize("name", LANGUAGE)
def test_bpe_tokenizer_is_trained_on_the_task_and_scores_like_words(name):
    word, bpe = make_task(name), make_task(name, tokenizer="bpe", bpe_vocab_size=96)
    assert isinstance(bpe.tokenizer, BPETokenizer) and bpe.tokenizer.vocab_size <= 96
    assert make_task(name, tokenizer="bpe", bpe_vocab_size=96).tokenizer.tokens == bpe.tokenizer.tokens
    rng_word, rng_bpe = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(50):
        a, b = word.sample(rng_word, "test"), bpe.sample(rng_bpe, "test")
        assert (a.prompt, a.references) == (b.prompt, b.references)  # same draws, other tokens
        # a wrong answer (the prompt's words) scores the same under both tokenizers
        assert word.score(a.prompt_ids, a) == pytest.approx(bpe.score(b.prompt_ids, b))
    mask = bpe.answer_mask()
    for answer_word in bpe.answer_words():
        assert mask[bpe.tokenizer.encode(answer_word)].all()


def test_special_ids_in_an_answer_never_match():
    task = make_task("BabiQA")
    example = task.sample(np.random.default_rng(0))
    answer = list(example.reference_ids[0])
    for special in (task.tokenizer.pad_id, task.tokenizer.eot_id):
        assert not task.is_success([*answer, special], example)
        assert task.score([*answer, special], example) == 0.0


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("SCAN", {"scan_split": "jump"}, "scan_split must be one of .* got 'jump'"),
        ("SCAN", {"metric": "rouge_l"}, "metric must be one of .* got 'rouge_l'"),
        ("SCAN", {"tokenizer": "char"}, "tokenizer must be one of .* got 'char'"),
        ("SCAN", {"tokenizer": "bpe", "bpe_vocab_size": 4}, "bpe_vocab_size must be an integer >= 8, got 4"),
        ("NumberWords", {"direction": "both"}, "got 'both'"),
        ("NumberWords", {"max_digits": 7}, "max_digits must be one of .* got 7"),
        ("NumberWords", {"max_digits": 3.0}, "got 3.0"),
        ("BabiQA", {"babi_task": 3}, "babi_task must be one of \\(1, 2, 6\\), got 3"),
        ("BabiQA", {"max_statements": 1}, "got 1"),
        ("KeywordsToSentence", {"metric": "chrf"}, "got 'chrf'"),
        ("SentimentContinuation", {"target": "neutral"}, "got 'neutral'"),
        ("Summarisation", {"num_sentences": 0}, "got 0"),
        ("Summarisation", {"num_sentences": True}, "got True"),
    ],
)
def test_bad_options_raise_naming_the_value(name, options, match):
    with pytest.raises(ValueError, match=match):
        make_task(name, **options)


@pytest.mark.parametrize("name", LANGUAGE)
def test_no_length_knob_for_a_curriculum(name):
    with pytest.raises(ValueError, match=f"task '{name}' has no length range; .* got 4"):
        make_task(name).sample(np.random.default_rng(0), length_cap=4)
    with pytest.raises(ValueError, match="no length range to grow"):
        gym.make(f"textgym/{name}-v0", curriculum=True)


@pytest.mark.parametrize("name", LANGUAGE)
def test_same_seed_same_examples(name):
    task = make_task(name)
    draws = [[task.sample(np.random.default_rng(seed), "validation") for seed in range(20)] for _ in range(2)]
    assert draws[0] == draws[1]
    assert len({example.prompt for example in draws[0]}) > 10


@pytest.mark.parametrize("env_id", [f"textgym/{name}-v0" for name in LANGUAGE])
def test_registered_with_options(env_id):
    env = gym.make(env_id, tokenizer="bpe", split="test")
    assert isinstance(env.unwrapped.task.tokenizer, BPETokenizer) and env.unwrapped.split == "test"


def test_a_tokenizers_json_file_gives_the_task_its_ids(tmp_path):
    """A BPE tokenizer trained with the ``tokenizers`` library on a task's own texts and saved as JSON: prompts,
    references and actions are its ids, and the oracle's episode through it succeeds."""
    word = make_task("NumberWords")
    rng = np.random.default_rng(0)
    texts = [
        text for example in (word.sample(rng) for _ in range(300)) for text in (example.prompt, *example.references)
    ]
    trained = BPETokenizer.train([*texts, " ".join(word.vocabulary())], vocab_size=80)
    path = tmp_path / "number_words.json"
    trained.model.save(str(path))
    task = make_task("NumberWords", tokenizer=str(path))
    assert task.tokenizer.tokens == trained.tokens
    env = gym.make("textgym/NumberWords-v0", tokenizer=path, split="test")  # a path object works too
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        prompt_ids = trained.encode(info["prompt"])
        assert obs[: len(prompt_ids)].tolist() == prompt_ids and obs[len(prompt_ids)] == 0
        actions = env.unwrapped.task.oracle_actions(env.unwrapped.example)
        assert actions == [*trained.encode(info["references"][0]), trained.eos_id]
        for action in actions:
            _, reward, terminated, _, info = env.step(action)
        assert terminated and info["success"] and reward == 1.0


def test_a_tokenizer_file_that_cannot_serve_the_task_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match="cannot read the tokenizer file '.*missing.json'"):
        make_task("SCAN", tokenizer=str(tmp_path / "missing.json"))
    digits = BPETokenizer.train(["1 2 3 4 5 6 7 8 9 0"], vocab_size=16)
    digits.model.save(str(tmp_path / "digits.json"))
    with pytest.raises(ValueError, match="tokenizer file '.*digits.json' cannot spell the task's words: character"):
        make_task("NumberWords", tokenizer=str(tmp_path / "digits.json"))
    plain = tokenizers.Tokenizer(tokenizers.models.WordLevel({"a": 0, "<pad>": 1, "<eos>": 2, "<eot>": 3}))
    plain.save(str(tmp_path / "plain.json"))
    with pytest.raises(ValueError, match="tokenizer file '.*plain.json': a BPE model must start with the special"):
        make_task("SCAN", tokenizer=str(tmp_path / "plain.json"))
