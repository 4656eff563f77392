"""The cost measurements (`sleepcore.costs`), their figures (`sleepcore.viz_cost`) and the "Cost of
memory" page (`pages/cost.py`) through AppTest, on a tiny model and tiny contexts so it stays fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from sleepcore import ModelConfig, costs, viz_cost

ROOT = Path(__file__).resolve().parents[1]
TINY = ModelConfig(vocab_size=11, d_model=16, n_heads=2, head_dim=8, layers="AF", mlp_ratio=2, chunk_size=8,
                   max_window=8)
L, N = 8, 2
FLOAT = 4   # bytes


@pytest.fixture(scope="module")
def wake():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield costs.measure_wake(TINY, L, N, [15, 39, 63], steps=2, block=1)   # each crosses a window boundary
    finally:
        torch.set_num_threads(old)


# ---------------------------------------------------------------------------- measuring
def test_transformer_memory_is_its_kv_cache_growing_linearly(wake):
    per_token = 2 * 2 * TINY.d_model * FLOAT        # 2 attention blocks x (keys + values) x d floats
    # the peak comes after the timed steps: the context grew by `steps` tokens
    assert wake.transformer_bytes == [(c + wake.steps) * per_token for c in wake.contexts]


def test_hybrid_memory_is_constant_and_bounded_by_one_window_plus_S(wake):
    S = TINY.n_heads * TINY.head_dim * TINY.head_dim * FLOAT          # one fast-weight block, B = 1
    kv_window = 2 * L * TINY.d_model * FLOAT                           # one attention block, one window
    assert len(set(wake.hybrid_bytes)) == 1
    assert S < wake.hybrid_bytes[0] <= S + kv_window


def test_latencies_are_positive_and_finite(wake):
    for xs in (wake.hybrid_ms, wake.transformer_ms, wake.hybrid_p90, wake.transformer_p90, wake.amortised_ms):
        assert len(xs) == 3 and all(0 < x < 1e4 and math.isfinite(x) for x in xs)
    assert 0 < wake.sleep_ms < 1e4                      # the filled window was full, so the hybrid slept
    assert wake.amortised_ms[0] == pytest.approx(wake.hybrid_ms[0] + wake.sleep_ms / L)
    assert (wake.window, wake.passes, wake.layers, wake.steps) == (L, N, "AF", 2)


def test_fill_reaches_every_context_and_reports_progress(one_torch_thread):
    model = costs.build_models(TINY, L, N)["hybrid"]
    seen = []
    mems, seconds = costs.fill(model, [20, 10], seed=0, progress=lambda f, t: seen.append(f))
    assert {c: m.position for c, m in mems.items()} == {10: 10, 20: 20} and seconds > 0
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_building_the_models_leaves_the_global_random_state_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    a = costs.build_models(TINY, L, N)
    costs.build_sleeper(TINY, L)
    assert torch.equal(torch.rand(3), expected)
    b = costs.build_models(TINY, L, N)            # and the init itself is seeded
    assert all(torch.equal(p, q) for p, q in zip(a["transformer"].parameters(), b["transformer"].parameters()))
    assert a["transformer"].cfg.layers == "AA" and a["transformer"].sleep_cfg.eviction == "none"
    assert a["hybrid"].sleep_cfg.eviction == "hard" and a["hybrid"].sleep_cfg.passes == N


def test_sleep_cost_grows_with_passes(one_torch_thread):
    curve = costs.measure_sleep(TINY, L, max_passes=4, repeats=3)
    assert curve.passes == [1, 2, 3, 4] and curve.repeats == 3 and curve.window == L
    assert all(0 < m and math.isfinite(m) for m in curve.median_ms)
    assert all(lo <= m <= hi for lo, m, hi in zip(curve.q25_ms, curve.median_ms, curve.q75_ms))
    assert curve.median_ms[3] > curve.median_ms[0]       # three offline passes vs eviction only
    assert curve.per_pass_ms > 0


def test_linear_fit_and_curve_from_samples_on_an_exact_line():
    assert costs.linear_fit([1, 2, 3], [3, 5, 7]) == pytest.approx((1.0, 2.0))
    curve = costs.curve_from_samples({n: [(1 + 2 * n) / 1e3] * 3 for n in (1, 2, 3, 4)}, window=17)
    assert (curve.intercept_ms, curve.per_pass_ms) == pytest.approx((1.0, 2.0))
    assert curve.max_rel_dev == pytest.approx(0.0, abs=1e-9) and curve.fit(5) == pytest.approx(11.0)


def test_estimate_grows_with_the_work_and_machine_load_is_readable():
    base = costs.estimate_seconds([256, 1024, 4096], 20, 8, 11)
    assert 0 < base < costs.estimate_seconds([256, 1024, 4096, 16384], 20, 8, 11)
    assert base < costs.estimate_seconds([256, 1024, 4096], 20, 16, 11)
    load = costs.machine_load(samples=2, interval=0.0)
    assert load["cores"] >= 1 and (load["other_runnable"] is None or load["other_runnable"] >= 0)


def test_bench_reference_reads_the_json_lines_the_benches_print():
    wake_line = json.dumps({"threads": 1, "loadavg_1m_at_start": 0.5, "window": 17, "passes": 4, "layers_hybrid": "AF",
                            "contexts": [256, 1024], "hybrid_step_ms": [0.6, 0.6], "transformer_step_ms": [0.5, 0.8],
                            "hybrid_bytes_peak": [16896, 16896], "transformer_bytes_peak": [313344, 1099776],
                            "hybrid_sleep_ms_median": 2.9})
    sleep_line = json.dumps({"loadavg_1m_at_start": 0.9, "window": 17, "repeats": 101,
                             "sleep_ms_median": {"1": 0.02, "2": 0.9, "3": 1.8}, "fit_intercept_ms": -0.85,
                             "per_pass_ms": 0.875, "max_rel_dev_from_fit": 0.026})
    doc = f"| when | 2026-11-27, 14:00 |\n```\n{{not json\n{wake_line}\n```\n{{\"threads\": 2}}\n{sleep_line}\n"
    ref = costs.bench_reference(doc)
    assert ref["date"] == "2026-11-27" and (ref["wake_load"], ref["sleep_load"]) == (0.5, 0.9)
    assert ref["wake"].transformer_ms == [0.5, 0.8] and ref["wake"].sleep_ms == 2.9
    assert ref["sleep"].passes == [1, 2, 3] and ref["sleep"].per_pass_ms == 0.875
    assert costs.bench_reference("no figures here") == {"wake": None, "sleep": None, "date": None,
                                                       "wake_load": None, "sleep_load": None}
    shipped = ROOT / "docs" / "performance.md"
    if shipped.exists():                                    # the committed document parses
        assert costs.bench_reference(shipped.read_text())["wake"] is not None


# ---------------------------------------------------------------------------- figures
def test_figures_carry_the_measured_numbers(wake):
    lat = {t.name: t for t in viz_cost.latency_figure(wake).data}
    assert list(lat["transformer, cache kept"].y) == pytest.approx(wake.transformer_ms)
    assert list(lat["sleeping hybrid: wake step"].y) == pytest.approx(wake.hybrid_ms)
    assert viz_cost.latency_figure(wake).layout.xaxis.type == "log"
    mem = {t.name: t for t in viz_cost.memory_figure(wake).data}
    assert list(mem["transformer: KV cache"].y) == pytest.approx([b / 1024 for b in wake.transformer_bytes])
    curve = costs.curve_from_samples({n: [(1 + 2 * n) / 1e3] for n in (1, 2, 3)}, window=L)
    fit, pts = viz_cost.sleep_figure(curve).data
    assert list(pts.x) == [1, 2, 3] and list(pts.y) == pytest.approx([3, 5, 7])
    assert list(fit.y) == pytest.approx([3, 7]) and "2.00 ms per pass" in fit.name


def test_buys_figure_pools_the_depths():
    by_n = {1: ("n1", {7: (6, 10), 8: (4, 10)}), 4: ("n4", {7: (9, 10), 8: (7, 10)})}
    fig = viz_cost.buys_figure(by_n, [7, 8], {"kept": {7: (10, 10), 8: (10, 10)}}, chance=0.5)
    line = next(t for t in fig.data if t.name == "trained hybrids")
    assert list(line.y) == pytest.approx([0.5, 0.8])
    assert any("transformer, cache kept 1.00" in a.text for a in fig.layout.annotations)


# ---------------------------------------------------------------------------- the page
pytestmark_app = pytest.mark.skipif(not (ROOT / "checkpoints" / "rule110-n4" / "model.safetensors").exists(),
                                    reason="needs the shipped checkpoints in checkpoints/")


TINY_STATE = {"cost_contexts": [32, 64], "cost_steps": 4, "cost_max_n": 3, "cost_repeats": 2,
              "cost_acc_samples": 20}


def cost_page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in {**TINY_STATE, **state}.items():
        at.session_state[k] = v
    at.run()
    at.switch_page("pages/cost.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def spec(at: AppTest, key: str) -> dict:
    return json.loads(at.get_by_key(key).proto.spec)


def keys(at: AppTest) -> set[str]:
    """Which of the page's charts are on it."""
    return {k for k in ("cost_latency", "cost_memory", "cost_sleep", "cost_buys") if _has(at, k)}


def _has(at: AppTest, key: str) -> bool:
    try:
        at.get_by_key(key)
        return True
    except KeyError:
        return False


def traces(at: AppTest, key: str) -> dict[str, dict]:
    return {t.get("name"): t for t in spec(at, key)["data"]}


@pytestmark_app
@pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")
def test_page_empty_state_then_measure_draws_the_charts():
    at = cost_page()
    assert at.title[0].value == "Cost of memory"
    text = "\n".join(m.value for m in at.markdown)
    assert "Nothing measured yet" in text and "rule110-n4" in text
    assert not any(k in keys(at) for k in ("cost_latency", "cost_memory", "cost_sleep"))
    assert "cost_result" not in at.session_state
    assert any("committed bench run" in e.label for e in at.expander)     # labelled as not this machine's
    assert traces(at, "cost_ref_latency")["transformer, cache kept"]["x"][-1] == 32768
    buys = traces(at, "cost_buys")["trained hybrids"]            # accuracy needs no button
    assert buys["x"] == [0.0, 1.0, 2.0] and all(0 <= a <= 1 for a in buys["y"])   # N = 1, 2, 4 on log2 x

    at.button(key="cost_measure").click().run()
    assert not at.exception, [e.message for e in at.exception]
    res = at.session_state["cost_result"]
    w, s = res["wake"], res["sleep"]
    assert w.contexts == [32, 64] and w.passes == 4 and res["shape"] == "rule110-n4"
    lat = traces(at, "cost_latency")
    assert set(lat) == {"transformer, cache kept", "sleeping hybrid: wake step", "hybrid: wake + sleep / L (N = 4)"}
    assert lat["sleeping hybrid: wake step"]["y"] == pytest.approx(w.hybrid_ms)
    mem = traces(at, "cost_memory")
    kv = mem["transformer: KV cache"]["y"]
    assert kv[1] > kv[0] and len(set(mem["sleeping hybrid: S + one window of KV"]["y"])) == 1
    assert traces(at, "cost_sleep")["one sleep (median)"]["x"] == [1, 2, 3] == s.passes
    assert "Measured at" in "\n".join(c.value for c in at.caption)

    at.run()                                   # a rerun keeps the measurement, it does not measure again
    assert at.session_state["cost_result"]["when"] == res["when"]


@pytestmark_app
@pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")
def test_page_rejects_bad_contexts_and_explains_an_attention_only_checkpoint():
    at = cost_page(cost_contexts="many", cost_max_n=1000, ckpt="rule110-attn-kept")
    assert any("Context lengths must be" in e.value for e in at.error)
    assert any("`cost_max_n` must be a whole number in 1..32" in e.value for e in at.error)
    assert at.session_state["cost_contexts"] == [256, 1024, 4096] and at.session_state["cost_max_n"] == 8
    assert any("has no fast weights" in c.value and "rule110-n4" in c.value for c in at.caption)
