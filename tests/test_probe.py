"""The memory probe and the amnesia test (`sleepcore.probe`) and their figures (`sleepcore.viz_memory`).

Exact checks on hand-made traces and a tiny float64 model; regression checks on the shipped
rule110-n4 checkpoint (skipped without it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sleepcore import IGNORE, ModelConfig, SleepConfig, SleepingHybrid, probe, viz_memory
from sleepcore.probe import KEPT, NO_SLEEP, SLEPT
from sleepcore.tasks import evolve, task_from_config
from sleepcore.trace import Trace

ROOT = Path(__file__).resolve().parents[1]
N4 = ROOT / "checkpoints" / "rule110-n4"
needs_ckpt = pytest.mark.skipif(not (N4 / "model.safetensors").exists(), reason="needs checkpoints/rule110-n4")
L = 6


def tiny(passes: int = 3, eviction: str = "hard", seed: int = 0) -> SleepingHybrid:
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=11, d_model=16, n_heads=2, head_dim=8, layers="AF", max_window=L, chunk_size=4)
    return SleepingHybrid(cfg, SleepConfig(window=L, passes=passes, eviction=eviction)).double().eval()


def one_frame_trace(S: torch.Tensor, k: torch.Tensor, v: torch.Tensor, passes: int = 1) -> Trace:
    """A trace of `passes` frames over window 0 of block 1 with the given S (B, H, K, V), k, v (B, C, H, *)."""
    tr = Trace()
    for n in range(1, passes + 1):
        tr.begin("wake" if n == 1 else "sleep", 0, n, 0, k.shape[1])
        tr.record("tokens", torch.arange(k.shape[1])[None])
        tr.record("blocks.1.fast.S", S * n / passes)
        tr.record("blocks.1.fast.k", k)
        tr.record("blocks.1.fast.v", v)
        tr.end()
    return tr


# ============================================================================ memory probe
def test_probe_reads_back_a_single_write_exactly():
    """S = k v^T with a unit key returns v for that key (recall 1, residual 0), nothing for an orthogonal one."""
    k = torch.zeros(1, 2, 1, 4, dtype=torch.float64)
    k[0, 0, 0, 0] = 1.0                                         # token 0 writes with e_0
    k[0, 1, 0, 1] = 1.0                                         # token 1's key is e_1, never written
    v = torch.tensor([[[[1.0, -2.0, 0.5]]], [[[3.0, 1.0, 1.0]]]], dtype=torch.float64).view(1, 2, 1, 3)
    S = (k[0, 0, 0][:, None] * v[0, 0, 0][None, :])[None, None]  # (1, 1, K, V) = e_0 v_0^T
    pr = probe.memory_probe(one_frame_trace(S, k, v), layer=1, window=0, vocab=[f"w{i}" for i in range(11)])
    assert pr.tokens == ["w0", "w1"] and pr.passes == 1 and pr.recall.shape == (1, 2, 1)
    assert pr.recall[0, 0, 0] == pytest.approx(1.0, abs=1e-6) and pr.residual[0, 0, 0] == pytest.approx(0, abs=1e-6)
    np.testing.assert_allclose(pr.retrieved[0, 0, 0], v[0, 0, 0].numpy(), atol=1e-6)
    assert pr.recall[0, 1, 0] == pytest.approx(0.0, abs=1e-6)           # nothing comes back for e_1
    assert pr.residual[0, 1, 0] == pytest.approx(float(v[0, 1, 0].norm()), rel=1e-6)


def test_probe_reads_each_pass_with_its_own_state():
    k = torch.nn.functional.normalize(torch.randn(1, 5, 2, 4, dtype=torch.float64), dim=-1)
    v = torch.randn(1, 5, 2, 4, dtype=torch.float64)
    S = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    pr = probe.memory_probe(one_frame_trace(S, k, v, passes=3), layer=1, window=0)
    for n in range(1, 4):
        r = torch.einsum("hkv,chk->chv", S[0] * n / 3, k[0])
        np.testing.assert_allclose(pr.retrieved[n - 1], r.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(pr.residual[n - 1], (v[0] - r).norm(dim=-1).numpy(), rtol=1e-5)
        np.testing.assert_allclose(pr.recall[n - 1],
                                   torch.nn.functional.cosine_similarity(r, v[0], dim=-1).numpy(), rtol=1e-5)
    assert pr.mean_recall().shape == (3, 2) and pr.mean_residual().shape == (3, 2)


def test_probe_of_a_real_forward_pass_uses_the_final_state_of_each_pass():
    model = tiny(passes=3)
    x = torch.randint(0, 11, (1, 2 * L), generator=torch.Generator().manual_seed(3))
    y = torch.full_like(x, IGNORE)
    y[0, -1] = 1                                                # window 1 is a prediction window
    assert probe.consolidated_windows(y, L) == [0]
    trace = probe.probe_trace(model, x, y, passes=3)
    pr = probe.memory_probe(trace, layer=1, window=0)
    assert pr.passes == 3 and pr.recall.shape == (3, L, 2)
    last = trace.passes(window=0)[-1]
    r = torch.einsum("hkv,chk->chv", last["blocks.1.fast.S"][0], last["blocks.1.fast.k"][0])
    np.testing.assert_allclose(pr.retrieved[-1], r.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no fast-weight keys"):
        probe.memory_probe(trace, layer=0, window=0)            # block 0 is attention
    with pytest.raises(ValueError, match="no pass over window 5"):
        probe.memory_probe(trace, layer=1, window=5)


def test_consolidated_windows():
    y = torch.full((1, 4 * L + 2), IGNORE)
    y[0, 2 * L + 1] = 0
    assert probe.consolidated_windows(y, L) == [0, 1, 3]        # window 2 holds an answer; the tail is not full


@needs_ckpt
def test_sleep_finishes_the_writing_on_the_trained_model(one_torch_thread):
    """On rule110-n4 at N = 4, the mean residual falls and the mean recall rises from wake to the last pass."""
    from sleepcore.checkpoint import load_checkpoint
    model, cfg = load_checkpoint(N4)
    task = task_from_config(cfg["task"])
    b = task.sample(1, seed=0, split="held_out", depth=6)
    pr = probe.memory_probe(probe.probe_trace(model, b.tokens, b.targets, 4), 1, 0, task.vocab)
    assert pr.tokens[0] == "t=6" and len(pr.tokens) == 17
    rec, res = pr.mean_recall().mean(1), pr.mean_residual().mean(1)
    assert res[-1] < 0.8 * res[0] and rec[-1] > rec[0] + 0.05


# ============================================================================ amnesia
@pytest.fixture(scope="module")
def n4():
    if not (N4 / "model.safetensors").exists():
        pytest.skip("needs checkpoints/rule110-n4")
    from sleepcore.checkpoint import load_checkpoint
    model, cfg = load_checkpoint(N4)
    return model, task_from_config(cfg["task"])


def test_diagram_tokens_ask_every_cell_of_every_step(n4):
    _, task = n4
    states = torch.tensor([[1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0], [0] * 15 + [1]])
    tok = probe.diagram_tokens(task, states, 3)
    assert tok.shape == (2 * 3 * 16, 18)
    for m, s, j in [(0, 1, 0), (0, 3, 5), (1, 2, 15)]:
        row = task.decode(tok[(m * 3 + (s - 1)) * 16 + j].tolist())
        assert row[0] == f"t={s}" and row[-1] == "?"
        assert [int(c) for c in row[1:-1]] == states[m].roll(-j).tolist()


def test_cleared_ways_equal_forward_and_kept_differs(n4, one_torch_thread):
    """SLEPT and NO_SLEEP, run by streaming, are `forward` at N and at 1; KEPT sees the cache, so it differs."""
    model, task = n4
    states = torch.tensor([[0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1]])
    tok = probe.diagram_tokens(task, states, 4)
    logits = probe.three_ways_logits(model, tok, 4)
    np.testing.assert_allclose(probe.cell_p1(task, logits[SLEPT]), probe.diagram_p1(model, task, tok, 4), atol=1e-4)
    np.testing.assert_allclose(probe.cell_p1(task, logits[NO_SLEEP]), probe.diagram_p1(model, task, tok, 1),
                               atol=1e-4)
    assert (probe.cell_p1(task, logits[KEPT]) - probe.cell_p1(task, logits[SLEPT])).abs().max() > 0.1


def test_kept_at_one_pass_is_the_model_that_never_evicts():
    """At N = 1, KEPT must equal a twin model (same weights) configured with eviction "none"."""
    model = tiny(passes=1)
    twin = tiny(passes=1, eviction="none", seed=1)
    twin.load_state_dict(model.state_dict())
    x = torch.randint(0, 11, (3, L + 1), generator=torch.Generator().manual_seed(5))
    kept = probe.three_ways_logits(model, x, 1, ways=(KEPT,))[KEPT]
    torch.testing.assert_close(kept, twin(x).logits[:, -1], rtol=1e-9, atol=1e-10)
    cleared = probe.three_ways_logits(model, x, 1, ways=(SLEPT, NO_SLEEP))
    torch.testing.assert_close(cleared[SLEPT], cleared[NO_SLEEP], rtol=0, atol=0)
    torch.testing.assert_close(cleared[SLEPT], model(x).logits[:, -1], rtol=1e-9, atol=1e-10)
    assert (kept - cleared[SLEPT]).abs().max() > 1e-6


def test_kept_keeps_the_last_pass_cache_and_does_not_touch_the_model():
    model = tiny(passes=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randint(0, 11, (2, L + 1), generator=torch.Generator().manual_seed(6))
    out = probe.three_ways_logits(model, x, 3)
    assert set(out) == {KEPT, SLEPT, NO_SLEEP}
    torch.testing.assert_close(out[SLEPT], model(x, passes=3).logits[:, -1], rtol=1e-9, atol=1e-10)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.sleep_cfg.eviction == "hard"
    with pytest.raises(ValueError, match="full window"):
        probe.three_ways_logits(model, x[:, :L], 3)
    with pytest.raises(ValueError, match="ways must be among"):
        probe.three_ways_logits(model, x, 3, ways=("forgetful",))


def test_amnesia_diagrams_and_their_counts(n4, one_torch_thread):
    model, task = n4
    states = torch.tensor([[0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1], [1, 1, 0, 1, 0, 0, 0, 1] * 2])
    am = probe.amnesia_diagrams(model, task, states, 5, 4)
    assert am.truth.shape == (2, 6, 16) and set(am.p1) == {KEPT, SLEPT, NO_SLEEP}
    np.testing.assert_array_equal(am.truth, evolve(states, rule=110, steps=5).numpy())
    for w in am.p1:
        np.testing.assert_array_equal(am.p1[w][:, 0], states.numpy())          # row 0 is the given state
        assert not am.wrong(w)[:, 0].any()
        np.testing.assert_array_equal(am.errors_per_step(w), am.wrong(w)[:, 1:].sum(-1))
    saved, lost = am.saved(SLEPT, NO_SLEEP), am.saved(NO_SLEEP, SLEPT)
    assert not (saved & lost).any()
    diff = am.wrong(NO_SLEEP).sum() - am.wrong(SLEPT).sum()
    assert saved.sum() - lost.sum() == diff
    assert am.wrong(SLEPT)[:, 1:4].sum() == 0 and am.wrong(NO_SLEEP).sum() > 20   # the trained N vs no sleep
    rates = probe.error_rates(am)
    np.testing.assert_allclose(rates[SLEPT], am.errors_per_step(SLEPT).mean(0) / 16)


# ============================================================================ figures
def test_probe_figures_carry_the_numbers():
    k = torch.nn.functional.normalize(torch.randn(1, 5, 2, 4, dtype=torch.float64), dim=-1)
    v = torch.randn(1, 5, 2, 4, dtype=torch.float64)
    pr = probe.memory_probe(one_frame_trace(torch.randn(1, 2, 4, 4, dtype=torch.float64), k, v, passes=3), 1, 0)
    fig = viz_memory.probe_heatmap(pr, "recall")
    assert len(fig.data) == 2
    np.testing.assert_allclose(np.asarray(fig.data[1].z), pr.recall[:, :, 1], rtol=1e-6)
    fig = viz_memory.probe_heatmap(pr, "residual")
    assert fig.layout.coloraxis.cmax == pytest.approx(float(pr.residual.max()))
    with pytest.raises(ValueError):
        viz_memory.probe_heatmap(pr, "both")
    fig = viz_memory.recall_by_pass_figure(pr)
    np.testing.assert_allclose(fig.data[0].y, pr.mean_recall()[:, 0], rtol=1e-6)
    fig = viz_memory.token_bars_figure(pr, position=2, n=3)
    np.testing.assert_allclose(fig.data[1].y, pr.retrieved[2, 2, 0], rtol=1e-6)


def test_amnesia_figures_carry_the_numbers():
    fig = viz_memory.errors_by_step_figure({SLEPT: np.array([0, 1, 3]), NO_SLEEP: np.array([5, 6, 7])}, "wrong")
    assert [t.name for t in fig.data] == [viz_memory.WAY_LABELS[SLEPT], viz_memory.WAY_LABELS[NO_SLEEP]]
    assert list(fig.data[1].y) == [5, 6, 7]
    truth = np.array([[0, 1, 0], [1, 1, 0]])
    saved = np.array([[False] * 3, [True, False, False]])
    lost = np.array([[False] * 3, [False, False, True]])
    fig = viz_memory.difference_figure(saved, lost, truth, "x")
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), [[0, 1, 0], [2, 1, 3]])
