"""Figures for the Guide page: sleep in one picture, and a large initial row for the classroom.

`sleep_strip_figure` draws what happens to one input, left to right: the state window is read once
(wake, blue), read N - 1 more times with no new input (sleep, purple), its attention cache is thrown
away (evict, orange), and only the fast weights S carry on to the prediction window, where the
model answers. Colours are `sleepcore.viz`'s, so the picture matches every other page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .viz import CELLS, EVICT_COLOR, INK, MUTED, SLEEP_COLOR, WAKE_COLOR, _figure

__all__ = ["row_figure", "sleep_strip_figure"]

LIGHT = "#FBF8F1"


def _box(x0: float, x1: float, y0: float, y1: float, color: str, fill: str | None = None, width: float = 2.0,
         dash: str = "solid") -> dict:
    return dict(type="rect", xref="x", yref="y", x0=x0, x1=x1, y0=y0, y1=y1, layer="below",
                line=dict(color=color, width=width, dash=dash), fillcolor=fill or color)


def _text(x: float, y: float, text: str, color: str = INK, size: int = 15, **kw) -> dict:
    return dict(x=x, y=y, xref="x", yref="y", text=text, showarrow=False, font=dict(size=size, color=color), **kw)


def sleep_strip_figure(passes: int = 4, cells: Sequence[int] | None = None, t: int = 6,
                       height: int = 270) -> go.Figure:
    """One input through wake -> sleep (N - 1 passes) -> evict -> answer, as a strip of boxes.

    Args:
        passes: N, passes over the state window (N = 1: no sleep, the strip shows no purple box).
        cells: the 16 initial cells drawn inside the window (default: a fixed example row).
        t: the steps token shown at the window's start ("t=6").
    Returns:
        A figure with one shape per box and an annotation per label; data-free (no traces but an
        invisible one that fixes the axes), so it renders identically everywhere.
    """
    cells = list(cells) if cells is not None else [0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1]
    shapes, notes = [], []
    # ---- wake: the state window, 17 tokens ("t=6" + 16 cells)
    tok = 0.34
    x = 0.0
    shapes.append(_box(x - 0.12, x + 17 * tok + 0.02, 0.9, 2.1, WAKE_COLOR, fill="rgba(0,114,178,0.08)"))
    notes.append(_text(x + 17 * tok / 2 - 0.05, 2.45, "<b>1 · wake</b>: read the window once", WAKE_COLOR))
    shapes.append(_box(x, x + tok - 0.04, 1.2, 1.8, WAKE_COLOR, fill=WAKE_COLOR, width=1))
    notes.append(_text(x + (tok - 0.04) / 2, 1.5, f"t={t}", "white", size=9))
    for j, c in enumerate(cells):
        x0 = x + (j + 1) * tok
        shapes.append(_box(x0, x0 + tok - 0.04, 1.2, 1.8, INK, fill=INK if c else LIGHT, width=1))
    notes.append(_text(x + 17 * tok / 2 - 0.05, 0.62, f"window of L = {len(cells) + 1} tokens", MUTED, size=13))
    x_end_wake = x + 17 * tok + 0.02

    # ---- sleep: N - 1 more passes over the same window, no new input
    x = x_end_wake + 0.55
    sleep_w = 1.05
    n_sleep = max(0, passes - 1)
    for p in range(n_sleep):
        x0 = x + p * (sleep_w + 0.18)
        shapes.append(_box(x0, x0 + sleep_w, 0.9, 2.1, SLEEP_COLOR, fill="rgba(163,81,154,0.14)"))
        notes.append(_text(x0 + sleep_w / 2, 1.5, f"pass {p + 2}", SLEEP_COLOR, size=14))
    if n_sleep:
        span = n_sleep * (sleep_w + 0.18) - 0.18
        notes.append(_text(x + span / 2, 2.45, f"<b>2 · sleep</b>: {n_sleep} more pass{'es' if n_sleep > 1 else ''}",
                           SLEEP_COLOR))
        notes.append(_text(x + span / 2, 0.62, "no new input; each pass rewrites S", MUTED, size=13))
        x += span
    else:
        notes.append(_text(x - 0.25, 2.45, "<b>2 · no sleep</b> (N = 1)", MUTED, xanchor="left"))
        x += 1.3

    # ---- evict: the KV cache of the window is thrown away
    x += 1.0
    shapes.append(_box(x, x + 0.22, 0.75, 2.25, EVICT_COLOR, fill=EVICT_COLOR))
    notes.append(_text(x + 0.11, 2.45, "<b>3 · evict</b>", EVICT_COLOR))
    notes.append(_text(x + 0.11, 0.45, "attention cache<br>thrown away", EVICT_COLOR, size=12))
    x += 0.22

    # ---- answer: the prediction window "?" reads only S
    x += 1.3
    shapes.append(_box(x, x + 0.5, 1.2, 1.8, WAKE_COLOR, fill=WAKE_COLOR, width=1))
    notes.append(_text(x + 0.25, 1.5, "?", "white", size=16))
    shapes.append(_box(x + 0.75, x + 1.35, 1.15, 1.85, INK, fill="white", width=2, dash="dot"))
    notes.append(_text(x + 1.05, 1.5, "0 / 1", INK, size=13))
    notes.append(_text(x + 0.67, 2.45, "<b>4 · answer</b>", WAKE_COLOR))
    notes.append(_text(x + 0.67, 0.45, "cell 0 after t steps,<br>from S alone", MUTED, size=12))
    x_end = x + 1.35

    # ---- what survives: the fast weights S, drawn as a band under everything
    shapes.append(dict(type="line", xref="x", yref="y", x0=0.0, x1=x_end, y0=-0.15, y1=-0.15,
                       line=dict(color=SLEEP_COLOR, width=5)))
    notes.append(dict(x=x_end, y=-0.15, ax=x_end - 0.6, ay=-0.15, xref="x", yref="y", axref="x", ayref="y",
                      text="", showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=3, arrowcolor=SLEEP_COLOR))
    notes.append(_text(x_end / 2, -0.55, "<b>fast weights S</b>: the only memory that crosses the eviction",
                       SLEEP_COLOR, size=14))
    layout = dict(shapes=shapes, annotations=notes, showlegend=False, plot_bgcolor="rgba(0,0,0,0)",
                  xaxis=dict(visible=False, range=[-0.3, x_end + 0.3], fixedrange=True),
                  yaxis=dict(visible=False, range=[-0.85, 2.75], fixedrange=True))
    trace = dict(type="scatter", x=[0, x_end], y=[0, 0], mode="markers", marker=dict(opacity=0), hoverinfo="skip")
    return _figure([trace], layout, height, margin=dict(l=4, r=4, t=4, b=4))


def row_figure(cells: Sequence[int], cell: int = 40, mark: int | None = 0) -> go.Figure:
    """One automaton row, large (for a projector): cells as squares, numbered, one of them circled.

    Args:
        cells: (W,) zeros and ones.
        cell: intended cell size in pixels (sets the height; the width follows the column).
        mark: index of the cell to circle (the cell the question is about), or None.
    """
    z = np.asarray(cells, dtype=float)[None]                                   # (1, W)
    W = z.shape[1]
    cd = np.stack(np.broadcast_arrays(np.arange(W)[None], z.astype(int)), -1)  # (1, W, 2)
    traces = [dict(type="heatmap", z=z, zmin=0, zmax=1, colorscale=CELLS, showscale=False, xgap=3, ygap=3,
                   customdata=cd, hovertemplate="cell %{customdata[0]}: %{customdata[1]}<extra></extra>")]
    if mark is not None:
        traces.append(dict(type="scatter", x=[mark], y=[0], mode="markers", hoverinfo="skip",
                           marker=dict(symbol="circle-open", size=cell * 0.85, color=EVICT_COLOR, line=dict(width=4))))
    layout = dict(showlegend=False, plot_bgcolor="#C9CDD4",     # the gaps between cells: a visible grid
                  xaxis=dict(showgrid=False, zeroline=False, tickmode="array", tickvals=list(range(W)), ticks="",
                             tickfont_size=13, range=[-0.5, W - 0.5], constrain="domain", fixedrange=True),
                  yaxis=dict(visible=False, scaleanchor="x", constrain="domain", range=[-0.5, 0.5], fixedrange=True))
    return _figure(traces, layout, cell + 34, margin=dict(l=4, r=4, t=4, b=26))
