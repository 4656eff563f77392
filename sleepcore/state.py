"""The model's two memories as explicit objects with small verbs.

* `FastWeights`: the fast-weight matrices S of every fast-weight block, (B, H, K, V) each. The only
  thing that crosses a window boundary.
* `KVCache`: keys/values of every attention block with the global position of each entry, and the
  eviction policy that decides what survives a window boundary.
* `Memory`: both, plus the bookkeeping of the current window (how many tokens it holds, and the
  top-of-stack hidden states a sleep pass starts from).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .config import EVICTIONS

__all__ = ["FastWeights", "KVCache", "Memory"]


class FastWeights:
    """S for each fast-weight layer, keyed by block index. Zero at the start of every sequence."""

    def __init__(self, layers: list[int], batch: int, heads: int, key_dim: int, value_dim: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        self.layers = list(layers)
        self.shape = (batch, heads, key_dim, value_dim)
        self.dtype, self.device = dtype, torch.device(device)
        self.S: dict[int, Tensor] = {}
        self.reset()

    def reset(self) -> None:
        """Zero every S (Algorithm 1, step 1)."""
        self.S = {i: torch.zeros(self.shape, dtype=self.dtype, device=self.device) for i in self.layers}

    def __getitem__(self, layer: int) -> Tensor:
        return self.S[layer]

    def __setitem__(self, layer: int, value: Tensor) -> None:
        if value.shape != self.shape:
            raise ValueError(f"S for block {layer} must be {self.shape}; got {tuple(value.shape)}")
        self.S[layer] = value

    def clone(self) -> "FastWeights":
        new = FastWeights.__new__(FastWeights)
        new.layers, new.shape, new.dtype, new.device = list(self.layers), self.shape, self.dtype, self.device
        new.S = {i: s.clone() for i, s in self.S.items()}
        return new

    def zero_(self) -> None:
        """Forget everything consolidated so far, in place (used by the amnesia test)."""
        for s in self.S.values():
            s.zero_()

    def nbytes(self) -> int:
        return sum(s.numel() * s.element_size() for s in self.S.values())


class KVCache:
    """Keys and values of every attention block, with their global token positions.

    Visibility rule used by attention: a query at position i sees a cached key at position j when
    j <= i and i - j < L (for eviction "none", any j <= i).

    Eviction (at a window boundary, `evict()`):
        hard:    clear everything (Algorithm 1).
        sliding: keep the most recent L-1 entries (section 6.4).
        none:    keep everything (the cache-kept reference).
    """

    def __init__(self, layers: list[int], window: int, policy: str = "hard"):
        if policy not in EVICTIONS:
            raise ValueError(f"eviction policy must be one of {EVICTIONS}; got {policy!r}")
        self.layers, self.window, self.policy = list(layers), int(window), policy
        self.k: dict[int, Tensor | None] = {}
        self.v: dict[int, Tensor | None] = {}
        self.pos: dict[int, Tensor | None] = {}
        self.reset()

    def reset(self) -> None:
        self.k = {i: None for i in self.layers}
        self.v = {i: None for i in self.layers}
        self.pos = {i: None for i in self.layers}

    def entries(self, layer: int, before: int | None = None):
        """(k, v, pos) of a layer, optionally only entries at positions < before. k, v: (B, H, P, D)."""
        k, v, pos = self.k[layer], self.v[layer], self.pos[layer]
        if k is None:
            return None, None, None
        if before is not None:
            keep = pos < before
            if not bool(keep.all()):
                k, v, pos = k[:, :, keep], v[:, :, keep], pos[keep]
            if pos.numel() == 0:
                return None, None, None
        return k, v, pos

    def write(self, layer: int, k: Tensor, v: Tensor, pos: Tensor) -> None:
        """Store entries (B, H, C, D) at positions pos (C,), replacing any entries at or after pos[0]."""
        old_k, old_v, old_pos = self.entries(layer, before=int(pos[0]))
        if old_k is None:
            self.k[layer], self.v[layer], self.pos[layer] = k, v, pos
        else:
            self.k[layer] = torch.cat([old_k, k], dim=2)
            self.v[layer] = torch.cat([old_v, v], dim=2)
            self.pos[layer] = torch.cat([old_pos, pos])
        # No trimming here: under sliding eviction the sleep passes of a window must still see the
        # L-1 entries retained from the previous window (as pass 1 did). evict() trims to L-1, so the
        # cache peaks at 2L-1 entries just before a boundary.

    def _keep_last(self, layer: int, n: int) -> None:
        if self.k[layer] is None:
            return
        if n <= 0:
            self.k[layer] = self.v[layer] = self.pos[layer] = None
        elif self.pos[layer].numel() > n:
            self.k[layer] = self.k[layer][:, :, -n:]
            self.v[layer] = self.v[layer][:, :, -n:]
            self.pos[layer] = self.pos[layer][-n:]

    def evict(self) -> None:
        """Apply the eviction policy at a window boundary."""
        if self.policy == "hard":
            self.reset()
        elif self.policy == "sliding":
            for i in self.layers:
                self._keep_last(i, self.window - 1)

    @property
    def occupancy(self) -> int:
        """Number of cached token positions (the same in every attention layer)."""
        for i in self.layers:
            return 0 if self.pos[i] is None else int(self.pos[i].numel())
        return 0

    def nbytes(self) -> int:
        return sum(2 * k.numel() * k.element_size() for k in self.k.values() if k is not None)

    def clone(self) -> "KVCache":
        new = KVCache(self.layers, self.window, self.policy)
        for i in self.layers:
            if self.k[i] is not None:
                new.k[i], new.v[i], new.pos[i] = self.k[i].clone(), self.v[i].clone(), self.pos[i].clone()
        return new


@dataclass
class Memory:
    """Everything a running model remembers: fast weights, KV cache and the current window.

    Attributes:
        fast: the fast weights S (cross window boundaries).
        kv: the attention KV cache (evicted at window boundaries).
        position: global index of the next token.
        window_start: global index of the first token of the current window.
        window_hidden: top-of-stack hidden states of the current window's tokens, (B, C, D); a
            sleep pass starts from them. Dropped at every window boundary.
        window_supervised: the current window holds a supervised (prediction) position, so it gets
            one pass only (Algorithm 1). Reset at every window boundary.
    """

    fast: FastWeights
    kv: KVCache
    position: int = 0
    window_start: int = 0
    window_hidden: list[Tensor] = field(default_factory=list)
    window_supervised: bool = False

    @property
    def window(self) -> int:
        return self.kv.window

    @property
    def tokens_in_window(self) -> int:
        return self.position - self.window_start

    @property
    def window_full(self) -> bool:
        return self.tokens_in_window >= self.window

    def reset(self) -> None:
        self.fast.reset()
        self.kv.reset()
        self.position = self.window_start = 0
        self.window_hidden = []
        self.window_supervised = False

    def end_window(self) -> None:
        """Drop the window's hidden states and apply the eviction policy; only S crosses."""
        self.kv.evict()
        self.window_hidden = []
        self.window_supervised = False
        self.window_start = self.position

    def clone(self) -> "Memory":
        return Memory(self.fast.clone(), self.kv.clone(), self.position, self.window_start,
                      [h.clone() for h in self.window_hidden], self.window_supervised)

    def evicted_copy(self) -> "Memory":
        """A copy as it would be right after a hard eviction here, whatever this memory's policy: S
        cloned, the KV cache empty, a new window starting at the current position. Asking a question
        of it asks what S alone carries (the explorer's probes); this memory is left as it is."""
        return Memory(self.fast.clone(), KVCache(self.kv.layers, self.kv.window, self.kv.policy),
                      self.position, self.position)
