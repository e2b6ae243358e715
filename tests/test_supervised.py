"""Supervised teacher forcing: the demonstrations it reads, the steps it counts, and that it learns."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from textgym import make_task
from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.evaluation import evaluate
from textgym.agents.supervised import SupervisedAgent, demonstration_batch, teacher_forcing_loss
from textgym.agents.torch_agent import task_of
from textgym.tasks.scan import SCAN, interpret, split_commands

TINY = {"model": {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64}}


def test_demonstrations_of_a_single_turn_task_are_the_reference_and_eos():
    task = make_task("Reverse", max_length=4)
    examples = [task.sample(np.random.default_rng(seed)) for seed in range(3)]
    prompts, slots, own = demonstration_batch(task, examples, torch.device("cpu"))
    for row, example in enumerate(examples):
        answer = [*example.reference_ids[0], task.tokenizer.eos_id]
        assert slots[row, : len(answer)].tolist() == answer and not slots[row, len(answer) :].any()
        assert own[row].tolist() == [True] * len(answer) + [False] * (task.max_gen_len - len(answer))
        assert prompts[row, : len(example.prompt_ids)].tolist() == list(example.prompt_ids)


def test_dialogue_demonstrations_train_only_on_the_agents_own_tokens():
    task = make_task("GuessNumber")
    examples = [task.sample(np.random.default_rng(seed)) for seed in range(4)]
    _, slots, own = demonstration_batch(task, examples, torch.device("cpu"))
    filled = slots != 0
    assert (own <= filled).all() and (filled & ~own).any()  # the user's replies are in the slots, not trained on
    model = make_agent("supervised", **TINY).build_model(task)
    loss, tokens = teacher_forcing_loss(model, task, examples)
    assert tokens == int(own.sum()) and loss.item() > 0


@pytest.mark.learning
def test_supervised_learns_copy_and_counts_demonstrated_tokens_as_steps(tmp_path):
    agent = make_agent("supervised", seed=0)
    seen = []
    agent.learn(env_spec("textgym/Copy-v0"), 40_000, callback=lambda m: seen.append(m["env_steps"]))
    assert agent.num_env_steps >= 40_000 and seen[-1] == agent.num_env_steps
    assert all(b > a for a, b in zip(seen, seen[1:]))
    result = evaluate(agent, "textgym/Copy-v0", episodes=200)
    assert result["success"] >= 0.95, result
    agent.save(tmp_path / "supervised.pt")
    restored = SupervisedAgent.load(tmp_path / "supervised.pt")
    assert isinstance(restored, SupervisedAgent) and restored.num_env_steps == agent.num_env_steps
    assert evaluate(restored, "textgym/Copy-v0", episodes=50) == evaluate(agent, "textgym/Copy-v0", episodes=50)


def test_bad_supervised_options_raise():
    with pytest.raises(ValueError, match="unknown lr_schedule 'cyclic'"):
        make_agent("supervised", lr_schedule="cyclic")
    with pytest.raises(ValueError, match="warmup_fraction must be in"):
        make_agent("supervised", warmup_fraction=1.0)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['batchsize'\]"):
        make_agent("supervised", batchsize=3)


def test_a_model_built_for_one_task_refuses_another():
    agent = make_agent("supervised", **TINY)
    agent.learn(env_spec("textgym/Copy-v0"), 100)
    with pytest.raises(ValueError, match="was built for"):
        agent.learn(gym.make_vec("textgym/Addition-v0", num_envs=1), 100)
    assert task_of(gym.make_vec("textgym/Copy-v0", num_envs=2)).name == "Copy"


class ShortSCAN(SCAN):
    """SCAN ``simple`` restricted to the commands of at most six actions, in each of its splits (2,669 train and
    728 test commands): a subset small enough to learn in a fast test."""

    def __init__(self) -> None:
        super().__init__("simple")
        self.commands = {
            split: [c for c in commands if len(interpret(c).split()) <= 6]
            for split, commands in split_commands("simple").items()
        }

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None):
        commands = self.commands[split]
        return self._example(commands[int(rng.integers(len(commands)))])


@pytest.mark.learning
def test_supervised_learns_a_scan_subset_to_a_high_exact_match_on_held_out_commands():
    env_options = {"task": ShortSCAN()}
    agent = make_agent("supervised", seed=0, model={"positions": "rotary", "n_layers": 3}, weight_decay=0.1)
    agent.learn(env_spec("textgym/SCAN-v0", **env_options), 150_000)
    result = evaluate(agent, "textgym/SCAN-v0", episodes=300, **env_options)
    assert result["success"] >= 0.9, result


@pytest.mark.learning
def test_bf16_and_fp32_learn_alike():
    """The same training in both precisions (inputs up to 3 of 4 symbols, a small rotary model): both solve the
    task. On a CPU without bf16 instructions torch emulates bf16, so this runs about twice as long in bf16."""
    options = {"max_length": 3, "num_symbols": 4}
    model = {"d_model": 64, "n_heads": 4, "n_layers": 2, "d_ff": 128, "positions": "rotary"}
    results = {}
    for precision in ("fp32", "bf16"):
        agent = make_agent("supervised", seed=0, precision=precision, model=model)
        agent.learn(env_spec("textgym/Copy-v0", **options), 40_000)
        assert agent.model.config.precision == precision
        results[precision] = evaluate(agent, "textgym/Copy-v0", episodes=200, split="train", **options)
    assert results["fp32"]["success"] >= 0.95 and results["bf16"]["success"] >= 0.95, results
    assert abs(results["fp32"]["score"] - results["bf16"]["score"]) <= 0.05, results


@pytest.mark.learning
def test_supervised_answers_babi_by_whom_the_question_names_not_by_the_last_room():
    """Two-statement bAbI stories (task 1): naming the story's last room scores about 0.62; answering by the person
    the question names, as the model must when the two statements are about different people, scores 1."""
    env_options = {"babi_task": 1, "max_statements": 2}
    agent = make_agent("supervised", seed=0, lr_schedule="constant")
    agent.learn(env_spec("textgym/BabiQA-v0", **env_options), 200_000)
    validation = evaluate(agent, "textgym/BabiQA-v0", episodes=300, split="validation", **env_options)
    assert validation["success"] >= 0.9
