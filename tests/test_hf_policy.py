"""A Hugging Face Transformers causal LM as the policy of pg: a real tokenizer file, a real GPT-2 model object."""

import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.evaluation import evaluate
from textgym.agents.hf_policy import HFPolicy, build_hf_model
from textgym.agents.pg import PolicyGradientAgent
from textgym.agents.transformer import TransformerConfig
from textgym.tasks import make_task
from textgym.tokenizers import BPETokenizer

DIGITS = {"max_digits": 1, "reward_mode": "dense"}  # number words to digits, zero to nine
SMALL_COPY = {"max_length": 3, "num_symbols": 3}


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory):
    """A BPE tokenizer trained with the ``tokenizers`` library on number words' own texts, saved as JSON."""
    task = make_task("NumberWords", max_digits=2)
    rng = np.random.default_rng(0)
    texts = [
        text for example in (task.sample(rng) for _ in range(200)) for text in (example.prompt, *example.references)
    ]
    path = tmp_path_factory.mktemp("tokenizer") / "number_words.json"
    BPETokenizer.train([*texts, " ".join(task.vocabulary())], vocab_size=48).model.save(str(path))
    return str(path)


def gpt2(vocab_size: int, n_layer: int = 2) -> dict:
    """A tiny randomly initialised GPT-2's configuration."""
    return {
        "model_type": "gpt2",
        "vocab_size": vocab_size,
        "n_positions": 32,
        "n_embd": 32,
        "n_layer": n_layer,
        "n_head": 2,
    }


def test_the_models_own_cache_gives_the_logits_of_the_whole_sequence(tokenizer_file):
    """Prefill, then extensions by different numbers of tokens per row (a dialogue's replies), give the logits and
    values a forward pass over each whole sequence gives."""
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=40, prompt_len=4, max_len=16)
    policy = HFPolicy(build_hf_model(gpt2(40)), config).eval()
    prompts = torch.randint(3, 40, (3, 4))
    more = torch.randint(3, 40, (3, 6))
    with torch.no_grad():
        whole_logits, whole_values = policy(policy.sequence(prompts, more))
        logits, values, cache = policy.prefill(prompts)
        torch.testing.assert_close(logits, whole_logits[:, 4], rtol=1e-4, atol=1e-4)
        counts = torch.tensor([1, 3, 2])
        logits, values = policy.extend(more[:, :3], cache, counts)
        for row, count in enumerate(counts.tolist()):
            torch.testing.assert_close(logits[row], whole_logits[row, 4 + count], rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(values[row], whole_values[row, 4 + count], rtol=1e-4, atol=1e-4)
        next_tokens = more[torch.arange(3), counts]
        logits, _ = policy.step(next_tokens, cache)
        for row, count in enumerate(counts.tolist()):
            torch.testing.assert_close(logits[row], whole_logits[row, 5 + count], rtol=1e-4, atol=1e-4)
    assert torch.all(logits[:, 0] < -1e8)  # <pad> is never emitted


@pytest.mark.learning
def test_pg_with_a_gpt2_policy_learns_small_copy_above_random_and_round_trips(tmp_path):
    vocab = make_task("Copy", **SMALL_COPY).tokenizer.vocab_size
    agent = make_agent(
        "pg",
        seed=0,
        policy="hf",
        hf_model=gpt2(vocab, n_layer=1),
        num_envs=64,
        learning_rate=1e-3,
        update_epochs=1,
        num_minibatches=1,
        lr_schedule="constant",
        warmup_fraction=0.0,
    )
    agent.learn(gym.make_vec("textgym/Copy-v0", num_envs=64, reward_mode="dense", **SMALL_COPY), 60_000)
    assert isinstance(agent.model, HFPolicy)
    # small Copy has only 39 prompts, so its test split holds a handful: judge on the train split's distribution
    random_agent = make_agent("random").learn(env_spec("textgym/Copy-v0", **SMALL_COPY), 0)
    chance = evaluate(random_agent, "textgym/Copy-v0", 200, split="train", **SMALL_COPY)
    learned = evaluate(agent, "textgym/Copy-v0", 200, split="train", **SMALL_COPY)
    assert chance["score"] < 0.15 and learned["score"] > chance["score"] + 0.5, (learned, chance)

    agent.save(tmp_path / "agent.pt")
    loaded = PolicyGradientAgent.load(tmp_path / "agent.pt")
    assert isinstance(loaded.model, HFPolicy) and loaded.config.hf_model == gpt2(vocab, n_layer=1)
    assert evaluate(loaded, "textgym/Copy-v0", 200, split="train", **SMALL_COPY) == learned
    env = gym.make("textgym/Copy-v0", **SMALL_COPY)
    obs = np.stack([env.reset(seed=seed)[0] for seed in range(20)])
    np.testing.assert_array_equal(loaded.predict(obs), agent.predict(obs))


@pytest.mark.learning
def test_the_warm_start_kl_and_every_baseline_run_with_a_gpt2_policy(tokenizer_file):
    """Teacher forcing on the references (ids of the BPE tokenizer file) solves the train split; PG with a KL
    penalty and each baseline then runs on the same model and keeps it."""
    env_options = {**DIGITS, "tokenizer": tokenizer_file}
    vocab = make_task("NumberWords", max_digits=1, tokenizer=tokenizer_file).tokenizer.vocab_size
    for baseline, samples in (("value", 1), ("loo", 2), ("greedy", 1), ("batch", 1)):
        agent = make_agent(
            "pg",
            seed=0,
            policy="hf",
            hf_model=gpt2(vocab),
            num_envs=8,
            baseline=baseline,
            samples_per_prompt=samples,
            warm_start_steps=4_000,
            warm_start_batch_size=16,
            warm_start_learning_rate=3e-3,
            kl_coef=0.1,
        )
        agent.learn(env_spec("textgym/NumberWords-v0", **env_options), 4_400)
        assert agent.num_env_steps >= 4_400 and agent.reference is not None
        learned = evaluate(agent, "textgym/NumberWords-v0", 100, split="train", **env_options)
        assert learned["success"] > 0.9, (baseline, learned)


def test_supervised_trains_a_gpt2_policy(tokenizer_file):
    env_options = {"max_digits": 1, "tokenizer": tokenizer_file}
    vocab = make_task("NumberWords", **env_options).tokenizer.vocab_size
    agent = make_agent("supervised", seed=0, policy="hf", hf_model=gpt2(vocab), batch_size=16, learning_rate=3e-3)
    agent.learn(env_spec("textgym/NumberWords-v0", **env_options), 4_000)
    assert isinstance(agent.model, HFPolicy)
    assert evaluate(agent, "textgym/NumberWords-v0", 100, split="train", **env_options)["success"] > 0.5


def test_a_saved_model_directory_is_loaded_with_its_weights(tmp_path):
    vocab = make_task("Copy", **SMALL_COPY).tokenizer.vocab_size
    torch.manual_seed(1)
    saved = build_hf_model(gpt2(vocab))
    assert saved.config.bos_token_id == saved.config.eos_token_id == 1  # textgym's <eos>
    saved.save_pretrained(tmp_path / "model")
    assert build_hf_model(str(tmp_path / "model" / "config.json")).config.n_layer == 2  # a config file: new weights
    agent = make_agent("pg", seed=0, policy="hf", hf_model=str(tmp_path / "model"))
    agent.learn(gym.make_vec("textgym/Copy-v0", num_envs=4, **SMALL_COPY), 0)
    for name, weight in saved.state_dict().items():
        torch.testing.assert_close(agent.model.model.state_dict()[name], weight)


def test_a_model_that_cannot_hold_the_task_is_refused_naming_why(tokenizer_file):
    env = env_spec("textgym/NumberWords-v0", max_digits=1, tokenizer=tokenizer_file)
    with pytest.raises(ValueError, match="the model's vocabulary has 10 ids; the environment's has"):
        make_agent("pg", policy="hf", hf_model=gpt2(10)).learn(env, 100)
    with pytest.raises(ValueError, match="policy='hf' takes an hf_model"):
        make_agent("pg", policy="hf")
    with pytest.raises(ValueError, match="unknown policy 'gpt'"):
        make_agent("pg", policy="gpt", hf_model=gpt2(10))


def test_without_transformers_the_agent_names_the_extra_to_install(monkeypatch, tokenizer_file):
    monkeypatch.setitem(sys.modules, "transformers", None)
    env = env_spec("textgym/NumberWords-v0", max_digits=1, tokenizer=tokenizer_file)
    with pytest.raises(ImportError, match=r"policy='hf' needs the transformers package: pip install 'textgym\[hf\]'"):
        make_agent("pg", policy="hf", hf_model=gpt2(64)).learn(env, 100)


def test_a_checkpoint_from_when_the_hf_model_was_the_model_option_still_loads(tmp_path):
    """Before the built-in model's sizes were nested under ``model``, they were saved flat and the Hugging Face
    model was the ``model`` option."""
    vocab = make_task("Copy", **SMALL_COPY).tokenizer.vocab_size
    agent = make_agent("pg", seed=0, policy="hf", hf_model=gpt2(vocab, n_layer=1), num_envs=4)
    agent.learn(gym.make_vec("textgym/Copy-v0", num_envs=4, **SMALL_COPY), 0)
    agent.save(tmp_path / "agent.pt")
    state = torch.load(tmp_path / "agent.pt", weights_only=True)
    config = {name: value for name, value in state["config"].items() if name not in ("model", "hf_model")}
    old = {**config, **state["config"]["model"], "model": state["config"]["hf_model"]}
    torch.save({**state, "config": old}, tmp_path / "agent.pt")
    loaded = PolicyGradientAgent.load(tmp_path / "agent.pt")
    assert loaded.config == agent.config and loaded.config.hf_model == gpt2(vocab, n_layer=1)
    env = gym.make("textgym/Copy-v0", **SMALL_COPY)
    obs = np.stack([env.reset(seed=seed)[0] for seed in range(20)])
    np.testing.assert_array_equal(loaded.predict(obs), agent.predict(obs))
