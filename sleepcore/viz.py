"""Plotly figure builders for the explorer; they take plain arrays or timeline views, never Streamlit.

One visual language everywhere: wake is blue, sleep is purple, eviction is orange (Okabe-Ito
colours, safe for colour-blind readers), right answers are bluish green and wrong ones vermillion.
Fast weights use a diverging blue-white-red scale whose range the caller locks for a whole sample,
so scrubbing never rescales a heatmap. Every trace carries a hover template with exact values and
where they come from (block, head, token, pass).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .timeline import EVICT, SLEEP, WAKE, AttentionView, GateView, Timeline

__all__ = ["WAKE_COLOR", "SLEEP_COLOR", "EVICT_COLOR", "RIGHT_COLOR", "WRONG_COLOR", "KIND_COLORS",
           "DIVERGING", "SEQUENTIAL", "CELLS", "heads_heatmap", "state_figure", "attention_figure",
           "gates_figure", "pass_norm_figure", "ribbon_figure", "spacetime_figure", "accuracy_figure",
           "passes_color"]

WAKE_COLOR = "#0072B2"
SLEEP_COLOR = "#A3519A"
EVICT_COLOR = "#E69F00"
RIGHT_COLOR = "#009E73"
WRONG_COLOR = "#D55E00"
KIND_COLORS = {WAKE: WAKE_COLOR, SLEEP: SLEEP_COLOR, EVICT: EVICT_COLOR}
MUTED = "#8A8F98"
INK = "#262730"
EMPTY = "#EEF0F4"      # background = cells that do not exist yet / are not visible

# ColorBrewer RdBu, reversed: negative blue, zero white, positive red.
DIVERGING = [[0.0, "#2166AC"], [0.25, "#92C5DE"], [0.5, "#F7F7F7"], [0.75, "#F4A582"], [1.0, "#B2182B"]]
# ColorBrewer Purples-ish ramp for probabilities (attention).
SEQUENTIAL = [[0.0, "#FFFFFF"], [0.15, "#E3E1F0"], [0.4, "#A9A3D1"], [0.7, "#6A51A3"], [1.0, "#3F007D"]]
# Automaton cells: 0 light, 1 dark ink; in-between values are a model's p(1).
CELLS = [[0.0, "#FBF8F1"], [1.0, "#1F2A44"]]
FONT = dict(family="Source Sans Pro, sans-serif", size=12, color=INK)


def passes_color(n: int) -> str:
    """A purple that deepens with N (more sleep = deeper colour); N = 1 is the wake blue."""
    ramp = {1: WAKE_COLOR, 2: "#C38BBF", 3: "#B06CA9", 4: SLEEP_COLOR, 6: "#7E3A78", 8: "#5B2357"}
    return ramp.get(n, ramp[min(ramp, key=lambda k: abs(k - n))])


def _layout(fig: go.Figure, height: int, margin: dict | None = None, **kw) -> go.Figure:
    fig.update_layout(height=height, margin=margin or dict(l=8, r=8, t=28, b=8), font=FONT,
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor=EMPTY, hoverlabel=dict(font_size=12),
                      **kw)
    return fig


def _domains(n: int, gap: float) -> list[list[float]]:
    w = (1.0 - gap * (n - 1)) / n
    return [[i * (w + gap), i * (w + gap) + w] for i in range(n)]


def heads_heatmap(mats: np.ndarray, zmin: float, zmax: float, colorscale, titles: Sequence[str], hover: str,
                  height: int = 250, x_text: Sequence[str] | None = None, y_text: Sequence[str] | None = None,
                  customdata: np.ndarray | None = None, colorbar_title: str = "", x_title: str = "",
                  y_title: str = "") -> go.Figure:
    """One heatmap per head, side by side, sharing one locked colour axis.

    Args:
        mats: (H, R, C) values; NaN cells are drawn as the empty background.
        zmin, zmax: the locked colour range (the same for every frame of a sample).
        titles: one per head.  hover: a hovertemplate (may use %{customdata[...]}).
        x_text / y_text: tick labels per column / row (positions are numeric, so repeated
            labels such as many '0' tokens do not merge).
        customdata: (H, R, C, k) per-cell extra hover fields.
    """
    H = mats.shape[0]
    fig = go.Figure()
    for h, dom in enumerate(_domains(H, 0.06)):
        sx, sy = ("" if h == 0 else str(h + 1)), ("" if h == 0 else str(h + 1))
        fig.add_trace(go.Heatmap(
            z=mats[h], coloraxis="coloraxis", xaxis=f"x{sx}", yaxis=f"y{sy}", hovertemplate=hover,
            customdata=None if customdata is None else customdata[h], name=titles[h], hoverongaps=False))
        ax = dict(domain=dom, showgrid=False, zeroline=False, ticks="", title=dict(text=x_title, font_size=11))
        ay = dict(autorange="reversed", showgrid=False, zeroline=False, ticks="",
                  scaleanchor=f"x{sx}", scaleratio=1, constrain="domain", title=dict(text=y_title if h == 0 else "",
                                                                                   font_size=11))
        ax["constrain"] = "domain"
        if x_text is not None:
            ax.update(tickmode="array", tickvals=list(range(len(x_text))), ticktext=list(x_text), tickfont_size=10,
                      tickangle=0)
        else:
            ax.update(showticklabels=False)
        if y_text is not None:
            ay.update(tickmode="array", tickvals=list(range(len(y_text))), ticktext=list(y_text), tickfont_size=10)
        else:
            ay.update(showticklabels=False)
        if h > 0:
            ay["showticklabels"] = False
        fig.update_layout({f"xaxis{sx}": ax, f"yaxis{sy}": ay})
        fig.add_annotation(text=titles[h], x=sum(dom) / 2, y=1.0, xref="paper", yref="paper", yanchor="bottom",
                           showarrow=False, font=dict(size=12, color=INK))
    fig.update_layout(coloraxis=dict(colorscale=colorscale, cmin=zmin, cmax=zmax,
                                     colorbar=dict(thickness=10, len=0.9, title=dict(text=colorbar_title, side="right"),
                                                   outlinewidth=0, tickfont_size=10)))
    return _layout(fig, height)


def state_figure(S: np.ndarray, zmax: float, block: int, where: str, name: str = "S", height: int = 250) -> go.Figure:
    """Fast weights (or their change) of one block, one heatmap per head, on the locked range [-zmax, zmax].

    Args:
        S: (H, K, V).  zmax: the sample-wide max |value| (see `Timeline.state_scale`).
        block: block index (for the hover).  where: the step's caption.  name: "S" or "ΔS".
    """
    H = S.shape[0]
    hover = (f"blocks.{block} · %{{fullData.name}}<br>{name}[k=%{{y}}, v=%{{x}}] = %{{z:.4f}}"
             f"<br><i>{where}</i><extra></extra>")
    return heads_heatmap(S, -zmax, zmax, DIVERGING, [f"head {h + 1}" for h in range(H)], hover, height=height,
                         colorbar_title=name, x_title="v (value dim)", y_title="k (key dim)")


def attention_figure(view: AttentionView, block: int, where: str, height: int = 270) -> go.Figure:
    """Attention probabilities of one block within the current window, one heatmap per head.

    Rows are queries (tokens processed so far), columns are keys. Empty cells: not computed yet, or
    not visible to that query (the future, or outside the window).
    """
    H, R, C = view.pattern.shape
    q = np.array([f"{p} '{t}'" for p, t in zip(view.query_positions, view.query_labels)], dtype=object)
    k = np.array([f"{p} '{t}'" for p, t in zip(view.key_positions, view.key_labels)], dtype=object)
    cd = np.stack(np.broadcast_arrays(q[:, None], k[None, :]), -1)                  # (R, C, 2)
    cd = np.broadcast_to(cd, (H, R, C, 2))
    hover = (f"blocks.{block} · %{{fullData.name}}<br>query %{{customdata[0]}} → key %{{customdata[1]}}"
             f"<br>p = %{{z:.3f}}<br><i>{where}</i><extra></extra>")
    return heads_heatmap(view.pattern, 0.0, 1.0, SEQUENTIAL, [f"head {h + 1}" for h in range(H)], hover,
                         height=height, x_text=view.key_labels, y_text=view.query_labels, customdata=cd,
                         colorbar_title="p", x_title="key", y_title="query")


def gates_figure(view: GateView, block: int, where: str, kind: str, height: int = 270) -> go.Figure:
    """Forget gate alpha and write strength beta (lines, 0..1) and write size ||delta|| (bars) per token."""
    x = np.arange(len(view.labels))
    dashes = ["solid", "dot", "dash", "dashdot"]
    fig = go.Figure()
    bar_color = SLEEP_COLOR if kind == SLEEP else WAKE_COLOR
    H = view.alpha.shape[1]
    for h in range(H):
        d = dashes[h % len(dashes)]
        cd = np.array([[f"{p} '{t}'", h + 1] for p, t in zip(view.positions, view.labels)], dtype=object)
        fig.add_trace(go.Scatter(x=x, y=view.alpha[:, h], name=f"α forget · head {h + 1}", mode="lines+markers",
                                 line=dict(color=INK, dash=d, width=1.6), marker=dict(size=4), customdata=cd,
                                 hovertemplate=f"blocks.{block} · head %{{customdata[1]}}<br>token %{{customdata[0]}}"
                                               f"<br>α (keep) = %{{y:.3f}}<extra></extra>", legendgroup="a"))
        fig.add_trace(go.Scatter(x=x, y=view.beta[:, h], name=f"β write · head {h + 1}", mode="lines+markers",
                                 line=dict(color="#B8860B", dash=d, width=1.6), marker=dict(size=4), customdata=cd,
                                 hovertemplate=f"blocks.{block} · head %{{customdata[1]}}<br>token %{{customdata[0]}}"
                                               f"<br>β (write strength) = %{{y:.3f}}<extra></extra>", legendgroup="b"))
        fig.add_trace(go.Bar(x=x, y=view.write[:, h], name=f"‖δ‖ write size · head {h + 1}", yaxis="y2",
                             marker=dict(color=bar_color, opacity=1.0 if h == 0 else 0.55), customdata=cd,
                             hovertemplate=f"blocks.{block} · head %{{customdata[1]}}<br>token %{{customdata[0]}}"
                                           f"<br>‖δ‖ = %{{y:.3f}}<br><i>{where}</i><extra></extra>"))
    wmax = np.nanmax(view.write) if np.isfinite(view.write).any() else 1.0
    fig.update_layout(
        barmode="group", bargap=0.25,
        xaxis=dict(tickmode="array", tickvals=list(x), ticktext=view.labels, tickfont_size=10, range=[-0.6, len(x) - 0.4],
                   showgrid=False),
        yaxis=dict(domain=[0.48, 1.0], range=[-0.03, 1.05], title=dict(text="α, β", font_size=11), gridcolor="white"),
        yaxis2=dict(domain=[0.0, 0.40], range=[0, float(wmax) * 1.1 + 1e-6], title=dict(text="‖δ‖", font_size=11),
                    gridcolor="white", anchor="x"),
        legend=dict(orientation="h", y=-0.12, x=0, font_size=10),
    )
    return _layout(fig, height, margin=dict(l=8, r=8, t=8, b=8))


def pass_norm_figure(passes: Sequence[int], norms: np.ndarray, current: int | None, height: int = 150) -> go.Figure:
    """||dS|| per head for each pass over the current window: does more sleep still change memory?"""
    labels = [("pass 1 (wake)" if p == 1 else f"pass {p}") for p in passes]
    fig = go.Figure()
    for h in range(norms.shape[1]):
        colors = [WAKE_COLOR if p == 1 else SLEEP_COLOR for p in passes]
        opacity = [1.0 if (current is None or p == current) else 0.35 for p in passes]
        fig.add_trace(go.Bar(x=labels, y=norms[:, h], name=f"head {h + 1}",
                             marker=dict(color=colors, opacity=opacity, line=dict(width=0)),
                             hovertemplate=f"head {h + 1} · %{{x}}<br>‖ΔS‖ = %{{y:.3f}}<extra></extra>"))
    fig.update_layout(barmode="group", showlegend=False, bargap=0.3,
                      yaxis=dict(title=dict(text="‖ΔS‖", font_size=11), gridcolor="white", rangemode="tozero"),
                      xaxis=dict(tickfont_size=10))
    return _layout(fig, height, margin=dict(l=8, r=8, t=6, b=6))


def ribbon_figure(tl: Timeline, current: int, height: int = 170) -> go.Figure:
    """The whole sample at a glance: KV-cache occupancy per step (bars coloured wake / sleep / evict),
    the size of the fast weights ||S|| (line), and the current step highlighted.

    The bars fill during wake and drop at each eviction; the line shows what survives it.
    """
    n = len(tl.steps)
    x = np.arange(n)
    kinds = [s.kind for s in tl.steps]
    ticks = [(s.token if s.kind == WAKE else ("p" + str(s.pass_index) if s.kind == SLEEP else "✂")) for s in tl.steps]
    captions = np.array([tl.caption(i) for i in range(n)], dtype=object)
    occ = tl.occupancy.astype(float)
    shown = np.where(np.array(kinds) == EVICT, np.maximum(occ, 0.35), occ)   # an eviction to 0 is still a visible sliver
    colors = [KIND_COLORS[k] for k in kinds]
    opac = [1.0 if i == current else 0.55 for i in range(n)]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=shown, marker=dict(color=colors, opacity=opac, line=dict(width=0)),
                         customdata=np.stack([captions, tl.occupancy.astype(object)], -1), name="KV cache",
                         hovertemplate="step %{x}: %{customdata[0]}<br>KV cache: %{customdata[1]} entries<extra></extra>"))
    if tl.fast_layers:
        norm = sum(tl.state_norms(i).sum(-1) for i in tl.fast_layers)
        fig.add_trace(go.Scatter(x=x, y=norm, yaxis="y2", mode="lines", name="‖S‖", line=dict(color=INK, width=2),
                                 hovertemplate="step %{x}<br>‖S‖ (all fast blocks, heads) = %{y:.2f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[current], y=[norm[current]], yaxis="y2", mode="markers", showlegend=False,
                                 marker=dict(color=INK, size=8), hoverinfo="skip"))
    fig.add_vrect(x0=current - 0.5, x1=current + 0.5, fillcolor=KIND_COLORS[kinds[current]], opacity=0.16,
                  line_width=0, layer="below")
    every = max(1, int(np.ceil(n / 48)))
    fig.update_layout(
        showlegend=False, bargap=0.12, plot_bgcolor="#F7F8FA",
        xaxis=dict(tickmode="array", tickvals=list(x[::every]), ticktext=ticks[::every], tickfont_size=10,
                   range=[-0.6, n - 0.4], showgrid=False),
        yaxis=dict(title=dict(text="KV entries", font_size=11), gridcolor="white", rangemode="tozero"),
        yaxis2=dict(overlaying="y", side="right", title=dict(text="‖S‖", font_size=11), showgrid=False,
                    rangemode="tozero"),
    )
    return _layout(fig, height, margin=dict(l=8, r=8, t=6, b=6))


def spacetime_figure(rows: np.ndarray, title: str, wrong: np.ndarray | None = None, truth: np.ndarray | None = None,
                     mark: tuple[int, int] | None = None, height: int = 300, show_y: bool = True) -> go.Figure:
    """A space-time diagram: rows = time 0..t, columns = cells.

    Args:
        rows: (t + 1, W) values in [0, 1]: 0/1 for a true diagram, p(1) for a model's prediction.
        wrong: (t + 1, W) bool, cells the model got wrong (outlined in vermillion).
        truth: (t + 1, W) the true values, for the hover.
        mark: (row, col) of one cell to circle (e.g. the cell a timeline sample asks for).
    """
    T1, W = rows.shape
    fig = go.Figure()
    if truth is None:
        cd = np.stack(np.broadcast_arrays(np.arange(T1)[:, None], np.arange(W)[None, :], rows.round().astype(int)), -1)
        hover = "step %{customdata[0]}, cell %{customdata[1]}: %{customdata[2]}<extra></extra>"
    else:
        pred = (rows >= 0.5).astype(int)
        cd = np.stack(np.broadcast_arrays(np.arange(T1)[:, None], np.arange(W)[None, :], pred, truth.astype(int),
                                          np.round(rows, 3)), -1)
        hover = ("step %{customdata[0]}, cell %{customdata[1]}<br>model: %{customdata[2]} (p(1) = %{customdata[4]})"
                 "<br>true: %{customdata[3]}<extra></extra>")
    fig.add_trace(go.Heatmap(z=rows, zmin=0, zmax=1, colorscale=CELLS, showscale=False, xgap=1, ygap=1,
                             customdata=cd, hovertemplate=hover))
    if wrong is not None and wrong.any():
        r, c = np.nonzero(wrong)
        fig.add_trace(go.Scatter(x=c, y=r, mode="markers", hoverinfo="skip", showlegend=False,
                                 marker=dict(symbol="square-open", size=11, color=WRONG_COLOR, line=dict(width=2.5))))
    if mark is not None:
        fig.add_trace(go.Scatter(x=[mark[1]], y=[mark[0]], mode="markers", hoverinfo="skip", showlegend=False,
                                 marker=dict(symbol="circle-open", size=16, color=EVICT_COLOR, line=dict(width=3))))
    fig.update_layout(
        title=dict(text=title, x=0.5, xanchor="center", font_size=13, y=0.98, yanchor="top"),
        xaxis=dict(showgrid=False, zeroline=False, tickmode="array", tickvals=list(range(0, W, 4)),
                   title=dict(text="cell", font_size=11), constrain="domain", range=[-0.5, W - 0.5]),
        yaxis=dict(autorange="reversed", showgrid=False, zeroline=False, scaleanchor="x", constrain="domain",
                   tickmode="array", tickvals=list(range(T1)), showticklabels=show_y,
                   title=dict(text="time step" if show_y else "", font_size=11)),
        plot_bgcolor="white",
    )
    return _layout(fig, height, margin=dict(l=8, r=8, t=34, b=8))


def accuracy_figure(series: Sequence[dict], x_title: str, chance: dict | None = None,
                    refs: Sequence[dict] = (), height: int = 360, x_log2: bool = False) -> go.Figure:
    """Accuracy lines with Wilson 95% bands.

    Args:
        series: dicts with x, acc, lo, hi (lists), label, color, dash ("solid" ...), width, and
            custom (list of [checkpoint, N, depth] per point, returned when a point is clicked).
        chance: {"x": [...], "acc": [...]} the majority-class level (dotted grey).
        refs: horizontal reference lines: dicts with label, acc, lo, hi, color, dash.
    """
    fig = go.Figure()
    xs = sorted({x for s in series for x in s["x"]} | set((chance or {}).get("x", [])))
    for r in refs:
        fig.add_hrect(y0=r["lo"], y1=r["hi"], fillcolor=r["color"], opacity=0.08, line_width=0)
        fig.add_hline(y=r["acc"], line=dict(color=r["color"], dash=r.get("dash", "dash"), width=1.5),
                      annotation_text=r["label"], annotation_position="bottom left",
                      annotation_font=dict(size=10, color=r["color"]))
        fig.add_trace(go.Scatter(x=[xs[0]] if xs else [0], y=[r["acc"]], mode="lines", name=r["label"],
                                 line=dict(color=r["color"], dash=r.get("dash", "dash")), hoverinfo="skip",
                                 visible="legendonly"))
    if chance:
        fig.add_trace(go.Scatter(x=chance["x"], y=chance["acc"], name="chance (majority answer)", mode="lines",
                                 line=dict(color=MUTED, dash="dot", width=1.5),
                                 hovertemplate="chance at %{x}: %{y:.3f}<extra></extra>"))
    for s in series:
        x, lo, hi = list(s["x"]), list(s["lo"]), list(s["hi"])
        if len(x) > 1:
            fig.add_trace(go.Scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", fillcolor=s["color"], opacity=0.13,
                                     line=dict(width=0), hoverinfo="skip", showlegend=False))
        cd = [[*c, a, l_, h_, n_] for c, a, l_, h_, n_ in zip(s["custom"], s["acc"], lo, hi, s["n"])]
        fig.add_trace(go.Scatter(
            x=x, y=list(s["acc"]), name=s["label"], mode="lines+markers" if len(x) > 1 else "markers",
            line=dict(color=s["color"], dash=s.get("dash", "solid"), width=s.get("width", 2.2)),
            marker=dict(size=s.get("marker", 7), color=s["color"], symbol=s.get("symbol", "circle")),
            error_y=None if len(x) > 1 else dict(type="data", symmetric=False,
                                                 array=[h_ - a for h_, a in zip(hi, s["acc"])],
                                                 arrayminus=[a - l_ for l_, a in zip(lo, s["acc"])],
                                                 color=s["color"], thickness=1.5, width=4),
            customdata=cd,
            hovertemplate=(f"<b>{s['label']}</b><br>{x_title} %{{x}}: accuracy %{{y:.3f}}"
                           "<br>95% CI [%{customdata[4]:.3f}, %{customdata[5]:.3f}], n = %{customdata[6]}"
                           "<extra>click to open in the timeline</extra>")))
    fig.update_layout(
        xaxis=dict(title=dict(text=x_title, font_size=12), tickmode="array", tickvals=xs, gridcolor="white",
                   type="log" if x_log2 else "linear"),
        yaxis=dict(title=dict(text="accuracy (held-out inputs)", font_size=12), range=[0.35, 1.02], gridcolor="white"),
        legend=dict(orientation="h", y=-0.22, x=0, font_size=11), plot_bgcolor="#F7F8FA",
        clickmode="event+select",
    )
    return _layout(fig, height, margin=dict(l=8, r=8, t=10, b=8))
