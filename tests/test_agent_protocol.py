import inspect
import re

import gymnasium as gym
import numpy as np
import pytest

from textgym.agents import AGENTS, available_agents, make_agent
from textgym.agents.base import Agent
from textgym.agents.evaluation import evaluate
from textgym.agents.random_agent import RandomAgent
from textgym.agents.transformer import ModelConfig


def test_make_agent_by_name_and_by_factory_path():
    assert "random" in available_agents()
    assert isinstance(make_agent("random", seed=3), RandomAgent)
    agent = make_agent("textgym.agents.random_agent:RandomAgent", seed=3, vocab_size=8)
    assert isinstance(agent, Agent) and agent.seed == 3 and agent.vocab_size == 8


@pytest.mark.parametrize(
    "name, match",
    [
        ("rnadom", "unknown agent 'rnadom'"),
        ("textgym.agents.nothing_here:Factory", "cannot import module 'textgym.agents.nothing_here'"),
        ("textgym.agents.random_agent:Nope", "has no attribute 'Nope'"),
        ("textgym.agents.random_agent:", "must look like"),
        ("types:SimpleNamespace", "lacks the protocol"),
    ],
)
def test_make_agent_errors_name_the_problem(name, match):
    with pytest.raises(ValueError, match=match):
        make_agent(name)


@pytest.mark.parametrize(
    "name, option, value, expected",
    [
        ("pg", "learning_rate", "fast", "float"),
        ("pg", "num_envs", True, "int"),
        ("pg", "kl_target", "0.1", "float | None"),
        ("supervised", "mask_actions", 1, "bool"),
        ("supervised", "batch_size", 64.0, "int"),
        ("sb3-ppo", "n_epochs", 2.5, "int"),
        ("sb3-a2c", "use_rms_prop", "yes", "bool"),
        ("sb3-dqn", "net_arch", [32, "wide"], "tuple[int, ...]"),
    ],
)
def test_an_option_of_the_wrong_type_is_refused_by_name_when_the_agent_is_built(name, option, value, expected):
    with pytest.raises(TypeError, match=re.escape(f"option '{option}' must be of type {expected}, got {value!r}")):
        make_agent(name, seed=0, **{option: value})


@pytest.mark.parametrize("name", ["pg", "supervised", "sb3-ppo-transformer"])
def test_model_options_are_nested_and_checked_by_name(name):
    agent = make_agent(name, seed=0, model={"n_layers": 3, "positions": "rotary"})
    assert agent.config.model == ModelConfig(n_layers=3, positions="rotary")  # the other sizes keep their defaults
    with pytest.raises(TypeError, match=re.escape("option 'd_model' must be of type int, got '128'")):
        make_agent(name, seed=0, model={"d_model": "128"})
    with pytest.raises(ValueError, match=re.escape("unknown option(s) ['layers'] for ModelConfig")):
        make_agent(name, seed=0, model={"layers": 3})
    flat = "['n_layers'] are options of ModelConfig: give them as model={...}"
    with pytest.raises(ValueError, match=re.escape(flat)):
        make_agent(name, seed=0, n_layers=3)
    with pytest.raises(TypeError, match="option 'model' must be a ModelConfig or a dict of its fields, got 'big'"):
        make_agent(name, seed=0, model="big")


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_every_built_in_agent_loads_through_a_class_method(name):
    assert isinstance(inspect.getattr_static(type(make_agent(name, seed=0)), "load"), classmethod)


def test_options_of_the_right_type_in_the_forms_a_suite_file_gives_them_are_accepted():
    assert make_agent("pg", seed=0, learning_rate=1, kl_target=None).config.learning_rate == 1  # an int is a float
    assert make_agent("sb3-dqn", seed=0, net_arch=[32, 32]).config.net_arch == (32, 32)  # a list is a tuple


def test_random_agent_predicts_in_the_action_space_and_round_trips(tmp_path):
    agent = make_agent("random", seed=0).learn("textgym/Copy-v0", 0)
    actions = agent.predict(np.zeros((50, 11), dtype=np.int64))
    assert actions.shape == (50,) and actions.dtype == np.int64 and actions.min() >= 0 and actions.max() < 8
    agent.save(tmp_path / "random.json")
    restored = RandomAgent.load(tmp_path / "random.json")
    assert isinstance(restored, RandomAgent) and restored is not agent
    assert restored.seed == 0 and restored.vocab_size == 8
    assert np.array_equal(
        restored.predict(np.zeros((5, 11), dtype=np.int64)),
        make_agent("random", vocab_size=8).predict(np.zeros((5, 11), dtype=np.int64)),
    )


def test_bad_arguments_raise():
    agent = make_agent("random")
    with pytest.raises(RuntimeError, match="call learn"):
        agent.predict(np.zeros((1, 11), dtype=np.int64))
    with pytest.raises(ValueError, match="total_steps must be a non-negative integer, got -5"):
        agent.learn("textgym/Copy-v0", -5)
    with pytest.raises(ValueError, match="registered ID, an EnvSpec or a gymnasium VectorEnv"):
        agent.learn(42, 10)
    agent.learn("textgym/Copy-v0", 0)
    with pytest.raises(ValueError, match="shape"):
        agent.predict(np.zeros((2, 3, 4), dtype=np.int64))


def test_evaluate_uses_the_same_held_out_prompts_every_time():
    agent = make_agent("random", seed=0).learn("textgym/Copy-v0", 0)
    first = evaluate(agent, "textgym/Copy-v0", episodes=150, num_envs=64)
    again = evaluate(
        make_agent("random", seed=0).learn("textgym/Copy-v0", 0), "textgym/Copy-v0", episodes=150, num_envs=64
    )
    assert first == again and first["episodes"] == 150
    assert 0.0 < first["score"] < 0.3 and first["success"] < 0.05
    with pytest.raises(ValueError, match="episodes must be >= 1, got 0"):
        evaluate(agent, "textgym/Copy-v0", episodes=0)


def test_evaluate_averages_the_numbers_each_task_reports_in_its_final_info():
    """Sentiment continuation reports ``sentiment`` and ``fluency``, guess the number its ``turns``: each is the mean
    over the episodes, as a loop over single environments with the same seeds finds; Copy reports none."""
    env_id, episodes = "textgym/SentimentContinuation-v0", 12
    agent = make_agent("random", seed=0).learn(env_id, 0)
    result = evaluate(agent, env_id, episodes=episodes, num_envs=1)
    assert set(result) == {"score", "success", "episodes", "sentiment", "fluency"}
    env, replay = gym.make(env_id, split="test"), make_agent("random", seed=0).learn(env_id, 0)
    finals = []
    for i in range(episodes):
        obs, _ = env.reset(seed=10_000 + i)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(int(replay.predict(obs[None])[0]))
            done = terminated or truncated
        finals.append(info)
    for key in ("score", "sentiment", "fluency"):
        assert result[key] == pytest.approx(np.mean([info[key] for info in finals])), key
    guess = make_agent("random", seed=0).learn("textgym/GuessNumber-v0", 0)
    assert 1 <= evaluate(guess, "textgym/GuessNumber-v0", episodes=20)["turns"] <= 10
    assert set(evaluate(make_agent("random", seed=0).learn("textgym/Copy-v0", 0), "textgym/Copy-v0", 20)) == {
        "score",
        "success",
        "episodes",
    }


class CopiesTwoSymbols:
    """Copies the first two prompt symbols and stops: on Copy it solves exactly the inputs of length 2 or less."""

    def __init__(self, prompt_len: int, eos_id: int) -> None:
        self.prompt_len, self.eos_id = prompt_len, eos_id

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        typed = (obs[:, self.prompt_len :] != 0).sum(axis=1)
        next_symbol = obs[np.arange(len(obs)), np.minimum(typed, self.prompt_len - 1)]
        return np.where((typed < 2) & (next_symbol != 0), next_symbol, self.eos_id)


def test_evaluation_covers_the_whole_test_distribution_even_for_a_curriculum_env():
    task = gym.make("textgym/Copy-v0").unwrapped.task
    agent = CopiesTwoSymbols(task.max_prompt_len, task.tokenizer.eos_id)
    plain = evaluate(agent, "textgym/Copy-v0", episodes=200)
    assert 0.05 < plain["success"] < 0.4  # most test inputs are longer than 2
    assert evaluate(agent, "textgym/Copy-v0", episodes=200, curriculum=True) == plain
    short = gym.make("textgym/Copy-v0", max_length=2).unwrapped.task
    short_agent = CopiesTwoSymbols(short.max_prompt_len, short.tokenizer.eos_id)
    assert evaluate(short_agent, "textgym/Copy-v0", episodes=200, max_length=2)["success"] == 1.0
