"""Configuration dataclasses, one per concern, validated on construction.

Every error message names the offending value and what is accepted, so a bad config file or CLI
flag fails with one readable line (see `ConfigError`).
"""

from __future__ import annotations

import dataclasses
import math
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


def _is_int(value: Any) -> bool:
    """An int that is not a bool (`d_model=True` is a mistake, not 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    """A finite int or float that is not a bool."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) if isinstance(value, float) else _is_int(value))


# A model whose weights would exceed what a checkpoint may hold (checkpoint.MAX_MODEL_BYTES, float32) is
# refused before any tensor is allocated, so a hostile config.json cannot make the loader allocate gigabytes.
MAX_PARAMS = 64 * 2**20


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
        for name in ("vocab_size", "d_model", "n_heads", "head_dim", "max_window"):
            v = getattr(self, name)
            lo = 2 if name == "vocab_size" else 1
            _require(_is_int(v) and v >= lo, f"{name} must be an int >= {lo}; got {v!r}")
        _require(isinstance(self.layers, str) and len(self.layers) >= 1 and set(self.layers) <= {ATTN, FAST},
                 f"layers must be a non-empty string of 'A' (attention) and 'F' (fast-weight) blocks, "
                 f"e.g. 'AFAF'; got {self.layers!r}")
        _require(len(self.layers) <= 64, f"layers has {len(self.layers)} blocks; at most 64 are accepted")
        _require(_is_int(self.mlp_ratio) and self.mlp_ratio >= 0, f"mlp_ratio must be an int >= 0; got {self.mlp_ratio!r}")
        _require(isinstance(self.fast_rule, str) and self.fast_rule in ("delta", "hebbian"),
                 f"fast_rule must be 'delta' or 'hebbian'; got {self.fast_rule!r}")
        _require(self.chunk_size is None or (_is_int(self.chunk_size) and self.chunk_size >= 1),
                 f"chunk_size must be a positive int or null (reference loop); got {self.chunk_size!r}")
        _require(_is_int(self.window_index_embedding) and self.window_index_embedding >= 0,
                 f"window_index_embedding must be an int >= 0; got {self.window_index_embedding!r}")
        fbr = self.forget_bias_range
        _require(isinstance(fbr, (tuple, list)) and len(fbr) == 2 and all(_is_real(v) for v in fbr) and fbr[0] <= fbr[1],
                 f"forget_bias_range must be a pair [low, high] of finite numbers with low <= high; got {fbr!r}")
        object.__setattr__(self, "forget_bias_range", (float(fbr[0]), float(fbr[1])))
        _require(_is_real(self.beta_bias), f"beta_bias must be a finite number; got {self.beta_bias!r}")
        _require(isinstance(self.tie_embeddings, bool), f"tie_embeddings must be true or false; got {self.tie_embeddings!r}")
        inner = self.n_heads * self.head_dim
        per_block = 5 * self.d_model * inner + 2 * self.n_heads * self.d_model + 2 * self.mlp_ratio * self.d_model ** 2 + 4 * self.d_model
        params = (2 * self.vocab_size + self.max_window + self.window_index_embedding) * self.d_model \
            + len(self.layers) * per_block
        _require(params <= MAX_PARAMS,
                 f"model too large: vocab_size={self.vocab_size}, d_model={self.d_model}, n_heads={self.n_heads}, "
                 f"head_dim={self.head_dim}, mlp_ratio={self.mlp_ratio}, max_window={self.max_window}, "
                 f"window_index_embedding={self.window_index_embedding}, layers={len(self.layers)} blocks "
                 f"give about {params:.3g} weights; at most {MAX_PARAMS} are accepted")

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
            last L-1 tokens' keys/values (section 6.4); "none" never evicts (the cache-kept reference,
            not memory-bounded; no sleep happens).
    """

    window: int = 16
    passes: int = 1
    eviction: str = "hard"

    def __post_init__(self) -> None:
        _require(_is_int(self.window) and 1 <= self.window <= 65536,
                 f"window (L) must be an int in 1..65536; got {self.window!r}")
        _require(_is_int(self.passes) and 1 <= self.passes <= 64,
                 f"passes (N) must be an int in 1..64; got {self.passes!r}")
        _require(isinstance(self.eviction, str) and self.eviction in EVICTIONS, f"eviction must be one of {EVICTIONS}; got {self.eviction!r}")


def from_dict(cls: type, data: dict[str, Any] | None):
    """Build a config dataclass from a plain dict, rejecting unknown keys with a clear message."""
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be an object of fields (a dict); got {type(data).__name__} {data!r:.80}")
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names, key=repr)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}; accepted: {sorted(names)}")
    if isinstance(data.get("forget_bias_range"), list):
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

