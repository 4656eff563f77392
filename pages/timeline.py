"""Timeline: scrub one sample through its wake tokens, sleep passes and eviction, and watch the memory.

One traced forward pass per (checkpoint, sample, N) is cached; every step of the scrubber is read
from it (`sleepcore.timeline`), so stepping never runs the model.
"""

from __future__ import annotations

import time
from html import escape

import numpy as np
import streamlit as st

from pages import lab
from sleepcore import viz
from sleepcore.timeline import EVICT, SLEEP, WAKE, Timeline

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)

ss = st.session_state
KIND_WORD = {WAKE: "awake", SLEEP: "asleep", EVICT: "eviction"}
DEPTH_LABELS = {"eca": "Depth t: automaton steps the answer needs", "khop": "Depth k: hops the answer needs",
                "arith": "Depth: operations the answer needs"}
SPEED_LABELS = {"slow": "½× speed", "normal": "1× speed", "fast": "2× speed"}
SET_STEPS = "tl_set_steps"   # (step, time) for each step the app itself put on the slider in the last ECHO_S
ECHO_S = 5.0


def _set_step(i: int) -> None:
    """Put step i on the slider, and remember it: see `_scrubbed`."""
    ss[lab.STEP] = i
    now = time.monotonic()
    ss[SET_STEPS] = [(v, t) for v, t in ss.get(SET_STEPS, []) if now - t < ECHO_S] + [(i, now)]


def _go(i: int) -> None:
    _set_step(i)
    ss[lab.PLAYING] = False


def _move(delta: int, last: int) -> None:
    """Relative, so two quick clicks move two steps."""
    _go(max(0, min(last, int(ss.get(lab.STEP) or 0) + delta)))


def _set_playing(on: bool, last: int) -> None:
    """Play or pause: a state, not a toggle. While playing, Streamlit can deliver one button press twice
    (the press rides on the playback tick that leaves the browser with it, as well as on its own rerun);
    a toggle then paused and restarted playback at once. Setting a state makes the repeat harmless."""
    if on and not ss[lab.PLAYING] and ss[lab.STEP] >= last:
        _set_step(0)
    ss[lab.PLAYING] = on


def _pause() -> None:
    ss[lab.PLAYING] = False


def _scrubbed() -> None:
    """The step slider moved: a drag pauses playback. But while playing on a busy machine a playback tick
    can leave the browser before the previous tick's redraw arrives, carrying the slider value the browser
    still shows; Streamlit then reports the slider as moved back. Such an echo of a step the app itself set
    a moment ago is not a drag: it must neither pause playback nor rewind it (it did both, at random)."""
    now = time.monotonic()
    recent = [v for v, t in ss.get(SET_STEPS, []) if now - t < ECHO_S]
    if recent and ss[lab.STEP] != recent[-1] and ss[lab.STEP] in recent[:-1]:
        ss[lab.STEP] = recent[-1]
        return
    ss[lab.PLAYING] = False


def _jump_from_ribbon() -> None:
    points = ss.get("tl_ribbon", {}).get("selection", {}).get("points", [])
    if points:
        _set_step(int(points[0]["x"]))
        ss[lab.PLAYING] = False


def header(entry, task) -> tuple | None:
    """Title row with the depth picker; returns the custom initial state if one was sent here."""
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        st.title("Timeline")
        st.caption("Step through one input the model never saw in training: its tokens arrive one by one (wake), "
                   "then the model sleeps N passes over the window, then the attention cache is evicted and only "
                   "the fast weights S remain to answer the question.")
    depths = list(task.depths)
    if ss.get(lab.DEPTH) not in depths:
        ss[lab.DEPTH] = min(depths, key=lambda d: abs(d - int(ss.get(lab.DEPTH) or 0)))
    with right:
        st.select_slider(DEPTH_LABELS.get(getattr(task, "name", ""), "Depth: reasoning steps the answer needs"),
                         depths, key=lab.DEPTH,
                         on_change=_pause, persist_state="session",
                         help="The harder the question, the more computation the sleep must do.")
    custom = ss.get(lab.CUSTOM_STATE)
    if custom is not None:
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.info("Showing the initial state you built on the *Cellular automaton* page "
                f"({''.join(map(str, custom))}).", icon=":material/grid_on:")
        c2.button("Use the seed instead", key="tl_clear_custom", on_click=ss.__setitem__,
                  args=(lab.CUSTOM_STATE, None))
    return tuple(custom) if custom is not None else None


def status_html(tl: Timeline, i: int) -> str:
    s = tl.steps[i]
    color = viz.KIND_COLORS[s.kind]
    badge = (f'<span style="background:{color};color:white;border-radius:6px;padding:2px 9px;font-size:0.8rem;'
             f'font-weight:600;letter-spacing:0.04em;margin-right:10px">{KIND_WORD[s.kind].upper()}</span>')
    return (f'<div style="font-size:1.15rem;padding:4px 0 2px 0">{badge}{escape(tl.caption(i), quote=False)}'
            f'<span style="color:#888;font-size:0.85rem;margin-left:10px">step {i + 1} of {len(tl)}</span></div>')


def cells_html(values: list[str], wrong: list[bool] | None = None) -> str:
    """A row of automaton cells as small squares (dark = 1), the wrong ones outlined: for answer boxes."""
    wrong = wrong or [False] * len(values)
    return '<span style="white-space:nowrap">' + "".join(
        f'<span title="cell {j}: {escape(v, quote=True)}" style="display:inline-block;width:11px;height:11px;'
        f'margin:1px;vertical-align:middle;border-radius:2px;background:{"#1F2A44" if v == "1" else "#F4EFE6"};'
        f'outline:{"2.5px solid " + viz.WRONG_COLOR if w else "1px solid #C9CDD4"};outline-offset:-1px"></span>'
        for j, (v, w) in enumerate(zip(values, wrong))) + "</span>"


def prediction_html(tl: Timeline, i: int) -> str:
    info = tl.info
    t = info.get("steps")
    n_asked = len(tl.predictions)
    # one state asked for cells 0..Q-1 (task cells=Q): show them as rows; several states (the paper's layout)
    # ask cell 0 of each, one line per state
    row = t is not None and n_asked > 1 and len(info.get("states") or []) == 1
    question = (f"what are cells 0..{n_asked - 1} after t = {t} steps?" if row
                else f"what is cell 0 after t = {t} steps?" if t is not None else "the answer at each query")
    done = tl.predictions_until(i)
    box = ('<div style="border:1px solid {b};border-left:6px solid {b};border-radius:8px;padding:8px 12px;'
           'background:{bg};font-size:0.95rem;line-height:1.45">{body}</div>')
    if not done:
        truth = (cells_html([p.target for p in tl.predictions]) if row
                 else "<b>" + ", ".join(escape(p.target, quote=False) for p in tl.predictions) + "</b>")
        body = (f"<b>The question</b> ({question}) comes after the eviction, when only S is left."
                f"<br>True answer: {truth}. Step to the end to see what the model says.")
        return box.format(b="#C9CDD4", bg="#F7F8FA", body=body)
    ok = all(p.correct for p in done)
    color = viz.RIGHT_COLOR if ok else viz.WRONG_COLOR
    if row:
        right = sum(p.correct for p in done)
        asked = f"{len(done)} of {n_asked} cells answered so far; " if len(done) < n_asked else ""
        body = (f"<b>The question:</b> {question}<br>{asked}<b>{right} of {len(done)} right</b>"
                f"{' → ✓ the whole row' if ok and len(done) == n_asked else ''} · mean confidence "
                f"{100 * sum(p.confidence for p in done) / len(done):.1f}%"
                f"<br><span style='display:inline-block;width:3.2em'>model</span>"
                f"{cells_html([p.predicted for p in done], [not p.correct for p in done])}"
                f"<br><span style='display:inline-block;width:3.2em'>true</span>"
                f"{cells_html([p.target for p in done])}")
        return box.format(b=color, bg="#F1FAF6" if ok else "#FDF3EE", body=body)
    lines = []
    for p in done:
        mark = "✓ right" if p.correct else "✗ wrong"
        lines.append(f"Model says <b>{escape(p.predicted, quote=False)}</b> with {100 * p.confidence:.1f}% · true answer "
                     f"<b>{escape(p.target, quote=False)}</b> → <b>{mark}</b>")
    return box.format(b=color, bg="#F1FAF6" if ok else "#FDF3EE",
                      body=f"<b>The question:</b> {question}<br>" + "<br>".join(lines))


def controls(tl: Timeline):
    last = len(tl) - 1
    i = ss[lab.STEP]
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    row.button("Start", icon=":material/first_page:", on_click=_go, args=(0,), key="tl_first", disabled=i == 0,
               shortcut="Home")
    row.button("Back", icon=":material/chevron_left:", on_click=_move, args=(-1, last), key="tl_back",
               disabled=i == 0, shortcut="Left")
    # two buttons in one place, so a press is bound to what the button said when it was pressed
    if ss[lab.PLAYING]:
        row.button("Pause", icon=":material/pause:", on_click=_set_playing, args=(False, last), key="tl_pause",
                   type="primary", shortcut="Space")
    else:
        row.button("Play", icon=":material/play_arrow:", on_click=_set_playing, args=(True, last), key="tl_play",
                   type="primary", shortcut="Space")
    row.button("Forward", icon=":material/chevron_right:", on_click=_move, args=(1, last), key="tl_fwd",
               disabled=i == last, shortcut="Right")
    row.button("End", icon=":material/last_page:", on_click=_go, args=(last,), key="tl_last", disabled=i == last,
               shortcut="End")
    nxt = next((s.index for s in tl.steps[i + 1:] if s.kind != WAKE), None)
    row.button("Sleep", icon=":material/bedtime:", help="Jump to the next sleep pass or eviction", on_click=_go,
               args=(nxt if nxt is not None else last,), key="tl_next_sleep", disabled=nxt is None, shortcut="S")
    row.selectbox("Playback speed", list(lab.SPEEDS), key=lab.SPEED, label_visibility="collapsed", width=128,
                  format_func=SPEED_LABELS.get, persist_state="session", help="Playback speed")
    return row.container(width="content")   # the Export menu's place, filled once every figure is added


def fast_panels(tl: Timeline, i: int, where: str, ex: lab.Exporter) -> None:
    if not tl.fast_layers:
        st.info("**No fast weights.** This model is attention only: once its cache is evicted it keeps nothing "
                "about the window.", icon=":material/memory:")
        return
    for b in tl.fast_layers:
        left, right = st.columns([1, 1], gap="medium")
        with left:
            st.markdown(f"### Fast weights S · `blocks.{b}`")
            lab.chart(viz.state_figure(tl.state_at(i, b), tl.state_scale(b), b, where), key=f"tl_S_{b}", export=ex,
                      data={f"S_block{b}": tl.state_at(i, b)}, title=f"Fast weights S, block {b}")
            st.caption(f"The memory that survives eviction: one {tl.states[b].shape[-2]}×{tl.states[b].shape[-1]} "
                       f"matrix per head (rows k, columns v). Colours are locked for this sample "
                       f"(±{tl.state_scale(b):.2f}), "
                       "so paler really means smaller. Watch it fill while awake and keep changing while asleep.")
        with right:
            st.markdown(f"### Change ΔS made by this step · `blocks.{b}`")
            lab.chart(viz.state_figure(tl.dstate_at(i, b), tl.dstate_scale(b), b, where, name="ΔS"), key=f"tl_dS_{b}",
                      export=ex, data={f"dS_block{b}": tl.dstate_at(i, b)}, title=f"Change of S by this step, block {b}")
            st.caption("What this step wrote into S: one token's write while awake, a whole re-read of the window in a "
                       f"sleep pass, nothing at an eviction (locked range ±{tl.dstate_scale(b):.2f}).")


def pass_panel(tl: Timeline, i: int, ex: lab.Exporter) -> None:
    """||dS|| per pass over the current window, under the ribbon."""
    for b in tl.fast_layers:
        passes, norms, current = tl.pass_norms(i, b)
        lab.chart(viz.pass_norm_figure(passes, norms, current, height=125), key=f"tl_norms_{b}", export=ex,
                  data={f"dS_norm_per_pass_block{b}": norms}, title=f"||dS|| per pass, block {b}")
    if tl.fast_layers:
        st.caption("How much each pass over this window changed S (‖ΔS‖, bars per head; the current pass is solid). "
                   "If later sleep passes still change S, more sleep is still doing work.")


def attention_and_gates(tl: Timeline, i: int, where: str, ex: lab.Exporter) -> None:
    left, right = st.columns([1, 1], gap="medium")
    s = tl.steps[i]
    with left:
        for b in tl.attention_layers:
            st.markdown(f"### Attention · `blocks.{b}`")
            view = tl.attention_at(i, b)
            if view is None:
                st.info("The KV cache was just evicted: there is nothing left to attend to.",
                        icon=":material/delete_sweep:")
                continue
            if len(view.key_positions) == 1 and s.kind == WAKE and s.offset == 0 and s.window > 0:
                st.info(f"The cache holds only '{view.key_labels[0]}' itself: everything before it was evicted, so "
                        "attention has nothing to read. Whatever the model knows now comes from S.",
                        icon=":material/delete_sweep:")
                continue
            lab.chart(viz.attention_figure(view, b, where), key=f"tl_attn_{b}", export=ex,
                      data={f"attention_block{b}": view.pattern, f"attention_key_positions_block{b}": view.key_positions},
                      title=f"Attention, block {b}")
        st.caption("Rows: query tokens of the current window; columns: the keys they can read (blank = not yet "
                   "computed or not visible). Awake, rows appear one token at a time; each sleep pass recomputes them "
                   "all from the refined hidden states.")
    with right:
        for b in tl.fast_layers:
            st.markdown(f"### Gates and writes · `blocks.{b}`")
            view = tl.gates_at(i, b)
            if view is None:
                st.info("Eviction: no token is read, so nothing is written.", icon=":material/edit_off:")
                continue
            lab.chart(viz.gates_figure(view, b, where, s.kind), key=f"tl_gates_{b}", export=ex,
                      data={f"alpha_block{b}": view.alpha, f"beta_block{b}": view.beta, f"write_block{b}": view.write},
                      title=f"Gates and writes, block {b}")
        if tl.fast_layers:
            st.caption("Per token: α = how much of S is kept (1 = forget nothing), β = how strongly the token writes, "
                       "bars = the size of the write ‖δ‖ it actually made. Compare a sleep pass with the wake pass: "
                       "which tokens get rewritten?")


def sample_panel(tl: Timeline, task, ex: lab.Exporter, i: int | None = None) -> None:
    info = tl.info
    if getattr(task, "name", "") != "eca" or "states" not in info or len(info["states"]) != 1:
        return
    t = int(info["steps"])
    rows = lab.true_diagram(info["states"][0], info["rule"], t, info.get("boundary", "periodic"))
    asked = len(tl.predictions) or 1
    done = tl.predictions_until(i) if i is not None else []
    wrong = None
    if done and asked > 1:                       # the answers so far: outline the wrong ones on row t
        wrong = np.zeros(rows.shape, dtype=bool)
        for j, p in enumerate(done):
            wrong[t, j] = not p.correct
    st.markdown(f"### The question, worked out (t = {t})")
    lab.chart(viz.spacetime_figure(rows, "", wrong=wrong, mark=[(t, j) for j in range(asked)], cell=18),
              key="tl_sample", export=ex, data={"true_diagram": rows}, title="The question, worked out")
    st.caption(f"The input (row 0) run t steps by rule {info['rule']}. The model sees only row 0; "
               + ("the circled cell is the answer it must give once the window is evicted." if asked == 1 else
                  f"cells 0..{asked - 1} of row t (framed) are the answers it must give once the window is evicted"
                  + (", the wrong ones outlined in vermillion." if done else ".")))


def show(tl: Timeline, task) -> None:
    """The controls and the synced panels, in a fragment: a step redraws only them (not the sidebar or
    the header). While playing, the fragment also reruns itself on a timer, one step further each time;
    play / pause / speed changes rerun the whole app so the timer is declared anew."""
    playing, speed = ss[lab.PLAYING], ss[lab.SPEED]

    def player() -> None:
        if ss[lab.PLAYING] != playing or (playing and ss[lab.SPEED] != speed):
            st.rerun()  # paused or re-timed inside the fragment: rerun the app to redeclare it
        last = len(tl) - 1
        if playing:
            if ss[lab.STEP] >= last:
                ss[lab.PLAYING] = False
                st.rerun()
            _set_step(min(last, ss[lab.STEP] + 1))
        ex = lab.Exporter("Timeline")
        export_slot = controls(tl)
        st.select_slider("Step", options=list(range(len(tl))), key=lab.STEP, format_func=lambda k: tl.steps[k].short,
                         on_change=_scrubbed, label_visibility="collapsed",
                         help="Drag to scrub through the sample (dragging pauses playback).")
        i = ss[lab.STEP]
        ss[lab.STEP_OBJ] = tl.steps[i]
        lab.write_url("timeline")            # the fragment reruns alone: keep the link's step current
        where = tl.caption(i)
        top_left, top_right = st.columns([3, 2], gap="medium", vertical_alignment="center")
        top_left.markdown(status_html(tl, i), unsafe_allow_html=True)
        top_right.markdown(prediction_html(tl, i), unsafe_allow_html=True)
        ex.note(f"Step {i + 1} of {len(tl)}: {where}")
        fast_panels(tl, i, where, ex)
        mid_left, mid_right = st.columns([3, 2], gap="medium")
        with mid_left:
            st.markdown("### The whole sample")
            lab.chart(viz.ribbon_figure(tl, i), key="tl_ribbon", on_select=_jump_from_ribbon, export=ex,
                      title="The whole sample: KV cache and ||S||",
                      selection_mode="points")
            st.caption("Bars: KV-cache entries after each step, coloured wake / sleep / evict; they fill while awake "
                       "and drop at the eviction ✂. Line: the size of the fast weights ‖S‖, the only thing that "
                       "crosses it. Click a bar to jump there.")
            pass_panel(tl, i, ex)
        with mid_right:
            sample_panel(tl, task, ex, i)
        attention_and_gates(tl, i, where, ex)
        ex.menu(export_slot)

    st.fragment(player, run_every=lab.SPEEDS.get(speed, 0.5) if playing else None)()


def main() -> None:
    entry, _, _, task = lab.require_model()
    custom = header(entry, task)
    lab.not_learned_warning(entry)
    passes = int(ss[lab.PASSES])
    key = (entry.path, entry.mtime, int(ss[lab.SEED]), int(ss[lab.DEPTH]), passes, custom)
    try:
        tl = lab.timeline_for(*key)
    except lab.LabError as e:
        st.error(str(e), icon=":material/error:")
        st.stop()
    if ss.get(lab.TL_KEY) != key:
        old = ss.get(lab.STEP_OBJ)
        # a new sample or N keeps the place; the first timeline of a session keeps the step a link asked for
        ss[lab.STEP] = tl.closest_step(old) if old is not None else int(ss.get(lab.STEP) or 0)
        ss[lab.TL_KEY] = key
    ss[lab.STEP] = max(0, min(len(tl) - 1, int(ss.get(lab.STEP) or 0)))
    warning = lab.passes_warning(entry, passes)
    if warning:
        st.caption(f"⚠ {warning}")
    show(tl, task)


main()
