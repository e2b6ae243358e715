"""TransformerPolicy: a small decoder-only Transformer that reads a textgym observation and writes the next token.

The whole model is in this file. It reads the environment's fixed observation layout as one causal sequence:

    position:  0 ... P-1          P      P+1 ... P+G
    token:     prompt slots      <bos>   generated tokens
               (pad included)

Prompt slots keep their pads, so the model sees where the prompt ends, and every answer position ``t`` sits at
the same sequence position ``P + 1 + t`` in every episode. The logits at position ``P + t`` choose answer token
``t``. ``<bos>`` is one extra embedding row (id ``V``) that the policy never emits; neither does it emit
``<pad>``, which is not part of any text. :meth:`SequencePolicy.sequence` builds that layout (the one place
that puts ``<bos>`` in).

Two ways to run it:

- :meth:`TransformerPolicy.forward` over whole sequences; :meth:`SequencePolicy.teacher_forced` over given answer
  slots (the training losses of ``supervised`` and ``pg``), :meth:`SequencePolicy.features` from observations;
- :meth:`TransformerPolicy.prefill` then :meth:`TransformerPolicy.step` with a :class:`KVCache` (generation):
  each new token costs one incremental step that attends to the cached keys and values.

Its sizes are a :class:`ModelConfig`, the ``model`` option of the agents that train it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from textgym.agents.base import check_option_types, make_config

POSITION_ENCODINGS = ("sinusoidal", "rotary", "alibi", "none")
PRECISIONS = ("fp32", "bf16")

MASKED_LOGIT = -1e9
"""Logit of a token the policy never emits: a probability of exactly 0 without the NaNs that -inf gives in
entropies and KL divergences."""


@dataclass(kw_only=True)
class ModelConfig:
    """The Transformer's sizes and position encoding: the ``model`` option of the agents that train one, declared
    here once (``make_agent("pg", model={"n_layers": 3, "positions": "rotary"})``; the fields not given keep these
    defaults).

    Args:
        d_model: width of the residual stream.
        n_heads: attention heads; must divide ``d_model``.
        n_layers: Transformer blocks.
        d_ff: width of each block's feed-forward layer.
        dropout: dropout rate in attention and feed-forward outputs (0 for RL by default).
        positions: ``"sinusoidal"`` (the fixed encoding added to the token embeddings), ``"rotary"`` (the same
            frequencies rotating queries and keys, RoPE, so attention depends on relative offsets), ``"alibi"``
            (no encoding of positions in the tokens; each head's attention score is lowered in proportion to the
            distance from the query to the key, ALiBi, so every head leans towards recent tokens, some strongly and
            some hardly at all) or ``"none"`` (no positions at all: the causal mask alone lets the model tell where
            a token is, as a count of what precedes it).
    """

    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 512
    dropout: float = 0.0
    positions: str = "sinusoidal"

    def __post_init__(self) -> None:
        check_option_types(self)
        for name in ("d_model", "n_heads", "n_layers", "d_ff"):
            if getattr(self, name) < 1:
                raise ValueError(f"{type(self).__name__}.{name} must be a positive integer, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.positions not in POSITION_ENCODINGS:
            raise ValueError(f"unknown positions {self.positions!r}; expected one of {POSITION_ENCODINGS}")

    @classmethod
    def of(cls, options: ModelConfig | dict[str, Any]) -> ModelConfig:
        """The ``model`` option as a :class:`ModelConfig`: one already, or a dict of its fields (``ValueError``
        naming an unknown one, ``TypeError`` for anything else).

        Args:
            options: the option's value.
        """
        if isinstance(options, dict):
            return make_config(cls, options)
        if not isinstance(options, ModelConfig):
            raise TypeError(f"option 'model' must be a ModelConfig or a dict of its fields, got {options!r}")
        return options


@dataclass(kw_only=True)
class TransformerConfig(ModelConfig):
    """Everything a :class:`TransformerPolicy` is built from: its sizes (:class:`ModelConfig`), the observation
    layout of the task, the actions and the precision.

    Args:
        vocab_size: V, the environment's vocabulary (actions ``0 .. V-1``); the model adds ``<bos>`` as id V.
        prompt_len: P, the observation's prompt slots.
        max_len: the longest sequence the model reads: ``P + 1 + G`` for G generation slots.
        actions: the token ids the policy may emit (``None``: every id but ``<pad>``); the others get
            :data:`MASKED_LOGIT`, so sampling, greedy decoding, log-probabilities, entropies and KL divergences
            all see the policy restricted to these.
        precision: ``"fp32"``, or ``"bf16"``: the blocks run under bfloat16 autocast (weights, optimizer state,
            the output heads and every loss stay fp32). Fast where the hardware has bf16 matrix units (CUDA,
            CPUs with AVX512-BF16 or AMX); elsewhere torch emulates it, slower than fp32.
    """

    vocab_size: int
    prompt_len: int
    max_len: int
    actions: tuple[int, ...] | None = None
    precision: str = "fp32"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("vocab_size", "prompt_len", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"TransformerConfig.{name} must be a positive integer, got {getattr(self, name)}")
        if self.max_len <= self.prompt_len:
            raise ValueError(f"max_len ({self.max_len}) must exceed prompt_len ({self.prompt_len})")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; expected one of {PRECISIONS}")
        if self.actions is not None:
            actions = tuple(self.actions)
            if not actions or any(not 0 < a < self.vocab_size for a in actions):
                raise ValueError(
                    f"actions must be a non-empty sequence of token ids in [1, {self.vocab_size}), got {self.actions!r}"
                )
            self.actions = actions

    @property
    def gen_len(self) -> int:
        """G, the generation slots: ``max_len - P - 1``."""
        return self.max_len - self.prompt_len - 1


@dataclass
class KVCache:
    """Keys and values of every layer for the sequences so far; each row has its own length.

    ``keys[i]`` and ``values[i]`` have shape ``(B, n_heads, 2 * max_len, head_dim)``: row ``b`` holds its sequence at
    positions ``[0, lengths[b])``. The slots past a row's length are scratch space: a batched extension writes
    every row's padding there, where no query of that row looks (hence room for twice ``max_len``).
    """

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    lengths: torch.Tensor

    def repeat_rows(self, times: int) -> KVCache:
        """A cache with each row repeated ``times`` times in a row (row ``b`` becomes rows ``b * times`` to
        ``b * times + times - 1``): sequences that share a prefix read it once."""
        return KVCache(
            keys=[k.repeat_interleave(times, dim=0) for k in self.keys],
            values=[v.repeat_interleave(times, dim=0) for v in self.values],
            lengths=self.lengths.repeat_interleave(times, dim=0),
        )


def sinusoidal_positions(max_len: int, d_model: int) -> torch.Tensor:
    """The fixed sinusoidal position encoding of "Attention Is All You Need", shape ``(max_len, d_model)``."""
    position = torch.arange(max_len, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10_000.0) / d_model))
    encoding = torch.zeros(max_len, d_model)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency[: d_model // 2])
    return encoding


def rotate(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotary position encoding: rotate each pair of features of ``x`` (B, H, T, D) by the angles ``(B, 1, T, D/2)``
    of its token's position (RoFormer, Su et al. 2021)."""
    even, odd = x[..., 0::2], x[..., 1::2]
    cos, sin = angles.cos(), angles.sin()
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi's per-head slopes (Press et al. 2022): head ``h`` (from 1) lowers a score by ``2 ** (-8 h / H)`` per
    token of distance, a geometric series from nearly 1/2 per token down to 1/256 (the paper's rule for a power of
    two H, used for every H)."""
    return torch.tensor([2.0 ** (-8.0 * h / n_heads) for h in range(1, n_heads + 1)])


class CausalSelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.rotary = config.positions == "rotary"
        self.alibi = config.positions == "alibi"
        self.register_buffer("slopes", alibi_slopes(config.n_heads)[:, None, None], persistent=False)
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout

    def mask(self, query_positions: torch.Tensor, seen: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """What queries at ``query_positions`` ``(B or 1, T)`` see of the keys at positions ``0 .. seen - 1``: the
        keys at or before their own position, as a boolean mask ``(B or 1, 1, T, seen)``, or with ALiBi as the
        scores' additive bias ``(B or 1, H, T, seen)`` in ``dtype``, ``-inf`` where a key is not visible."""
        distance = query_positions[:, None, :, None] - torch.arange(seen, device=query_positions.device)
        if not self.alibi:
            return distance >= 0
        return (-self.slopes * distance).masked_fill(distance < 0, float("-inf")).to(dtype)

    def forward(
        self,
        x: torch.Tensor,
        angles: torch.Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend causally over ``x`` (B, T, d), a sequence from position 0. With a cache, ``x`` continues the
        cached sequences instead: row ``b``'s token ``j`` sits at ``positions[b, j]``, its key and value are written
        there, and it sees the keys at positions up to its own. ``angles`` are the rotary angles of the tokens'
        positions (used when the model's positions are rotary)."""
        B, T, d = x.shape
        q, k, v = (t.view(B, T, self.n_heads, d // self.n_heads).transpose(1, 2) for t in self.qkv(x).split(d, dim=2))
        if self.rotary:
            q, k = rotate(q, angles), rotate(k, angles)
        dropout = self.dropout if self.training else 0.0
        if cache is None:
            if not self.alibi:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout)
            else:
                bias = self.mask(torch.arange(T, device=x.device)[None], T, q.dtype)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
        else:
            slots = positions[:, None, :, None].expand(B, self.n_heads, T, d // self.n_heads)
            cache.keys[layer].scatter_(2, slots, k)
            cache.values[layer].scatter_(2, slots, v)
            seen = int(positions.max()) + 1
            k, v = cache.keys[layer][:, :, :seen], cache.values[layer][:, :, :seen]
            if not self.alibi and T == 1 and bool((positions == seen - 1).all()):  # rows alike: all keys visible
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
            else:
                mask = self.mask(positions, seen, q.dtype)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        return self.out(y.transpose(1, 2).reshape(B, T, d))


class Block(nn.Module):
    """Pre-norm Transformer block: attention then feed-forward, each added to the residual stream."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln_attention = nn.LayerNorm(config.d_model)
        self.attention = CausalSelfAttention(config)
        self.ln_ff = nn.LayerNorm(config.d_model)
        self.ff = nn.Sequential(
            nn.Linear(config.d_model, config.d_ff),
            nn.GELU(),
            nn.Linear(config.d_ff, config.d_model),
            nn.Dropout(config.dropout),
        )

    def forward(
        self,
        x: torch.Tensor,
        angles: torch.Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = x + self.attention(self.ln_attention(x), angles, cache, layer, positions)
        return x + self.ff(self.ln_ff(x))


class SequencePolicy(nn.Module):
    """What every policy model of the agents shares, whatever computes its hidden states: the observation layout
    (prompt slots, ``<bos>``, generated slots), generation from a cache, and acting from observations.

    A subclass sets ``config`` (a :class:`TransformerConfig`: the sizes of the layout, the actions, the precision)
    and ``bos_id``, and implements :meth:`hidden_states`, :meth:`heads`, :meth:`new_cache` and :meth:`extend`.
    ``<pad>``, and the ids outside ``config.actions`` when it is set, get the logit :data:`MASKED_LOGIT`.
    """

    config: TransformerConfig
    bos_id: int

    def register_blocked(self, config: TransformerConfig) -> None:
        """The buffer ``blocked``: the ids the policy never emits."""
        blocked = torch.zeros(config.vocab_size, dtype=torch.bool)
        if config.actions is not None:
            blocked[:] = True
            blocked[list(config.actions)] = False
        blocked[0] = True  # <pad> is not part of any text
        self.register_buffer("blocked", blocked, persistent=False)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        """Final hidden states ``(B, T, d)`` of token sequences ``(B, T)`` that start at position 0."""
        raise NotImplementedError

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits over the V actions (fp32, blocked ids masked) and values, from final hidden states ``(..., d)``."""
        raise NotImplementedError

    def new_cache(self, batch_size: int) -> Any:
        """An empty cache for ``batch_size`` sequences; it has ``repeat_rows(times)``."""
        raise NotImplementedError

    def extend(
        self, tokens: torch.Tensor, cache: Any, counts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append to row ``b`` of the cached sequences its first ``counts[b]`` tokens of ``tokens`` ``(B, T)`` (all T
        by default; the rest is padding); return each row's logits ``(B, V)`` and value ``(B,)`` at its last new
        position (a row given no token returns the values at a scratch position: ignore them)."""
        raise NotImplementedError

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B, T, V)`` and values ``(B, T)`` for token sequences ``(B, T)`` that start at position 0."""
        return self.heads(self.hidden_states(tokens))

    def sequence(self, prompt_slots: torch.Tensor, slots: torch.Tensor | None = None) -> torch.Tensor:
        """The model's input: the prompt slots, ``<bos>``, then the answer (or conversation) slots. The one place
        that puts ``<bos>`` in.

        Args:
            prompt_slots: ``(B, P)``.
            slots: ``(B, T)`` slots after ``<bos>``; ``None``: none (the start of generation).
        """
        bos = torch.full((len(prompt_slots), 1), self.bos_id, dtype=prompt_slots.dtype, device=prompt_slots.device)
        return torch.cat([prompt_slots, bos] if slots is None else [prompt_slots, bos, slots], dim=1)

    def sequence_from_observation(self, obs: torch.Tensor) -> torch.Tensor:
        """The model's input for observations ``(B, P + G)``: prompt slots, ``<bos>``, generated slots."""
        P = self.config.prompt_len
        return self.sequence(obs[:, :P], obs[:, P:])

    def teacher_forced(self, prompt_slots: torch.Tensor, slots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B, T, V)`` and values ``(B, T)`` at every answer (or conversation) slot with ``slots`` fed in
        (teacher forcing): slot ``t``'s logits see the prompt and ``slots[:, :t]``. By causality the first slots'
        outputs do not depend on the slots after them, so training may cut the columns no loss reads.

        Args:
            prompt_slots: ``(B, P)``.
            slots: ``(B, T)``, ``T`` at most G.
        """
        hidden = self.hidden_states(self.sequence(prompt_slots, slots[:, :-1]))
        return self.heads(hidden[:, self.config.prompt_len :])  # none at the prompt's positions: no loss reads them

    def compute_precision(self, device: torch.device) -> torch.autocast:
        """The autocast region the model runs in: bfloat16 when ``config.precision`` is ``"bf16"``, else off."""
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bf16")

    def prefill(self, prompt_slots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Start generation: read the prompt slots ``(B, P)`` and ``<bos>``; return the logits and values that
        choose the first answer token, and the cache."""
        cache = self.new_cache(prompt_slots.shape[0])
        logits, values = self.extend(self.sequence(prompt_slots), cache)
        return logits, values, cache

    def step(self, tokens: torch.Tensor, cache: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed the tokens just generated ``(B,)``; return logits ``(B, V)`` and values ``(B,)`` for the next one."""
        return self.extend(tokens[:, None], cache)

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The hidden state ``(B, d)`` that chooses each row's next action, for observations ``(B, P + G)`` in any
        state of their episodes.

        The number of tokens generated so far is read from the observation (the last non-pad generated slot), so
        rows may be at different steps; one forward pass serves them all.
        """
        P = self.config.prompt_len
        hidden = self.hidden_states(self.sequence_from_observation(obs))
        generated = obs[:, P:] != 0
        steps = torch.where(generated.any(dim=1), generated.shape[1] - generated.flip(1).int().argmax(dim=1), 0)
        return hidden[torch.arange(len(obs), device=obs.device), P + steps]

    @torch.no_grad()
    def select_action(
        self,
        obs: torch.Tensor,
        deterministic: bool = True,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Next actions ``(B,)`` for observations ``(B, P + G)``: greedy, or sampled at ``temperature``."""
        logits, _ = self.heads(self.features(obs))
        if deterministic:
            return logits.argmax(dim=-1)
        return torch.multinomial(F.softmax(logits / temperature, dim=-1), 1, generator=generator).squeeze(-1)

    def config_dict(self) -> dict:
        return asdict(self.config)


class TransformerPolicy(SequencePolicy):
    """Decoder-only Transformer with tied input/output embeddings and a value head.

    Outputs, per sequence position, logits over the V actions (``<pad>``, and the ids outside
    ``config.actions`` when it is set, at :data:`MASKED_LOGIT`) and a value estimate.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.bos_id = config.vocab_size
        self.embedding = nn.Embedding(config.vocab_size + 1, config.d_model)
        self.register_buffer("positions", sinusoidal_positions(config.max_len, config.d_model), persistent=False)
        head_dim = config.d_model // config.n_heads
        frequency = torch.exp(torch.arange(0, head_dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / head_dim))
        self.register_buffer("angles", torch.arange(config.max_len)[:, None] * frequency, persistent=False)
        self.register_blocked(config)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_final = nn.LayerNorm(config.d_model)
        self.value_head = nn.Linear(config.d_model, 1)
        self.apply(self._init_weights)
        # Embeddings at std d_model**-0.5, scaled by sqrt(d_model) on input (as in "Attention Is All You Need") so
        # that tokens and the unit-scale sinusoidal positions weigh alike, and by 1/sqrt(d_model) on output (as in
        # T5) so that the tied logits start small: a near-uniform first policy explores.
        nn.init.normal_(self.embedding.weight, mean=0.0, std=config.d_model**-0.5)
        self.embedding_scale = math.sqrt(config.d_model)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    # -- sequences ---------------------------------------------------------------------------------------------

    def _embed(self, tokens: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The blocks' input for ``tokens`` at ``positions`` (both ``(B, T)``, or ``(T,)`` positions shared by all
        rows) and the rotary angles of those positions, ``(B or 1, 1, T, head_dim / 2)``."""
        embedded = self.embedding(tokens) * self.embedding_scale
        if self.config.positions == "sinusoidal":
            embedded = embedded + self.positions[positions]
        angles = self.angles[positions]
        return self.dropout(embedded), angles.view(-1, 1, *angles.shape[-2:])

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits over the V actions (tied to the embeddings) and values, from final hidden states ``(..., d)``;
        always in fp32, so that log-probabilities, ratios and KL divergences are exact whatever the precision."""
        hidden = hidden.float()
        logits = (hidden @ self.embedding.weight[: self.config.vocab_size].T) / self.embedding_scale
        return logits.masked_fill(self.blocked, MASKED_LOGIT), self.value_head(hidden).squeeze(-1)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        """Final (normalised) hidden states ``(B, T, d)`` of token sequences ``(B, T)`` that start at position 0."""
        if tokens.shape[1] > self.config.max_len:
            raise ValueError(f"sequence of {tokens.shape[1]} tokens exceeds max_len {self.config.max_len}")
        x, angles = self._embed(tokens, torch.arange(tokens.shape[1], device=tokens.device))
        with self.compute_precision(tokens.device):
            for block in self.blocks:
                x = block(x, angles)
        return self.ln_final(x.float())

    # -- incremental generation --------------------------------------------------------------------------------

    def new_cache(self, batch_size: int) -> KVCache:
        """An empty cache for ``batch_size`` sequences, in the blocks' compute precision."""
        c = self.config
        shape = (batch_size, c.n_heads, 2 * c.max_len, c.d_model // c.n_heads)
        param = self.embedding.weight
        dtype = torch.bfloat16 if c.precision == "bf16" else param.dtype
        return KVCache(
            keys=[torch.zeros(shape, dtype=dtype, device=param.device) for _ in range(c.n_layers)],
            values=[torch.zeros(shape, dtype=dtype, device=param.device) for _ in range(c.n_layers)],
            lengths=torch.zeros(batch_size, dtype=torch.long, device=param.device),
        )

    def extend(
        self, tokens: torch.Tensor, cache: KVCache, counts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append to row ``b`` of the cached sequences its first ``counts[b]`` tokens of ``tokens`` ``(B, T)`` (all T
        by default; the rest is padding); return each row's logits ``(B, V)`` and value ``(B,)`` at its last new
        position (a row given no token returns the values at a scratch position: ignore them).

        :meth:`prefill` and :meth:`step` are the common uses; rows that receive different numbers of tokens (a
        dialogue partner's reply in some rows only) are what ``counts`` is for.
        """
        B, T = tokens.shape
        counts = torch.full((B,), T, device=tokens.device) if counts is None else counts
        if T > self.config.max_len or int((cache.lengths + counts).max()) > self.config.max_len:
            raise ValueError(
                f"cannot extend the cached sequences (longest {int(cache.lengths.max())}) by {T} tokens: "
                f"max_len is {self.config.max_len}"
            )
        positions = cache.lengths[:, None] + torch.arange(T, device=tokens.device)
        x, angles = self._embed(tokens, positions.clamp(max=self.config.max_len - 1))  # padding past the end: scratch
        with self.compute_precision(tokens.device):
            for layer, block in enumerate(self.blocks):
                x = block(x, angles, cache, layer, positions)
        cache.lengths += counts
        last = x[torch.arange(B, device=tokens.device), (counts - 1).clamp(min=0)]
        return self.heads(self.ln_final(last.float()))
