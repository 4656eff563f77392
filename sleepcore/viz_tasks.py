"""Pictures of the k-hop and arithmetic tasks laid out over windows, synced with a timeline step.

The question of both tasks comes after every window that states the facts has been evicted, so by
then the facts live only in the fast weights S. These builders show that:

    states = token_states(tl, i)                  # per position: unread / in the KV cache / only in S
    khop_figure(tl.info, khop_edges(tl.tokens, L, C), states, prediction)
    arith_figure(tl.tokens, L, C, states, arith_facts(tl.tokens), tl.info["chain"], ...)

Pure data helpers (token states, edges, facts, the chain of operations) come first, then the two
plotly figures. No streamlit here; `pages/tasks.py` places the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from .timeline import EVICT, SLEEP, Prediction, Timeline
from .viz import EMPTY, GOLD, INK, MUTED, RIGHT_COLOR, WRONG_COLOR, _figure, passes_color

__all__ = [
    "ONLY_S",
    "IN_CACHE",
    "UNREAD",
    "STATE_WORDS",
    "WINDOW_COLORS",
    "ByN",
    "ChainStep",
    "Edge",
    "Fact",
    "arith_chain",
    "arith_facts",
    "arith_figure",
    "khop_edges",
    "khop_figure",
    "khop_path",
    "by_n_figure",
    "token_states",
    "window_color",
]

UNREAD, IN_CACHE, ONLY_S = "unread", "cache", "S"
STATE_WORDS = {UNREAD: "not read yet", IN_CACHE: "in the KV cache", ONLY_S: "evicted: only in S"}
# One colour per window (not the wake/sleep/evict or right/wrong colours, which mean something else).
WINDOW_COLORS = ["#4C78A8", "#F58518", "#8E6BB8", "#2A9D8F", "#9D755D", "#D4A017", "#5C6BC0", "#8C564B"]
PAD = "_"


def window_color(w: int) -> str:
    return WINDOW_COLORS[w % len(WINDOW_COLORS)]


def _tint(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# ---------------------------------------------------------------------------- where every token is at a step
def token_states(tl: Timeline, i: int) -> list[str]:
    """Where each token of the sample is at step i: UNREAD, IN_CACHE (attention can read it) or
    ONLY_S (its window was evicted: what is left of it is in the fast weights).

    A wake step has read its window up to its token; a sleep pass re-reads the whole window; an
    eviction clears it. With eviction "none" nothing ever leaves the cache.
    """
    s = tl.steps[i]
    L, T = tl.window, len(tl.tokens)
    if s.kind == EVICT:
        last_read, open_window = (s.window + 1) * L - 1, None
    elif s.kind == SLEEP:
        last_read, open_window = (s.window + 1) * L - 1, s.window
    else:
        last_read, open_window = s.position, s.window
    last_read = min(last_read, T - 1)
    keep_all = tl.eviction == "none"
    out = []
    for p in range(T):
        if p > last_read:
            out.append(UNREAD)
        elif keep_all or p // L == open_window:
            out.append(IN_CACHE)
        else:
            out.append(ONLY_S)
    return out


# ---------------------------------------------------------------------------- k-hop
@dataclass(frozen=True)
class Edge:
    """One stated edge src -> dst: the window it is stated in and the position of its src token."""

    src: str
    dst: str
    window: int
    position: int


def khop_edges(tokens: Sequence[str], window: int, consolidation_windows: int) -> list[Edge]:
    """The edges as the sequence states them (two tokens each, never split by a window boundary)."""
    end = min(len(tokens), window * consolidation_windows)
    return [Edge(tokens[p], tokens[p + 1], p // window, p)
            for p in range(0, end - 1, 2) if tokens[p] != PAD]


def khop_path(info: dict[str, Any], query: int = 0) -> list[str]:
    """The nodes the query walks through: [start, after 1 hop, ..., answer] (k + 1 nodes)."""
    start, k, _ = info["queries"][query]
    nodes = list(info["nodes"])
    j = nodes.index(start)
    return [nodes[(j + h) % len(nodes)] for h in range(int(k) + 1)]


def _circle(n: int, radius: float = 1.0) -> np.ndarray:
    """(n, 2) positions on a circle, the first at the top, then clockwise."""
    a = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    return radius * np.stack([np.cos(a), np.sin(a)], -1)


def khop_figure(info: dict[str, Any], edges: Sequence[Edge], states: Sequence[str],
                prediction: Prediction | None = None, query: int = 0, height: int = 440) -> go.Figure:
    """The cycle as a graph: nodes on a circle in cycle order, each edge an arrow coloured by the window
    it was stated in, drawn solid while its window is in the KV cache, dashed once it was evicted (only S
    holds it), faint grey if not read yet. The query's path is the wide gold band with hop numbers; the
    answer node is ringed, green/red once the model has answered (a wrong pick gets a red ring).

    Args:
        info: the sample's raw dict (`edges`, `queries` [(start, k, answer)], `nodes` in cycle order).
        edges: `khop_edges(...)` of the sample.  states: `token_states(...)` at the step shown.
        prediction: the model's answer to the query once given (None before).
    """
    nodes = list(info["nodes"])
    pos = dict(zip(nodes, _circle(len(nodes))))
    path = khop_path(info, query)
    start, answer, k = path[0], path[-1], len(path) - 1
    r_node = 0.15                                      # data units: where arrows stop short of a node

    def ends(a: str, b: str, shrink: float = r_node) -> tuple[np.ndarray, np.ndarray]:
        p, q = pos[a], pos[b]
        u = (q - p) / max(np.linalg.norm(q - p), 1e-9)
        return p + shrink * u, q - shrink * u

    traces: list[dict] = []
    # The query path, under everything.
    xs, ys = [], []
    for a, b in zip(path, path[1:]):
        p, q = ends(a, b, 0.0)
        xs += [p[0], q[0], None]
        ys += [p[1], q[1], None]
    traces.append(dict(type="scatter", x=xs, y=ys, mode="lines", name=f"query path ({k} hop{'s' * (k > 1)})",
                       line=dict(color=GOLD, width=14), opacity=0.3, hoverinfo="skip", legendrank=1))

    annotations = []
    groups: dict[tuple[int, str], list[Edge]] = {}
    for e in edges:
        groups.setdefault((e.window, states[e.position + 1]), []).append(e)
    for (w, state), group in sorted(groups.items()):
        color = window_color(w) if state != UNREAD else "#C5C9D1"
        xs, ys, hover = [], [], []
        for e in group:
            p, q = ends(e.src, e.dst)
            xs += [p[0], q[0], None]
            ys += [p[1], q[1], None]
            text = f"{e.src} → {e.dst}<br>stated in window {w + 1} (tokens {e.position + 1}-{e.position + 2})" \
                   f"<br>now {STATE_WORDS[state]}"
            hover += [text, text, None]
            tail = q - 0.3 * (q - p) / max(np.linalg.norm(q - p), 1e-9)
            annotations.append(dict(x=q[0], y=q[1], ax=tail[0], ay=tail[1], xref="x", yref="y", axref="x", ayref="y",
                                    text="", showarrow=True, arrowhead=2, arrowsize=1.1, arrowwidth=2.2,
                                    arrowcolor=color))
        traces.append(dict(type="scatter", x=xs, y=ys, mode="lines", text=hover, hoverinfo="text",
                           name=f"window {w + 1} edges · {STATE_WORDS[state]}", legendgroup=f"w{w}",
                           line=dict(color=color, width=3 if state == IN_CACHE else 2.2,
                                     dash="solid" if state == IN_CACHE else "dash" if state == ONLY_S else "dot")))

    # Hop numbers beside the path's edges, outside the circle.
    hx, hy, ht = [], [], []
    for h, (a, b) in enumerate(zip(path, path[1:]), start=1):
        mid = (pos[a] + pos[b]) / 2
        out = mid / max(np.linalg.norm(mid), 1e-9)
        hx.append(mid[0] + 0.13 * out[0])
        hy.append(mid[1] + 0.13 * out[1])
        ht.append(f"<b>{h}</b>")
    traces.append(dict(type="scatter", x=hx, y=hy, mode="text", text=ht, textfont=dict(color=GOLD, size=13),
                       hoverinfo="skip", showlegend=False))

    # Nodes: the start filled gold; the answer ringed (gold before the answer, then green/red).
    done = prediction is not None
    fills, lines, widths, hover = [], [], [], []
    for n in nodes:
        fill, line, width, role = "white", INK, 1.5, ""
        if n == start:
            fill, line, width, role = "#FFF1C2", GOLD, 3, "start of the query"
        if n == answer:
            line, width = (RIGHT_COLOR if done else GOLD), 4
            role = f"true answer ({k} hop{'s' * (k > 1)} from {start})"
        if done and n == prediction.predicted and not prediction.correct:
            line, width, role = WRONG_COLOR, 4, "the model's (wrong) answer"
        fills.append(fill)
        lines.append(line)
        widths.append(width)
        hover.append(f"<b>{n}</b>" + (f"<br>{role}" if role else ""))
    xy = np.array([pos[n] for n in nodes])
    traces.append(dict(type="scatter", x=xy[:, 0], y=xy[:, 1], mode="markers+text", text=nodes,
                       textfont=dict(size=13, color=INK), hovertext=hover, hoverinfo="text", showlegend=False,
                       marker=dict(size=38, color=fills, line=dict(color=lines, width=widths))))

    def tag(node: str, text: str, color: str) -> dict:
        """A label just outside a node, on the side away from the circle's centre."""
        p = pos[node]
        out = p / max(np.linalg.norm(p), 1e-9)
        side = "left" if out[0] > 0.35 else "right" if out[0] < -0.35 else "center"
        dx = 0.2 * np.sign(out[0]) if side != "center" else 0.0
        dy = 0.0 if side != "center" else 0.24 * np.sign(out[1])
        return dict(x=p[0] + dx, y=p[1] + dy, text=text, showarrow=False, xanchor=side, yanchor="middle",
                    font=dict(size=12, color=color), xref="x", yref="y", bgcolor="rgba(255,255,255,0.8)")

    annotations.append(tag(start, "<b>start</b>", GOLD))
    if not done:
        annotations.append(tag(answer, "<b>answer?</b>", GOLD))
        title = f"Query: from <b>{start}</b>, {k} hop{'s' * (k > 1)} → ?  (true answer {answer})"
    elif prediction.correct:
        annotations.append(tag(answer, "<b>model ✓</b>", RIGHT_COLOR))
        title = f"From <b>{start}</b>, {k} hop{'s' * (k > 1)} → <b>{answer}</b>: the model says {answer} ✓"
    else:
        annotations.append(tag(answer, "<b>true answer</b>", RIGHT_COLOR))
        if prediction.predicted in pos:
            annotations.append(tag(prediction.predicted, "<b>model ✗</b>", WRONG_COLOR))
        where = "" if prediction.predicted in pos else " (not a node of this cycle)"
        title = (f"From <b>{start}</b>, {k} hop{'s' * (k > 1)} → <b>{answer}</b>: the model says "
                 f"<b>{prediction.predicted}</b>{where} ✗")

    layout = dict(
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=14)), annotations=annotations,
        plot_bgcolor="rgba(0,0,0,0)", hovermode="closest",
        xaxis=dict(range=[-1.9, 1.9], visible=False, fixedrange=True),
        yaxis=dict(range=[-1.35, 1.35], visible=False, scaleanchor="x", scaleratio=1, fixedrange=True),
        legend=dict(orientation="h", x=0.5, xanchor="center", y=0.0, yanchor="top", font=dict(size=11),
                    itemclick=False, itemdoubleclick=False),
    )
    return _figure(traces, layout, height, margin=dict(l=4, r=4, t=36, b=4))


# ---------------------------------------------------------------------------- arithmetic
@dataclass(frozen=True)
class Fact:
    """One stated fact "var = const" or "var = src op const": its tokens and where they are."""

    var: str
    src: str | None
    op: str | None
    const: int
    start: int
    end: int          # position of its ";"
    window: int

    @property
    def text(self) -> str:
        return f"{self.var} = {self.const}" if self.src is None else f"{self.var} = {self.src} {self.op} {self.const}"


def arith_facts(tokens: Sequence[str], window: int) -> dict[str, Fact]:
    """Every fact of the sequence, by the variable it defines (each variable is defined once)."""
    out: dict[str, Fact] = {}
    for p in range(len(tokens) - 1):
        if tokens[p + 1] != "=" or tokens[p] in ("?", "ans"):
            continue
        end = p + 2
        while end < len(tokens) and tokens[end] != ";":
            end += 1
        body = tokens[p + 2:end]
        src, op, const = (None, None, int(body[0])) if len(body) == 1 else (body[0], body[1], int(body[2]))
        out[tokens[p]] = Fact(tokens[p], src, op, const, p, end, p // window)
    return out


@dataclass(frozen=True)
class ChainStep:
    """One fact on the answer's chain, with the value it produces."""

    fact: Fact
    value: int
    worked: str       # e.g. "g = 4 + 6 = 0 (mod 10)"


def arith_chain(facts: dict[str, Fact], chain: Sequence[str], modulus: int) -> list[ChainStep]:
    """The operations the answer needs, in the order they must be done (first the constant)."""
    values: dict[str, int] = {}
    out = []
    for var in chain:
        f = facts[var]
        if f.src is None:
            v = f.const % modulus
            worked = f"{var} = {v}"
        else:
            x = values[f.src]
            raw = x + f.const if f.op == "+" else x - f.const if f.op == "-" else x * f.const
            v = raw % modulus
            worked = f"{var} = {x} {f.op} {f.const} = {v}" + (f" (mod {modulus})" if raw != v else "")
        values[var] = v
        out.append(ChainStep(f, v, worked))
    return out


def arith_figure(tokens: Sequence[str], window: int, consolidation_windows: int, states: Sequence[str],
                 facts: dict[str, Fact], chain: Sequence[str], current: int | None = None,
                 prediction: Prediction | None = None, height: int | None = None) -> go.Figure:
    """The problem as token chips, one row per window: chips tinted by their window's colour while in
    the KV cache, grey once evicted (only S holds them), blank if not read yet. The question and the
    facts on the answer's chain are outlined in gold (with several questions, the one asking for the
    chain's last variable); the current token in black. In the prediction row the "?" chip turns
    green/red with the model's answer once it is given.

    Args:
        tokens: the sample's token texts.  window: L.  consolidation_windows: C.
        states: `token_states(...)` at the step shown.  facts: `arith_facts(...)`.
        chain: the variables on the answer's chain (the sample's raw "chain").
        current: position of the token being read (wake steps), else None.
        prediction: the model's answer once given (None before).
    """
    L = window
    rows = (len(tokens) + L - 1) // L
    on_chain = {p for v in chain if v in facts for p in range(facts[v].start, facts[v].end + 1)}
    question = {0, 1} if tokens[:1] == ["?"] else set()
    if not question and chain:   # several questions, asked after the facts: outline the one followed
        start = consolidation_windows * L
        question = next(({p, p + 1} for p in range(start, len(tokens) - 1)
                         if tokens[p] == chain[-1] and tokens[p + 1] == "?"), set())
    shapes, xs, ys, texts, hovers, colors = [], [], [], [], [], []
    for p, tok in enumerate(tokens):
        w, c = divmod(p, L)
        y = -w
        state = states[p]
        pad = tok == PAD
        if state == UNREAD:
            fill, ink = "white", MUTED
        elif state == IN_CACHE:
            fill, ink = _tint(window_color(w), 0.28 if not pad else 0.1), INK
        else:
            fill, ink = EMPTY, MUTED
        border, bw = (_tint(window_color(w), 0.9), 1.2) if not pad else ("#DADDE3", 0.8)
        if p in on_chain or p in question:
            border, bw = GOLD, 2.6
        label = "·" if pad else tok
        if prediction is not None and p == prediction.position:
            fill = RIGHT_COLOR if prediction.correct else WRONG_COLOR
            ink, label = "white", prediction.predicted
        if p == current:
            border, bw = INK, 3.2
        shapes.append(dict(type="rect", x0=c - 0.44, x1=c + 0.44, y0=y - 0.38, y1=y + 0.38, fillcolor=fill,
                           line=dict(color=border, width=bw), layer="below"))
        role = ("the question" if p in question else "on the answer's chain" if p in on_chain else
                "padding" if pad else "a distractor fact" if w < consolidation_windows else "")
        where = "prediction window" if w >= consolidation_windows else f"window {w + 1}"
        xs.append(c)
        ys.append(y)
        texts.append(f"<b>{label}</b>" if (p in on_chain or p in question) and not pad else label)
        colors.append(ink)
        hovers.append(f"'{tok}' · {where}, token {c + 1}<br>{STATE_WORDS[state]}" + (f"<br>{role}" if role else ""))
    traces = [dict(type="scatter", x=xs, y=ys, mode="markers+text", text=texts, hovertext=hovers, hoverinfo="text",
                   textfont=dict(size=13, color=colors), showlegend=False,
                   marker=dict(size=22, symbol="square", color="rgba(0,0,0,0)"))]

    annotations = []
    for w in range(rows):
        first = states[w * L]
        row_states = set(states[w * L:(w + 1) * L])
        state = first if len(row_states) == 1 else IN_CACHE if IN_CACHE in row_states else first
        name = "prediction" if w >= consolidation_windows else f"window {w + 1}"
        empty = all(t == PAD for t in tokens[w * L:(w + 1) * L])
        word = {UNREAD: "not read yet", IN_CACHE: "in KV cache", ONLY_S: "✂ evicted: only in S"}[state]
        annotations.append(dict(x=-0.6, y=-w, xref="x", yref="y", xanchor="right", showarrow=False,
                                text=f"<b>{name}</b>", font=dict(size=12, color=window_color(w)
                                                                   if w < consolidation_windows else INK)))
        annotations.append(dict(x=L - 0.3, y=-w, xref="x", yref="y", xanchor="left", showarrow=False,
                                text=word + (" (padding)" if empty else ""),
                                font=dict(size=11, color=INK if state == ONLY_S else MUTED)))
        if w > 0:
            shapes.append(dict(type="line", x0=-0.5, x1=L - 0.5, y0=-w + 0.5, y1=-w + 0.5,
                               line=dict(color="#C5C9D1", width=1, dash="dot")))
    row_end = (prediction.position // L + 1) * L if prediction is not None else 0
    if prediction is not None and all(t == PAD for t in tokens[prediction.position + 1:row_end]):
        # beside the answered "?" when nothing follows it (several questions: the answer box says it)
        mark = "✓" if prediction.correct else "✗"
        note = (f"model says <b>{prediction.predicted}</b> {mark} · true answer <b>{prediction.target}</b> · "
                f"p = {100 * prediction.confidence:.0f}%")
        c = prediction.position % L
        annotations.append(dict(x=c + 0.6, y=-(prediction.position // L), xref="x", yref="y", xanchor="left",
                                showarrow=False, text=note,
                                font=dict(size=12, color=RIGHT_COLOR if prediction.correct else WRONG_COLOR)))
    layout = dict(
        shapes=shapes, annotations=annotations, plot_bgcolor="rgba(0,0,0,0)", hovermode="closest",
        xaxis=dict(range=[-3.6, L + 4.4], visible=False, fixedrange=True),
        yaxis=dict(range=[-rows + 0.45, 0.55], visible=False, fixedrange=True),
    )
    return _figure(traces, layout, height or 40 * rows + 16, margin=dict(l=4, r=4, t=6, b=6))


# ---------------------------------------------------------------------------- the same task at several N
@dataclass(frozen=True)
class ByN:
    """Measured accuracy of the checkpoints trained with one N on one task (seeds averaged).

    exact / single: depth -> accuracy (all answers of a problem right / one answer right, or None).
    """

    passes: int
    names: tuple[str, ...]
    exact: dict[str, float]
    single: dict[str, float | None]


def by_n_figure(rows: Sequence[ByN], depth_word: str = "k", guess: dict[str, float] | None = None,
                height: int = 230) -> go.Figure:
    """Grouped bars: accuracy per depth, one bar per trained N (more sleep = deeper purple)."""
    traces = []
    for r in rows:
        depths = list(r.exact)
        hover = [f"N = {r.passes} ({', '.join(r.names)})<br>{depth_word} = {d}: {100 * r.exact[d]:.1f}% exact"
                 + (f"<br>single answers right: {100 * r.single[d]:.1f}%" if r.single.get(d) is not None else "")
                 for d in depths]
        traces.append(dict(type="bar", x=[f"{depth_word}={d}" for d in depths], y=[r.exact[d] for d in depths],
                           name=f"N = {r.passes}" + (f" ({len(r.names)} seeds)" if len(r.names) > 1 else ""),
                           marker=dict(color=passes_color(r.passes)), hovertext=hover, hoverinfo="text",
                           text=[f"{100 * r.exact[d]:.0f}%" for d in depths], textposition="outside",
                           cliponaxis=False))
    if guess:
        traces.append(dict(type="scatter", x=[f"{depth_word}={d}" for d in guess], y=list(guess.values()),
                           mode="markers", name="blind guess", marker=dict(symbol="line-ew-open", size=28,
                                                                           color=MUTED, line=dict(width=2)),
                           hoverinfo="skip"))
    return _figure(traces, dict(barmode="group", bargap=0.25, yaxis=dict(range=[0, 1.12], tickformat=".0%",
                                                                       title="all answers right", gridcolor="white"),
                                legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
                                plot_bgcolor="rgba(0,0,0,0)"), height, margin=dict(l=8, r=8, t=36, b=8),
                   automargin=True)
