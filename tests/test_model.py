"""The sleeping hybrid: Algorithm 1, its streaming twin, eviction, gradients, trace, configs.

Habit 2 of STYLE.md: carrying state must not change the answer. `forward` over a whole sequence,
`forward` over pieces with the memory carried, and token-by-token `feed` (step + sleep) agree in
float64 with tight tolerances. Every test uses a tiny model so the file runs in seconds.
"""

from __future__ import annotations

import math
import signal
import time

import pytest
import torch
import torch.nn.functional as F

from sleepcore import IGNORE, ConfigError, ModelConfig, SleepConfig, SleepingHybrid, Trace
from sleepcore.ops import fast_weight_trajectory
from sleepcore.trace import check_frame

L = 6                       # window (tokens per window)
VOCAB, D, HEADS, HEAD_DIM = 8, 16, 2, 8
TIGHT = dict(rtol=1e-10, atol=1e-12)
VISIBLE = 1e-6              # a difference this large is a real change, not rounding (float64)


def build(passes: int = 1, eviction: str = "hard", seed: int = 0, window: int = L, **model_overrides):
    torch.manual_seed(seed)
    cfg = ModelConfig(**{**dict(vocab_size=VOCAB, d_model=D, n_heads=HEADS, head_dim=HEAD_DIM, layers="AFAF",
                                max_window=16), **model_overrides})
    return SleepingHybrid(cfg, SleepConfig(window=window, passes=passes, eviction=eviction)).double()


def tokens_for(T: int, B: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (B, T), generator=torch.Generator().manual_seed(seed))


def targets_for(tokens: torch.Tensor, supervised_windows: dict[int, list[int] | None]) -> torch.Tensor:
    """Targets (next-token) only in the given windows; value None supervises every row, a list only those rows."""
    targets = torch.full_like(tokens, IGNORE)
    nxt = torch.roll(tokens, -1, dims=1)
    for w, rows in supervised_windows.items():
        rows = range(tokens.shape[0]) if rows is None else rows
        for r in rows:
            targets[r, w * L: (w + 1) * L] = nxt[r, w * L: (w + 1) * L]
    return targets


def window_mask(T: int, windows) -> torch.Tensor:
    mask = torch.zeros(T, dtype=torch.bool)
    for w in windows:
        mask[w * L: (w + 1) * L] = True
    return mask


def assert_same_fast_weights(mem_a, mem_b, **tol):
    assert mem_a.fast.layers == mem_b.fast.layers
    for i in mem_a.fast.layers:
        torch.testing.assert_close(mem_a.fast[i], mem_b.fast[i], **(tol or TIGHT), msg=lambda m: f"S of block {i}: {m}")


def max_fast_weight_diff(mem_a, mem_b) -> float:
    return max(float((mem_a.fast[i] - mem_b.fast[i]).detach().abs().max()) for i in mem_a.fast.layers)


# Layout used by the agreement tests: 27 tokens = 4 full windows + a partial one (3 tokens).
# Windows 0, 1, 3 are consolidation windows; window 2 is supervised in row 0 only (one row is
# enough to make the whole batch's window a prediction window); the partial window 4 is supervised.
T_ODD = 4 * L + 3
SUPERVISED_ODD = {2: [0], 4: None}


# ================================================================== whole == pieces == streaming
@pytest.mark.parametrize("passes", [1, 3])
@pytest.mark.parametrize("eviction", ["hard", "sliding"])
@pytest.mark.parametrize("chunk_size", [4, 32])   # 4: two chunks per window; 32: one padded chunk
def test_whole_equals_pieces_equals_streaming(passes, eviction, chunk_size):
    model = build(passes, eviction, chunk_size=chunk_size)
    x = tokens_for(T_ODD)
    y = targets_for(x, SUPERVISED_ODD)
    whole = model(x, y)
    assert whole.logits.shape == (2, T_ODD, VOCAB)

    # pieces, cut on window boundaries
    for cuts in ([2 * L], [L, 3 * L, 4 * L]):
        bounds, mem, logits = [0, *cuts, T_ODD], None, []
        for a, b in zip(bounds, bounds[1:]):
            out = model(x[:, a:b], y[:, a:b], memory=mem)
            mem = out.memory
            logits.append(out.logits)
        torch.testing.assert_close(torch.cat(logits, 1), whole.logits, **TIGHT)
        assert_same_fast_weights(mem, whole.memory)
        assert mem.position == whole.memory.position == T_ODD

    # token by token
    mem = model.new_memory(2)
    wake = model.feed(x, mem, passes=passes, supervised=y != IGNORE)
    sup = window_mask(T_ODD, [2, 4])
    torch.testing.assert_close(wake[:, sup], whole.logits[:, sup], **TIGHT)
    assert_same_fast_weights(mem, whole.memory)
    if passes == 1:  # N=1: a consolidation window's logits are its wake logits too
        torch.testing.assert_close(wake, whole.logits, **TIGHT)


@pytest.mark.parametrize("eviction", ["hard", "sliding"])
def test_streaming_trailing_partial_window_is_not_consolidated(eviction):
    """Sleep happens only at window boundaries: forward does not consolidate a trailing window that is
    not full, exactly like the stream, so their S agree before sleep(); sleep() then changes S."""
    model = build(3, eviction)
    x = tokens_for(T_ODD, seed=4)
    y = targets_for(x, {1: None})
    whole = model(x, y)
    mem = model.new_memory(2)
    wake = model.feed(x, mem, supervised=y != IGNORE)
    assert mem.tokens_in_window == 3 and whole.memory.tokens_in_window == 3
    torch.testing.assert_close(wake[:, window_mask(T_ODD, [1])], whole.logits[:, window_mask(T_ODD, [1])], **TIGHT)
    assert_same_fast_weights(mem, whole.memory)
    before = mem.clone()
    model.sleep(mem)
    assert max_fast_weight_diff(mem, before) > VISIBLE


def test_step_returns_the_logits_of_forward():
    model = build(1)
    x = tokens_for(2 * L, B=1, seed=5)
    whole = model(x)
    mem = model.new_memory(1)
    for t in range(2 * L):
        if mem.window_full:
            model.sleep(mem)
        logits = model.step(int(x[0, t]), mem)
        assert logits.shape == (1, VOCAB)
        torch.testing.assert_close(logits, whole.logits[:, t], **TIGHT)


def test_pieces_cut_inside_a_window_equal_the_whole():
    model = build(3)
    x = tokens_for(3 * L, seed=6)
    whole = model(x)
    first = model(x[:, : L + 3])
    rest = model(x[:, L + 3:], memory=first.memory)
    assert_same_fast_weights(rest.memory, whole.memory)
    torch.testing.assert_close(rest.logits[:, -L:], whole.logits[:, -L:], **TIGHT)


def test_feed_in_pieces_cut_inside_a_supervised_window():
    model = build(3)
    x = tokens_for(3 * L, seed=7)
    y = targets_for(x, {1: None})
    y[:, L + 3:2 * L] = IGNORE  # window 1 supervised only in its first half
    one = model.new_memory(2)
    model.feed(x, one, supervised=y != IGNORE)
    two = model.new_memory(2)
    model.feed(x[:, : L + 3], two, supervised=(y != IGNORE)[:, : L + 3])
    model.feed(x[:, L + 3:], two, supervised=(y != IGNORE)[:, L + 3:])
    assert_same_fast_weights(two, one)


def test_forward_from_a_full_window_memory_terminates():
    if not hasattr(signal, "setitimer"):
        pytest.skip("needs signal.setitimer")
    model = build(2)
    mem = model.new_memory(1)
    for t in range(L):
        model.step(t % VOCAB, mem)
    assert mem.window_full

    def on_alarm(*_):
        raise TimeoutError("forward() did not return within 0.25 s")

    # pytest-timeout (pytest.ini) may own SIGALRM: borrow it and give back its handler and remaining time
    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, 0.25)  # a call takes ~1 ms; the hang grows a list
    try:
        out = model(torch.zeros(1, 2, dtype=torch.long), memory=mem)
    except (RuntimeError, ValueError) as e:  # refusing with a clear message is a fix too
        assert "window" in str(e)
        return
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay:
            signal.setitimer(signal.ITIMER_REAL, max(old_delay - (time.monotonic() - started), 1e-3), old_interval)
    assert out.logits.shape == (1, 2, VOCAB)


# ================================================================== N = 1 is the plain hybrid
def _rms(x, weight, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def plain_hybrid(model: SleepingHybrid, tokens: torch.Tensor):
    """The vanilla hybrid under hard eviction, written from the parameters: every window gets one
    pass with causal attention inside the window and the gated delta rule carrying S, then the
    cache is dropped. Returns logits (B, T, |V|) and {block: S}."""
    cfg, Lw = model.cfg, model.sleep_cfg.window
    Bn, T = tokens.shape
    Hh, Dh = cfg.n_heads, cfg.head_dim
    S = {i: torch.zeros(Bn, Hh, Dh, Dh, dtype=torch.float64) for i, c in enumerate(cfg.layers) if c == "F"}
    logits = []
    for a in range(0, T, Lw):
        c = tokens[:, a:a + Lw]
        C = c.shape[1]
        h = model.tok.weight[c] + model.pos.weight[:C]                          # (B, C, D)
        for i, blk in enumerate(model.blocks):
            x = _rms(h, blk.norm1.weight)
            mx = blk.mixer
            if cfg.layers[i] == "A":
                q, k, v = (x @ mx.qkv.weight.T).view(Bn, C, 3, Hh, Dh).unbind(2)   # (B, C, H, Dh)
                scores = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(Dh)
                causal = torch.ones(C, C, dtype=torch.bool).tril()
                probs = scores.masked_fill(~causal, float("-inf")).softmax(-1)
                y = torch.einsum("bhij,bjhd->bihd", probs, v).reshape(Bn, C, Hh * Dh)
                out = y @ mx.out.weight.T
            else:
                q, k, v = F.silu(x @ mx.qkv.weight.T).view(Bn, C, 3, Hh, Dh).unbind(2)
                q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
                gates = x @ mx.gates.weight.T + mx.gates.bias                        # (B, C, 2H)
                alpha, beta = torch.sigmoid(gates[..., :Hh]), torch.sigmoid(gates[..., Hh:])
                eye = torch.eye(Dh, dtype=torch.float64)
                o = []
                for t in range(C):
                    kt, vt, qt = k[:, t], v[:, t], q[:, t]                           # (B, H, Dh)
                    a_t, b_t = alpha[:, t, :, None, None], beta[:, t, :, None, None]
                    kkT = kt[..., :, None] * kt[..., None, :]
                    S[i] = a_t * (eye - b_t * kkT) @ S[i] + b_t * kt[..., :, None] * vt[..., None, :]
                    o.append(torch.einsum("bhkv,bhk->bhv", S[i], qt))
                o = _rms(torch.stack(o, 1), mx.head_norm.weight).reshape(Bn, C, Hh * Dh)
                out = (o * F.silu(x @ mx.out_gate.weight.T)) @ mx.out.weight.T
            h = h + out
            h = h + blk.mlp.proj(F.gelu(blk.mlp.fc(_rms(h, blk.norm2.weight))))
        logits.append(_rms(h, model.norm.weight) @ model.head.weight.T)
    return torch.cat(logits, 1), S


def test_one_pass_is_the_plain_hybrid():
    model = build(1)
    x = tokens_for(T_ODD, seed=8)
    with torch.no_grad():
        out = model(x)  # no targets: every window is a consolidation window, with N=1 pass
        ref_logits, ref_S = plain_hybrid(model, x)
    torch.testing.assert_close(out.logits, ref_logits, **TIGHT)
    for i, S in ref_S.items():
        torch.testing.assert_close(out.memory.fast[i], S, **TIGHT)


def test_more_passes_change_fast_weights_and_predictions():
    model = build(1)
    x = tokens_for(3 * L, seed=9)
    y = targets_for(x, {2: None})
    with torch.no_grad():
        one, three = model(x, y, passes=1), model(x, y, passes=3)
    assert max_fast_weight_diff(one.memory, three.memory) > VISIBLE
    assert (one.logits[:, 2 * L:] - three.logits[:, 2 * L:]).abs().max() > VISIBLE
    assert abs(one.loss.item() - three.loss.item()) > VISIBLE


def test_loss_is_a_tensor_when_no_position_is_supervised():
    model = build(2)
    x = tokens_for(2 * L, seed=23)
    out = model(x, torch.full_like(x, IGNORE))
    assert isinstance(out.loss, torch.Tensor) and out.loss.dim() == 0
    out.loss.backward()  # a batch without supervised tokens must not crash a training step


def test_supervised_windows_get_one_pass_whatever_N():
    model = build(1)
    x = tokens_for(3 * L, seed=10)
    y = targets_for(x, {0: [1], 1: None, 2: [0]})  # every window has a target somewhere in the batch
    one, three = model(x, y, passes=1), model(x, y, passes=3)
    assert torch.equal(one.logits, three.logits)
    assert max_fast_weight_diff(one.memory, three.memory) == 0


# ================================================================== eviction
@pytest.mark.parametrize("eviction,expected", [("hard", 0), ("sliding", L - 1), ("none", L)])
def test_cache_occupancy_after_a_window(eviction, expected):
    model = build(3, eviction)
    x = tokens_for(L, seed=11)
    mem = model.new_memory(2)
    model.feed(x, mem)  # the window fills, so feed sleeps and evicts
    assert mem.kv.occupancy == expected
    assert mem.window_hidden == [] and mem.tokens_in_window == 0
    assert model(x).memory.kv.occupancy == expected


def test_evicted_tokens_reach_predictions_only_through_fast_weights():
    model = build(3)
    x = tokens_for(3 * L, seed=12)
    x_other = x.clone()
    x_other[:, :L] = (x_other[:, :L] + 3) % VOCAB  # a different evicted window 0
    y = targets_for(x, {2: None})

    def pred(out):
        return out.logits[:, 2 * L:]

    # through S, the evicted window matters
    assert (pred(model(x, y)) - pred(model(x_other, y))).abs().max() > VISIBLE

    # with S wiped before the prediction window, nothing of windows 0-1 survives: bit-identical predictions
    results = []
    for tokens in (x, x_other):
        mem = model(tokens[:, : 2 * L]).memory
        assert mem.kv.occupancy == 0 and mem.window_hidden == []
        assert max(float(mem.fast[i].detach().abs().max()) for i in mem.fast.layers) > VISIBLE
        mem.fast.zero_()
        results.append(pred(model(tokens[:, 2 * L:], y[:, 2 * L:], memory=mem)))
    assert torch.equal(results[0], results[1])


def test_sliding_sleep_passes_see_the_retained_keys():
    model = build(2, "sliding")
    trace = Trace()
    model(tokens_for(2 * L, seed=13), trace=trace)
    wake, sleep = [f for f in trace.passes(window=1)]
    assert (wake.kind, sleep.kind) == ("wake", "sleep")
    for i in model.cfg.attention_layers:
        assert torch.equal(sleep[f"blocks.{i}.attn.key_positions"], wake[f"blocks.{i}.attn.key_positions"])


def test_attention_only_model_needs_its_cache():
    """A transformer keeps earlier windows only in its KV cache: with it (eviction none) predictions
    depend on earlier windows; after hard eviction they do not, exactly."""
    x = tokens_for(3 * L, seed=14)
    x_other = x.clone()
    x_other[:, :L] = (x_other[:, :L] + 3) % VOCAB
    for eviction in ("none", "hard"):
        model = build(1, eviction, layers="AAAA")
        assert model.new_memory().fast.layers == []
        a, b = model(x).logits[:, 2 * L:], model(x_other).logits[:, 2 * L:]
        if eviction == "none":
            assert (a - b).abs().max() > VISIBLE
            assert model(x).memory.kv.occupancy == 3 * L
        else:
            assert torch.equal(a, b)


def test_step_refuses_a_full_window():
    model = build(2)
    mem = model.new_memory(1)
    for t in range(L):
        model.step(t % VOCAB, mem)
    with pytest.raises(RuntimeError, match="window is full"):
        model.step(0, mem)
    model.sleep(mem)
    model.step(0, mem)  # fine again after sleeping
    # without eviction there is no sleep and no limit
    model = build(1, "none")
    mem = model.new_memory(1)
    for t in range(2 * L + 1):
        model.step(t % VOCAB, mem)
    assert mem.kv.occupancy == 2 * L + 1


def slept_both_ways(model, x: torch.Tensor):
    """One window of x streamed into a hard-evicting memory that then sleeps (and evicts) and into a never-evicting
    one that sleeps without evicting; -> (normal, kept)."""
    normal, kept = model.new_memory(x.shape[0]), model.new_memory(x.shape[0], eviction="none")
    for t in range(L):
        model.step(x[:, t], normal)
        model.step(x[:, t], kept)
    model.sleep(normal)
    model.sleep(kept, evict=False)
    return normal, kept


def test_sleep_without_eviction_writes_the_same_S_and_keeps_the_cache():
    """sleep(evict=False): the same N passes (the same S as a normal sleep), but the cache stays."""
    model = build(3)
    x = tokens_for(L, seed=4)
    normal, kept = slept_both_ways(model, x)
    assert normal.kv.occupancy == 0 and kept.kv.occupancy == L
    for i in normal.fast.layers:
        torch.testing.assert_close(kept.fast[i], normal.fast[i], rtol=0, atol=0)
    untouched = model.new_memory(x.shape[0], eviction="none")
    for t in range(L):
        model.step(x[:, t], untouched)
    model.sleep(untouched)                       # eviction "none" never sleeps unless asked not to evict
    assert any(not torch.equal(untouched.fast[i], kept.fast[i]) for i in kept.fast.layers)


def test_evicted_copy_is_the_memory_after_a_hard_eviction():
    """A never-evicting memory that slept without evicting, asked through evicted_copy(), predicts exactly
    what the hard-evicting memory predicts; the original keeps its cache and window."""
    model = build(3)
    x = tokens_for(L + 4, seed=5)
    normal, kept = slept_both_ways(model, x)
    copy = kept.evicted_copy()
    assert (copy.kv.occupancy, copy.window_hidden, copy.tokens_in_window) == (0, [], 0)
    assert kept.kv.occupancy == L and kept.tokens_in_window == L
    for t in range(L, x.shape[1]):
        torch.testing.assert_close(model.step(x[:, t], copy), model.step(x[:, t], normal), rtol=0, atol=0)
    assert kept.kv.occupancy == L and kept.position == L    # asking the copy changed nothing here
    assert all(not torch.equal(kept.fast[i], copy.fast[i]) for i in kept.fast.layers)


# ================================================================== sleep and gradients
def test_sleep_never_changes_parameters_and_records_no_graph():
    model = build(3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    mem = model.new_memory(2)
    model.feed(tokens_for(2 * L + 2, seed=15), mem)
    model.sleep(mem)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())
    for i in mem.fast.layers:
        assert not mem.fast[i].requires_grad and mem.fast[i].grad_fn is None


def test_gradients_flow_through_every_sleep_pass():
    model = build(3)
    # windows 0-1 use tokens 0..3 only, the supervised window 2 tokens 4..7 only
    g = torch.Generator().manual_seed(16)
    x = torch.cat([torch.randint(0, 4, (2, 2 * L), generator=g), torch.randint(4, 8, (2, L), generator=g)], 1)
    y = targets_for(x, {2: None})
    loss = model(x, y).loss
    loss.backward()
    for i in model.cfg.fast_layers:  # parameters only a fast block uses
        assert model.blocks[i].mixer.gates.bias.grad.abs().max() > 0
        assert model.blocks[i].mixer.qkv.weight.grad.abs().max() > 0
    # token embeddings seen only in evicted windows get gradient: it can only have come through S
    assert model.tok.weight.grad[:4].abs().max() > 0
    assert model.tok.weight.grad[4:].abs().max() > 0
    assert abs(loss.item() - model(x, y, passes=1).loss.item()) > VISIBLE


def test_gradient_through_sleep_matches_finite_differences():
    """A pass whose S or h were detached would leave the analytic gradient short of the true one."""
    model = build(3)
    x = tokens_for(3 * L, seed=17)
    y = targets_for(x, {2: None})
    params = [p for p in model.parameters()]
    grads = torch.autograd.grad(model(x, y).loss, params)
    gen = torch.Generator().manual_seed(18)
    direction = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
    analytic = sum(float((gr * d).sum()) for gr, d in zip(grads, direction))
    eps = 1e-6  # central-difference error ~ eps^2: 1e-8 relative here, 1e-4 relative at eps=1e-4

    def loss_at(scale):
        with torch.no_grad():
            for p, d in zip(params, direction):
                p.add_(scale * eps * d)
            value = float(model(x, y).loss)
            for p, d in zip(params, direction):
                p.sub_(scale * eps * d)
        return value

    numeric = (loss_at(1.0) - loss_at(-1.0)) / (2 * eps)
    assert abs(analytic) > 1e-4
    assert abs(numeric - analytic) <= 1e-6 * abs(analytic) + 1e-9


# ================================================================== trace
DIMS = {"B": 2, "H": HEADS, "K": HEAD_DIM, "V": HEAD_DIM, "D": D, "|V|": VOCAB}


def test_trace_does_not_change_outputs():
    model = build(3, chunk_size=4)
    x = tokens_for(T_ODD, seed=19)
    y = targets_for(x, SUPERVISED_ODD)
    plain, traced = model(x, y), model(x, y, trace=Trace())
    assert torch.equal(plain.logits, traced.logits) and torch.equal(plain.loss, traced.loss)
    for i in plain.memory.fast.layers:
        assert torch.equal(plain.memory.fast[i], traced.memory.fast[i])
    mem_a, mem_b = model.new_memory(2), model.new_memory(2)
    wake_a = model.feed(x, mem_a, supervised=y != IGNORE)
    wake_b = model.feed(x, mem_b, supervised=y != IGNORE, trace=Trace())
    assert torch.equal(wake_a, wake_b)
    for i in mem_a.fast.layers:
        assert torch.equal(mem_a.fast[i], mem_b.fast[i])


def _check_fast_weight_chain(trace: Trace, model: SleepingHybrid, final_memory) -> None:
    """S_tokens ends at S; dS = S - (the S of the previous frame, zero at the start); last S = memory's;
    the recorded keys (unit length), values and gates replay the rule from the previous S to S_tokens."""
    prev = {i: torch.zeros(2, HEADS, HEAD_DIM, HEAD_DIM, dtype=torch.float64) for i in model.cfg.fast_layers}
    for f in trace.passes():
        for i in model.cfg.fast_layers:
            S, S_tokens, dS = f[f"blocks.{i}.fast.S"], f[f"blocks.{i}.fast.S_tokens"], f[f"blocks.{i}.fast.dS"]
            torch.testing.assert_close(S_tokens[:, -1], S, **TIGHT)
            torch.testing.assert_close(dS, S - prev[i], **TIGHT)
            k, v = f[f"blocks.{i}.fast.k"], f[f"blocks.{i}.fast.v"]
            torch.testing.assert_close(k.norm(dim=-1), torch.ones_like(k[..., 0]), **TIGHT)
            replay, _ = fast_weight_trajectory(k, v, f[f"blocks.{i}.fast.alpha"].log(), f[f"blocks.{i}.fast.beta"],
                                               prev[i], rule=model.cfg.fast_rule)
            torch.testing.assert_close(replay, S_tokens, **TIGHT)
            prev[i] = S
    for i in model.cfg.fast_layers:
        torch.testing.assert_close(prev[i], final_memory.fast[i], rtol=0, atol=0)


def test_forward_trace_frames():
    N = 3
    model = build(N, chunk_size=4)
    x = tokens_for(T_ODD, seed=20)
    y = targets_for(x, SUPERVISED_ODD)
    trace = Trace()
    out = model(x, y, trace=trace)
    for f in trace:
        check_frame(f, DIMS)

    def consolidate(w):  # (kind, window, pass, start, length)
        sleeps = [("sleep", w, n, w * L, L) for n in range(2, N + 1)]
        return [("wake", w, 1, w * L, L), *sleeps, ("evict", w, 0, (w + 1) * L, 0)]

    def predict(w):
        return [("wake", w, 1, w * L, L), ("evict", w, 0, (w + 1) * L, 0)]

    expected = [*consolidate(0), *consolidate(1), *predict(2), *consolidate(3), ("wake", 4, 1, 4 * L, 3)]
    assert [(f.kind, f.window, f.pass_index, f.start, f.length) for f in trace] == expected
    fast_names = {f"blocks.{i}.fast.{n}" for i in model.cfg.fast_layers
                  for n in ("alpha", "beta", "write", "k", "v", "S", "S_tokens", "dS")}
    attn_names = {f"blocks.{i}.attn.{n}" for i in model.cfg.attention_layers for n in ("pattern", "key_positions")}
    common = {"positions", "hidden", "head.probs", "kv.occupancy"} | fast_names | attn_names
    for f in trace:
        if f.kind == "evict":
            assert set(f.tensors) == {"kv.occupancy_before", "kv.occupancy_after"}
            assert int(f["kv.occupancy_before"]) == L and int(f["kv.occupancy_after"]) == 0
        else:
            assert set(f.tensors) == common | ({"tokens"} if f.kind == "wake" else set())
            assert torch.equal(f["positions"], torch.arange(f.start, f.start + f.length))
    # the hidden states of the last pass give the logits forward returns
    for f in trace.passes():
        last_pass = f is trace.passes(window=f.window)[-1]
        if last_pass:
            torch.testing.assert_close(f["head.probs"], out.logits[:, f.start:f.start + f.length].softmax(-1), **TIGHT)
    _check_fast_weight_chain(trace, model, out.memory)


def test_streaming_trace_frames():
    N = 2
    model = build(N)
    x = tokens_for(2 * L + 1, seed=21)
    trace = Trace()
    mem = model.new_memory(2)
    model.feed(x, mem, trace=trace)
    for f in trace:
        check_frame(f, DIMS)

    def per_window(w):  # L one-token wake frames, then sleep passes 2..N over the window, then evict
        wakes = [("wake", w, 1, w * L + t, 1) for t in range(L)]
        sleeps = [("sleep", w, n, w * L, L) for n in range(2, N + 1)]
        return [*wakes, *sleeps, ("evict", w, 0, (w + 1) * L, 0)]

    expected = [*per_window(0), *per_window(1), ("wake", 2, 1, 2 * L, 1)]
    assert [(f.kind, f.window, f.pass_index, f.start, f.length) for f in trace] == expected
    _check_fast_weight_chain(trace, model, mem)


# ================================================================== determinism and configs
def test_same_seed_same_model_and_outputs():
    a, b, c = build(3, seed=0), build(3, seed=0), build(3, seed=1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)
    x = tokens_for(2 * L, seed=22)
    y = targets_for(x, {1: None})
    oa, ob = a(x, y), b(x, y)
    assert torch.equal(oa.logits, ob.logits) and torch.equal(oa.loss, ob.loss)


@pytest.mark.parametrize("make,fragment", [
    (lambda: ModelConfig(layers="AXF"), "'AXF'"),
    (lambda: ModelConfig(layers=""), "''"),
    (lambda: ModelConfig(layers="afaf"), "'afaf'"),
    (lambda: SleepConfig(passes=0), "got 0"),
    (lambda: SleepConfig(window=0), "got 0"),
    (lambda: SleepConfig(eviction="soft"), "'soft'"),
    (lambda: ModelConfig(fast_rule="mamba"), "'mamba'"),
    (lambda: ModelConfig(chunk_size=0), "got 0"),
    (lambda: build(window=20), "L=20"),
], ids=["layers-letter", "layers-empty", "layers-case", "passes-0", "window-0", "eviction", "rule", "chunk-0",
        "window-over-max"])
def test_config_errors_name_the_offending_value(make, fragment):
    with pytest.raises(ConfigError) as info:
        make()
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_calls_raise_value_error():
    model = build(1)
    with pytest.raises(ValueError, match="passes"):
        model(tokens_for(L), passes=0)
    with pytest.raises(ValueError, match="token ids"):
        model(torch.full((1, 3), VOCAB))
    with pytest.raises(ValueError, match="tokens must be"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="targets must match"):
        model(tokens_for(L), torch.zeros(2, L - 1, dtype=torch.long))
