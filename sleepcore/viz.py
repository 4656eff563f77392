"""Plotly figure builders for the explorer; they take plain arrays or timeline views, never Streamlit.

One visual language everywhere: wake is blue, sleep is purple, eviction is orange (Okabe-Ito
colours, safe for colour-blind readers), right answers are bluish green and wrong ones vermillion.
Fast weights use a diverging blue-white-red scale whose range the caller locks for a whole sample,
so scrubbing never rescales a heatmap. Every trace carries a hover template with exact values and
where they come from (block, head, token, pass).

Each figure is assembled as plain dicts and validated once (`go.Figure(data=..., layout=...)`):
plotly's incremental `update_layout` / `add_shape` calls cost several times more, and the explorer
builds seven figures per step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .timeline import EVICT, SLEEP, WAKE, AttentionView, GateView, Timeline

__all__ = [
    "CELLS",
    "DIVERGING",
    "EVICT_COLOR",
    "KIND_COLORS",
    "RIGHT_COLOR",
    "SEQUENTIAL",
    "SLEEP_COLOR",
    "WAKE_COLOR",
    "WRONG_COLOR",
    "accuracy_figure",
    "attention_figure",
    "gates_figure",
    "heads_heatmap",
    "pass_norm_figure",
    "passes_color",
    "ribbon_figure",
    "spacetime_figure",
    "state_figure",
]

WAKE_COLOR = "#0072B2"
SLEEP_COLOR = "#A3519A"
EVICT_COLOR = "#E69F00"
RIGHT_COLOR = "#009E73"
WRONG_COLOR = "#D55E00"
KIND_COLORS = {WAKE: WAKE_COLOR, SLEEP: SLEEP_COLOR, EVICT: EVICT_COLOR}
MUTED = "#8A8F98"
INK = "#262730"
GOLD = "#B8860B"
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


def _figure(traces: list[dict], layout: dict, height: int, margin: dict | None = None,
            automargin: bool = False) -> go.Figure:
    """Build a figure once in the house style: transparent paper, one font.

    The figures redrawn at every step get fixed margins sized for their labels: plotly's automargin
    lays a chart out twice whenever a label's width changes. The rarely drawn ones use automargin.
    """
    base = dict(height=height, margin=margin or dict(l=8, r=8, t=28, b=8), font=FONT,
                paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor=EMPTY, hoverlabel=dict(font_size=12))
    base.update(layout)
    for k, v in base.items():
        if k.startswith(("xaxis", "yaxis")):
            base[k] = {"automargin": automargin, **v}
    return go.Figure(data=traces, layout=base)


def _domains(n: int, gap: float) -> list[list[float]]:
    w = (1.0 - gap * (n - 1)) / n
    return [[i * (w + gap), i * (w + gap) + w] for i in range(n)]


def _tick(text: str) -> str:
    """Axis labels stay one short token wide ("t=6" -> "t6"); hovers carry the full text."""
    return text.replace("=", "") if len(text) > 2 else text


def heads_heatmap(mats: np.ndarray, zmin: float, zmax: float, colorscale, titles: Sequence[str], hover: str,
                  height: int = 260, x_text: Sequence[str] | None = None, y_text: Sequence[str] | None = None,
                  customdata: np.ndarray | None = None, colorbar_title: str = "") -> go.Figure:
    """One heatmap per head, side by side, sharing one locked colour axis.

    Args:
        mats: (H, R, C) values; NaN cells are drawn as the empty background.
        zmin, zmax: the locked colour range (the same for every frame of a sample).
        titles: one per head.  hover: a hovertemplate (may use %{customdata[...]}).
        x_text / y_text: tick labels per column / row (positions are numeric, so repeated
            labels such as many '0' tokens do not merge).
        customdata: (H, R, C, k) per-cell extra hover fields.
    Returns:
        A figure whose traces are the H heatmaps (names = titles) on coloraxis [zmin, zmax].
    """
    traces, layout, notes = [], {}, []
    for h, dom in enumerate(_domains(mats.shape[0], 0.05)):
        sx = "" if h == 0 else str(h + 1)
        traces.append(dict(type="heatmap", z=mats[h], coloraxis="coloraxis", xaxis=f"x{sx}", yaxis=f"y{sx}",
                           hovertemplate=hover, name=titles[h], hoverongaps=False,
                           customdata=None if customdata is None else customdata[h]))
        ax = dict(domain=dom, showgrid=False, zeroline=False, ticks="", constrain="domain", showticklabels=False)
        ay = dict(autorange="reversed", showgrid=False, zeroline=False, ticks="", scaleanchor=f"x{sx}",
                  scaleratio=1, constrain="domain", constraintoward="top", showticklabels=False)
        if x_text is not None:
            ax.update(tickmode="array", tickvals=list(range(len(x_text))), ticktext=[_tick(t) for t in x_text],
                      tickfont_size=9, tickangle=0, showticklabels=True)
        if y_text is not None and h == 0:
            ay.update(tickmode="array", tickvals=list(range(len(y_text))), ticktext=[_tick(t) for t in y_text],
                      tickfont_size=9, showticklabels=True)
        layout[f"xaxis{sx}"], layout[f"yaxis{sx}"] = ax, ay
        notes.append(dict(text=titles[h], x=sum(dom) / 2, y=1.0, xref="paper", yref="paper", yanchor="bottom",
                          showarrow=False, font=dict(size=12, color=INK)))
    layout["annotations"] = notes
    layout["coloraxis"] = dict(colorscale=colorscale, cmin=zmin, cmax=zmax,
                               colorbar=dict(thickness=8, len=0.9, y=1.0, yanchor="top", outlinewidth=0,
                                             tickfont_size=9, nticks=5, xpad=4,
                                             title=dict(text=colorbar_title, side="right", font_size=10)))
    margin = dict(l=26 if y_text is not None else 2, r=2, t=20, b=18 if x_text is not None else 2)
    return _figure(traces, layout, height, margin=margin)


def state_figure(S: np.ndarray, zmax: float, block: int, where: str, name: str = "S", height: int = 222) -> go.Figure:
    """Fast weights (or their change) of one block, one heatmap per head, on the locked range [-zmax, zmax].

    Args:
        S: (H, K, V).  zmax: the sample-wide colour range (see `Timeline.state_scale`).
        block: block index (for the hover).  where: the step's caption.  name: "S" or "ΔS".
    """
    hover = (f"blocks.{block} · %{{fullData.name}}<br>{name}[k=%{{y}}, v=%{{x}}] = %{{z:.4f}}"
             f"<br><i>{where}</i><extra></extra>")
    return heads_heatmap(S, -zmax, zmax, DIVERGING, [f"head {h + 1}" for h in range(S.shape[0])], hover,
                         height=height, colorbar_title=name)


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
                         colorbar_title="p")


def gates_figure(view: GateView, block: int, where: str, kind: str, height: int = 270) -> go.Figure:
    """Forget gate alpha and write strength beta (lines, 0..1) and write size ||delta|| (bars) per token.

    Head 1 is drawn solid / opaque, later heads dotted / lighter; the bars take the colour of the pass
    that wrote (wake blue, sleep purple).
    """
    x = np.arange(len(view.labels))
    dashes = ["solid", "dot", "dash", "dashdot"]
    bar_color = SLEEP_COLOR if kind == SLEEP else WAKE_COLOR
    traces = []
    for h in range(view.alpha.shape[1]):
        d = dashes[h % len(dashes)]
        cd = np.array([[f"{p} '{t}'", h + 1] for p, t in zip(view.positions, view.labels)], dtype=object)
        head = f"blocks.{block} · head %{{customdata[1]}}<br>token %{{customdata[0]}}<br>"
        common = dict(x=x, customdata=cd, showlegend=h == 0)
        traces.append(dict(type="scatter", y=view.alpha[:, h], name="α keep (forget gate)", mode="lines+markers",
                           line=dict(color=INK, dash=d, width=1.6), marker=dict(size=4), legendgroup="alpha",
                           hovertemplate=head + "α (keep) = %{y:.3f}<extra></extra>", **common))
        traces.append(dict(type="scatter", y=view.beta[:, h], name="β write strength", mode="lines+markers",
                           line=dict(color=GOLD, dash=d, width=1.6), marker=dict(size=4), legendgroup="beta",
                           hovertemplate=head + "β (write strength) = %{y:.3f}<extra></extra>", **common))
        traces.append(dict(type="bar", y=view.write[:, h], name="‖δ‖ write size", yaxis="y2", legendgroup="write",
                           marker=dict(color=bar_color, opacity=1.0 if h == 0 else 0.5),
                           hovertemplate=head + f"‖δ‖ = %{{y:.3f}}<br><i>{where}</i><extra></extra>", **common))
    wmax = float(np.nanmax(view.write)) if np.isfinite(view.write).any() else 1.0
    layout = dict(
        barmode="group", bargap=0.25,
        xaxis=dict(tickmode="array", tickvals=list(x), ticktext=[_tick(t) for t in view.labels], tickfont_size=9,
                   range=[-0.6, max(len(x), 6) - 0.4], showgrid=False),
        yaxis=dict(domain=[0.6, 1.0], range=[-0.03, 1.05], title=dict(text="α, β", font_size=11), gridcolor="white",
                   tickvals=[0, 0.5, 1]),
        yaxis2=dict(domain=[0.0, 0.52], range=[0, wmax * 1.1 + 1e-6], title=dict(text="‖δ‖", font_size=11),
                    gridcolor="white", anchor="x", nticks=4),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, font_size=11),
    )
    return _figure(traces, layout, height, margin=dict(l=46, r=6, t=26, b=20))


def pass_norm_figure(passes: Sequence[int], norms: np.ndarray, current: int | None, height: int = 150) -> go.Figure:
    """||dS|| per head for each pass over the current window: does more sleep still change memory?"""
    labels = [("pass 1 (wake)" if p == 1 else f"pass {p}") for p in passes]
    colors = [WAKE_COLOR if p == 1 else SLEEP_COLOR for p in passes]
    opacity = [1.0 if (current is None or p == current) else 0.35 for p in passes]
    traces = [dict(type="bar", x=labels, y=norms[:, h], name=f"head {h + 1}",
                   marker=dict(color=colors, opacity=opacity, line=dict(width=0)),
                   hovertemplate=f"head {h + 1} · %{{x}}<br>‖ΔS‖ = %{{y:.3f}}<extra></extra>")
              for h in range(norms.shape[1])]
    layout = dict(barmode="group", showlegend=False, bargap=0.3,
                  yaxis=dict(title=dict(text="‖ΔS‖", font_size=11), gridcolor="white", rangemode="tozero"),
                  xaxis=dict(tickfont_size=10, range=[-0.5, max(len(labels), 4) - 0.5]))
    return _figure(traces, layout, height, margin=dict(l=44, r=8, t=6, b=20))


def _fitting_ticks(labels: list[str], plot_px: float = 460.0, char_px: float = 6.0, gap_px: float = 3.0) -> list[int]:
    """Which bars get an x label so that none overlap, left to right, at an assumed plot width.

    Labels stay horizontal (rotated ones are hard to read); a label that would touch the previous one is skipped,
    so a long token costs its neighbour its label rather than rotating the whole axis. Every bar keeps its hover.
    """
    slot = plot_px / max(1, len(labels))
    shown, right = [], -1e9
    for i, text in enumerate(labels):
        half = (len(text) * char_px) / 2
        centre = (i + 0.5) * slot
        if centre - half >= right + gap_px:
            shown.append(i)
            right = centre + half
    return shown


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
    shown = np.where(np.array(kinds) == EVICT, np.maximum(occ, 0.35), occ)   # an eviction to 0 stays a sliver
    traces = [dict(type="bar", x=x, y=shown, name="KV cache",
                   marker=dict(color=[KIND_COLORS[k] for k in kinds], line=dict(width=0),
                               opacity=[1.0 if i == current else 0.55 for i in range(n)]),
                   customdata=np.stack([captions, tl.occupancy.astype(object)], -1),
                   hovertemplate="step %{x}: %{customdata[0]}<br>KV cache: %{customdata[1]} entries<extra></extra>")]
    if tl.fast_layers:
        norm = sum(tl.state_norms(i).sum(-1) for i in tl.fast_layers)
        traces.append(dict(type="scatter", x=x, y=norm, yaxis="y2", mode="lines", name="‖S‖",
                           line=dict(color=INK, width=2),
                           hovertemplate="step %{x}<br>‖S‖ (all fast blocks, heads) = %{y:.2f}<extra></extra>"))
        traces.append(dict(type="scatter", x=[current], y=[norm[current]], yaxis="y2", mode="markers",
                           showlegend=False, marker=dict(color=INK, size=8), hoverinfo="skip"))
    shown_ticks = _fitting_ticks(ticks)
    layout = dict(
        showlegend=False, bargap=0.12, plot_bgcolor="#F7F8FA",
        shapes=[dict(type="rect", xref="x", yref="paper", x0=current - 0.5, x1=current + 0.5, y0=0, y1=1,
                     fillcolor=KIND_COLORS[kinds[current]], opacity=0.16, line=dict(width=0), layer="below")],
        xaxis=dict(tickmode="array", tickvals=shown_ticks, ticktext=[ticks[i] for i in shown_ticks], tickfont_size=10,
                   tickangle=0, range=[-0.6, n - 0.4], showgrid=False),
        yaxis=dict(title=dict(text="KV entries", font_size=11), gridcolor="white", rangemode="tozero"),
        yaxis2=dict(overlaying="y", side="right", title=dict(text="‖S‖", font_size=11), showgrid=False,
                    rangemode="tozero"),
    )
    return _figure(traces, layout, height, margin=dict(l=46, r=52, t=6, b=22))


def spacetime_figure(rows: np.ndarray, title: str, wrong: np.ndarray | None = None, truth: np.ndarray | None = None,
                     mark: tuple[int, int] | list[tuple[int, int]] | None = None, cell: int = 18, show_y: bool = True,
                     x_title: str = "cell") -> go.Figure:
    """A space-time diagram: rows = time 0..t, columns = cells.

    Args:
        rows: (t + 1, W) values in [0, 1]: 0/1 for a true diagram, p(1) for a model's prediction.
        wrong: (t + 1, W) bool, cells the model got wrong (outlined in vermillion).
        truth: (t + 1, W) the true values, for the hover.
        mark: (row, col) of a cell to circle (e.g. the cell a timeline sample asks for), or a list of them.
        cell: intended cell size in pixels; sets the figure's height (the width follows the column).
        show_y: label the rows (time steps) 0..t.
    """
    T1, W = rows.shape
    if truth is None:
        cd = np.stack(np.broadcast_arrays(np.arange(T1)[:, None], np.arange(W)[None, :], rows.round().astype(int)), -1)
        hover = "step %{customdata[0]}, cell %{customdata[1]}: %{customdata[2]}<extra></extra>"
    else:
        pred = (rows >= 0.5).astype(int)
        cd = np.stack(np.broadcast_arrays(np.arange(T1)[:, None], np.arange(W)[None, :], pred, truth.astype(int),
                                          np.round(rows, 3)), -1)
        hover = ("step %{customdata[0]}, cell %{customdata[1]}<br>model: %{customdata[2]} (p(1) = %{customdata[4]})"
                 "<br>true: %{customdata[3]}<extra></extra>")
    traces = [dict(type="heatmap", z=rows, zmin=0, zmax=1, colorscale=CELLS, showscale=False, xgap=1, ygap=1,
                   customdata=cd, hovertemplate=hover)]
    if wrong is not None and wrong.any():
        r, c = np.nonzero(wrong)
        traces.append(dict(type="scatter", x=c, y=r, mode="markers", hoverinfo="skip", showlegend=False,
                           marker=dict(symbol="square-open", size=max(6, cell - 3), color=WRONG_COLOR,
                                       line=dict(width=2.5))))
    shapes = []
    if mark is not None:
        marks = [mark] if isinstance(mark, tuple) else list(mark)
        if len(marks) == 1:
            traces.append(dict(type="scatter", x=[marks[0][1]], y=[marks[0][0]], mode="markers", hoverinfo="skip",
                               showlegend=False, marker=dict(symbol="circle-open", size=cell + 2, color=EVICT_COLOR,
                                                             line=dict(width=3))))
        else:   # several cells: one frame per row around the marked run of cells (circles would overlap)
            for r in sorted({m[0] for m in marks}):
                cols = [m[1] for m in marks if m[0] == r]
                shapes.append(dict(type="rect", x0=min(cols) - 0.62, x1=max(cols) + 0.62, y0=r - 0.62, y1=r + 0.62,
                                   line=dict(color=EVICT_COLOR, width=2.5, dash="dot"), fillcolor="rgba(0,0,0,0)"))
    layout = dict(
        title=dict(text=title, x=0.5, xanchor="center", font_size=13, y=0.98, yanchor="top"),
        xaxis=dict(showgrid=False, zeroline=False, tickmode="array", tickvals=list(range(0, W, 4)), ticks="",
                   title=dict(text=x_title, font_size=11), constrain="domain", range=[-0.5, W - 0.5]),
        yaxis=dict(autorange="reversed", showgrid=False, zeroline=False, scaleanchor="x", constrain="domain", ticks="",
                   constraintoward="top", tickmode="array", tickvals=list(range(T1)), showticklabels=show_y,
                   tickfont_size=9 if T1 > 10 else 10),
        plot_bgcolor="white", shapes=shapes,
    )
    margin = dict(l=22, r=4, t=30, b=36 if x_title else 20)   # the same for every diagram, so they line up
    return _figure(traces, layout, 66 + T1 * cell, margin=margin)


def accuracy_figure(series: Sequence[dict], x_title: str, chance: dict | None = None,
                    refs: Sequence[dict] = (), height: int = 400, x_log2: bool = False,
                    y_min: float = 0.35) -> go.Figure:
    """Accuracy lines with Wilson 95% bands (or error bars for single points).

    Args:
        series: dicts with x, acc, lo, hi, n (lists), label, color, and optionally dash, width,
            marker, symbol, band (False: no band), offset (shift in axis units, to unstack dots);
            custom: one [checkpoint, N, depth] per point (returned when clicked).
        chance: {"x": [...], "acc": [...]} the majority-answer level (dotted grey, labelled).
        refs: horizontal reference lines: dicts with label, acc, lo, hi, color, dash (labelled on the line).
        x_log2: place x at log2(x) (for N = 1, 2, 4, 8), labelled with the original values.
        y_min: bottom of the accuracy axis (0.35 suits one binary answer, where chance is about 0.5; use 0 when
            chance is near 0, as for exact match over many answers).
    """
    pos = (lambda v: float(np.log2(v))) if x_log2 else (lambda v: v)
    xs = sorted({x for s in series for x in s["x"]} | set((chance or {}).get("x", [])))
    traces, shapes, notes = [], [], []
    for r in refs:
        shapes.append(dict(type="rect", xref="paper", x0=0, x1=1, yref="y", y0=r["lo"], y1=r["hi"],
                           fillcolor=r["color"], opacity=0.07, line=dict(width=0), layer="below"))
        shapes.append(dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=r["acc"], y1=r["acc"],
                           line=dict(color=r["color"], dash=r.get("dash", "dash"), width=1.5)))
        notes.append(dict(text=f"{r['label']} {r['acc']:.2f}", xref="paper", x=1, xanchor="right", yref="y",
                          y=r["acc"], yanchor="bottom", showarrow=False, font=dict(size=10, color=r["color"])))
    if chance:
        traces.append(dict(type="scatter", x=[pos(v) for v in chance["x"]], y=chance["acc"], name="chance",
                           mode="lines", showlegend=False, line=dict(color=MUTED, dash="dot", width=1.5),
                           hovertemplate="chance (always the most common answer): %{y:.3f}<extra></extra>"))
        notes.append(dict(x=pos(chance["x"][0]), y=chance["acc"][0], text="chance", showarrow=False, yanchor="top",
                          xanchor="left", font=dict(size=10, color=MUTED)))
    for s in series:
        x = [pos(v) + s.get("offset", 0.0) for v in s["x"]]
        lo, hi, acc = list(s["lo"]), list(s["hi"]), list(s["acc"])
        if len(x) > 1 and s.get("band", True):
            traces.append(dict(type="scatter", x=x + x[::-1], y=hi + lo[::-1], fill="toself", fillcolor=s["color"],
                               mode="lines", opacity=0.1, line=dict(width=0), hoverinfo="skip", showlegend=False))
        cd = [[*c, a, l_, h_, n_] for c, a, l_, h_, n_ in zip(s["custom"], acc, lo, hi, s["n"])]
        traces.append(dict(
            type="scatter", x=x, y=acc, name=s["label"], mode="lines+markers" if len(x) > 1 else "markers",
            line=dict(color=s["color"], dash=s.get("dash", "solid"), width=s.get("width", 2.2)),
            marker=dict(size=s.get("marker", 7), color=s["color"], symbol=s.get("symbol", "circle")),
            error_y=None if len(x) > 1 else dict(type="data", symmetric=False,
                                                 array=[h_ - a for h_, a in zip(hi, acc)],
                                                 arrayminus=[a - l_ for l_, a in zip(lo, acc)],
                                                 color=s["color"], thickness=1.5, width=4),
            customdata=cd,
            hovertemplate=(f"<b>{s['label']}</b><br>{x_title} %{{customdata[{1 if x_log2 else 2}]}}: accuracy "
                           "%{y:.3f}<br>95% CI [%{customdata[4]:.3f}, %{customdata[5]:.3f}], n = %{customdata[6]}"
                           "<extra>click to pick</extra>")))
    n_legend = (sum(1 for t in traces if t.get("showlegend", True) and t.get("name")) + 1) // 2   # two columns
    layout = dict(
        shapes=shapes, annotations=notes,
        xaxis=dict(title=dict(text=x_title, font_size=12), tickmode="array", tickvals=[pos(v) for v in xs],
                   ticktext=[str(v) for v in xs], gridcolor="white", zeroline=False,
                   range=[pos(xs[0]) - 0.3, pos(xs[-1]) + 0.45] if xs else None),
        yaxis=dict(title=dict(text="accuracy on held-out inputs", font_size=12), range=[y_min, 1.02], gridcolor="white"),
        legend=dict(orientation="h", y=-0.2, yanchor="top", x=0, font_size=11, entrywidth=0.5,
                    entrywidthmode="fraction"),
        plot_bgcolor="#F7F8FA", clickmode="event+select",
    )
    return _figure(traces, layout, height + 22 * n_legend, margin=dict(l=8, r=8, t=10, b=40 + 22 * n_legend),
                   automargin=True)
