"""Figures of training logs (plotly, never Streamlit): curves of several runs against the training step.

Same visual language as `viz`: a run trained with N sleep passes is drawn in `passes_color(N)` (N = 1 the
wake blue, deeper purples for more sleep), attention-only baselines in grey (cache evicted) and black (cache
kept); seeds of the same model differ by dash. Where a later training phase began (a warm restart of the
learning rate), a dotted vertical line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .viz import INK, MUTED, _figure, passes_color

__all__ = ["Curve", "SEED_DASH", "run_style", "curves_figure"]

SEED_DASH = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
KEPT_COLOR = "#111111"


@dataclass(frozen=True)
class Curve:
    """One run's line: x (steps) and y, with NaN where the run has no value (drawn as a gap)."""
    name: str
    x: np.ndarray
    y: np.ndarray
    color: str
    dash: str = "solid"
    width: float = 2.0


def run_style(passes: int, seed: int, hybrid: bool = True, cache_kept: bool = False) -> tuple[str, str]:
    """(colour, dash) of a run: colour by N for hybrids, grey / black for attention-only evicted / kept; dash by
    seed."""
    color = passes_color(passes) if hybrid else (KEPT_COLOR if cache_kept else MUTED)
    return color, SEED_DASH[seed % len(SEED_DASH)]


def curves_figure(curves: Sequence[Curve], y_title: str, phases: Sequence[int] = (), y_log: bool = False,
                  y_range: tuple[float, float] | None = None, y_percent: bool = False, height: int = 360,
                  legend: bool = True) -> go.Figure:
    """Several runs against the training step, one line each, with the steps where later phases began.

    Args:
        curves: the runs' lines (x in steps).
        y_title: what y is.
        phases: steps where a later training phase began (dotted vertical lines, labelled once).
        y_log: log-scale y (losses).
        y_range: fixed y range (in data units; for y_log, of the values, not their logs).
        y_percent: y ticks as percentages.
    """
    traces = []
    for c in curves:
        y = np.asarray(c.y, dtype=float)
        traces.append(dict(type="scatter", mode="lines", name=c.name, x=np.asarray(c.x).tolist(),
                           y=[None if not np.isfinite(v) else float(v) for v in y], connectgaps=False,
                           line=dict(color=c.color, dash=c.dash, width=c.width),
                           hovertemplate=f"{c.name}<br>step %{{x:,}}<br>{y_title}: "
                                         + ("%{y:.1%}" if y_percent else "%{y:.4g}") + "<extra></extra>"))
    shapes, notes = [], []
    for i, s in enumerate(sorted(set(int(p) for p in phases))):
        shapes.append(dict(type="line", xref="x", yref="paper", x0=s, x1=s, y0=0, y1=1,
                           line=dict(color=MUTED, width=1, dash="dot")))
        notes.append(dict(xref="x", yref="paper", x=s, y=1.0, yanchor="bottom", showarrow=False,
                          text=f"{s:,}", font=dict(size=10, color=MUTED)))
    yaxis = dict(title=dict(text=y_title, font=dict(size=12)), gridcolor="white", zeroline=False,
                 linecolor=INK, ticks="outside")
    if y_log:
        yaxis["type"] = "log"
        finite = [v for c in curves for v in np.asarray(c.y, dtype=float) if np.isfinite(v) and v > 0]
        if finite:   # ticks at 1, 2, 5 x 10^k only: plotly's default labels every minor tick with a bare digit
            lo, hi = (y_range if y_range is not None else (min(finite), max(finite)))
            k0, k1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
            marks = (1, 2, 5) if k1 - k0 <= 3 else (1,)      # over many decades, the powers of ten alone
            ticks = [m * 10.0 ** k for k in range(k0, k1 + 1) for m in marks if lo <= m * 10.0 ** k <= hi]
            yaxis.update(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
    if y_range is not None:
        lo, hi = y_range
        yaxis["range"] = [float(np.log10(lo)), float(np.log10(hi))] if y_log else [lo, hi]
    if y_percent:
        yaxis["tickformat"] = ".0%"
    layout = dict(xaxis=dict(title=dict(text="training step", font=dict(size=12)), gridcolor="white",
                             zeroline=False, tickformat=",", linecolor=INK, ticks="outside"),
                  yaxis=yaxis, shapes=shapes, annotations=notes, showlegend=legend, hovermode="closest",
                  legend=dict(orientation="h", yanchor="top", y=-0.18, x=0, font=dict(size=11)))
    return _figure(traces, layout, height=height, margin=dict(l=8, r=8, t=24, b=8), automargin=True)
