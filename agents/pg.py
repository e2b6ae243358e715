"""PolicyGradientAgent: REINFORCE-family policy gradient for a Transformer policy, written out in full.

One update, read top to bottom in :meth:`PolicyGradientAgent.learn`:

1. **Rollout.** Reset all ``num_envs`` sub-environments with seeds that give each group of rows the same prompt
   (``samples_per_prompt`` sampled rows, plus one greedy row for the self-critical baseline). The policy reads
   each group's prompt once (prefill) and then takes one batched, KV-cached step per environment step, sampling
   with a temperature, until every row's episode has ended. Every episode of a batch is complete, so no episode is cut
   at a batch boundary; rows that finish early idle (typing ``<pad>``, which finishes no second episode) until
   the last one ends.
2. **Returns and advantages.** Per-token discounted returns ``G_t``; the advantage is ``G_t`` minus a baseline:
   ``none``; ``mean`` (a running mean of ``G_t`` per position); ``value`` (a learned critic, with GAE(lambda));
   ``loo`` (RLOO: the episode's return minus the mean return of the other samples of its prompt); ``greedy``
   (SCST: the episode's return minus the return of the greedy decode of its prompt); ``batch`` (return-normalised
   REINFORCE: ``G_t`` standardised over all the batch's tokens, their mean subtracted and their standard deviation
   divided out, as multi-turn work recommends for dense per-turn rewards). Optionally scaled by their standard
   deviation.
3. **Loss.** The clipped-ratio surrogate ``min(r A, clip(r, 1 - eps, 1 + eps) A)`` summed over an episode's
   tokens and averaged over episodes: with one epoch and one minibatch ``r = 1`` and this is exactly REINFORCE;
   more epochs make it PPO-style. Minus an entropy bonus, plus the critic's squared error, plus a KL penalty to
   a frozen reference policy (the policy as it was when RL began, i.e. after the supervised warm start), with a
   fixed or an adaptive coefficient.
4. **Step.** AdamW, gradient-norm clipping, a constant / linear / cosine learning-rate schedule with warm-up;
   one step per minibatch, ``num_minibatches`` random minibatches per epoch (or minibatches of episodes of like
   lengths: ``bucket_by_length``), each computed up to its longest episode only.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from textgym.agents.base import Callback, EnvLike, check_total_steps
from textgym.agents.envs import as_vector_env
from textgym.agents.supervised import supervised_update, used_width, used_widths
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
from textgym.task import Task

BASELINES = ("none", "mean", "value", "loo", "greedy", "batch")


@dataclass
class PGConfig(PolicyConfig):
    """Hyper-parameters of :class:`PolicyGradientAgent` (the model: see :class:`PolicyConfig`).

    Args:
        num_envs: episodes generated per update (rows of the vector environment).
        baseline: ``"none"``, ``"mean"``, ``"value"``, ``"loo"``, ``"greedy"`` or ``"batch"`` (see the module
            docstring).
        samples_per_prompt: sampled episodes per prompt, k; ``loo`` needs at least 2.
        gamma: discount of future rewards within an episode.
        gae_lambda: GAE's lambda for the ``value`` baseline (1: Monte Carlo returns minus the value).
        temperature: the policy is ``softmax(logits / temperature)``, for sampling and for the loss alike.
        learning_rate: AdamW's peak learning rate.
        lr_schedule: ``"constant"``, ``"linear"`` or ``"cosine"`` decay over each ``learn`` call's budget.
        warmup_fraction: share of the budget over which the learning rate rises linearly from 0.
        weight_decay: AdamW's weight decay, in the warm start and in PG alike.
        entropy_coef: weight of the entropy bonus.
        value_coef: weight of the critic's loss (``value`` baseline).
        mean_baseline_decay: decay of the running mean of the ``mean`` baseline.
        normalize_advantages: divide advantages by their standard deviation (not centred, so that the baselines
            stay what they are).
        kl_coef: weight of the KL penalty to the reference policy; 0 disables it unless ``kl_target`` is set.
        kl_target: when set, adapt ``kl_coef`` so that the KL per token tracks this target.
        kl_horizon: environment steps over which the adaptive coefficient may change by about 20%.
        update_epochs: passes over each batch; more than one makes the clipped ratio matter.
        num_minibatches: minibatches per epoch.
        bucket_by_length: form each epoch's minibatches from episodes of like lengths (shuffled, then sorted by
            length, the minibatches visited in random order), so that little compute goes to padding (41% fewer
            update FLOPs on SCAN simple, 11% on Copy); off by default: on Copy and Reverse such minibatches took
            about 1.5x the environment steps to the threshold that random ones take.
        clip_range: epsilon of the clipped ratio.
        max_grad_norm: gradient-norm clipping.
        warm_start_steps: answer tokens of supervised teacher forcing before the first RL update (counted as
            environment steps).
        warm_start_batch_size: examples per supervised update.
        warm_start_learning_rate: peak learning rate of the supervised warm start.
        warm_start_lr_schedule: its schedule over the warm start's tokens (``"constant"``, ``"linear"``,
            ``"cosine"``; the warm-up fraction is ``warmup_fraction``).
        log_every: print every this many updates when ``verbose``.
        verbose: 0 silent, 1 prints progress lines.
    """

    num_envs: int = 128
    baseline: str = "value"
    samples_per_prompt: int = 1
    gamma: float = 1.0
    gae_lambda: float = 0.95
    temperature: float = 1.0
    learning_rate: float = 3e-4
    lr_schedule: str = "cosine"
    warmup_fraction: float = 0.05
    weight_decay: float = 0.0
    entropy_coef: float = 0.0
    value_coef: float = 0.5
    mean_baseline_decay: float = 0.9
    normalize_advantages: bool = True
    kl_coef: float = 0.0
    kl_target: float | None = None
    kl_horizon: int = 10_000
    update_epochs: int = 4
    num_minibatches: int = 4
    bucket_by_length: bool = False
    clip_range: float = 0.2
    max_grad_norm: float = 1.0
    warm_start_steps: int = 0
    warm_start_batch_size: int = 64
    warm_start_learning_rate: float = 1e-3
    warm_start_lr_schedule: str = "constant"
    log_every: int = 10
    verbose: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.baseline not in BASELINES:
            raise ValueError(f"unknown baseline {self.baseline!r}; expected one of {BASELINES}")
        check_schedule(self.lr_schedule, self.warmup_fraction)
        check_schedule(self.warm_start_lr_schedule, self.warmup_fraction)
        if self.baseline == "loo" and self.samples_per_prompt < 2:
            raise ValueError(f"baseline 'loo' needs samples_per_prompt >= 2, got {self.samples_per_prompt}")
        if self.samples_per_prompt < 1 or self.num_envs % self.group_size:
            raise ValueError(
                f"num_envs ({self.num_envs}) must be a positive multiple of the rows per prompt ({self.group_size}: "
                f"samples_per_prompt={self.samples_per_prompt}{' + 1 greedy' if self.baseline == 'greedy' else ''})"
            )
        for name in ("temperature", "learning_rate", "clip_range", "max_grad_norm", "kl_horizon"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda", "mean_baseline_decay"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.kl_target is not None and self.kl_target <= 0:
            raise ValueError(f"kl_target must be > 0 or None, got {self.kl_target}")
        for name in ("update_epochs", "num_minibatches", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_minibatches > self.num_envs:
            raise ValueError(f"num_minibatches ({self.num_minibatches}) exceeds num_envs ({self.num_envs})")

    @property
    def group_size(self) -> int:
        """Rows per prompt: the samples, plus the greedy row of the ``greedy`` baseline."""
        return self.samples_per_prompt + (self.baseline == "greedy")


@dataclass
class Rollout:
    """One batch of complete episodes, one row per sub-environment; ``(B, G)`` tensors over the answer (or
    conversation) slots unless noted. In a dialogue the slots also hold the other side's replies; only the
    ``own`` slots are the agent's actions, and only they carry log-probabilities, values and rewards."""

    prompts: torch.Tensor  # (B, P) prompt slots
    slots: torch.Tensor  # the episode's slots as its last observation shows them, 0 after its end
    own: torch.Tensor  # bool: the slot holds one of the agent's actions (one environment step)
    logprobs: torch.Tensor  # log-probabilities of the actions under the sampling policy
    values: torch.Tensor  # critic's values when each action was chosen
    rewards: torch.Tensor
    learn: torch.Tensor  # bool (B,): sampled rows (the greedy rows only provide baselines)
    scores: np.ndarray  # (B,) final scores
    successes: np.ndarray  # (B,) final successes

    @property
    def env_steps(self) -> int:
        return int(self.own.sum())


def discounted_returns(rewards: torch.Tensor, own: torch.Tensor, gamma: float) -> torch.Tensor:
    """``G_t = r_t + gamma * G_{t'}`` over each row's own steps (``t'`` the next one), 0 elsewhere; slots between
    own steps (a dialogue partner's reply) pass the return on undiscounted."""
    returns = torch.zeros_like(rewards)
    future = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        future = torch.where(own[:, t], rewards[:, t] + gamma * future, future)
        returns[:, t] = future * own[:, t]
    return returns


def generalized_advantages(rollout: Rollout, gamma: float, lam: float) -> torch.Tensor:
    """GAE(lambda) over each row's own steps with the rollout's values; the value after the last step is 0."""
    advantages = torch.zeros_like(rollout.rewards)
    running = torch.zeros_like(rollout.rewards[:, 0])
    next_value = torch.zeros_like(running)
    for t in reversed(range(rollout.rewards.shape[1])):
        own = rollout.own[:, t]
        delta = rollout.rewards[:, t] + gamma * next_value - rollout.values[:, t]
        running = torch.where(own, delta + gamma * lam * running, running)
        next_value = torch.where(own, rollout.values[:, t], next_value)
        advantages[:, t] = running * own
    return advantages


class PolicyGradientAgent(TransformerAgent):
    """Policy-gradient agent for a :class:`~textgym.agents.transformer.TransformerPolicy`; options: :class:`PGConfig`.

    ``learn(env, total_steps)`` takes a registered ID (made into a vector environment of ``num_envs`` rows) or a
    Gymnasium vector environment whose autoreset mode is NEXT_STEP or SAME_STEP; ``total_steps`` counts the
    environment steps of every episode generated (greedy rows included) and the warm start's answer tokens.
    Deterministic on the CPU for a fixed seed.
    """

    config_class = PGConfig
    config: PGConfig

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed, **options)
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.optimizer: torch.optim.Optimizer | None = None
        self.warm_start_optimizer: torch.optim.Optimizer | None = None
        self.warm_start_schedule: BudgetSchedule | None = None
        self.warm_start_tokens = 0
        self.reference: torch.nn.Module | None = None
        self.kl_coef = self.config.kl_coef
        self.mean_baseline: torch.Tensor | None = None
        self.num_updates = 0
        self.log_rows: list[dict[str, float]] = []

    def training_state(self) -> dict[str, Any]:
        """The optimizers (PG's and the warm start's), the warm start's progress, the KL reference and coefficient,
        the mean baseline, the update count and both random generators: a loaded agent's ``learn`` goes on exactly
        as this one's would."""

        def state_of(module: torch.nn.Module | torch.optim.Optimizer | None) -> dict[str, Any] | None:
            return None if module is None else module.state_dict()

        return {
            "optimizer": state_of(self.optimizer),
            "warm_start_optimizer": state_of(self.warm_start_optimizer),
            "warm_start_tokens": self.warm_start_tokens,
            "reference": state_of(self.reference),
            "kl_coef": self.kl_coef,
            "mean_baseline": self.mean_baseline,
            "num_updates": self.num_updates,
            "rng": self.rng.bit_generator.state,
            "generator": self.generator.get_state(),
        }

    def restore_training_state(self, state: dict[str, Any]) -> None:
        c = self.config
        if state["optimizer"] is not None:
            self.optimizer = adamw(self.model, c.learning_rate, c.weight_decay)
            self.optimizer.load_state_dict(state["optimizer"])
        if state["warm_start_optimizer"] is not None:
            self.warm_start_optimizer = adamw(self.model, c.warm_start_learning_rate, c.weight_decay)
            self.warm_start_optimizer.load_state_dict(state["warm_start_optimizer"])
            self.warm_start_schedule = BudgetSchedule(
                self.warm_start_optimizer,
                c.warm_start_lr_schedule,
                c.warmup_fraction,
                fraction=state["warm_start_tokens"] / max(c.warm_start_steps, 1),
            )
        self.warm_start_tokens = state["warm_start_tokens"]
        if state["reference"] is not None:
            self.reference = copy.deepcopy(self.model).eval().requires_grad_(False)
            self.reference.load_state_dict(state["reference"])
        self.kl_coef = state["kl_coef"]
        self.mean_baseline = None if state["mean_baseline"] is None else state["mean_baseline"].to(self.device)
        self.num_updates = state["num_updates"]
        self.rng.bit_generator.state = state["rng"]
        self.generator.set_state(state["generator"])

    # -- the algorithm -----------------------------------------------------------------------------------------

    def learn(self, env: EnvLike, total_steps: int, callback: Callback | None = None) -> PolicyGradientAgent:
        total_steps = check_total_steps(total_steps)
        c = self.config
        vector_env = as_vector_env(env, num_envs=c.num_envs, seed=self.seed)
        if vector_env.num_envs % c.group_size:
            raise ValueError(
                f"the vector env has {vector_env.num_envs} rows, not a multiple of {c.group_size} per prompt"
            )
        if vector_env.metadata.get("autoreset_mode") == gym.vector.AutoresetMode.DISABLED:
            raise ValueError("PolicyGradientAgent needs a vector env with autoreset (NEXT_STEP or SAME_STEP)")
        task = task_of(vector_env)
        model = self.build_model(task)
        target = self.num_env_steps + total_steps
        if self.warm_start_tokens < c.warm_start_steps and not self._warm_start(task, target, callback):
            return self  # the callback asked to stop
        if self.warm_start_tokens < c.warm_start_steps:
            return self  # the budget ended within the warm start; the next call goes on with it
        if self.optimizer is None:
            self.optimizer = adamw(model, c.learning_rate, c.weight_decay)
        if self.reference is None and (c.kl_coef > 0 or c.kl_target is not None):
            self.reference = copy.deepcopy(model).eval().requires_grad_(False)
        start = self.num_env_steps
        schedule = BudgetSchedule(self.optimizer, c.lr_schedule, c.warmup_fraction)

        while self.num_env_steps < target:
            began = time.perf_counter()
            rollout = self._collect(vector_env)
            metrics = self._update(rollout)
            self.num_env_steps += rollout.env_steps
            schedule.advance((self.num_env_steps - start) / max(target - start, 1))
            if c.kl_target is not None:
                error = float(np.clip(metrics["kl"] / c.kl_target - 1.0, -0.2, 0.2))
                self.kl_coef *= 1.0 + error * rollout.env_steps / c.kl_horizon
            metrics.update(env_steps=self.num_env_steps, steps_per_s=rollout.env_steps / (time.perf_counter() - began))
            self._log(metrics)
            if callback is not None and callback(metrics) is False:
                break
        return self

    def _warm_start(self, task: Task, target: int, callback: Callback | None) -> bool:
        """Supervised teacher forcing on train-split references until ``warm_start_steps`` answer tokens have been
        read or ``num_env_steps`` reaches ``target``; ``callback`` after every update. False if it asked to stop."""
        c = self.config
        if self.warm_start_optimizer is None:
            self.warm_start_optimizer = adamw(self.model, c.warm_start_learning_rate, c.weight_decay)
            self.warm_start_schedule = BudgetSchedule(
                self.warm_start_optimizer, c.warm_start_lr_schedule, c.warmup_fraction
            )
        while self.warm_start_tokens < c.warm_start_steps and self.num_env_steps < target:
            read, loss = supervised_update(
                self.model, task, self.warm_start_optimizer, self.rng, c.warm_start_batch_size, c.max_grad_norm
            )
            self.warm_start_tokens += read
            self.num_env_steps += read
            self.warm_start_schedule.advance(self.warm_start_tokens / c.warm_start_steps)
            self.write_log(
                "warm_start",
                {
                    "env_steps": self.num_env_steps,
                    "loss": loss,
                    "learning_rate": learning_rate_of(self.warm_start_optimizer),
                },
            )
            if c.verbose and self.warm_start_tokens >= c.warm_start_steps:
                print(f"warm start done: {self.warm_start_tokens} answer tokens, loss {loss:.4f}")
            if callback is not None and callback({"env_steps": self.num_env_steps, "warm_start_loss": loss}) is False:
                return False
        return True

    @torch.no_grad()
    def _collect(self, env: gym.vector.VectorEnv) -> Rollout:
        """Generate one complete episode per row (see step 1 of the module docstring)."""
        c, model = self.config, self.model
        B, P, G = env.num_envs, model.config.prompt_len, model.config.gen_len
        group = c.group_size
        pad = task_of(env).tokenizer.pad_id
        prompt_seeds = self.rng.integers(0, 2**31 - 1, size=B // group)
        obs, _ = env.reset(seed=[int(s) for s in np.repeat(prompt_seeds, group)])
        greedy = torch.zeros(B, dtype=torch.bool, device=self.device)
        if c.baseline == "greedy":
            greedy[group - 1 :: group] = True

        model.eval()
        prompts = torch.as_tensor(obs[:, :P], device=self.device)
        # The rows of a group share their prompt: read it once per group.
        logits, values, cache = model.prefill(prompts[::group])
        if group > 1:
            logits, values = logits.repeat_interleave(group, dim=0), values.repeat_interleave(group, dim=0)
            cache = cache.repeat_rows(group)
        slots, own = np.zeros((B, G), dtype=np.int64), np.zeros((B, G), dtype=bool)
        logprobs, step_values, rewards = (torch.zeros(B, G, device=self.device) for _ in range(3))
        scores, successes = np.zeros(B), np.zeros(B, dtype=bool)
        filled = np.zeros(B, dtype=np.int64)  # slots each row's episode has filled so far
        done = np.zeros(B, dtype=bool)
        columns = np.arange(G)
        while True:
            log_policy = F.log_softmax(logits / c.temperature, dim=-1)
            sampled = torch.multinomial(log_policy.exp(), 1, generator=self.generator).squeeze(-1)
            action = torch.where(greedy, logits.argmax(dim=-1), sampled)
            chosen = action.cpu().numpy()
            # A row whose episode has ended idles until every row's has: <pad> ends no episode before its longest,
            # so the idle rows finish no episode the agent did not play (one a curriculum would count).
            obs, reward, terminated, truncated, info = env.step(np.where(done, pad, chosen))
            rows = np.flatnonzero(~done)
            at = (torch.as_tensor(rows, device=self.device), torch.as_tensor(filled[rows], device=self.device))
            slots[rows, filled[rows]] = chosen[rows]
            own[rows, filled[rows]] = True
            logprobs[at] = log_policy[at[0], action[at[0]]]
            step_values[at] = values[at[0]]
            rewards[at] = torch.as_tensor(reward[rows], dtype=torch.float32, device=self.device)
            finished = (terminated | truncated) & ~done
            if finished.any():  # then the final infos are present
                scores[finished] = info["score"][finished]
                successes[finished] = info["success"][finished]
            done |= finished
            if done.all():
                break
            # Each row that goes on gained its action and, in a dialogue, the other side's reply after it: read
            # them from the observation (no slot is ever pad within an episode) and feed them to the cache.
            conversation = obs[:, P:]
            now = np.where(done, filled, (conversation != 0).sum(axis=1))
            replied = (columns > filled[:, None]) & (columns < now[:, None])
            slots[replied] = conversation[replied]
            counts = now - filled
            width = int(counts.max())
            fed = np.take_along_axis(conversation, np.minimum(filled[:, None] + np.arange(width), G - 1), axis=1)
            fed *= np.arange(width) < counts[:, None]
            logits, values = model.extend(
                torch.as_tensor(fed, device=self.device), cache, torch.as_tensor(counts, device=self.device)
            )
            filled = now
        return Rollout(
            prompts,
            torch.as_tensor(slots, device=self.device),
            torch.as_tensor(own, device=self.device),
            logprobs,
            step_values,
            rewards,
            ~greedy,
            scores,
            successes,
        )

    def _advantages(self, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Advantages ``(B, G)`` and, for the ``value`` baseline, the critic's targets."""
        c = self.config
        returns = discounted_returns(rollout.rewards, rollout.own, c.gamma)
        targets = None
        if c.baseline == "none":
            advantages = returns
        elif c.baseline == "mean":
            if self.mean_baseline is None:
                self.mean_baseline = torch.zeros(returns.shape[1], device=self.device)
            advantages = (returns - self.mean_baseline) * rollout.own
            learn_own = rollout.own & rollout.learn[:, None]
            observed = (returns * learn_own).sum(0) / learn_own.sum(0).clamp(min=1)
            seen = learn_own.any(0)
            decay = c.mean_baseline_decay
            self.mean_baseline[seen] = decay * self.mean_baseline[seen] + (1 - decay) * observed[seen]
        elif c.baseline == "value":
            advantages = generalized_advantages(rollout, c.gamma, c.gae_lambda)
            targets = advantages + rollout.values
        elif c.baseline == "batch":
            pooled = returns[rollout.own & rollout.learn[:, None]]
            advantages = (returns - pooled.mean()) / (pooled.std(correction=0) + 1e-8) * rollout.own
        else:  # loo and greedy: one advantage per episode, from its return and the other rows of its prompt
            episode_returns = returns[:, 0].view(-1, c.group_size)
            if c.baseline == "loo":
                baseline = (episode_returns.sum(1, keepdim=True) - episode_returns) / (c.group_size - 1)
            else:
                baseline = episode_returns[:, -1:].expand_as(episode_returns)
            advantages = (episode_returns - baseline).reshape(-1, 1) * rollout.own
        if c.normalize_advantages:
            learn_own = rollout.own & rollout.learn[:, None]
            advantages = advantages / (advantages[learn_own].std() + 1e-8) if learn_own.sum() > 1 else advantages
        return advantages, targets

    def _update(self, rollout: Rollout) -> dict[str, float]:
        """Epochs of minibatch updates on one rollout (steps 2 to 4 of the module docstring)."""
        c, model = self.config, self.model
        advantages, targets = self._advantages(rollout)
        rows = torch.nonzero(rollout.learn).squeeze(1)
        reference_log_policy = self._reference_log_policy(rollout, rows)
        totals: dict[str, float] = {}
        model.train()
        for _ in range(c.update_epochs):
            order = rows[torch.randperm(len(rows), generator=self.generator, device=self.device)]
            minibatches = order.tensor_split(c.num_minibatches)
            if c.bucket_by_length:  # rows of like lengths together, so that a minibatch pads little; in random order
                lengths = used_widths(rollout.own[order])
                by_length = order[torch.sort(lengths, stable=True).indices].tensor_split(c.num_minibatches)
                visits = torch.randperm(len(by_length), generator=self.generator, device=self.device)
                minibatches = [by_length[index] for index in visits.tolist()]
            for minibatch in minibatches:
                losses = self._losses(rollout, minibatch, advantages, targets, reference_log_policy)
                grad_norm = gradient_step(model, self.optimizer, losses["loss"], c.max_grad_norm)
                for key, value in {**losses, "grad_norm": grad_norm}.items():
                    totals[key] = totals.get(key, 0.0) + value.item() / (c.update_epochs * c.num_minibatches)
        self.num_updates += 1
        learn = rollout.learn.cpu().numpy()
        metrics = {
            "update": self.num_updates,
            "return": float(rollout.rewards.sum(1)[rollout.learn].mean()),
            "score": float(rollout.scores[learn].mean()),
            "success": float(rollout.successes[learn].mean()),
            "episode_length": float(rollout.own.sum(1)[rollout.learn].float().mean()),
            "learning_rate": learning_rate_of(self.optimizer),
            "kl_coef": self.kl_coef,
            **totals,
        }
        if c.baseline == "greedy":
            metrics["greedy_score"] = float(rollout.scores[~learn].mean())
        return metrics

    @torch.no_grad()
    def _reference_log_policy(self, rollout: Rollout, rows: torch.Tensor) -> torch.Tensor | None:
        """The frozen reference policy's log-probabilities ``(B, W, V)`` at the slots of the learning ``rows`` (zero
        in the other rows), ``W`` the longest episode's width: computed once per rollout, since neither the
        reference nor its inputs change between the update's minibatches. None without a reference."""
        if self.reference is None:
            return None
        width = used_width(rollout.own[rows])
        logits, _ = self.reference.teacher_forced(rollout.prompts[rows], rollout.slots[rows, :width])
        log_policy = torch.zeros(len(rollout.own), width, logits.shape[-1], device=self.device)
        log_policy[rows] = F.log_softmax(logits / self.config.temperature, dim=-1)
        return log_policy

    def _losses(
        self,
        rollout: Rollout,
        rows: torch.Tensor,
        advantages: torch.Tensor,
        targets: torch.Tensor | None,
        reference_log_policy: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        c = self.config
        own = rollout.own[rows]
        width = used_width(own)  # the minibatch's longest episode: no compute on the empty slots after it
        columns = slice(0, width)
        own, slots = own[:, columns], rollout.slots[rows, columns]
        logits, values = self.model.teacher_forced(rollout.prompts[rows], slots)
        log_policy = F.log_softmax(logits / c.temperature, dim=-1)
        logprobs = log_policy.gather(2, slots[..., None]).squeeze(-1)
        ratio = torch.exp(logprobs - rollout.logprobs[rows, columns])
        advantage = advantages[rows, columns]
        surrogate = torch.min(ratio * advantage, ratio.clamp(1 - c.clip_range, 1 + c.clip_range) * advantage)
        episodes = len(rows)
        tokens = own.sum().clamp(min=1)

        def per_episode(x: torch.Tensor) -> torch.Tensor:  # summed over an episode's tokens, mean over episodes
            return (x * own).sum() / episodes

        policy = log_policy.exp()
        entropy = -(policy * log_policy).sum(-1)
        losses = {"policy_loss": -per_episode(surrogate), "entropy": per_episode(entropy)}
        loss = losses["policy_loss"] - c.entropy_coef * losses["entropy"]
        if targets is not None:
            losses["value_loss"] = per_episode((values - targets[rows, columns]) ** 2)
            loss = loss + c.value_coef * losses["value_loss"]
        if reference_log_policy is not None:
            kl = (policy * (log_policy - reference_log_policy[rows, columns])).sum(-1)
            losses["kl_loss"] = per_episode(kl)
            loss = loss + self.kl_coef * losses["kl_loss"]
            losses["kl"] = (kl * own).sum() / tokens
        losses["entropy"] = (entropy * own).sum() / tokens  # reported per token
        losses["loss"] = loss
        return losses

    # -- logging -----------------------------------------------------------------------------------------------

    def _log(self, metrics: dict[str, float]) -> None:
        """Keep the row, write it to ``log_dir`` (stream ``pg``) and print it when verbose."""
        metrics.setdefault("kl", 0.0)
        self.log_rows.append(metrics)
        self.write_log("pg", metrics)
        c = self.config
        if c.verbose and (self.num_updates % c.log_every == 0 or self.num_updates == 1):
            print(
                f"update {self.num_updates:5d}  steps {self.num_env_steps:8d}  return {metrics['return']:.3f}  "
                f"success {metrics['success']:.3f}  entropy {metrics['entropy']:.3f}  kl {metrics['kl']:.4f}  "
                f"loss {metrics['loss']:.4f}  lr {metrics['learning_rate']:.2e}  {metrics['steps_per_s']:.0f} steps/s"
            )
