"""Blocks of the hybrid stack: windowed softmax attention, the fast-weight mixer, MLP, block.

Each mixer works on a span of tokens (one token when streaming, a whole window otherwise) and
talks to the memories through explicit arguments; nothing is stored on the module, so one model
object can serve many users at once.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ModelConfig
from .ops import fast_weight_rule

__all__ = ["RMSNorm", "MLP", "WindowAttention", "FastWeightMixer", "Block"]


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MLP(nn.Module):
    def __init__(self, d: int, ratio: int):
        super().__init__()
        self.fc = nn.Linear(d, ratio * d, bias=False)
        self.proj = nn.Linear(ratio * d, d, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(F.gelu(self.fc(x)))


class WindowAttention(nn.Module):
    """Causal softmax attention over the cached keys plus the span, restricted to the window.

    A query at global position i sees keys at positions j with j <= i and, unless the window is
    unbounded, i - j < L. Positions enter through the learned in-window position embedding added
    at the input (see model.py), so this module needs no rotary tables.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.h, self.dh = cfg.n_heads, cfg.head_dim
        inner = cfg.n_heads * cfg.head_dim
        self.qkv = nn.Linear(cfg.d_model, 3 * inner, bias=False)
        self.out = nn.Linear(inner, cfg.d_model, bias=False)

    def forward(self, x: Tensor, pos: Tensor, past: tuple[Tensor, Tensor, Tensor] | tuple[None, None, None],
                window: int | None):
        """Args:
            x: (B, C, D) normalised inputs of the span.  pos: (C,) global positions.
            past: cached (k, v, pos) with k, v (B, H, P0, Dh), or (None, None, None).
            window: L, or None for an unbounded window.
        Returns:
            out (B, C, D), k and v of the span (B, H, C, Dh), probs (B, H, C, P0 + C), key_pos (P0 + C,).
        """
        B, C, _ = x.shape
        q, k, v = self.qkv(x).view(B, C, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)  # 3 x (B, H, C, Dh)
        pk, pv, ppos = past
        if pk is not None:
            keys, values, key_pos = torch.cat([pk, k], 2), torch.cat([pv, v], 2), torch.cat([ppos, pos])
        else:
            keys, values, key_pos = k, v, pos
        rel = pos[:, None] - key_pos[None, :]                                  # (C, P)
        visible = rel >= 0
        if window is not None:
            visible = visible & (rel < window)
        scores = (q @ keys.transpose(-1, -2)) / math.sqrt(self.dh)              # (B, H, C, P)
        scores = scores.masked_fill(~visible, float("-inf"))
        probs = scores.softmax(-1)
        y = (probs @ values).transpose(1, 2).reshape(B, C, self.h * self.dh)   # (B, C, H*Dh)
        return self.out(y), k, v, probs, key_pos


class FastWeightMixer(nn.Module):
    """Gated delta rule (or gated Hebbian) mixer in the style of Gated DeltaNet.

    q, k, v = SiLU(linear(x)); q and k are L2-normalised per head; forget gate
    alpha = sigmoid(linear(x) + b_a) (kept in log space, g = log alpha); write strength
    beta = sigmoid(linear(x) + b_b); output = RMSNorm_head(S^T q) * SiLU(gate(x)), projected back.
    Departures from GDN, documented: no short causal convolution (tokens mix through the
    attention blocks instead).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.h, self.dk = cfg.n_heads, cfg.head_dim
        inner = cfg.n_heads * cfg.head_dim
        self.rule, self.chunk_size = cfg.fast_rule, cfg.chunk_size
        self.qkv = nn.Linear(cfg.d_model, 3 * inner, bias=False)
        self.gates = nn.Linear(cfg.d_model, 2 * cfg.n_heads, bias=True)        # forget, write
        self.out_gate = nn.Linear(cfg.d_model, inner, bias=False)
        self.head_norm = RMSNorm(cfg.head_dim)
        self.out = nn.Linear(inner, cfg.d_model, bias=False)
        self.reset_gates(cfg)

    @torch.no_grad()
    def reset_gates(self, cfg: ModelConfig) -> None:
        """Forget-gate biases spread over heads (slow to fast forgetting), write bias beta_bias."""
        lo, hi = cfg.forget_bias_range
        self.gates.weight.normal_(0.0, 0.02)
        self.gates.bias[: cfg.n_heads] = torch.linspace(lo, hi, cfg.n_heads) if cfg.n_heads > 1 else (lo + hi) / 2
        self.gates.bias[cfg.n_heads:] = cfg.beta_bias

    def project(self, x: Tensor):
        """x (B, C, D) -> q, k, v (B, C, H, K), g, beta (B, C, H)."""
        B, C, _ = x.shape
        q, k, v = F.silu(self.qkv(x)).view(B, C, 3, self.h, self.dk).unbind(2)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        a, b = self.gates(x).view(B, C, 2, self.h).unbind(2)
        return q, k, v, F.logsigmoid(a), torch.sigmoid(b)

    def forward(self, x: Tensor, S: Tensor, chunk_size: int | None = None):
        """x (B, C, D), S (B, H, K, V) -> out (B, C, D), new S, and (q, k, v, g, beta) for tracing."""
        B, C, _ = x.shape
        q, k, v, g, beta = self.project(x)
        cs = self.chunk_size if chunk_size is None else chunk_size
        if C == 1:
            cs = None  # one token: the reference step is the fast path
        o, S_new = fast_weight_rule(q, k, v, g, beta, initial_state=S, chunk_size=cs, rule=self.rule)
        o = self.head_norm(o).reshape(B, C, self.h * self.dk) * F.silu(self.out_gate(x))
        return self.out(o), S_new, (q, k, v, g, beta)


class Block(nn.Module):
    """Pre-norm block: x + mixer(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, cfg: ModelConfig, kind: str):
        super().__init__()
        self.kind = kind
        self.norm1 = RMSNorm(cfg.d_model)
        self.mixer = WindowAttention(cfg) if kind == "A" else FastWeightMixer(cfg)
        self.norm2 = RMSNorm(cfg.d_model) if cfg.mlp_ratio else None
        self.mlp = MLP(cfg.d_model, cfg.mlp_ratio) if cfg.mlp_ratio else None

    def mlp_residual(self, x: Tensor) -> Tensor:
        return x if self.mlp is None else x + self.mlp(self.norm2(x))
