"""Figure builders: the right traces, locked colour ranges, hovers that say where a value comes from."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sleepcore import viz
from sleepcore.config import ModelConfig, SleepConfig
from sleepcore.model import SleepingHybrid
from sleepcore.tasks import evolve, make_task
from sleepcore.timeline import SLEEP, WAKE, trace_sample


@pytest.fixture(scope="module")
def tl():
    torch.manual_seed(0)
    task = make_task("rule110", width=16, steps=[1, 8])
    model = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, layers="AF", max_window=task.window),
                           SleepConfig(window=task.window, passes=4)).eval()
    return trace_sample(model, task, task.sample(1, seed=5, split="any", depth=5), passes=4)


def heatmaps(fig):
    return [t for t in fig.data if t.type == "heatmap"]


def test_state_figure_one_heatmap_per_head_on_the_locked_range(tl):
    (b,) = tl.fast_layers
    zmax = tl.state_scale(b)
    figs = [viz.state_figure(tl.state_at(i, b), zmax, b, tl.caption(i)) for i in (3, 10, 18)]
    for i, fig in zip((3, 10, 18), figs):
        hm = heatmaps(fig)
        assert len(hm) == tl.heads and [t.name for t in hm] == ["head 1", "head 2"]
        assert all(t.coloraxis == "coloraxis" for t in hm)
        assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (-zmax, zmax)   # locked, symmetric
        np.testing.assert_array_equal(np.asarray(hm[1].z), tl.state_at(i, b)[1])
        assert "blocks.1" in hm[0].hovertemplate and tl.caption(i) in hm[0].hovertemplate
    assert not np.array_equal(np.asarray(heatmaps(figs[0])[0].z), np.asarray(heatmaps(figs[2])[0].z))
    assert fig.layout.coloraxis.colorscale[0][1].lower() == viz.DIVERGING[0][1].lower()


def test_attention_figure_blank_where_not_computed(tl):
    (a,) = tl.attention_layers
    view = tl.attention_at(5, a)
    fig = viz.attention_figure(view, a, tl.caption(5))
    hm = heatmaps(fig)
    assert len(hm) == tl.heads
    z = np.asarray(hm[0].z, dtype=float)
    assert z.shape == (17, 17) and np.isnan(z[6:]).all() and np.isfinite(z[5, :6]).all()
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    assert list(fig.layout.xaxis.ticktext) == ["t5"] + view.key_labels[1:]       # numeric positions, text labels
    assert np.asarray(hm[0].customdata).shape == (17, 17, 2) and "query" in hm[0].hovertemplate


def test_gates_figure_lines_and_bars_coloured_by_pass(tl):
    (b,) = tl.fast_layers
    wake = viz.gates_figure(tl.gates_at(4, b), b, tl.caption(4), WAKE)
    sleep = viz.gates_figure(tl.gates_at(18, b), b, tl.caption(18), SLEEP)
    kinds = [t.type for t in wake.data]
    assert kinds.count("scatter") == 2 * tl.heads and kinds.count("bar") == tl.heads
    bars = [t for t in wake.data if t.type == "bar"]
    assert bars[0].marker.color == viz.WAKE_COLOR
    assert next(t for t in sleep.data if t.type == "bar").marker.color == viz.SLEEP_COLOR
    assert np.isnan(np.asarray(bars[0].y, dtype=float)[5:]).all()
    assert sum(bool(t.showlegend) for t in wake.data) == 3                       # one legend entry per quantity


def test_ribbon_marks_kinds_occupancy_and_current_step(tl):
    fig = viz.ribbon_figure(tl, current=18)
    bar = fig.data[0]
    assert list(bar.marker.color) == [viz.KIND_COLORS[s.kind] for s in tl.steps]
    assert bar.marker.opacity[18] == 1.0 and bar.marker.opacity[0] < 1.0
    assert np.asarray(bar.y)[:17].tolist() == list(range(1, 18))                # the cache fills while awake
    (rect,) = fig.layout.shapes
    assert (rect.x0, rect.x1) == (17.5, 18.5)
    assert any(t.name == "‖S‖" for t in fig.data)
    assert fig.layout.xaxis.tickangle == 0


def test_ribbon_labels_stay_horizontal_and_never_overlap():
    short = viz._fitting_ticks(["0", "1"] * 10)                               # few bars: every one labelled
    assert short == list(range(20))
    labels = ["t=8"] + ["1"] * 16 + ["p2", "p3", "p4", "✂"] + ["?"] * 16    # an all-cells sample (37 bars)
    shown = viz._fitting_ticks(labels)
    slot = 460 / len(labels)
    spans = [((i + 0.5) * slot - 3 * len(labels[i]), (i + 0.5) * slot + 3 * len(labels[i])) for i in shown]
    assert all(b[0] - a[1] >= 3 for a, b in zip(spans, spans[1:]))            # no two labels touch
    assert shown[0] == 0 and 1 not in shown and set(range(21, 37)) <= set(shown)   # a long token costs its neighbour
    assert len(viz._fitting_ticks(["?"] * 400)) < 400                         # a long sample is thinned


def test_pass_norm_figure_highlights_the_current_pass(tl):
    (b,) = tl.fast_layers
    passes, norms, current = tl.pass_norms(18, b)
    fig = viz.pass_norm_figure(passes, norms, current)
    assert len(fig.data) == tl.heads
    np.testing.assert_allclose(fig.data[0].y, norms[:, 0])
    assert list(fig.data[0].marker.opacity) == [0.35, 0.35, 1.0, 0.35]
    assert list(fig.data[0].marker.color) == [viz.WAKE_COLOR] + [viz.SLEEP_COLOR] * 3


def test_spacetime_figure_outlines_wrong_cells():
    truth = evolve(torch.tensor([[0, 1, 1, 0, 1, 0, 0, 1]]), rule=110, steps=3)[0].numpy()
    probs = truth.astype(float)
    probs[2, 3] = 1 - probs[2, 3]
    wrong = (probs >= 0.5) != truth
    fig = viz.spacetime_figure(probs, "N = 4", wrong=wrong, truth=truth, mark=(3, 0))
    hm, errors, mark = fig.data
    np.testing.assert_array_equal(np.asarray(hm.z), probs)
    assert list(errors.x) == [3] and list(errors.y) == [2] and errors.marker.color == viz.WRONG_COLOR
    assert list(mark.x) == [0] and list(mark.y) == [3]
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.title.text == "N = 4"


def test_accuracy_figure_bands_and_click_payload():
    series = [dict(x=[1, 2, 4, 8], acc=[0.6, 0.7, 0.8, 0.8], lo=[0.5, 0.6, 0.7, 0.7], hi=[0.7, 0.8, 0.9, 0.9],
                   n=[50] * 4, label="nmix", color=viz.SLEEP_COLOR, custom=[["rule110-nmix", n, 8] for n in (1, 2, 4, 8)]),
              dict(x=[4], acc=[0.9], lo=[0.8], hi=[0.95], n=[50], label="n4", color=viz.SLEEP_COLOR,
                   custom=[["rule110-n4", 4, 8]], offset=0.1)]
    refs = [dict(label="attention, cache kept", acc=0.75, lo=0.7, hi=0.8, color="#111111", dash="dot")]
    fig = viz.accuracy_figure(series, "sleep passes N", chance={"x": [1, 8], "acc": [0.55, 0.55]}, refs=refs,
                              x_log2=True)
    lines = {t.name: t for t in fig.data if t.name}
    assert list(lines["nmix"].x) == [0.0, 1.0, 2.0, 3.0]                         # log2 positions, labelled 1..8
    assert list(fig.layout.xaxis.ticktext) == ["1", "2", "4", "8"]
    assert lines["n4"].x[0] == pytest.approx(2.1) and lines["n4"].error_y.array[0] == pytest.approx(0.05)
    assert list(lines["nmix"].customdata[2][:3]) == ["rule110-nmix", 4, 8]        # what a click opens
    assert any(t.fill == "toself" for t in fig.data)                              # the Wilson band
    assert any(s.y0 == 0.75 for s in fig.layout.shapes)                           # the reference line


def test_passes_colour_deepens_with_N():
    assert viz.passes_color(1) == viz.WAKE_COLOR and viz.passes_color(4) == viz.SLEEP_COLOR
    assert len({viz.passes_color(n) for n in (1, 2, 4, 8)}) == 4
