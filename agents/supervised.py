"""Supervised training of the Transformer policy on the task's reference answers (teacher forcing).

Usable alone, as the ``supervised`` baseline, and as the warm start of the policy-gradient agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from textgym.agents.base import Callback, EnvLike, check_total_steps
from textgym.agents.envs import as_vector_env
from textgym.agents.torch_agent import (
    BudgetSchedule,
    PolicyConfig,
    TransformerAgent,
    adamw,
    check_schedule,
    gradient_step,
    learning_rate_of,
    task_of,
)
from textgym.agents.transformer import SequencePolicy
from textgym.task import Example, Task


def demonstration_batch(
    task: Task, examples: Sequence[Example], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prompt slots ``(B, P)``, the slots of a demonstrated episode ``(B, G)`` and the mask of those the agent typed.

    The demonstration is :meth:`textgym.task.Task.demonstration`: the first reference and ``<eos>`` for a
    single-turn task; in a dialogue the scripted policy's conversation, the other side's replies included but
    not marked as the agent's.
    """
    prompts = np.zeros((len(examples), task.max_prompt_len), dtype=np.int64)
    slots = np.zeros((len(examples), task.max_gen_len), dtype=np.int64)
    own = np.zeros((len(examples), task.max_gen_len), dtype=bool)
    for row, example in enumerate(examples):
        prompts[row, : len(example.prompt_ids)] = example.prompt_ids
        demonstrated, typed = task.demonstration(example)
        slots[row, : len(demonstrated)] = demonstrated
        own[row, : len(typed)] = typed
    return tuple(torch.as_tensor(array, device=device) for array in (prompts, slots, own))


def used_widths(own: torch.Tensor) -> torch.Tensor:
    """Each row's slot columns up to the last one it typed in, ``(B,)`` for ``own`` ``(B, G)`` (0 for a row that
    typed nothing)."""
    columns = torch.arange(1, own.shape[1] + 1, device=own.device)
    return (own * columns).amax(dim=1)


def used_width(own: torch.Tensor) -> int:
    """Slot columns up to the last one any row typed in, for ``own`` ``(B, G)``: the logits past it serve no loss,
    and by causality the columns kept do not depend on the ones cut, so training computes only these."""
    return max(int(used_widths(own).max()), 1)


def teacher_forcing_loss(model: SequencePolicy, task: Task, examples: Sequence[Example]) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy of the demonstrated actions (``<eos>`` included) and the number of them."""
    prompts, slots, own = demonstration_batch(task, examples, next(model.parameters()).device)
    width = used_width(own)
    slots, own = slots[:, :width], own[:, :width]
    logits, _ = model.teacher_forced(prompts, slots)
    loss = F.cross_entropy(logits[own], slots[own])
    return loss, int(own.sum())


def supervised_update(
    model: SequencePolicy,
    task: Task,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    batch_size: int,
    max_grad_norm: float,
) -> tuple[int, float]:
    """One update on ``batch_size`` fresh train-split examples; returns the answer tokens read (each counts as one
    environment step of demonstration) and the loss."""
    model.train()
    loss, tokens = teacher_forcing_loss(model, task, [task.sample(rng, "train") for _ in range(batch_size)])
    gradient_step(model, optimizer, loss, max_grad_norm)
    return tokens, loss.item()


@dataclass
class SupervisedConfig(PolicyConfig):
    """Hyper-parameters of :class:`SupervisedAgent` (the model: see :class:`PolicyConfig`).

    Args:
        batch_size: examples per update.
        learning_rate: AdamW's peak learning rate.
        lr_schedule: ``"constant"``, ``"linear"`` or ``"cosine"`` decay over each ``learn`` call's budget.
        warmup_fraction: share of the budget over which the learning rate rises linearly from 0.
        weight_decay: AdamW weight decay.
        max_grad_norm: gradient-norm clipping.
    """

    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_schedule(self.lr_schedule, self.warmup_fraction)


class SupervisedAgent(TransformerAgent):
    """Teacher-forced cross-entropy on the reference answers of the train split.

    Every answer token read (``<eos>`` included) counts as one environment step, so its budget compares with the
    RL agents'. Takes the options of :class:`SupervisedConfig`.
    """

    config_class = SupervisedConfig

    def __init__(self, seed: int = 0, **options) -> None:
        super().__init__(seed, **options)
        self.rng = np.random.default_rng(seed)
        self.optimizer: torch.optim.Optimizer | None = None

    def learn(self, env: EnvLike, total_steps: int, callback: Callback | None = None) -> SupervisedAgent:
        total_steps = check_total_steps(total_steps)
        task = task_of(as_vector_env(env, num_envs=1, seed=self.seed))
        model = self.build_model(task)
        if self.optimizer is None:
            c = self.config
            self.optimizer = adamw(model, c.learning_rate, c.weight_decay)
        start, target = self.num_env_steps, self.num_env_steps + total_steps
        schedule = BudgetSchedule(self.optimizer, self.config.lr_schedule, self.config.warmup_fraction)
        while self.num_env_steps < target:
            tokens, loss = supervised_update(
                model, task, self.optimizer, self.rng, self.config.batch_size, self.config.max_grad_norm
            )
            self.num_env_steps += tokens
            schedule.advance((self.num_env_steps - start) / total_steps)
            self.write_log(
                "supervised",
                {"env_steps": self.num_env_steps, "loss": loss, "learning_rate": learning_rate_of(self.optimizer)},
            )
            if callback is not None and callback({"env_steps": self.num_env_steps, "loss": loss}) is False:
                break
        return self
