"""The timeline derivation: one traced forward -> the scrubber's steps and what each panel reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sleepcore.checkpoint import load_checkpoint
from sleepcore.config import ModelConfig, SleepConfig
from sleepcore.model import SleepingHybrid
from sleepcore.tasks import make_task, task_from_config
from sleepcore.timeline import EVICT, SLEEP, WAKE, build_timeline, trace_sample
from sleepcore.trace import Trace

ROOT = Path(__file__).resolve().parents[1]
N4 = ROOT / "checkpoints" / "rule110-n4"


@pytest.fixture(scope="module")
def model_task():
    """The shipped N=4 hybrid if present (real gates and attention), else an untrained one of the same shape."""
    torch.manual_seed(0)
    if (N4 / "model.safetensors").exists():
        model, cfg = load_checkpoint(N4)
        return model, task_from_config(cfg["task"])
    task = make_task("rule110", width=16, steps=[1, 8])
    model = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, layers="AF", max_window=task.window),
                           SleepConfig(window=task.window, passes=4)).eval()
    return model, task


@pytest.fixture(scope="module")
def sample(model_task):
    return model_task[1].sample(1, seed=0, split="held_out", depth=6)


def traced(model, sample, passes):
    trace = Trace()
    with torch.inference_mode():
        out = model(sample.tokens, sample.targets, passes=passes, trace=trace)
    return trace, out


def test_step_list_for_N4_is_17_wake_3_sleep_1_evict_1_prediction(model_task, sample):
    model, task = model_task
    tl = trace_sample(model, task, sample, passes=4)
    kinds = [s.kind for s in tl.steps]
    assert kinds == [WAKE] * 17 + [SLEEP] * 3 + [EVICT] + [WAKE]
    assert [s.offset for s in tl.steps[:17]] == list(range(17))
    assert [s.pass_index for s in tl.steps[17:20]] == [2, 3, 4]
    assert all(s.window == 0 for s in tl.steps[:21]) and tl.steps[21].window == 1
    assert tl.steps[21].prediction and not tl.steps[0].prediction
    assert [s.index for s in tl.steps] == list(range(22))


@pytest.mark.parametrize("passes, sleeps", [(1, 0), (2, 1), (8, 7)])
def test_step_count_follows_N(model_task, sample, passes, sleeps):
    tl = trace_sample(*model_task, sample, passes=passes)
    assert len(tl) == 17 + sleeps + 1 + 1
    assert sum(s.kind == SLEEP for s in tl.steps) == sleeps


def test_states_are_read_from_the_trace(model_task, sample):
    model, task = model_task
    trace, _ = traced(model, sample, 4)
    tl = build_timeline(trace, task, sample, window=model.sleep_cfg.window, passes=4)
    (b,) = tl.fast_layers
    wake, p2, p3, p4, _evict, pred = trace.frames
    # the last wake token of window 0 holds S after pass 1; every token holds its S_tokens entry
    np.testing.assert_array_equal(tl.state_at(16, b), wake[f"blocks.{b}.fast.S"][0].numpy())
    np.testing.assert_array_equal(tl.state_at(4, b), wake[f"blocks.{b}.fast.S_tokens"][0, 4].numpy())
    # sleep pass n holds S after pass n, and its change is the frame's dS
    for step, frame in zip((17, 18, 19), (p2, p3, p4)):
        np.testing.assert_array_equal(tl.state_at(step, b), frame[f"blocks.{b}.fast.S"][0].numpy())
        np.testing.assert_allclose(tl.dstate_at(step, b), frame[f"blocks.{b}.fast.dS"][0].numpy(), atol=1e-6)
    # the eviction changes nothing in S (only S crosses)
    np.testing.assert_array_equal(tl.state_at(20, b), tl.state_at(19, b))
    assert not tl.dstate_at(20, b).any()
    # a wake token's change is its own write: S_tokens[k] - S_tokens[k-1]
    S_tok = wake[f"blocks.{b}.fast.S_tokens"][0].numpy()
    np.testing.assert_allclose(tl.dstate_at(5, b), S_tok[5] - S_tok[4], atol=1e-7)
    np.testing.assert_array_equal(tl.dstate_at(0, b), S_tok[0])  # S starts at zero
    np.testing.assert_array_equal(tl.state_at(21, b), pred[f"blocks.{b}.fast.S"][0].numpy())


def test_pass_norms_measure_each_pass_over_the_window(model_task, sample):
    model, task = model_task
    trace, _ = traced(model, sample, 4)
    tl = build_timeline(trace, task, sample, window=model.sleep_cfg.window, passes=4)
    (b,) = tl.fast_layers
    passes, norms, current = tl.pass_norms(18, b)
    assert passes == [1, 2, 3, 4] and current == 3 and norms.shape == (4, tl.heads)
    for row, frame in zip(norms, trace.frames[:4]):
        np.testing.assert_allclose(row, frame[f"blocks.{b}.fast.dS"][0].double().pow(2).sum((-1, -2)).sqrt(), rtol=1e-6)
    assert tl.pass_norms(20, b)[2] is None            # at the eviction no pass is running
    assert tl.pass_norms(21, b)[0] == [1]              # the prediction window has one pass


def test_attention_rows_appear_token_by_token(model_task, sample):
    model, task = model_task
    trace, _ = traced(model, sample, 4)
    tl = build_timeline(trace, task, sample, window=model.sleep_cfg.window, passes=4)
    (a,) = tl.attention_layers
    pattern = trace.frames[0][f"blocks.{a}.attn.pattern"][0].numpy()
    view = tl.attention_at(4, a)
    assert view.pattern.shape == pattern.shape and view.rows_done == 5
    assert np.isnan(view.pattern[:, 5:]).all()                              # later queries not computed yet
    np.testing.assert_allclose(np.nansum(view.pattern[:, :5], -1), 1.0, rtol=1e-5)
    assert np.isnan(view.pattern[:, 2, 3:]).all()                           # no query sees the future
    np.testing.assert_allclose(view.pattern[:, 3, :4], pattern[:, 3, :4])
    sleep_view = tl.attention_at(18, a)                                      # a sleep pass recomputes every row
    assert sleep_view.rows_done == 17 and not np.isnan(sleep_view.pattern[:, 16, :]).any()
    np.testing.assert_allclose(sleep_view.pattern[:, 16], trace.frames[2][f"blocks.{a}.attn.pattern"][0, :, 16])
    assert tl.attention_at(20, a) is None                                    # evicted: nothing to attend to
    assert tl.attention_at(21, a).pattern.shape == (tl.heads, 1, 1)          # the '?' sees only itself


def test_gates_are_per_token_and_hidden_until_read(model_task, sample):
    tl = trace_sample(*model_task, sample, passes=4)
    (b,) = tl.fast_layers
    g = tl.gates_at(6, b)
    assert g.alpha.shape == (17, tl.heads) and len(g.labels) == 17
    assert np.isfinite(g.alpha[:7]).all() and np.isnan(g.alpha[7:]).all() and np.isnan(g.write[7:]).all()
    assert ((g.alpha[:7] > 0) & (g.alpha[:7] <= 1)).all() and ((g.beta[:7] >= 0) & (g.beta[:7] <= 1)).all()
    assert np.isfinite(tl.gates_at(19, b).write).all()
    assert tl.gates_at(20, b) is None


def test_kv_occupancy_fills_while_awake_and_drops_at_eviction(model_task, sample):
    tl = trace_sample(*model_task, sample, passes=4)
    assert tl.occupancy.tolist() == list(range(1, 18)) + [17, 17, 17] + [0] + [1]


def test_prediction_matches_an_untraced_forward(model_task, sample):
    model, task = model_task
    tl = trace_sample(model, task, sample, passes=4)
    with torch.inference_mode():
        logits = model(sample.tokens, sample.targets, passes=4).logits[0, -1]
    (p,) = tl.predictions
    assert p.step == 21 and p.position == 17 and tl.predictions_until(20) == [] and tl.predictions_until(21) == [p]
    assert p.predicted == task.vocab[int(logits.argmax())]
    assert p.target == str(sample.raw[0]["labels"][0]) and p.correct == (p.predicted == p.target)
    assert abs(p.confidence - float(logits.softmax(-1).max())) < 1e-5


def test_captions_say_where_we_are(model_task, sample):
    tl = trace_sample(*model_task, sample, passes=4)
    assert tl.caption(4) == f"window 1, wake token 5 of 17: '{tl.tokens[4]}'"
    assert tl.caption(0) == "window 1, wake token 1 of 17: 't=6'"
    assert tl.caption(18) == "window 1 asleep: pass 3 of 4"
    assert tl.caption(20).startswith("window 1 ends: KV cache evicted (17 → 0 entries)")
    assert tl.caption(21) == "prediction window, wake token 1 of 1: '?'"


def test_colour_scale_is_one_number_per_sample(model_task, sample):
    tl = trace_sample(*model_task, sample, passes=4)
    (b,) = tl.fast_layers
    assert tl.state_scale(b, q=100) == pytest.approx(float(np.abs(tl.states[b]).max()))
    assert 0 < tl.state_scale(b) <= tl.state_scale(b, q=100)
    assert 0 < tl.dstate_scale(b) <= tl.dstate_scale(b, q=100)


def test_closest_step_keeps_the_place_when_N_changes(model_task, sample):
    tl4, tl2, tl1 = (trace_sample(*model_task, sample, passes=n) for n in (4, 2, 1))
    assert tl2.closest_step(tl4.steps[18]) == 17 and tl2.steps[17].pass_index == 2   # pass 3 -> last pass (2)
    assert tl1.closest_step(tl4.steps[18]) == 16                                      # no sleep -> last token
    assert tl1.closest_step(tl4.steps[5]) == 5                                        # same token
    assert tl1.steps[tl1.closest_step(tl4.steps[20])].kind == EVICT
    assert tl4.closest_step(tl1.steps[-1]) == len(tl4) - 1


def _random_model(task, layers: str, eviction: str) -> SleepingHybrid:
    torch.manual_seed(1)
    return SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, d_model=32, n_heads=2, head_dim=16, layers=layers,
                                      max_window=task.window), SleepConfig(window=task.window, eviction=eviction)).eval()


def test_attention_only_baselines():
    """No fast weights to show; the kept cache is never evicted, so the '?' can read the whole state."""
    task = make_task("rule110", width=16, steps=[1, 8])
    sample = task.sample(1, seed=3, split="any", depth=4)
    evicted = trace_sample(_random_model(task, "AA", "hard"), task, sample, passes=1)
    assert evicted.fast_layers == [] and evicted.states == {} and evicted.attention_layers == [0, 1]
    assert [s.kind for s in evicted.steps] == [WAKE] * 17 + [EVICT, WAKE]
    kept = trace_sample(_random_model(task, "AA", "none"), task, sample, passes=4)   # N is ignored: no sleep
    assert [s.kind for s in kept.steps] == [WAKE] * 17 + [EVICT, WAKE]
    assert kept.occupancy[-1] == 18 and "cache kept" in kept.caption(17)
    assert kept.attention_at(18, 0).pattern.shape == (kept.heads, 1, 18)


def test_build_timeline_takes_one_sample(model_task):
    _, task = model_task
    batch = task.sample(2, seed=0, depth=3)
    with pytest.raises(ValueError, match="one sample"):
        build_timeline(Trace(), task, batch, window=17)
