"""The fast-weight update rules, written twice: a reference loop and a chunked (WY/UT) form.

Layout (the one used by flash-linear-attention and most GDN code):

    q, k : (B, T, H, K)      v : (B, T, H, V)
    g    : (B, T, H)         log of the forget gate, alpha_t = exp(g_t) in (0, 1]
    beta : (B, T, H)         write strength in [0, 1]
    S    : (B, H, K, V)      the fast weights (the paper's S, transposed to K-by-V)
    o    : (B, T, H, V)

Gated delta rule (Gated DeltaNet; what the paper's experiments use):

    S_t = alpha_t (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T,      o_t = S_t^T q_t

Gated Hebbian rule (the paper's Eq. 3, no delta correction):

    S_t = alpha_t S_{t-1} + beta_t k_t v_t^T,                             o_t = S_t^T q_t

No scaling or normalisation happens here: the layer L2-normalises q and k before calling.

Both rules write S_t = alpha_t S_{t-1} + k_t delta_t^T with a per-token "write"
delta_t (V,): delta_t = beta_t (v_t - alpha_t S_{t-1}^T k_t) for the delta rule and
delta_t = beta_t v_t for the Hebbian rule. The chunked form solves for all deltas of a chunk
at once (a unit lower-triangular system for the delta rule), then carries S chunk to chunk.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["gated_delta_rule", "gated_hebbian_rule", "fast_weight_rule", "fast_weight_trajectory", "RULES"]

RULES = ("delta", "hebbian")


def _check(q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, initial_state: Tensor | None) -> None:
    if q.dim() != 4 or k.shape != q.shape:
        raise ValueError(f"q and k must both be (B, T, H, K); got q {tuple(q.shape)}, k {tuple(k.shape)}")
    B, T, H, _ = q.shape
    if v.dim() != 4 or v.shape[:3] != (B, T, H):
        raise ValueError(f"v must be (B, T, H, V) = ({B}, {T}, {H}, V); got {tuple(v.shape)}")
    for name, x in (("g", g), ("beta", beta)):
        if x.shape != (B, T, H):
            raise ValueError(f"{name} must be (B, T, H) = ({B}, {T}, {H}); got {tuple(x.shape)}")
    if initial_state is not None and initial_state.shape != (B, H, k.shape[-1], v.shape[-1]):
        raise ValueError(
            f"initial_state must be (B, H, K, V) = ({B}, {H}, {k.shape[-1]}, {v.shape[-1]}); "
            f"got {tuple(initial_state.shape)}"
        )


def _reference(q, k, v, g, beta, initial_state, delta: bool):
    """Token-by-token loop that reads like the equations above."""
    B, T, H, K = k.shape
    V = v.shape[-1]
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state
    outs = []
    for t in range(T):
        alpha = g[:, t].exp()[..., None, None]                      # (B, H, 1, 1)
        k_t, v_t, q_t = k[:, t], v[:, t], q[:, t]                   # (B, H, K|V)
        b_t = beta[:, t][..., None]                                 # (B, H, 1)
        if delta:
            # alpha (I - beta k k^T) S + beta k v^T  ==  alpha S + k (beta (v - alpha S^T k))^T
            recalled = torch.einsum("bhkv,bhk->bhv", alpha * S, k_t)  # (B, H, V)
            write = b_t * (v_t - recalled)
        else:
            write = b_t * v_t
        S = alpha * S + k_t[..., :, None] * write[..., None, :]     # (B, H, K, V)
        outs.append(torch.einsum("bhkv,bhk->bhv", S, q_t))
    return torch.stack(outs, dim=1), S                              # (B, T, H, V), (B, H, K, V)


def _chunked(q, k, v, g, beta, initial_state, chunk_size: int, delta: bool):
    """Chunked WY/UT form: exact, parallel inside a chunk, sequential across chunks.

    Inside a chunk with start state S0, cumulative log-decay c_r = sum_{i<=r} g_i,
    gamma_r = exp(c_r) and Gamma_ri = exp(c_r - c_i) for i <= r (never above 1):
        delta rule:  (I + A) Delta = diag(beta) V - diag(beta gamma) K S0,
                     A_ri = beta_r Gamma_ri k_r.k_i for i < r
        Hebbian:     Delta = diag(beta) V
        O   = diag(gamma) Q S0 + (Q K^T * Gamma, i <= r) Delta
        S_C = gamma_C S0 + K^T diag(Gamma_Ci) Delta
    By linearity Delta = U - W S0, so U and W are solved for every chunk at once and only the
    cheap S0-dependent part runs in the loop over chunks.
    """
    B, T, H, K = k.shape
    V = v.shape[-1]
    C = int(chunk_size)
    pad = (-T) % C
    if pad:
        # Padding with k = v = 0, beta = 0, g = 0 leaves S untouched; padded outputs are dropped.
        q, k, v = (torch.nn.functional.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, v))
        g, beta = (torch.nn.functional.pad(x, (0, 0, 0, pad)) for x in (g, beta))
    n = (T + pad) // C

    def to_chunks(x):  # (B, T, H, ...) -> (B, H, n, C, ...)
        x = x.reshape(B, n, C, H, *x.shape[3:])
        return x.permute(0, 3, 1, 2, *range(4, x.dim()))

    qc, kc, vc = to_chunks(q), to_chunks(k), to_chunks(v)           # (B, H, n, C, K|V)
    gc, bc = to_chunks(g), to_chunks(beta)                          # (B, H, n, C)
    cum = gc.cumsum(-1)                                             # (B, H, n, C)
    diff = cum[..., :, None] - cum[..., None, :]                    # (B, H, n, C, C)
    incl = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    Gamma = torch.where(incl, diff, torch.full_like(diff, -torch.inf)).exp()
    gamma = cum.exp()                                               # (B, H, n, C)

    bV = bc[..., None] * vc                                         # (B, H, n, C, V)
    if delta:
        strict = torch.ones(C, C, dtype=torch.bool, device=q.device).tril(-1)
        kk = kc @ kc.transpose(-1, -2)                              # (B, H, n, C, C)
        A = torch.where(strict, bc[..., None] * Gamma * kk, torch.zeros_like(kk))
        eye = torch.eye(C, dtype=q.dtype, device=q.device)
        rhs = torch.cat([bV, (bc * gamma)[..., None] * kc], dim=-1)  # (B, H, n, C, V + K)
        sol = torch.linalg.solve_triangular(eye + A, rhs, upper=False, unitriangular=True)
        U, W = sol[..., :V], sol[..., V:]                           # (B, H, n, C, V), (B, H, n, C, K)
    else:
        U, W = bV, None

    P = (qc @ kc.transpose(-1, -2)) * Gamma                         # (B, H, n, C, C)
    decay_to_end = (cum[..., -1:] - cum).exp()                      # (B, H, n, C)
    kd = kc * decay_to_end[..., None]                               # (B, H, n, C, K)

    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state
    outs = []
    for j in range(n):
        Delta = U[:, :, j] if W is None else U[:, :, j] - W[:, :, j] @ S  # (B, H, C, V)
        o = gamma[:, :, j, :, None] * (qc[:, :, j] @ S) + P[:, :, j] @ Delta
        outs.append(o)
        S = gamma[:, :, j, -1, None, None] * S + kd[:, :, j].transpose(-1, -2) @ Delta
    o = torch.stack(outs, dim=2)                                    # (B, H, n, C, V)
    o = o.reshape(B, H, n * C, V).transpose(1, 2)[:, :T]            # (B, T, H, V)
    return o, S


def fast_weight_rule(q, k, v, g, beta, initial_state=None, chunk_size=None, rule: str = "delta"):
    """Run one of the fast-weight rules; see the module docstring for shapes and equations.

    Args:
        rule: "delta" (gated delta rule) or "hebbian" (the paper's Eq. 3).
        chunk_size: None for the reference loop, an int for the chunked form (any T works).

    Returns:
        (o, final_state): (B, T, H, V) and (B, H, K, V).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    _check(q, k, v, g, beta, initial_state)
    if q.shape[1] == 0:
        B, _, H, K = k.shape
        S = q.new_zeros(B, H, K, v.shape[-1]) if initial_state is None else initial_state
        return v.new_zeros(v.shape), S
    if chunk_size is None:
        return _reference(q, k, v, g, beta, initial_state, delta=rule == "delta")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be a positive int or None; got {chunk_size!r}")
    return _chunked(q, k, v, g, beta, initial_state, int(chunk_size), delta=rule == "delta")


def gated_delta_rule(q, k, v, g, beta, initial_state=None, chunk_size=None):
    """S_t = alpha_t (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T, o_t = S_t^T q_t.

    Returns (o (B, T, H, V), final_state (B, H, K, V)); chunk_size=None is the reference loop.
    """
    return fast_weight_rule(q, k, v, g, beta, initial_state, chunk_size, rule="delta")


def gated_hebbian_rule(q, k, v, g, beta, initial_state=None, chunk_size=None):
    """S_t = alpha_t S_{t-1} + beta_t k_t v_t^T, o_t = S_t^T q_t (the paper's Eq. 3)."""
    return fast_weight_rule(q, k, v, g, beta, initial_state, chunk_size, rule="hebbian")


@torch.no_grad()
def fast_weight_trajectory(k, v, g, beta, initial_state=None, rule: str = "delta"):
    """S after every token and the size of every token's write, for inspection (no gradients).

    Returns:
        states: (B, T, H, K, V), S_t for t = 1..T.
        write: (B, T, H), ||delta_t||, the norm of the rank-one update k_t delta_t^T (k is unit length).
    """
    B, T, H, K = k.shape
    V = v.shape[-1]
    S = k.new_zeros(B, H, K, V) if initial_state is None else initial_state
    states, writes = [], []
    for t in range(T):
        alpha = g[:, t].exp()[..., None, None]
        b_t = beta[:, t][..., None]
        if rule == "delta":
            write = b_t * (v[:, t] - torch.einsum("bhkv,bhk->bhv", alpha * S, k[:, t]))
        else:
            write = b_t * v[:, t]
        S = alpha * S + k[:, t][..., :, None] * write[..., None, :]
        states.append(S)
        writes.append(write.norm(dim=-1) * k[:, t].norm(dim=-1))
    return torch.stack(states, 1), torch.stack(writes, 1)
