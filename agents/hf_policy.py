"""HFPolicy: a Hugging Face Transformers causal language model as the policy of ``pg`` and ``supervised``.

``make_agent("pg", policy="hf", hf_model=...)`` uses it in place of the built-in
:class:`~textgym.agents.transformer.TransformerPolicy`. The model reads the same sequences (prompt slots, ``<bos>``,
generated slots; ``<bos>`` is ``<eos>``, id 1, so the model needs no id of its own), with the model's own KV cache
for generation, and a value head on its last hidden states. Its vocabulary must hold the environment's ids: give
the task a tokenizer the model was built for (a language task's ``tokenizer="path/to/tokenizer.json"``).
``transformers`` is an optional dependency (``pip install 'textgym[hf]'``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from textgym.agents.transformer import MASKED_LOGIT, SequencePolicy, TransformerConfig

EXTRA = "pip install 'textgym[hf]'"


def transformers_module() -> Any:
    """The ``transformers`` package, or ``ImportError`` naming the extra to install."""
    try:
        import transformers
    except ImportError:
        raise ImportError(f"policy='hf' needs the transformers package: {EXTRA}") from None
    return transformers


def hf_config(model: str | dict) -> dict:
    """The model configuration (a plain dict) that ``model`` names: a local directory holding a saved model or a
    ``config.json``, a JSON file, or the configuration itself as a dict with ``model_type`` (``"gpt2"``, ...)."""
    if isinstance(model, dict):
        return dict(model)
    path = Path(model)
    file = path / "config.json" if path.is_dir() else path
    if not file.is_file():
        raise ValueError(f"model {model!r} is neither a directory with a config.json nor a JSON file")
    return json.loads(file.read_text(encoding="utf-8"))


def build_hf_model(model: str | dict) -> nn.Module:
    """The causal language model ``model`` names: a local directory's saved weights (never a download), else a new
    model of the configuration (randomly initialised, from the torch seed; its ``bos_token_id`` and
    ``eos_token_id`` are textgym's ``<eos>``, 1, unless the configuration names them)."""
    transformers = transformers_module()
    if isinstance(model, str) and Path(model).is_dir() and any(Path(model).glob("*.safetensors")):
        return transformers.AutoModelForCausalLM.from_pretrained(model, local_files_only=True)
    config = {"bos_token_id": 1, "eos_token_id": 1, **hf_config(model)}
    model_type = config.pop("model_type", None)
    if model_type is None:
        raise ValueError(f"model configuration {model!r} has no 'model_type'")
    return transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(model_type, **config))


@dataclass
class HFCache:
    """The model's cache and, per row, which cached positions hold tokens (rows grow by different numbers of tokens
    in a dialogue: the padding in between is cached too, and masked out) and how many tokens each row has."""

    cache: Any
    mask: torch.Tensor  # long (B, L): 1 where a cached position holds a token of the row
    lengths: torch.Tensor  # long (B,)

    def repeat_rows(self, times: int) -> HFCache:
        """The cache with each row repeated ``times`` times in a row (the model's cache is repeated in place)."""
        self.cache.batch_repeat_interleave(times)
        return HFCache(self.cache, self.mask.repeat_interleave(times, 0), self.lengths.repeat_interleave(times, 0))


class HFPolicy(SequencePolicy):
    """A causal language model with a value head, reading textgym observations.

    Args:
        model: a ``transformers`` causal LM (``AutoModelForCausalLM``) whose vocabulary holds at least the
            environment's ``config.vocab_size`` ids and whose positions reach ``config.max_len``.
        config: the layout and actions, as for the built-in Transformer (its size fields are not used).
    """

    def __init__(self, model: nn.Module, config: TransformerConfig) -> None:
        super().__init__()
        vocab = model.get_output_embeddings().weight.shape[0]
        if vocab < config.vocab_size:
            raise ValueError(f"the model's vocabulary has {vocab} ids; the environment's has {config.vocab_size}")
        positions = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
        if positions is not None and positions < config.max_len:
            raise ValueError(
                f"the model reads {positions} positions; the environment's sequences take {config.max_len}"
            )
        self.config = config
        self.bos_id = 1  # <eos>
        self.model = model
        self.value_head = nn.Linear(model.get_output_embeddings().weight.shape[1], 1)
        self.register_blocked(config)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        with self.compute_precision(tokens.device):
            output = self.model(input_ids=tokens, output_hidden_states=True)
        return output.hidden_states[-1]

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model.get_output_embeddings()(hidden.to(self.value_head.weight.dtype)).float()
        logits = logits[..., : self.config.vocab_size].masked_fill(self.blocked, MASKED_LOGIT)
        return logits, self.value_head(hidden.float()).squeeze(-1)

    def new_cache(self, batch_size: int) -> HFCache:
        transformers = transformers_module()
        device = self.value_head.weight.device
        empty = torch.zeros(batch_size, 0, dtype=torch.long, device=device)
        return HFCache(transformers.DynamicCache(), empty, torch.zeros(batch_size, dtype=torch.long, device=device))

    def extend(
        self, tokens: torch.Tensor, cache: HFCache, counts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        B, T = tokens.shape
        counts = torch.full((B,), T, device=tokens.device) if counts is None else counts
        if int((cache.lengths + counts).max()) > self.config.max_len:
            raise ValueError(f"cannot extend the cached sequences by {T} tokens: max_len is {self.config.max_len}")
        new = (torch.arange(T, device=tokens.device) < counts[:, None]).long()
        mask = torch.cat([cache.mask, new], dim=1)
        positions = (cache.lengths[:, None] + torch.arange(T, device=tokens.device)).clamp(max=self.config.max_len - 1)
        with self.compute_precision(tokens.device):
            output = self.model(
                input_ids=tokens,
                attention_mask=mask,
                position_ids=positions,
                cache=cache.cache,
                use_cache=True,
                output_hidden_states=True,
            )
        cache.cache, cache.mask = output.cache, mask
        cache.lengths += counts
        last = output.hidden_states[-1][torch.arange(B, device=tokens.device), (counts - 1).clamp(min=0)]
        return self.heads(last)
