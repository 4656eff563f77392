"""Figures of the memory probe and the amnesia test (plotly, never Streamlit).

Same visual language as `viz`: wake blue, sleep purple (deeper with N), eviction orange, right
bluish green, wrong vermillion. Figures are assembled once as plain dicts (see `viz._figure`).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .probe import KEPT, NO_SLEEP, SLEPT, MemoryProbe, PassProbe
from .viz import (INK, MUTED, RIGHT_COLOR, SEQUENTIAL, SLEEP_COLOR, WAKE_COLOR, WRONG_COLOR, _figure, heads_heatmap,
                  passes_color)

__all__ = ["WAY_LABELS", "WAY_COLORS", "BASELINE", "pass_labels", "probe_heatmap", "recall_by_pass_figure",
           "token_bars_figure", "errors_by_step_figure", "difference_figure", "pass_probe_figure"]

BASELINE = "baseline"   # the trained cache-kept attention model, a fourth way on the amnesia page
WAY_LABELS = {KEPT: "cache kept (outside training)", SLEPT: "N passes, then cleared", NO_SLEEP: "no sleep, cleared",
              BASELINE: "attention, trained cache-kept"}
WAY_COLORS = {KEPT: "#111111", SLEPT: SLEEP_COLOR, NO_SLEEP: WAKE_COLOR, BASELINE: MUTED}
WAY_DASH = {KEPT: "dot", SLEPT: "solid", NO_SLEEP: "solid", BASELINE: "dash"}
# recall runs -1..1 but sits in 0..1 in practice; a ramp from white keeps "how much comes back" readable
RECALL_SCALE = [[0.0, "#B2182B"], [0.5, "#F7F7F7"], [1.0, "#3F007D"]]


def pass_labels(n: int) -> list[str]:
    return ["pass 1 (wake)"] + [f"pass {p} (sleep)" for p in range(2, n + 1)]


def probe_heatmap(pr: MemoryProbe, what: str = "recall", height: int | None = None) -> go.Figure:
    """Position x pass heatmaps, one per head: recall cos(S^T k, v) or the residual ||v - S^T k||.

    Args:
        pr: the probe of one window.
        what: "recall" (range -1..1) or "residual" (range 0..max over the window, all passes).
    """
    if what not in ("recall", "residual"):
        raise ValueError(f"what must be 'recall' or 'residual'; got {what!r}")
    vals = pr.recall if what == "recall" else pr.residual
    mats = vals.transpose(2, 0, 1)                                      # (H, N, C)
    N, C, H = vals.shape
    pos = np.broadcast_to(np.arange(C)[None, :], (N, C))
    tok = np.broadcast_to(np.asarray(pr.tokens, dtype=object)[None, :], (N, C))
    passes = np.broadcast_to(np.arange(1, N + 1)[:, None], (N, C))
    cd = np.stack([np.stack([pos, tok, passes, pr.recall[..., h], pr.residual[..., h], pr.value_norm[..., h]], -1)
                   for h in range(H)])                                 # (H, N, C, 6)
    hover = ("position %{customdata[0]} ('%{customdata[1]}') · pass %{customdata[2]}<br>"
             "recall cos(Sᵀk, v) = %{customdata[3]:.3f}<br>residual ‖v − Sᵀk‖ = %{customdata[4]:.3f}"
             " of ‖v‖ = %{customdata[5]:.3f}<extra></extra>")
    if what == "recall":
        zmin, zmax, scale, title = -1.0, 1.0, RECALL_SCALE, "recall"
    else:
        zmin, zmax, scale, title = 0.0, float(max(vals.max(), 1e-6)), SEQUENTIAL, "‖v − Sᵀk‖"
    ylabels = [str(n) for n in range(1, N + 1)]                          # pass n; 1 = wake
    return heads_heatmap(mats, zmin, zmax, scale, [f"block {pr.layer} · head {h + 1}" for h in range(H)], hover,
                         height=height or (44 + 22 * N), x_text=pr.tokens, y_text=ylabels, customdata=cd,
                         colorbar_title=title)


def recall_by_pass_figure(pr: MemoryProbe, height: int = 250) -> go.Figure:
    """Mean recall (left axis) and mean residual (right axis) per pass, one line per head."""
    N = pr.passes
    x = list(range(1, N + 1))
    rec, res = pr.mean_recall(), pr.mean_residual()
    traces = []
    for h in range(pr.heads):
        dash = ("solid", "dash", "dot", "dashdot")[h % 4]
        traces.append(dict(type="scatter", x=x, y=rec[:, h], mode="lines+markers", name="recall",
                           legendgroup="recall", showlegend=h == 0,
                           line=dict(color=SLEEP_COLOR, width=2.4, dash=dash), marker=dict(size=7),
                           hovertemplate=f"head {h + 1} · pass %{{x}}<br>mean recall %{{y:.3f}}<extra></extra>"))
        traces.append(dict(type="scatter", x=x, y=res[:, h], mode="lines+markers", yaxis="y2",
                           name="residual", legendgroup="residual", showlegend=h == 0,
                           line=dict(color=MUTED, width=1.6, dash=dash), marker=dict(size=6, symbol="square"),
                           hovertemplate=f"head {h + 1} · pass %{{x}}<br>mean ‖v − Sᵀk‖ %{{y:.3f}}<extra></extra>"))
    layout = dict(
        xaxis=dict(title=dict(text="pass n over the window (1 = wake)", font_size=11), tickmode="array",
                   tickvals=x, gridcolor="white", range=[0.7, max(N, 2) + 0.3]),
        yaxis=dict(title=dict(text="mean recall cos(Sᵀk, v)", font_size=11), range=[min(0.0, float(rec.min())) - 0.02,
                   1.02], gridcolor="white"),
        yaxis2=dict(overlaying="y", side="right", title=dict(text="mean ‖v − Sᵀk‖", font_size=11), showgrid=False,
                    range=[0, float(res.max()) * 1.1 + 1e-6], nticks=4, tickformat=".1f"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, font_size=11),
    )
    return _figure(traces, layout, height, margin=dict(l=52, r=52, t=30, b=40))


def token_bars_figure(pr: MemoryProbe, position: int, n: int, height: int = 250) -> go.Figure:
    """For one token and pass: the value v it wrote against what S returns for its key, per head."""
    H = pr.heads
    traces, layout = [], {}
    for h, dom in enumerate(_domains(H)):
        sx = "" if h == 0 else str(h + 1)
        v, r = pr.values[n - 1, position, h], pr.retrieved[n - 1, position, h]
        dims = list(range(len(v)))
        for name, y, color in (("written v", v, INK), ("returned Sᵀk", r, SLEEP_COLOR)):
            traces.append(dict(type="bar", x=dims, y=y, name=name, marker=dict(color=color, line=dict(width=0)),
                               xaxis=f"x{sx}", yaxis=f"y{sx}", showlegend=h == 0, legendgroup=name,
                               opacity=0.85 if name == "written v" else 1.0,
                               hovertemplate=f"head {h + 1} · dim %{{x}}<br>{name} = %{{y:.3f}}<extra></extra>"))
        cos, res = pr.recall[n - 1, position, h], pr.residual[n - 1, position, h]
        layout[f"xaxis{sx}"] = dict(domain=dom, title=dict(text=f"head {h + 1}: recall {cos:.2f}, residual {res:.2f}",
                                                           font_size=11), gridcolor="white", tickfont_size=9)
        layout[f"yaxis{sx}"] = dict(anchor=f"x{sx}", gridcolor="white", zerolinecolor="#C9CDD4", tickfont_size=9)
    layout.update(barmode="group", bargap=0.15, bargroupgap=0.0,
                  legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, font_size=11))
    return _figure(traces, layout, height, margin=dict(l=40, r=8, t=30, b=40))


def _domains(n: int, gap: float = 0.07) -> list[list[float]]:
    w = (1.0 - gap * (n - 1)) / n
    return [[i * (w + gap), i * (w + gap) + w] for i in range(n)]


def errors_by_step_figure(series: dict[str, np.ndarray], y_title: str, rate: bool = False,
                          height: int = 260) -> go.Figure:
    """Errors per automaton step s = 1..t, one line per way of remembering.

    Args:
        series: way -> (t,) wrong cells (or fractions if `rate`) per step.
        y_title: the y-axis title.
        rate: values are fractions (shown as percentages).
    """
    traces = []
    for way, y in series.items():
        y = np.asarray(y, dtype=float)
        x = list(range(1, len(y) + 1))
        fmt = "%{y:.1%}" if rate else "%{y:.0f} wrong cells"
        traces.append(dict(type="scatter", x=x, y=y, mode="lines+markers", name=WAY_LABELS.get(way, way),
                           line=dict(color=WAY_COLORS.get(way, INK), width=2.4, dash=WAY_DASH.get(way, "solid")),
                           marker=dict(size=7),
                           hovertemplate=f"{WAY_LABELS.get(way, way)}<br>step s = %{{x}}: {fmt}<extra></extra>"))
    t = max((len(y) for y in series.values()), default=1)
    layout = dict(
        xaxis=dict(title=dict(text="automaton step s", font_size=11), tickmode="array", tickvals=list(range(1, t + 1)),
                   gridcolor="white", range=[0.7, t + 0.3]),
        yaxis=dict(title=dict(text=y_title, font_size=11), gridcolor="white", rangemode="tozero",
                   tickformat=".0%" if rate else None, range=[0, 1.02] if rate else None),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, font_size=11),
    )
    return _figure(traces, layout, height, margin=dict(l=52, r=10, t=30, b=40))


def difference_figure(saved: np.ndarray, lost: np.ndarray, truth: np.ndarray, title: str,
                      cell: int = 18) -> go.Figure:
    """The diagram of what sleep changed: cells it saved (green), cells it broke (vermillion).

    Args:
        saved: (t + 1, W) bool, right after sleep but wrong without.
        lost: (t + 1, W) bool, wrong after sleep but right without.
        truth: (t + 1, W) true cells (shown faintly underneath).
    """
    T1, W = truth.shape
    code = np.where(saved, 2, np.where(lost, 3, truth.astype(int)))   # 0/1 truth, 2 saved, 3 lost
    scale = [[0.0, "#FBF8F1"], [0.2499, "#FBF8F1"], [0.25, "#D9DCE3"], [0.4999, "#D9DCE3"],
             [0.5, RIGHT_COLOR], [0.7499, RIGHT_COLOR], [0.75, WRONG_COLOR], [1.0, WRONG_COLOR]]
    words = np.array(["same (true 0)", "same (true 1)", "saved by sleep", "broken by sleep"], dtype=object)
    cd = np.stack(np.broadcast_arrays(np.arange(T1)[:, None], np.arange(W)[None, :], words[code],
                                      truth.astype(int)), -1)
    traces = [dict(type="heatmap", z=code, zmin=-0.5, zmax=3.5, colorscale=scale, showscale=False, xgap=1, ygap=1,
                   customdata=cd, hovertemplate="step %{customdata[0]}, cell %{customdata[1]}: %{customdata[2]}"
                                                "<br>true: %{customdata[3]}<extra></extra>")]
    layout = dict(
        title=dict(text=title, x=0.5, xanchor="center", font_size=13, y=0.98, yanchor="top"),
        xaxis=dict(showgrid=False, zeroline=False, tickmode="array", tickvals=list(range(0, W, 4)), ticks="",
                   title=dict(text="cell", font_size=11), constrain="domain", range=[-0.5, W - 0.5]),
        yaxis=dict(autorange="reversed", showgrid=False, zeroline=False, scaleanchor="x", constrain="domain",
                   ticks="", constraintoward="top", tickmode="array", tickvals=list(range(T1)), tickfont_size=10),
        plot_bgcolor="white",
    )
    return _figure(traces, layout, 66 + T1 * cell, margin=dict(l=22, r=4, t=30, b=36))



def pass_probe_figure(pp: PassProbe, height: int = 300) -> go.Figure:
    """Probe accuracy for each row s = 0..t of the automaton, read from the memory after each pass (one line
    per pass, wake blue to deep sleep purple), against the same probe reading the input row (grey, dashed)."""
    xs = list(range(pp.depth + 1))
    traces = [dict(type="scatter", x=xs, y=pp.input, mode="lines", name="input row (no computation)",
                   line=dict(color=MUTED, width=1.6, dash="dash"),
                   hovertemplate="row after %{x} steps<br>read from the input row %{y:.3f}<extra></extra>"),
              dict(type="scatter", x=xs, y=pp.chance, mode="lines", name="chance", showlegend=False,
                   line=dict(color=MUTED, width=1, dash="dot"), hoverinfo="skip")]
    for n in range(1, pp.passes + 1):
        traces.append(dict(type="scatter", x=xs, y=pp.memory[n - 1], mode="lines+markers",
                           name=f"after pass {n}" + (" (wake)" if n == 1 else ""),
                           line=dict(color=passes_color(n), width=2.4 if n == pp.passes else 1.8), marker=dict(size=6),
                           hovertemplate=f"memory after pass {n}<br>row after %{{x}} steps read right on %{{y:.3f}} "
                                         "of cells<extra></extra>"))
    layout = dict(
        xaxis=dict(title=dict(text=f"row of the automaton: after s steps (s = {pp.depth} is the answer)", font_size=11),
                   tickmode="array", tickvals=xs, gridcolor="white", zeroline=False),
        yaxis=dict(title=dict(text="cells read right by a linear probe", font_size=11), range=[0.45, 1.02],
                   gridcolor="white", tickformat=".0%"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, font_size=11),
    )
    return _figure(traces, layout, height, margin=dict(l=56, r=16, t=36, b=44))
