"""Graphs and arithmetic: how a k-hop or arithmetic problem is laid out over windows, and what is left
of it (only the fast weights S) when the question comes. Stepping works like the Timeline page: one
traced forward pass per (checkpoint, sample, N), cached; every step is read from it.
"""

from __future__ import annotations

from html import escape

import numpy as np
import streamlit as st

from pages import lab
from sleepcore import viz
from sleepcore import viz_tasks as vt
from sleepcore.timeline import EVICT, SLEEP, WAKE, Timeline

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)
ss = st.session_state

# ---------------------------------------------------------------------------- session-state keys
DEPTH = "tk_depth"          # k (hops) or number of operations of the sample
QUERY = "tk_query"          # which of the sample's questions is shown (k-hop with several queries)
STEP = "tk_step"            # scrubber position (index into Timeline.steps)
STEP_OBJ = "tk_step_obj"    # the Step shown last (to keep the place when N or the sample changes)
TL_KEY = "tk_tl_key"        # identity of the timeline shown last

TASKS = {"khop": "k-hop graph retrieval", "arith": "multi-step arithmetic"}
DEPTH_LABELS = {"khop": "k: hops the answer needs", "arith": "Operations the answer needs"}
ACCURACY_FILE = lab.ACCURACY_FILE
KIND_WORD = {WAKE: "awake", SLEEP: "asleep", EVICT: "eviction"}


# ---------------------------------------------------------------------------- which checkpoints fit
def task_name(entry) -> str:
    return str(entry.task.get("name", "")) if entry is not None and entry.ok else ""


def task_entries(entries) -> dict[str, lab.Entry]:
    """Per task of this page: the checkpoint to offer (hybrids first, then the trained N closest to 4)."""
    out: dict[str, lab.Entry] = {}
    for e in sorted((e for e in entries if task_name(e) in TASKS),
                    key=lambda e: (not e.hybrid, abs(e.default_passes - 4), e.name)):
        out.setdefault(task_name(e), e)
    return out


def _switch(name: str, passes: int) -> None:
    ss[lab.CKPT] = name
    ss[lab.PASSES] = passes if passes in lab.PASS_CHOICES else 1
    ss[lab.PLAYING] = False


def switch_buttons(entries, current: str = "") -> None:
    """One button per task checkpoint other than the current task's."""
    offers = {t: e for t, e in task_entries(entries).items() if t != current}
    if not offers:
        return
    row = st.container(horizontal=True, gap="small")
    for t, e in offers.items():
        row.button(f"Show {TASKS[t]} ({e.name})", key=f"tk_switch_{t}", icon=":material/swap_horiz:",
                   on_click=_switch, args=(e.name, e.default_passes))


def wrong_kind(entry, entries) -> None:
    """The sidebar's checkpoint was not trained on these tasks: say so and offer the ones that are."""
    what = f"Rule {entry.rule}" if entry is not None and entry.rule is not None else (task_name(entry) or "another task")
    if task_entries(entries):
        st.info(f"**`{entry.name}` is a {what} model.** This page shows the k-hop and arithmetic tasks; switch to "
                "a checkpoint trained on one of them:", icon=":material/hub:")
        switch_buttons(entries)
    else:
        st.info(f"**`{entry.name}` is a {what} model**, and no checkpoint here was trained on k-hop retrieval or "
                "arithmetic. Train one with `python -m sleepcore.train --task khop --out checkpoints/NAME ...` "
                "(or `--task arith`).", icon=":material/hub:")
    st.stop()


# ---------------------------------------------------------------------------- honesty about the model
def accuracy_note(entry) -> bool:
    """Say how well the model does on the task (from its accuracy.json); returns whether it is at chance."""
    acc = lab.read_accuracy(entry.path, entry.mtime)
    if acc is None:
        st.caption(f"No measured accuracy ships with `{entry.name}` (no `{ACCURACY_FILE}`); one sample says little "
                   "about whether the model learned the task.")
        return False
    lo, hi = acc["ci95"]
    several = "answer_accuracy" in acc
    nums = (f"{100 * acc['accuracy']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] of {acc['samples']:,} fresh problems "
            + ("with every question right " if several else "") + f"at N = {acc['passes']}, where guessing "
            f"{acc['guess']['rule']} gets {100 * acc['guess']['accuracy']:.1f}% and always giving the most common "
            f"answer gets {100 * acc['chance']:.1f}%")
    if several:
        nums += (f"; {100 * acc['answer_accuracy']:.1f}% of single answers right (guessing: "
                 f"{100 * acc['answer_guess']['accuracy']:.1f}%). By k: " + ", ".join(
                     f"k={d} {100 * v['answer_accuracy']:.0f}%" for d, v in acc["per_depth"].items()))
    if acc.get("at_chance"):
        st.info(f"**This model has NOT learned the task**: its accuracy is at chance ({nums}). It ships so that you "
                "can see how the problem is laid out over windows and what is evicted before the question, not "
                "what a model that solves it does.", icon=":material/warning:")
    else:
        st.caption(f"Measured accuracy of `{entry.name}`: {nums}.")
    return bool(acc.get("at_chance"))


def same_task_by_n(entry, entries) -> list[vt.ByN]:
    """The checkpoints trained on exactly this task config that ship a measured accuracy, grouped by
    their trained N (seeds averaged)."""
    groups: dict[int, list[tuple[str, dict]]] = {}
    for e in entries:
        if not (e.ok and e.hybrid and e.task == entry.task and len(e.trained_passes) == 1):
            continue
        acc = lab.read_accuracy(e.path, e.mtime)
        if acc and acc.get("passes") == e.trained_passes[0]:
            groups.setdefault(e.trained_passes[0], []).append((e.name, acc))
    rows = []
    for n, members in sorted(groups.items()):
        depths = list(members[0][1]["per_depth"])
        if any(list(a["per_depth"]) != depths for _, a in members):
            continue

        def mean(field: str, d: str):
            vals = [a["per_depth"][d].get(field) for _, a in members]
            return None if any(v is None for v in vals) else sum(vals) / len(vals)
        rows.append(vt.ByN(n, tuple(name for name, _ in members), {d: mean("accuracy", d) for d in depths},
                           {d: mean("answer_accuracy", d) for d in depths}))
    return rows


def compare_by_n(entry, entries) -> None:
    """Same task, same budget, several N: the measured accuracy by depth (from each accuracy.json)."""
    rows = same_task_by_n(entry, entries)
    if len(rows) < 2:
        return
    acc = lab.read_accuracy(entry.path, entry.mtime) or {}
    word = "k" if task_name(entry) == "khop" else "ops"
    guess = (acc.get("guess") or {}).get("per_depth")
    with st.expander(f"Does sleep help on this task? Measured accuracy by {word} for N = "
                     + ", ".join(str(r.passes) for r in rows), expanded=True, icon=":material/bar_chart:"):
        lab.chart(vt.by_n_figure(rows, word, guess), key="tk_by_n", title="Accuracy by depth and N")
        deepest = list(rows[0].exact)[-1]
        st.caption(f"Checkpoints trained on this exact task with the same data and steps, differing in N, measured on "
                   f"fresh problems (`python experiments/task_evals.py`). At {word}={deepest}: "
                   + ", ".join(f"N = {r.passes} {100 * r.exact[deepest]:.0f}%" for r in rows)
                   + ". Hover a bar for the checkpoints and the share of single answers right.")


# ---------------------------------------------------------------------------- the stepper
def _go(i: int) -> None:
    ss[STEP] = i


def _move(delta: int, last: int) -> None:
    _go(max(0, min(last, int(ss.get(STEP) or 0) + delta)))


def _jump_from_ribbon() -> None:
    points = ss.get("tk_ribbon", {}).get("selection", {}).get("points", [])
    if points:
        ss[STEP] = int(points[0]["x"])


def query_index(tl: Timeline) -> int:
    """The question shown: 0, or the one picked when the sample asks several."""
    return max(0, min(len(tl.predictions) - 1, int(ss.get(QUERY) or 0)))


def question_step(tl: Timeline, q: int = 0) -> int:
    """The step at which the model answers question q (its query token in the prediction window)."""
    return tl.predictions[q].step if len(tl.predictions) > q else len(tl) - 1


def controls(tl: Timeline):
    """Buttons and scrubber; returns the slot for the Export menu (at the end of the button row)."""
    last, i = len(tl) - 1, ss[STEP]
    question = question_step(tl, query_index(tl))
    nxt = next((s.index for s in tl.steps[i + 1:] if s.kind == EVICT), None)
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    row.button("Start", icon=":material/first_page:", on_click=_go, args=(0,), key="tk_first", disabled=i == 0,
               shortcut="Home")
    row.button("Back", icon=":material/chevron_left:", on_click=_move, args=(-1, last), key="tk_back",
               disabled=i == 0, shortcut="Left")
    row.button("Forward", icon=":material/chevron_right:", on_click=_move, args=(1, last), key="tk_fwd",
               disabled=i == last, type="primary", shortcut="Right")
    row.button("Next eviction", icon=":material/content_cut:", on_click=_go, args=(nxt if nxt is not None else last,),
               key="tk_next_evict", disabled=nxt is None, help="Jump to the end of the current window")
    row.button("The question", icon=":material/help:", on_click=_go, args=(question,), key="tk_question",
               disabled=i == question, help="Jump to the step where the model answers", shortcut="End")
    slot = row.container(width="content")
    st.select_slider("Step", options=list(range(len(tl))), key=STEP, format_func=lambda k: tl.steps[k].short,
                     label_visibility="collapsed", help="Drag to scrub through the sample.")
    return slot


def status_html(tl: Timeline, i: int) -> str:
    s = tl.steps[i]
    badge = (f'<span style="background:{viz.KIND_COLORS[s.kind]};color:white;border-radius:6px;padding:2px 9px;'
             f'font-size:0.8rem;font-weight:600;letter-spacing:0.04em;margin-right:10px">'
             f'{KIND_WORD[s.kind].upper()}</span>')
    return (f'<div style="font-size:1.1rem;padding:4px 0 2px 0">{badge}{escape(tl.caption(i), quote=False)}'
            f'<span style="color:#888;font-size:0.85rem;margin-left:10px">step {i + 1} of {len(tl)}</span></div>')


def question_text(task, info: dict, q: int = 0) -> str:
    if task.name == "khop":
        start, k, _ = info["queries"][q]
        return f"where do you land {k} hop{'s' * (k > 1)} after {start}?"
    return f"what is {arith_question(info, q)[-1]}? (values are mod {task.modulus})"


def arith_question(info: dict, q: int = 0) -> list[str]:
    """The variables from a constant to the one question q asks (the sample's raw "chain" for one question)."""
    return info["queries"][q]["chain"] if "queries" in info else info["chain"]


def answered(tl: Timeline, i: int, q: int = 0):
    """The model's answer to question q once step i has reached it, else None."""
    p = tl.predictions[q] if len(tl.predictions) > q else None
    return p if p is not None and p.step <= i else None


def prediction_html(tl: Timeline, i: int, task, at_chance: bool = False, q: int = 0) -> str:
    box = ('<div style="border:1px solid {b};border-left:6px solid {b};border-radius:8px;padding:8px 12px;'
           'background:{bg};font-size:0.95rem;line-height:1.45">{body}</div>')
    question = escape(question_text(task, tl.info, q), quote=False)
    if len(tl.predictions) > 1:
        question = f"(question {q + 1} of {len(tl.predictions)}) " + question
    p = answered(tl, i, q)
    truth = escape(tl.predictions[q].target, quote=False) if tl.predictions else ""
    if p is None:
        body = (f"<b>The question:</b> {question}<br>It is asked after every fact's window was evicted: only S is "
                f"left. True answer: <b>{truth}</b>. Step to the question to see what the model says.")
        return box.format(b="#C9CDD4", bg="#F7F8FA", body=body)
    mark = "✓ right" if p.correct else "✗ wrong"
    body = (f"<b>The question:</b> {question}<br>Model says <b>{escape(p.predicted, quote=False)}</b> with "
            f"{100 * p.confidence:.1f}% (p of the true answer: {100 * p.p_target:.1f}%) · true answer <b>{truth}</b> "
            f"→ <b>{mark}</b>" + (" <i>(this model is at chance: a right answer is luck)</i>"
                                  if at_chance and p.correct else ""))
    color = viz.RIGHT_COLOR if p.correct else viz.WRONG_COLOR
    return box.format(b=color, bg="#F1FAF6" if p.correct else "#FDF3EE", body=body)


# ---------------------------------------------------------------------------- the task pictures
STATE_CODES = {vt.UNREAD: 0, vt.IN_CACHE: 1, vt.ONLY_S: 2}


def khop_panel(tl: Timeline, i: int, task, states: list[str], ex: lab.Exporter, q: int = 0) -> None:
    edges = vt.khop_edges(tl.tokens, task.window, task.consolidation_windows)
    fig = vt.khop_figure(tl.info, edges, states, answered(tl, i, q), query=q)
    node = {n: j for j, n in enumerate(task.vocab)}
    lab.chart(fig, key="tk_graph", export=ex, title="The cycle, its edges by window, and the query path",
              data={"edges_src_dst_window_state": np.array(
                  [[node[e.src], node[e.dst], e.window, STATE_CODES[states[e.position + 1]]] for e in edges])})
    st.caption("Nodes in cycle order; each arrow is one stated edge, coloured by the window that stated it: solid "
               "while that window is in the KV cache, dashed once it was evicted (only S can hold it), dotted grey if "
               "not read yet. Gold: the path the question follows, hop by hop. The sequence states the edges "
               "shuffled; the picture puts them back in order.")


def khop_needs(tl: Timeline, task, q: int = 0) -> None:
    path = vt.khop_path(tl.info, q)
    edges = {(e.src, e.dst): e for e in vt.khop_edges(tl.tokens, task.window, task.consolidation_windows)}
    st.markdown("### What the answer needs")
    rows = [f"| {h} | {a} → {b} | window {edges[(a, b)].window + 1} |" for h, (a, b) in
            enumerate(zip(path, path[1:]), start=1)]
    st.markdown("| hop | edge | stated in |\n|---|---|---|\n" + "\n".join(rows))
    windows = f"{task.consolidation_windows} window{'s' * (task.consolidation_windows > 1)}"
    st.caption(f"{len(path) - 1} edge{'s' * (len(path) > 2)} to chain, from {len(edges)} stated in {windows} of "
               f"{task.window} tokens. The facts are evicted before the question comes, and the model cannot know in "
               "advance which start node and k will be asked.")


def arith_panel(tl: Timeline, i: int, task, states: list[str], ex: lab.Exporter, q: int = 0) -> None:
    facts = vt.arith_facts(tl.tokens, task.window)
    s = tl.steps[i]
    fig = vt.arith_figure(tl.tokens, task.window, task.consolidation_windows, states, facts, arith_question(tl.info, q),
                          current=s.position if s.kind == WAKE else None, prediction=answered(tl, i, q))
    lab.chart(fig, key="tk_chips", export=ex, title="The problem as tokens, by window",
              data={"token_ids": np.array([task.index[t] for t in tl.tokens]),
                    "token_state": np.array([STATE_CODES[x] for x in states])})
    st.caption("One row per window of L tokens. Chips are tinted by their window while it is in the KV cache, grey "
               "once evicted (only S can hold them), blank if not read yet. Gold outline: the question and the facts "
               "the answer needs; black outline: the token being read.")


def arith_needs(tl: Timeline, task, q: int = 0) -> None:
    facts = vt.arith_facts(tl.tokens, task.window)
    chain = vt.arith_chain(facts, arith_question(tl.info, q), task.modulus)
    st.markdown("### The operations the answer needs")
    rows = [f"| {j} | {c.fact.text} | window {c.fact.window + 1} | {escape(c.worked, quote=False)} |"
            for j, c in enumerate(chain, start=1)]
    st.markdown("| step | fact | stated in | worked out |\n|---|---|---|---|\n" + "\n".join(rows))
    st.caption(f"{len(chain) - 1} operation{'s' * (len(chain) != 2)} after the constant, mod {task.modulus}, in this "
               f"order (the facts are stated shuffled), among {len(facts) - len(chain)} other facts. "
               + ("The question comes first, so sleep could know what to keep." if "queries" not in tl.info else
                  f"The {len(tl.info['queries'])} questions come after every fact was evicted, so sleep cannot know "
                  "which variables will be asked."))


def state_panel(tl: Timeline, i: int, ex: lab.Exporter) -> None:
    for b in tl.fast_layers:
        st.markdown(f"### Fast weights S · `blocks.{b}`")
        lab.chart(viz.state_figure(tl.state_at(i, b), tl.state_scale(b), b, tl.caption(i), height=190),
                  key=f"tk_S_{b}", export=ex, data={f"S_block{b}": tl.state_at(i, b)},
                  title=f"Fast weights S, block {b}")
        st.caption(f"The only memory that crosses an eviction (colours locked at ±{tl.state_scale(b):.2f} for this "
                   "sample).")
    if not tl.fast_layers:
        st.info("**No fast weights.** This model is attention only: once its cache is evicted it keeps nothing.",
                icon=":material/memory:")


def _pick_question(tl: Timeline) -> None:
    """Jump to the picked question's answer (the step where the model gives it)."""
    ss[STEP] = question_step(tl, query_index(tl))


def question_picker(tl: Timeline) -> None:
    """When the sample asks several questions (k-hop or arithmetic with Q queries), pick the one to follow."""
    n = len(tl.predictions)
    if n <= 1:
        ss[QUERY] = 0
        return
    if ss.get(QUERY) not in range(n):
        ss[QUERY] = 0
    marks = []
    for j, p in enumerate(tl.predictions):
        if isinstance(tl.info["queries"][j], dict):            # arithmetic: which variable, how many operations
            chain = tl.info["queries"][j]["chain"]
            marks.append(f"{j + 1}: {chain[-1]} ({len(chain) - 1} op{'s' * (len(chain) != 2)})")
        else:
            start, k, _ = tl.info["queries"][j]
            marks.append(f"{j + 1}: {k} hop{'s' * (k > 1)} from {start}")
    st.segmented_control(f"This sample asks {n} questions after the facts were evicted; follow one",
                         list(range(n)), key=QUERY, format_func=lambda j: marks[j], on_change=_pick_question, args=(tl,),
                         required=True, help="Each question asks its own thing; the picture, what the answer needs "
                                             "and the answer box follow the one picked. All are answered from S.")


def show(tl: Timeline, task, at_chance: bool) -> None:
    """The stepper and the synced panels, in a fragment: a step redraws only them."""

    def stepper() -> None:
        ex = lab.Exporter("Graphs and arithmetic")
        slot = controls(tl)
        i = ss[STEP]
        ss[STEP_OBJ] = tl.steps[i]
        lab.write_url("tasks")               # the fragment reruns alone: keep the link current
        states = vt.token_states(tl, i)
        ex.note(f"Step {i + 1} of {len(tl)}: {tl.caption(i)}")
        left, right = st.columns([3, 2], gap="medium", vertical_alignment="center")
        left.markdown(status_html(tl, i), unsafe_allow_html=True)
        q = query_index(tl)
        right.markdown(prediction_html(tl, i, task, at_chance, q), unsafe_allow_html=True)
        if task.name == "khop":        # a square picture: the graph beside what it needs and S
            pic, side = st.columns([3, 2], gap="medium")
            with pic:
                khop_panel(tl, i, task, states, ex, q)
            with side:
                khop_needs(tl, task, q)
                state_panel(tl, i, ex)
        else:                          # a wide picture: the chips across, the operations and S below
            arith_panel(tl, i, task, states, ex, q)
            ops, side = st.columns([3, 2], gap="medium")
            with ops:
                arith_needs(tl, task, q)
            with side:
                state_panel(tl, i, ex)
        st.markdown("### The whole sample")
        lab.chart(viz.ribbon_figure(tl, i), key="tk_ribbon", on_select=_jump_from_ribbon, selection_mode="points",
                  export=ex, title="The whole sample: KV cache and ||S||", data={"kv_occupancy": tl.occupancy})
        st.caption("Bars: KV-cache entries after each step, coloured wake / sleep / evict; they drop to nothing at "
                   "each eviction ✂. Line: the size of the fast weights ‖S‖, the only thing that crosses it. Click a "
                   "bar to jump there.")
        ex.menu(slot)

    st.fragment(stepper)()


def main() -> None:
    entry, _, _, task = lab.require_model()
    _, entries, _ = lab.selected_entry()
    st.title("Graphs and arithmetic")
    st.caption("Two harder tasks, step by step: the facts (a graph's edges, or arithmetic definitions) fill one or "
               "more windows, each is slept on and evicted, and the questions come when only the fast weights S are "
               "left.")
    if task.name not in TASKS:
        wrong_kind(entry, entries)
    at_chance = accuracy_note(entry)
    compare_by_n(entry, entries)
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    depths = list(task.depths)
    if ss.get(DEPTH) not in depths:
        ss[DEPTH] = depths[min(1, len(depths) - 1)]
    with left:
        st.select_slider(DEPTH_LABELS[task.name], depths, key=DEPTH,
                         help="The sample's depth: more hops or operations is a harder question.")
    with right:
        switch_buttons(entries, task.name)
    passes = int(ss[lab.PASSES])
    key = (entry.path, entry.mtime, int(ss[lab.SEED]), int(ss[DEPTH]), passes)
    try:
        tl = lab.timeline_for(*key)
    except lab.LabError as e:
        st.error(str(e), icon=":material/error:")
        st.stop()
    if ss.get(TL_KEY) != key:
        old, same_model = ss.get(STEP_OBJ), (ss.get(TL_KEY) or (None,))[0] == entry.path
        # Another sample or N keeps the place; a first visit (unless a link set the step) or another
        # checkpoint opens at the question, where the whole layout and the answer are on show.
        if old is not None and same_model:
            ss[STEP] = tl.closest_step(old)
        elif ss.get(TL_KEY) is not None or ss.get(STEP) is None:
            ss[STEP] = question_step(tl, query_index(tl))
        ss[TL_KEY] = key
    ss[STEP] = max(0, min(len(tl) - 1, int(ss.get(STEP) or 0)))
    warning = lab.passes_warning(entry, passes)
    if warning:
        st.caption(f"⚠ {warning}")
    question_picker(tl)
    show(tl, task, at_chance)


main()
