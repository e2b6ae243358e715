"""One trial: an agent trains on an environment for a budget of environment steps, evaluated at checkpoints.

:func:`run_trial` never raises for a failing agent: the trial's record then has ``status="failed"`` and the
traceback in ``error``, so the rest of a suite goes on.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.evaluation import evaluate
from textgym.agents.training_log import TrainingLog
from textgym.benchmarks.versions import package_versions

EVAL_SEED = 10_000
"""Seed of the first held-out evaluation prompt; every trial of every agent evaluates on the same prompts."""

EVAL_DECODINGS = ("greedy", "sampled")
"""How a trial's evaluations choose actions: the most likely one, or one drawn from the policy."""


@dataclass(frozen=True)
class TrialSpec:
    """What a trial runs.

    Args:
        env: a registered environment ID.
        env_options: task and environment options.
        agent: an agent name for :func:`textgym.agents.make_agent`.
        agent_options: the agent's options.
        label: how the results name the agent (default: ``agent``).
        env_label: how the results name the environment (default: ``env``).
        seed: the agent's seed (environment episodes follow from it too).
        steps: the environment-step budget.
        eval_every: environment steps between evaluations; evaluations also happen at 0 and after training.
        eval_episodes: held-out test prompts per evaluation.
        eval_seed: seed of the first evaluation prompt.
        eval_decoding: how evaluations choose actions: ``"greedy"`` (default) or ``"sampled"`` (at the policy's
            temperature), for tasks whose policy is a distribution, such as a continuation's sentiment.
    """

    env: str
    agent: str
    seed: int
    steps: int
    eval_every: int
    eval_episodes: int
    eval_seed: int = EVAL_SEED
    env_options: dict[str, Any] = field(default_factory=dict)
    agent_options: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    env_label: str = ""
    eval_decoding: str = "greedy"

    def __post_init__(self) -> None:
        if self.eval_decoding not in EVAL_DECODINGS:
            raise ValueError(f"eval_decoding must be one of {list(EVAL_DECODINGS)}, got {self.eval_decoding!r}")

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready settings."""
        return dataclasses.asdict(self)

    @property
    def env_name(self) -> str:
        """The environment as results and reports name it: its label, else its ID."""
        return self.env_label or self.env

    @property
    def agent_label(self) -> str:
        """The agent as results and reports name it: its label, else its name."""
        return self.label or self.agent

    @property
    def needs_gpu(self) -> bool:
        """Whether the agent asks for a CUDA device (an executor that places trials gives it a GPU)."""
        return str(self.agent_options.get("device", "")).startswith("cuda")

    @property
    def key(self) -> str:
        """A file-name-safe name, unique for these settings: readable parts and a hash of all of them. The hash
        reads the agent's nested ``model`` options as the flat options they were before they were nested
        (:func:`hashed_options`), and leaves out the default ``eval_decoding``, so that the trials finished before
        either keep their keys."""
        settings = {**self.to_dict(), "agent_options": hashed_options(self.agent_options)}
        if self.eval_decoding == "greedy":
            del settings["eval_decoding"]
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
        readable = f"{self.env_name}__{self.agent_label}__seed{self.seed}"
        return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', readable)}__{digest}"


def hashed_options(options: dict[str, Any]) -> dict[str, Any]:
    """Agent options as a trial's key hashes them: a ``model`` table (the Transformer's sizes,
    ``model = { n_layers = 3 }``) spread among the other options, as suites gave them before the model's sizes were
    nested (``n_layers = 3``).

    Args:
        options: the agent's options.
    """
    model = options.get("model")
    if not isinstance(model, dict):
        return options
    return {**{name: value for name, value in options.items() if name != "model"}, **model}


def failed_record(spec: TrialSpec, error: str | None = None) -> dict[str, Any]:
    """The record of a trial of ``spec`` that failed with ``error`` before any evaluation (the results contract):
    where every trial's record starts, and what a trial whose worker died or timed out gets."""
    return {
        **spec.to_dict(),
        "env": spec.env_name,
        "env_id": spec.env,
        "agent": spec.agent_label,
        "agent_name": spec.agent,
        "status": "failed",
        "final_score": None,
        "final_success": None,
        "final_measures": {},
        "env_steps": 0,
        "wall_s": 0.0,
        "train_s": 0.0,
        "eval_s": 0.0,
        "steps_per_s": None,
        "curve": [],
        "error": error,
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": package_versions(),
    }


def run_trial(spec: TrialSpec, log_dir: str | None = None) -> dict[str, Any]:
    """Train and evaluate one agent as ``spec`` says and return the trial's record (the results contract).

    The agent first learns for 0 steps (to see the environment) and is evaluated; it then learns for the whole
    budget in one call, evaluated whenever its callback reports that another ``eval_every`` steps have passed,
    and once more at the end unless the last evaluation was already there. A curve point is
    ``[env_steps, score, success]`` at the steps the agent reported. ``train_s`` and ``steps_per_s`` count the
    budget's ``learn`` call without its evaluations. An agent that raises, or calls ``sys.exit``, fails the
    trial with its traceback in ``error`` (the curve so far is kept).

    With ``log_dir``, the trial's TensorBoard logs go to ``log_dir/<spec.key>``: its evaluations as the stream
    ``eval`` (:class:`~textgym.agents.training_log.TrainingLog`), and, for an agent with a ``log_dir`` attribute
    (every built-in agent that trains), the agent's own training metrics, since the trial sets that attribute.
    """
    record = failed_record(spec)
    start = time.perf_counter()
    try:
        _train_and_evaluate(spec, record, None if log_dir is None else Path(log_dir) / spec.key)
        record["status"] = "ok"
        record["final_score"], record["final_success"] = record["curve"][-1][1:]
    except (Exception, SystemExit):
        record["error"] = traceback.format_exc()
    record["wall_s"] = time.perf_counter() - start
    return record


def _train_and_evaluate(spec: TrialSpec, record: dict[str, Any], log_dir: Path | None) -> None:
    """Fill ``record``'s ``curve``, ``env_steps`` and ``eval_s`` as training goes (kept if the agent fails), then
    ``train_s`` and ``steps_per_s``."""
    agent = make_agent(spec.agent, seed=spec.seed, **spec.agent_options)
    train_env = env_spec(spec.env, **spec.env_options)
    evaluations = None if log_dir is None else TrainingLog(log_dir)
    if log_dir is not None and hasattr(agent, "log_dir"):
        agent.log_dir = str(log_dir)

    def checkpoint(env_steps: int) -> None:
        began = time.perf_counter()
        result = evaluate(
            agent,
            spec.env,
            spec.eval_episodes,
            seed=spec.eval_seed,
            deterministic=spec.eval_decoding == "greedy",
            **spec.env_options,
        )
        record["curve"].append([env_steps, result["score"], result["success"]])
        record["final_measures"] = {k: v for k, v in result.items() if k not in ("score", "success", "episodes")}
        record["eval_s"] += time.perf_counter() - began
        if evaluations is not None:
            evaluations.write(
                "eval", {"env_steps": env_steps, "score": result["score"], "success": result["success"]}, env_steps
            )

    next_checkpoint = spec.eval_every

    def on_update(metrics: dict[str, Any]) -> None:
        nonlocal next_checkpoint
        record["env_steps"] = env_steps = int(metrics["env_steps"])
        if env_steps >= next_checkpoint:
            checkpoint(env_steps)
            next_checkpoint = (env_steps // spec.eval_every + 1) * spec.eval_every

    agent.learn(train_env, 0)
    checkpoint(agent.num_env_steps)
    eval_s, began = record["eval_s"], time.perf_counter()
    agent.learn(train_env, spec.steps, callback=on_update)
    record["train_s"] = time.perf_counter() - began - (record["eval_s"] - eval_s)
    record["env_steps"] = agent.num_env_steps
    if agent.num_env_steps > 0:
        record["steps_per_s"] = agent.num_env_steps / record["train_s"]
    if record["curve"][-1][0] != agent.num_env_steps:
        checkpoint(agent.num_env_steps)
