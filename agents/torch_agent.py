"""What the agents that train a policy model (:class:`~textgym.agents.transformer.SequencePolicy`) share: building
the model for an environment, the device, acting from observations, and saving / loading."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from textgym.agents.base import (
    Agent,
    CheckpointError,
    batch_observations,
    check_option_types,
    make_config,
    reading_checkpoint,
)
from textgym.agents.training_log import TrainingLog, checked_log_dir
from textgym.agents.transformer import ModelConfig, SequencePolicy, TransformerConfig, TransformerPolicy
from textgym.task import Task


@dataclass
class PolicyConfig:
    """The model and its placement, shared by every agent that trains a Transformer policy.

    Args:
        model: the built-in Transformer's sizes and position encoding, a
            :class:`~textgym.agents.transformer.ModelConfig` or a dict of its fields
            (``model={"n_layers": 3, "positions": "rotary"}``; the fields not given keep their defaults).
        precision: ``"fp32"`` or ``"bf16"`` (bfloat16 autocast in the Transformer blocks; see
            :class:`~textgym.agents.transformer.TransformerConfig`).
        mask_actions: restrict the policy to the task's answer tokens and ``<eos>`` (``<eot>`` too in a dialogue:
            :meth:`~textgym.task.Task.answer_mask`), in training and in ``predict``. That is every task's action
            mask except the dialogues', which also follow the questions' grammar turn by turn.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        log_dir: where the training metrics go as they come, a CSV file per stream and TensorBoard scalars
            (:class:`~textgym.agents.training_log.TrainingLog`; needs ``textgym[tensorboard]``); ``None``: nowhere.
        policy: ``"transformer"`` (the built-in model, sized by ``model``) or ``"hf"`` (a Hugging Face
            Transformers causal LM, :class:`~textgym.agents.hf_policy.HFPolicy`; needs ``textgym[hf]``).
        hf_model: with ``policy="hf"``, the model: a local directory of a saved model (its weights are loaded;
            nothing is downloaded) or of a ``config.json``, a JSON configuration file, or the configuration as a
            dict with ``model_type`` (a new, randomly initialised model). Its vocabulary must hold the task's ids.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    precision: str = "fp32"
    mask_actions: bool = False
    device: str = "auto"
    log_dir: str | None = None
    policy: str = "transformer"
    hf_model: str | dict | None = None

    def __post_init__(self) -> None:
        self.model = ModelConfig.of(self.model)
        check_option_types(self)
        self.log_dir = checked_log_dir(self.log_dir)
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; expected one of {POLICIES}")
        if (self.policy == "hf") != (self.hf_model is not None):
            raise ValueError(
                f"policy='hf' takes an hf_model (a directory, a JSON file or a dict), got hf_model={self.hf_model!r}"
            )


def nested_options(saved: dict[str, Any]) -> dict[str, Any]:
    """The options of a config saved in a checkpoint, in today's layout. A checkpoint written before the model's
    sizes were nested holds them flat (``d_model``, ..., ``positions``) and, for ``pg`` and ``supervised``, the
    Hugging Face model as ``model``: those become ``model={...}`` and ``hf_model``. Today's layout is returned
    as it is.

    Args:
        saved: the saved config's fields by name.
    """
    sizes = [field.name for field in dataclasses.fields(ModelConfig)]
    if not any(name in saved for name in sizes):
        return saved
    options = {name: value for name, value in saved.items() if name not in sizes}
    if "model" in options:
        options["hf_model"] = options.pop("model")
    return {**options, "model": {name: saved[name] for name in sizes if name in saved}}


LR_SCHEDULES = ("constant", "linear", "cosine")
POLICIES = ("transformer", "hf")


def check_schedule(schedule: str, warmup_fraction: float) -> None:
    """``ValueError`` naming an unknown schedule or a warm-up fraction outside ``[0, 1)``."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown lr_schedule {schedule!r}; expected one of {LR_SCHEDULES}")
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction}")


def lr_factor(schedule: str, warmup_fraction: float, fraction: float) -> float:
    """The learning rate's multiplier when ``fraction`` of the budget is spent: a linear rise over the warm-up,
    then constant, linear decay to 0, or cosine decay to 0."""
    if fraction < warmup_fraction:
        return fraction / warmup_fraction
    decay = min((fraction - warmup_fraction) / (1.0 - warmup_fraction), 1.0)
    if schedule == "linear":
        return 1.0 - decay
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * decay))
    return 1.0


class BudgetSchedule:
    """A learning-rate schedule over a budget of environment steps: torch's ``LambdaLR`` driven by the fraction of
    the budget spent, which :meth:`advance` sets after each update (``fraction``: already spent, for a restored
    optimizer)."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, schedule: str, warmup_fraction: float, fraction: float = 0.0
    ) -> None:
        self.fraction = fraction
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda _: lr_factor(schedule, warmup_fraction, self.fraction)
        )

    def advance(self, fraction: float) -> None:
        self.fraction = fraction
        self.scheduler.step()


def adamw(model: torch.nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over ``model``'s parameters with torch's fused kernel (on the CPU, for the default model, a step costs
    about a third of the per-tensor loop's). Weight decay applies to the matrices (linear weights, embeddings)
    only, not to biases and LayerNorm gains, as in GPT-2 and nanoGPT: decaying the gains shrinks every layer's
    output toward zero, which held teacher forcing on bAbI at a shortcut (``docs/results/solve/README.md``)."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": weight_decay}, {"params": vectors, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=learning_rate, fused=True)


def learning_rate_of(optimizer: torch.optim.Optimizer) -> float:
    """The optimizer's learning rate now (its schedule's current value)."""
    return optimizer.param_groups[0]["lr"]


def gradient_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, max_grad_norm: float
) -> torch.Tensor:
    """Back-propagate ``loss``, clip the gradients' global norm to ``max_grad_norm`` and step; returns the norm
    before clipping."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm, foreach=True)
    optimizer.step()
    return grad_norm


def resolve_device(device: str) -> torch.device:
    """``"auto"`` becomes CUDA when available, else CPU; anything else must be a valid torch device string."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"unknown device {device!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from error


def task_of(env: gym.vector.VectorEnv) -> Task:
    """The textgym Task behind a vector environment (the native one or Gymnasium's sync / async wrappers)."""
    task = getattr(env.unwrapped, "task", None)
    if task is None and hasattr(env, "get_attr"):
        task = env.get_attr("task")[0]
    if not isinstance(task, Task):
        raise ValueError(f"{env!r} is not a textgym environment: it has no textgym Task")
    return task


class TransformerAgent(Agent):
    """Base of the agents that train a :class:`TransformerPolicy` or, with ``policy="hf"``, an :class:`HFPolicy`.

    Subclasses set ``config`` (a dataclass that extends :class:`PolicyConfig`) and implement ``learn``; the model
    is built on the first ``learn`` from the environment's task, or restored by ``load``.
    """

    config_class: type[PolicyConfig] = PolicyConfig

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed)
        self.config = make_config(self.config_class, options)
        self.device = resolve_device(self.config.device)
        self.model: SequencePolicy | None = None
        self._training_log: TrainingLog | None = None

    @property
    def log_dir(self) -> str | None:
        """Where the training metrics go (the ``log_dir`` option); the benchmark runner sets it per trial."""
        return self.config.log_dir

    @log_dir.setter
    def log_dir(self, directory: str | Path | None) -> None:
        self.config.log_dir = checked_log_dir(directory)
        self._training_log = None

    def write_log(self, stream: str, metrics: dict[str, float]) -> None:
        """Write ``metrics`` to ``log_dir`` as the stream ``stream`` at the current environment step; nothing when
        ``log_dir`` is ``None``."""
        if self.config.log_dir is None:
            return
        if self._training_log is None:
            self._training_log = TrainingLog(self.config.log_dir)
        self._training_log.write(stream, metrics, self.num_env_steps)

    def build_model(self, task: Task) -> SequencePolicy:
        """Create the model for ``task`` (seeded by the agent's seed), or check that the existing one fits it."""
        c = self.config
        model_config = TransformerConfig(
            vocab_size=task.tokenizer.vocab_size,
            prompt_len=task.max_prompt_len,
            max_len=task.max_prompt_len + 1 + task.max_gen_len,
            **dataclasses.asdict(c.model),
            precision=c.precision,
            actions=tuple(int(i) for i in np.flatnonzero(task.answer_mask())) if c.mask_actions else None,
        )
        if self.model is not None:
            if self.model.config != model_config:
                raise ValueError(f"this agent's model was built for {self.model.config}, not for task {task!r}")
            return self.model
        torch.manual_seed(self.seed)
        self.model = self.new_model(model_config)
        return self.model

    def new_model(self, model_config: TransformerConfig, hf_config: dict | None = None) -> SequencePolicy:
        """A new policy model of the agent's ``policy`` on the device (``hf_config``: the configuration of a saved
        Hugging Face model, instead of the ``hf_model`` option)."""
        if self.config.policy == "hf":
            from textgym.agents.hf_policy import HFPolicy, build_hf_model

            return HFPolicy(build_hf_model(hf_config or self.config.hf_model), model_config).to(self.device)
        return TransformerPolicy(model_config).to(self.device)

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        if self.model is None:
            raise RuntimeError(
                f"{type(self).__name__} has no model yet: call learn(env, ...) first, or make it with load(path)"
            )
        obs = batch_observations(obs)
        expected = self.model.config.prompt_len + self.model.config.gen_len
        if obs.shape[1] != expected:
            raise ValueError(f"observations have {obs.shape[1]} slots; this agent's model reads {expected} (P + G)")
        self.model.eval()
        actions = self.model.select_action(torch.as_tensor(obs, device=self.device), deterministic=deterministic)
        return actions.cpu().numpy().astype(np.int64)

    def save(self, path: str | Path) -> None:
        """Write the agent to ``path``: the model and everything ``learn`` needs to go on exactly where it stopped
        (:meth:`training_state`). Tensors and plain data only: :meth:`load` reads it with ``weights_only``."""
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__} has no model to save: call learn(env, ...) first")
        torch.save(
            {
                "agent": type(self).__name__,
                "seed": self.seed,
                "config": dataclasses.asdict(self.config),
                "model_config": self.model.config_dict(),
                "hf_config": self.model.model.config.to_dict() if self.config.policy == "hf" else None,
                "model": self.model.state_dict(),
                "num_env_steps": self.num_env_steps,
                "training": self.training_state(),
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> TransformerAgent:
        """A new agent restored from the file ``path`` that :meth:`save` wrote, ready to predict and to go on
        learning; :class:`~textgym.agents.base.CheckpointError` naming the file when it holds no such agent. A
        checkpoint of an older layout (model sizes saved flat) loads too (:func:`nested_options`).

        Args:
            path: the file.
            device: where the model goes (the ``device`` option; not the one it was saved from).
        """
        name = cls.__name__
        with reading_checkpoint(path, name):
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or state.get("agent") != name:
                held = state.get("agent") if isinstance(state, dict) else type(state).__name__
                raise CheckpointError(f"{str(path)!r} holds a {held}, not a {name}")
            agent = cls(seed=state["seed"], **{**nested_options(state["config"]), "device": device})
            agent.model = agent.new_model(TransformerConfig(**state["model_config"]), state.get("hf_config"))
            agent.model.load_state_dict(state["model"])
            agent.num_env_steps = state["num_env_steps"]
            agent.restore_training_state(state["training"])
        return agent

    def training_state(self) -> dict[str, Any]:
        """What ``learn`` keeps between calls besides the model (optimizers, counters, random states), for
        :meth:`save`; subclasses that keep any extend it."""
        return {}

    def restore_training_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`training_state` returned, once the model is loaded."""
