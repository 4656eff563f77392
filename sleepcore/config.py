"""Configuration dataclasses, one per concern, validated on construction.

Every error message names the offending value and what is accepted, so a bad config file or CLI
flag fails with one readable line (see `ConfigError`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ConfigError", "ModelConfig", "SleepConfig", "from_dict", "to_dict"]

ATTN, FAST = "A", "F"
EVICTIONS = ("hard", "sliding", "none")


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent with another one."""


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the hybrid block stack (the paper's Eq. 5).

    Attributes:
        vocab_size: number of token ids the embedding and output head cover.
        d_model: residual width d.
        n_heads: heads H of both attention and fast-weight mixers.
        head_dim: per-head width; fast weights S are head_dim x head_dim per head (K = V).
        layers: layer pattern, one letter per block: "A" softmax attention, "F" fast-weight
            block. The paper's default is "AFAF" (attention -> fast -> attention -> fast).
        mlp_ratio: MLP hidden width as a multiple of d_model (GELU MLP after every mixer).
        fast_rule: "delta" (Gated DeltaNet, what the paper used) or "hebbian" (Eq. 3).
        chunk_size: chunk length of the chunked fast-weight kernel; None uses the reference loop.
        max_window: positions are learned per offset inside the attention window (0..L-1), so the
            embedding table has this many rows; it must be >= the window L used with the model.
        window_index_embedding: if > 0, also add a learned embedding of the window index (clamped to
            this many windows). Off by default; tasks with several independent states per sample
            need it so a chunk "knows" which state it is.
        forget_bias_range: initial bias range of the forget gate per head (alpha = sigmoid(bias)),
            spread linearly over heads; (2, 6) starts alpha between 0.88 and 0.998.
        beta_bias: initial bias of the write-strength gate (beta = sigmoid(bias)).
        tie_embeddings: share the token embedding with the output head.
    """

    vocab_size: int = 16
    d_model: int = 64
    n_heads: int = 2
    head_dim: int = 32
    layers: str = "AFAF"
    mlp_ratio: int = 4
    fast_rule: str = "delta"
    chunk_size: int | None = 32
    max_window: int = 64
    window_index_embedding: int = 0
    forget_bias_range: tuple[float, float] = (2.0, 6.0)
    beta_bias: float = 0.0
    tie_embeddings: bool = False

    def __post_init__(self) -> None:
        _require(isinstance(self.vocab_size, int) and self.vocab_size >= 2,
                 f"vocab_size must be an int >= 2; got {self.vocab_size!r}")
        _require(isinstance(self.d_model, int) and self.d_model >= 1, f"d_model must be a positive int; got {self.d_model!r}")
        _require(isinstance(self.n_heads, int) and self.n_heads >= 1, f"n_heads must be a positive int; got {self.n_heads!r}")
        _require(isinstance(self.head_dim, int) and self.head_dim >= 1, f"head_dim must be a positive int; got {self.head_dim!r}")
        _require(isinstance(self.layers, str) and len(self.layers) >= 1 and set(self.layers) <= {ATTN, FAST},
                 f"layers must be a non-empty string of 'A' (attention) and 'F' (fast-weight) blocks, "
                 f"e.g. 'AFAF'; got {self.layers!r}")
        _require(len(self.layers) <= 64, f"layers has {len(self.layers)} blocks; at most 64 are accepted")
        _require(isinstance(self.mlp_ratio, int) and self.mlp_ratio >= 0, f"mlp_ratio must be an int >= 0; got {self.mlp_ratio!r}")
        _require(self.fast_rule in ("delta", "hebbian"), f"fast_rule must be 'delta' or 'hebbian'; got {self.fast_rule!r}")
        _require(self.chunk_size is None or (isinstance(self.chunk_size, int) and self.chunk_size >= 1),
                 f"chunk_size must be a positive int or null (reference loop); got {self.chunk_size!r}")
        _require(isinstance(self.max_window, int) and self.max_window >= 1, f"max_window must be a positive int; got {self.max_window!r}")
        _require(isinstance(self.window_index_embedding, int) and self.window_index_embedding >= 0,
                 f"window_index_embedding must be an int >= 0; got {self.window_index_embedding!r}")
        lo, hi = self.forget_bias_range
        _require(lo <= hi, f"forget_bias_range must be (low, high) with low <= high; got {self.forget_bias_range!r}")
        object.__setattr__(self, "forget_bias_range", (float(lo), float(hi)))
        _require(self.d_model * 8 * len(self.layers) <= 10**9, "model too large")

    @property
    def attention_layers(self) -> list[int]:
        return [i for i, c in enumerate(self.layers) if c == ATTN]

    @property
    def fast_layers(self) -> list[int]:
        return [i for i, c in enumerate(self.layers) if c == FAST]


@dataclass(frozen=True)
class SleepConfig:
    """When and how the model sleeps (the paper's L, N and eviction rule).

    Attributes:
        window: L, the attention window and the eviction period in tokens.
        passes: N, block-stack passes over a consolidation window. N=1 is the plain hybrid
            (one online pass, no extra offline passes).
        eviction: "hard" clears the KV cache after every window (Algorithm 1); "sliding" keeps the
            last L-1 tokens' keys/values (section 6.4); "none" never evicts (the cache-kept oracle,
            not memory-bounded; no sleep happens).
    """

    window: int = 16
    passes: int = 1
    eviction: str = "hard"

    def __post_init__(self) -> None:
        _require(isinstance(self.window, int) and 1 <= self.window <= 65536,
                 f"window (L) must be an int in 1..65536; got {self.window!r}")
        _require(isinstance(self.passes, int) and 1 <= self.passes <= 64,
                 f"passes (N) must be an int in 1..64; got {self.passes!r}")
        _require(self.eviction in EVICTIONS, f"eviction must be one of {EVICTIONS}; got {self.eviction!r}")


def from_dict(cls: type, data: dict[str, Any] | None):
    """Build a config dataclass from a plain dict, rejecting unknown keys with a clear message."""
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}; accepted: {sorted(names)}")
    if "forget_bias_range" in data and data["forget_bias_range"] is not None:
        data["forget_bias_range"] = tuple(data["forget_bias_range"])
    try:
        return cls(**data)
    except TypeError as e:  # wrong types that dataclass construction itself rejects
        raise ConfigError(f"{cls.__name__}: {e}") from None


def to_dict(cfg) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    for k, v in d.items():
        if isinstance(v, tuple):
            d[k] = list(v)
    return d

