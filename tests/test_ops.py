"""The fast-weight rules: the chunked form equals the reference loop, which equals the equations.

Habit 1 of STYLE.md: the math is written twice (`chunk_size=None` is the reference loop, an int the
chunked WY/UT form) and held equal here in outputs, final state and gradients, in float64.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sleepcore.ops import fast_weight_rule, fast_weight_trajectory, gated_delta_rule, gated_hebbian_rule

RULE_FNS = {"delta": gated_delta_rule, "hebbian": gated_hebbian_rule}
TIGHT = dict(rtol=1e-10, atol=1e-12)
B, H, K, V = 2, 3, 5, 4  # K != V so a transposed state or output cannot pass by accident


def make_inputs(T: int, seed: int = 0, with_state: bool = False, requires_grad: bool = False,
                dtype=torch.float64):
    """Random q, k, v, g, beta (and S0) in the op's layout; k and q unit length as the layer makes them."""
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=dtype)

    q = F.normalize(randn(B, T, H, K), dim=-1)
    k = F.normalize(randn(B, T, H, K), dim=-1)
    v = randn(B, T, H, V)
    g = F.logsigmoid(randn(B, T, H) + 1.0)            # log alpha, alpha in (0, 1)
    beta = torch.sigmoid(randn(B, T, H))
    S0 = randn(B, H, K, V) if with_state else None
    tensors = [q, k, v, g, beta] + ([S0] if with_state else [])
    if requires_grad:
        for t in tensors:
            t.requires_grad_(True)
    return q, k, v, g, beta, S0


def outputs_and_grads(fn, inputs, chunk_size, cotangent_seed: int = 123):
    """Run the rule, then backprop a fixed random cotangent through both the outputs and final state."""
    q, k, v, g, beta, S0 = inputs
    o, S = fn(q, k, v, g, beta, initial_state=S0, chunk_size=chunk_size)
    gen = torch.Generator().manual_seed(cotangent_seed)
    do = torch.randn(o.shape, generator=gen, dtype=o.dtype)
    dS = torch.randn(S.shape, generator=gen, dtype=S.dtype)
    leaves = [t for t in inputs if t is not None]
    grads = torch.autograd.grad((o * do).sum() + (S * dS).sum(), leaves)
    return o.detach(), S.detach(), grads


# ------------------------------------------------------------------ chunked == reference
@pytest.mark.parametrize("rule", ["delta", "hebbian"])
@pytest.mark.parametrize("T", [1, 3, 8, 13])
@pytest.mark.parametrize("with_state", [False, True])
def test_chunked_equals_reference_outputs_state_and_grads(rule, T, with_state):
    fn = RULE_FNS[rule]
    inputs = make_inputs(T, seed=T, with_state=with_state, requires_grad=True)
    o_ref, S_ref, g_ref = outputs_and_grads(fn, inputs, None)
    names = ["q", "k", "v", "g", "beta", "initial_state"]
    # chunk sizes: 1 (degenerate), smaller than T and not dividing it, equal to T, larger than T
    for chunk in sorted({1, 4, 8, 16, T}):
        o, S, grads = outputs_and_grads(fn, inputs, chunk)
        torch.testing.assert_close(o, o_ref, **TIGHT, msg=lambda m: f"{rule} chunk={chunk} T={T} o: {m}")
        torch.testing.assert_close(S, S_ref, **TIGHT, msg=lambda m: f"{rule} chunk={chunk} T={T} S: {m}")
        for name, a, b in zip(names, grads, g_ref):
            torch.testing.assert_close(a, b, **TIGHT, msg=lambda m: f"{rule} chunk={chunk} T={T} d{name}: {m}")


@pytest.mark.parametrize("rule", ["delta", "hebbian"])
def test_chunked_equals_reference_at_extreme_gates(rule):
    """alpha = 1 (no forgetting), alpha ~ e^-40 (forget all), beta = 0 and beta = 1 (full overwrite)."""
    fn = RULE_FNS[rule]
    q, k, v, g, beta, S0 = make_inputs(13, seed=7, with_state=True)
    g = g.clone()
    beta = beta.clone()
    g[:, 0:4] = 0.0
    g[:, 4:7] = -40.0
    beta[:, 1:3] = 0.0
    beta[:, 6:10] = 1.0
    o_ref, S_ref = fn(q, k, v, g, beta, initial_state=S0, chunk_size=None)
    for chunk in (4, 16):
        o, S = fn(q, k, v, g, beta, initial_state=S0, chunk_size=chunk)
        assert torch.isfinite(o).all() and torch.isfinite(S).all()
        torch.testing.assert_close(o, o_ref, **TIGHT)
        torch.testing.assert_close(S, S_ref, **TIGHT)


def test_chunked_gradients_are_finite_under_strong_decay():
    """Long chunks with strong forgetting underflow exp(cumsum g); no NaN may leak into gradients."""
    q, k, v, g, beta, S0 = make_inputs(16, seed=3, with_state=True)
    g = torch.full_like(g, -60.0).requires_grad_(True)
    q.requires_grad_(True)
    o, S = gated_delta_rule(q, k, v, g, beta, initial_state=S0, chunk_size=16)
    dq, dg = torch.autograd.grad(o.sum() + S.sum(), [q, g])
    assert torch.isfinite(dq).all() and torch.isfinite(dg).all()


# ------------------------------------------------------------------ reference == the equations
def literal_states(q, k, v, g, beta, S0, steps: int, delta: bool):
    """S_t = a_t (I - b_t k k^T) S_{t-1} + b_t k v^T (or a_t S_{t-1} + b_t k v^T), o_t = S_t^T q_t,
    one (batch, head) matrix at a time."""
    outs = torch.zeros(B, steps, H, V, dtype=q.dtype)
    final = torch.zeros(B, H, K, V, dtype=q.dtype)
    eye = torch.eye(K, dtype=q.dtype)
    for b in range(B):
        for h in range(H):
            S = torch.zeros(K, V, dtype=q.dtype) if S0 is None else S0[b, h].clone()
            for t in range(steps):
                a_t, b_t = torch.exp(g[b, t, h]), beta[b, t, h]
                kt, vt, qt = k[b, t, h], v[b, t, h], q[b, t, h]
                if delta:
                    S = a_t * (eye - b_t * torch.outer(kt, kt)) @ S + b_t * torch.outer(kt, vt)
                else:
                    S = a_t * S + b_t * torch.outer(kt, vt)
                outs[b, t, h] = S.T @ qt
            final[b, h] = S
    return outs, final


@pytest.mark.parametrize("rule", ["delta", "hebbian"])
@pytest.mark.parametrize("with_state", [False, True])
def test_reference_matches_the_literal_matrix_formula(rule, with_state):
    steps = 4
    q, k, v, g, beta, S0 = make_inputs(steps, seed=11, with_state=with_state)
    o_lit, S_lit = literal_states(q, k, v, g, beta, S0, steps, delta=rule == "delta")
    for chunk in (None, 3):
        o, S = RULE_FNS[rule](q, k, v, g, beta, initial_state=S0, chunk_size=chunk)
        torch.testing.assert_close(o, o_lit, **TIGHT)
        torch.testing.assert_close(S, S_lit, **TIGHT)


def test_rules_differ_when_keys_repeat():
    """The delta correction matters: writing the same key twice is not additive under the delta rule."""
    q, k, v, g, beta, _ = make_inputs(2, seed=5)
    k = k[:, :1].expand(B, 2, H, K).contiguous()
    o_delta, _ = gated_delta_rule(q, k, v, g, beta)
    o_hebb, _ = gated_hebbian_rule(q, k, v, g, beta)
    assert (o_delta[:, 1] - o_hebb[:, 1]).abs().max() > 1e-3


def test_trajectory_states_are_the_prefix_final_states():
    q, k, v, g, beta, S0 = make_inputs(7, seed=2, with_state=True)
    for rule in ("delta", "hebbian"):
        states, write = fast_weight_trajectory(k, v, g, beta, S0, rule=rule)
        assert states.shape == (B, 7, H, K, V) and write.shape == (B, 7, H)
        for t in range(7):
            _, S_t = fast_weight_rule(q[:, : t + 1], k[:, : t + 1], v[:, : t + 1], g[:, : t + 1],
                                      beta[:, : t + 1], S0, chunk_size=None, rule=rule)
            torch.testing.assert_close(states[:, t], S_t, **TIGHT)


# ------------------------------------------------------------------ carrying state
@pytest.mark.parametrize("rule", ["delta", "hebbian"])
@pytest.mark.parametrize("chunk", [None, 4])
@pytest.mark.parametrize("with_state", [False, True])
def test_one_call_equals_pieces_with_state_carried(rule, chunk, with_state):
    fn = RULE_FNS[rule]
    T = 13
    q, k, v, g, beta, S0 = make_inputs(T, seed=9, with_state=with_state)
    o_all, S_all = fn(q, k, v, g, beta, initial_state=S0, chunk_size=chunk)
    for cuts in ([5], [4, 8], list(range(1, T))):  # mid-chunk, on chunk boundaries, token by token
        bounds = [0, *cuts, T]
        S, outs = S0, []
        for a, b in zip(bounds, bounds[1:]):
            o, S = fn(q[:, a:b], k[:, a:b], v[:, a:b], g[:, a:b], beta[:, a:b], initial_state=S, chunk_size=chunk)
            outs.append(o)
        torch.testing.assert_close(torch.cat(outs, 1), o_all, **TIGHT)
        torch.testing.assert_close(S, S_all, **TIGHT)


# ------------------------------------------------------------------ edges and validation
@pytest.mark.parametrize("chunk", [None, 4])
@pytest.mark.parametrize("with_state", [False, True])
def test_empty_sequence(chunk, with_state):
    q, k, v, g, beta, S0 = make_inputs(0, with_state=with_state)
    for fn in RULE_FNS.values():
        o, S = fn(q, k, v, g, beta, initial_state=S0, chunk_size=chunk)
        assert o.shape == (B, 0, H, V)
        expected = torch.zeros(B, H, K, V, dtype=torch.float64) if S0 is None else S0
        torch.testing.assert_close(S, expected, rtol=0, atol=0)


def _bad_inputs():
    q, k, v, g, beta, _ = make_inputs(5)
    good = dict(q=q, k=k, v=v, g=g, beta=beta)
    yield "q 3-D", {**good, "q": q[..., 0]}, "q and k"
    yield "k other K", {**good, "k": k[..., :3]}, "q and k"
    yield "v other B", {**good, "v": v[:1]}, "v must be"
    yield "v other T", {**good, "v": v[:, :4]}, "v must be"
    yield "v 3-D", {**good, "v": v[..., 0]}, "v must be"
    yield "g other H", {**good, "g": g[..., :2]}, "g must be"
    yield "g with trailing dim", {**good, "g": g[..., None]}, "g must be"
    yield "beta other T", {**good, "beta": beta[:, :2]}, "beta must be"
    yield "initial_state (K, K)", {**good, "initial_state": torch.zeros(B, H, K, K, dtype=q.dtype)}, "initial_state"
    yield "initial_state no batch", {**good, "initial_state": torch.zeros(H, K, V, dtype=q.dtype)}, "initial_state"


@pytest.mark.parametrize("case", list(_bad_inputs()), ids=lambda c: c[0])
@pytest.mark.parametrize("chunk", [None, 4])
def test_bad_shapes_raise_value_error_with_message(case, chunk):
    _, kwargs, fragment = case
    with pytest.raises(ValueError, match=fragment) as info:
        gated_delta_rule(**kwargs, chunk_size=chunk)
    assert "got" in str(info.value)  # the message shows what it received


def test_bad_rule_and_chunk_size_raise_value_error():
    q, k, v, g, beta, _ = make_inputs(3)
    with pytest.raises(ValueError, match="rule must be one of"):
        fast_weight_rule(q, k, v, g, beta, rule="mamba")
    for bad in (0, -2):
        with pytest.raises(ValueError, match="chunk_size"):
            gated_delta_rule(q, k, v, g, beta, chunk_size=bad)
