"""Figures of the "Cost of memory" page: wake latency and memory against context length, the time of
one sleep against N, and the accuracy those sleeps buy. Plain plotly, no Streamlit; the colours are
the explorer's (`sleepcore.viz`): the sleeping hybrid in sleep purple, the cache-kept transformer in
the near-black the other pages give that baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .costs import SleepCurve, WakeCurve
from .evaluate import wilson
from .viz import FONT, MUTED, SLEEP_COLOR, accuracy_figure

__all__ = ["HYBRID_COLOR", "TRANSFORMER_COLOR", "buys_figure", "latency_figure", "memory_figure", "sleep_figure"]

HYBRID_COLOR = SLEEP_COLOR
TRANSFORMER_COLOR = "#111111"      # as "attention, cache kept" on the Sleep-more page
EVICTED_COLOR = "#6B7280"          # as "attention, cache evicted" there
GRID = "#E4E6EB"


def _figure(traces: list[dict], layout: dict, height: int = 340) -> go.Figure:
    base = dict(height=height, margin=dict(l=8, r=8, t=12, b=8), font=FONT, paper_bgcolor="rgba(0,0,0,0)",
                plot_bgcolor="#F7F8FA", hoverlabel=dict(font_size=12), hovermode="closest",
                legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0, font_size=11))
    base.update(layout)
    for k, v in base.items():
        if k.startswith(("xaxis", "yaxis")):
            base[k] = {"automargin": True, "gridcolor": GRID, "zeroline": False, **v}
    return go.Figure(data=traces, layout=base)


def _context_axis(contexts: Sequence[int]) -> dict:
    short = (lambda c: f"{c // 1024}k" if c >= 1024 and c % 1024 == 0 else f"{c:,}") if len(contexts) > 3 else \
        (lambda c: f"{c:,}")
    return dict(title=dict(text="context length (tokens seen so far)", font_size=12), type="log",
                tickmode="array", tickvals=list(contexts), ticktext=[short(c) for c in contexts], tickangle=0)


def latency_figure(wake: WakeCurve, height: int = 340) -> go.Figure:
    """Median per-token wake latency (ms) against context length, log x; both models, plus the hybrid's
    wake + sleep amortised over its window (dashed)."""
    x = list(wake.contexts)

    def line(name: str, who: str, y: list[float], p90: list[float], color: str) -> dict:
        tail = "<br>90th percentile %{customdata[0]:.3f} ms" if all(np.isfinite(p90)) else ""
        return dict(type="scatter", x=x, y=y, name=name, mode="lines+markers", line=dict(color=color, width=2.4),
                    marker=dict(size=8), customdata=np.column_stack([p90]),
                    hovertemplate=f"<b>{who}</b>, %{{x:,}} tokens<br>median %{{y:.3f}} ms per token{tail}"
                                  "<extra></extra>")

    traces = [line("transformer, cache kept", "transformer", wake.transformer_ms, wake.transformer_p90,
                   TRANSFORMER_COLOR),
              line("sleeping hybrid: wake step", "sleeping hybrid", wake.hybrid_ms, wake.hybrid_p90, HYBRID_COLOR)]
    if np.isfinite(wake.sleep_ms):
        traces.append(dict(
            type="scatter", x=x, y=wake.amortised_ms, name=f"hybrid: wake + sleep / L (N = {wake.passes})",
            mode="lines", line=dict(color=HYBRID_COLOR, width=1.6, dash="dash"),
            hovertemplate=f"<b>hybrid, sleep included</b>, %{{x:,}} tokens<br>%{{y:.3f}} ms per token (one sleep "
                          f"{wake.sleep_ms:.2f} ms every {wake.window} tokens)<extra></extra>"))
    top = max([*wake.transformer_ms, *wake.hybrid_ms, *(wake.amortised_ms if np.isfinite(wake.sleep_ms) else [])])
    layout = dict(xaxis=_context_axis(x),
                  yaxis=dict(title=dict(text="wake latency (ms per token)", font_size=12), rangemode="tozero",
                             range=[0, top * 1.12]))
    return _figure(traces, layout, height)


def memory_figure(wake: WakeCurve, height: int = 340) -> go.Figure:
    """What each model keeps in memory (KV cache + fast weights S, KiB) against context length, log-log."""
    x = list(wake.contexts)
    kib = lambda b: [v / 1024 for v in b]  # noqa: E731
    traces = [
        dict(type="scatter", x=x, y=kib(wake.transformer_bytes), name="transformer: KV cache", mode="lines+markers",
             line=dict(color=TRANSFORMER_COLOR, width=2.4), marker=dict(size=8), customdata=wake.transformer_bytes,
             hovertemplate="<b>transformer</b>, %{x:,} tokens<br>KV cache %{customdata:,} bytes<extra></extra>"),
        dict(type="scatter", x=x, y=kib(wake.hybrid_bytes), name="sleeping hybrid: S + one window of KV",
             mode="lines+markers", line=dict(color=HYBRID_COLOR, width=2.4), marker=dict(size=8),
             customdata=wake.hybrid_bytes,
             hovertemplate="<b>sleeping hybrid</b>, %{x:,} tokens<br>S + KV %{customdata:,} bytes<extra></extra>"),
    ]
    values = [*wake.transformer_bytes, *wake.hybrid_bytes]
    ticks = [4 ** k for k in range(5, 20) if min(values) / 4 <= 4 ** k <= max(values) * 4]    # 1 KiB, 4 KiB, ...
    layout = dict(xaxis=_context_axis(x),
                  yaxis=dict(title=dict(text="memory held (log scale)", font_size=12), type="log",
                             tickmode="array", tickvals=[t / 1024 for t in ticks], ticktext=[_size(t) for t in ticks]))
    return _figure(traces, layout, height)


def _size(nbytes: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:g} {unit}"
    return f"{nbytes:g} B"


def sleep_figure(sleep: SleepCurve, height: int = 340) -> go.Figure:
    """Time of one sleep (ms) against N: medians with interquartile bars, and the fitted line."""
    Ns = list(sleep.passes)
    med = list(sleep.median_ms)
    traces = [
        dict(type="scatter", x=[Ns[0], Ns[-1]], y=[sleep.fit(Ns[0]), sleep.fit(Ns[-1])], mode="lines",
             name=f"fit: {sleep.per_pass_ms:.2f} ms per pass", line=dict(color=MUTED, dash="dash", width=1.6),
             hovertemplate=f"t(N) = {sleep.intercept_ms:.2f} + {sleep.per_pass_ms:.3f} × N ms<extra></extra>"),
        dict(type="scatter", x=Ns, y=med, name="one sleep (median)", mode="markers",
             marker=dict(size=9, color=SLEEP_COLOR, line=dict(width=0)),
             error_y=dict(type="data", symmetric=False, array=[h - m for h, m in zip(sleep.q75_ms, med)],
                          arrayminus=[m - lo for lo, m in zip(sleep.q25_ms, med)], color=MUTED, thickness=1, width=3),
             customdata=np.column_stack([sleep.q25_ms, sleep.q75_ms]),
             hovertemplate=("N = %{x}: %{y:.2f} ms (middle half %{customdata[0]:.2f}–%{customdata[1]:.2f})<br>"
                            f"N − 1 offline passes over L = {sleep.window} tokens, then eviction<extra></extra>")),
    ]
    layout = dict(xaxis=dict(title=dict(text="sleep passes N", font_size=12), tickmode="array", tickvals=Ns,
                             range=[Ns[0] - 0.5, Ns[-1] + 0.5]),
                  yaxis=dict(title=dict(text="time of one sleep (ms)", font_size=12), rangemode="tozero"))
    return _figure(traces, layout, height)


def _point(counts: Mapping[int, tuple[int, int]], depths: Sequence[int]) -> tuple[float, float, float, int]:
    c = sum(counts[d][0] for d in depths if d in counts)
    n = sum(counts[d][1] for d in depths if d in counts)
    lo, hi = wilson(c, n)
    return (c / n if n else 0.0), lo, hi, n


def buys_figure(by_passes: Mapping[int, tuple[str, Mapping[int, tuple[int, int]]]], depths: Sequence[int],
                baselines: Mapping[str, Mapping[int, tuple[int, int]]] = (), chance: float | None = None,
                height: int = 300) -> go.Figure:
    """Held-out accuracy at the pooled depths against the N each hybrid was trained with.

    Args:
        by_passes: {N: (checkpoint name, {depth: (correct, n)})}, one trained hybrid per N.
        depths: the depths pooled into each point.
        baselines: {"kept" or "evicted": {depth: (correct, n)}}: attention-only references (lines).
        chance: the majority-answer accuracy at those depths (dotted).
    """
    Ns = sorted(by_passes)
    pts = [_point(by_passes[n][1], depths) for n in Ns]
    series = [dict(x=Ns, acc=[p[0] for p in pts], lo=[p[1] for p in pts], hi=[p[2] for p in pts],
                   n=[p[3] for p in pts], label="trained hybrids", color=SLEEP_COLOR, width=2.4,
                   custom=[[by_passes[n][0], n, max(depths)] for n in Ns])] if Ns else []
    names = {"kept": ("transformer, cache kept", TRANSFORMER_COLOR, "dot"),
             "evicted": ("attention, cache evicted", EVICTED_COLOR, "dash")}
    refs = []
    for key, counts in dict(baselines).items():
        a, lo, hi, _ = _point(counts, depths)
        label, color, dash = names[key]
        refs.append(dict(label=label, acc=a, lo=lo, hi=hi, color=color, dash=dash))
    fig = accuracy_figure(series, "sleep passes N (trained with)", refs=refs, height=height, x_log2=True,
                          chance={"x": Ns, "acc": [chance] * len(Ns)} if chance is not None and Ns else None)
    for t in fig.data:    # the points name the checkpoint in their hover, not a click action
        if t.hovertemplate and "click to pick" in t.hovertemplate:
            t.hovertemplate = t.hovertemplate.replace("click to pick", "%{customdata[0]}")
    return fig
