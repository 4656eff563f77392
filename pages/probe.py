"""Memory probe: query the fast weights with the keys of a consolidated window and show what comes back.

For one sample (sidebar checkpoint, N and seed), every pass n over the window and every token i:
r = S_n^T k_i, recall = cos(r, v_i) and the residual ||v_i - S_n^T k_i|| (what the delta rule would
still write). The computation is `sleepcore.probe`; the figures are `sleepcore.viz_memory`.
"""

from __future__ import annotations

import streamlit as st

from pages import lab
from sleepcore import probe, viz_memory

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)

ss = st.session_state
DEPTH = "probe_depth"      # depth t of the sample
LAYER = "probe_layer"      # fast-weight block probed
WINDOW = "probe_window"    # consolidated window probed (tasks with several)
TOKEN = "probe_token"      # position whose v and S^T k are drawn as bars
PASS = "probe_pass"        # pass of those bars
ROWS_RUN = "probe_rows_run"  # (checkpoint path, mtime, depth, N) the row probe was last asked for
STATE_KEYS = (DEPTH, LAYER, WINDOW, TOKEN, PASS, ROWS_RUN)
ROW_SAMPLES = 300            # held-out inputs of the row probe: half fit, half score
DEPTH_LABELS = {"eca": "Depth t: automaton steps the answer needs", "khop": "Depth k: hops the answer needs",
                "arith": "Depth: operations the answer needs"}


@st.cache_data(show_spinner=False, max_entries=256)
def probes_for(path: str, mtime: float, seed: int, depth: int, passes: int) -> dict:
    """{(layer, window): MemoryProbe} for every fast-weight block and consolidated window of one sample."""
    model, _, task = lab._load(path, mtime)
    sample = lab.sample_for(task, seed, depth)
    trace = probe.probe_trace(model, sample.tokens, sample.targets, passes)
    windows = probe.consolidated_windows(sample.targets, model.sleep_cfg.window)
    return {(i, w): probe.memory_probe(trace, i, w, task.vocab) for i in model.cfg.fast_layers for w in windows}


@st.cache_data(show_spinner=False, max_entries=32)
def rows_for(path: str, mtime: float, depth: int, passes: int) -> probe.PassProbe:
    """The pass-by-pass row probe of a whole-row automaton model (`sleepcore.probe.pass_probe`)."""
    model, _, task = lab._load(path, mtime)
    return probe.pass_probe(model, task, depth, ROW_SAMPLES, passes=passes)


def _use(name: str) -> None:
    ss[lab.CKPT] = name
    ss[lab.PASSES] = lab.find(lab.catalog(), name).default_passes


def no_fast_weights(entry, entries) -> None:
    st.info(f"`{entry.name}` ({entry.description}) has no fast-weight block, so there is no memory S to probe: "
            "everything it knows about the past is in its attention cache. Pick a hybrid checkpoint (layers with "
            "an F) in the sidebar.", icon=":material/info:")
    hybrids = [e for e in entries if e.ok and e.hybrid]
    if hybrids:
        best = next((e for e in hybrids if e.name == "rule110-n4"), hybrids[0])
        st.button(f"Probe `{best.name}` instead", key="probe_use_hybrid", on_click=_use, args=(best.name,),
                  icon=":material/swap_horiz:")


def pick(key: str, options: list, default) -> None:
    """Keep a session value valid for the current options."""
    if ss.get(key) not in options:
        ss[key] = default if default in options else options[0]


def controls(task, probes: dict) -> tuple[int, int]:
    layers = sorted({k[0] for k in probes})
    windows = sorted({k[1] for k in probes})
    pick(LAYER, layers, layers[-1])
    pick(WINDOW, windows, windows[0])
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    if len(layers) > 1:
        row.selectbox("Fast-weight block", layers, key=LAYER, width=150)
    if len(windows) > 1:
        row.selectbox("Consolidated window", windows, key=WINDOW, format_func=lambda w: f"window {w + 1}",
                      width=190, help="The windows that sleep (they hold no question).")
    return ss[LAYER], ss[WINDOW]


def headline(pr) -> None:
    rec, res = pr.mean_recall().mean(1), pr.mean_residual().mean(1)
    c1, c2, c3 = st.columns(3)
    c1.metric("Mean recall after the wake pass", f"{rec[0]:.2f}")
    if pr.passes > 1:
        c2.metric(f"… after pass {pr.passes}", f"{rec[-1]:.2f}", f"{rec[-1] - rec[0]:+.2f}")
        c3.metric(f"Mean residual, wake → pass {pr.passes}", f"{res[-1]:.2f}",
                  f"{100 * (res[-1] - res[0]) / max(res[0], 1e-9):+.0f}%", delta_color="inverse")
    else:
        c2.metric("Mean residual ‖v − Sᵀk‖", f"{res[0]:.2f}")
        c3.caption("N = 1: the wake pass only. Raise N in the sidebar to watch sleep finish the writing.")


def token_panel(pr, ex) -> None:
    st.markdown("#### One token: what it wrote, what comes back")
    positions = list(range(len(pr.tokens)))
    pick(TOKEN, positions, 1 if len(positions) > 1 else 0)
    pick(PASS, list(range(1, pr.passes + 1)), pr.passes)
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    row.selectbox("Token", positions, key=TOKEN, width=200,
                  format_func=lambda i: f"position {i}: '{pr.tokens[i]}'" if pr.tokens else f"position {i}")
    row.select_slider("Pass", list(range(1, pr.passes + 1)), key=PASS, width=260,
                      format_func=lambda n: "1 (wake)" if n == 1 else str(n), disabled=pr.passes == 1)
    i, n = ss[TOKEN], ss[PASS]
    fig = viz_memory.token_bars_figure(pr, i, n)
    lab.chart(fig, key="probe_bars", export=ex, data={"token_value": pr.values[n - 1, i],
                                                        "token_retrieved": pr.retrieved[n - 1, i]},
              title="One token: v against S^T k")
    st.caption("Each bar is one of the value's dimensions. Dark: the value v the token wrote in this pass. Purple: "
               "what the memory returns when asked with the token's key. Bars that match = a clean memory; the "
               "gap between them is the residual.")


def rows_panel(entry, task, passes: int, ex) -> None:
    """Many held-out inputs at once: which rows of the automaton a linear probe reads from S after each pass."""
    st.markdown("#### Which rows of the automaton can the memory give back, pass by pass?")
    reason = probe.pass_probe_unsupported(task)
    if reason:
        st.caption(f"This view needs a model asked for the whole row (the shipped `rule110-cells-*`): {reason}.")
        whole = [e.name for e in lab.catalog() if e.ok and e.name.startswith("rule110-cells")]
        if whole:
            best = "rule110-cells-n4-seed1" if "rule110-cells-n4-seed1" in whole else whole[0]
            st.button(f"Probe `{best}` instead", key="probe_rows_use", on_click=_use, args=(best,),
                      icon=":material/swap_horiz:")
        return
    depth = int(ss[DEPTH])
    st.caption(f"For {ROW_SAMPLES} held-out inputs at t = {depth}, a linear probe is fitted (on half of them, scored "
               "on the other half) to read each cell of the automaton's row after s steps from what the queries get "
               "back from S after the eviction, had the model slept n passes. s = 0 is the input, s = t the answer. "
               "Grey dashes: the same probe reading the input row itself, i.e. what a read with no computation gets.")
    wanted = (entry.path, entry.mtime, depth, passes)
    if ss.get(ROWS_RUN) != wanted:                  # measured only when asked: it takes seconds, not a blink
        st.button(f"Measure at t = {depth} with N = {passes} (a few seconds)", key="probe_rows_go",
                  icon=":material/query_stats:", on_click=ss.__setitem__, args=(ROWS_RUN, wanted))
        return
    with st.spinner(f"Running {passes} sleeps and fitting {passes * (depth + 1)} probes…"):
        pp = rows_for(entry.path, entry.mtime, depth, passes)
    lab.chart(viz_memory.pass_probe_figure(pp), key="probe_rows", export=ex,
              data={"memory_by_pass": pp.memory, "input_row": pp.input, "chance": pp.chance},
              title="Rows of the automaton read from the memory after each pass")
    last, before = pp.memory[-1][depth], (pp.memory[-2][depth] if passes > 1 else None)
    st.caption(f"After pass {passes} the answer row is read right on {last:.0%} of cells"
               + (f", after pass {passes - 1} on {before:.0%}" if before is not None else "")
               + f" (the input row alone gives {pp.input[depth]:.0%}). If sleep computed the rollout one row at a "
               "time, each pass would lift the next row; docs/results.md measures this on all seven whole-row models.")


def main() -> None:
    st.title("Memory probe")
    st.caption("Ask the fast weights S, after each pass over a window the model consolidates, to give back what "
               "each token wrote: recall near 1 means the memory returns what was written; a residual that "
               "shrinks over the passes is sleep finishing the writing.")
    entry, model, cfg, task = lab.require_model()
    if not model.cfg.fast_layers:
        no_fast_weights(entry, lab.catalog())
        return
    lab.not_learned_warning(entry)
    depths = list(task.depths)
    pick(DEPTH, depths, ss.get(lab.DEPTH) if ss.get(lab.DEPTH) in depths else depths[-1])
    st.select_slider(DEPTH_LABELS.get(getattr(task, "name", ""), "Depth: reasoning steps the answer needs"),
                     depths, key=DEPTH, width=420,
                     help="Which held-out sample to probe (sample seed in the sidebar).")
    passes = int(ss.get(lab.PASSES) or entry.default_passes)
    seed = int(ss.get(lab.SEED) or 0)
    probes = probes_for(entry.path, entry.mtime, seed, int(ss[DEPTH]), passes)
    if not probes:
        st.info("This sample has no window that is consolidated (every window holds a question), so nothing sleeps "
                "and there is nothing to probe. Try another depth or seed.", icon=":material/info:")
        return
    layer, window = controls(task, probes)
    pr = probes[(layer, window)]
    ex = lab.Exporter("Memory probe")
    ex.note(f"checkpoint {entry.name}, N = {passes}, seed {seed}, depth {ss[DEPTH]}, block {layer}, "
            f"window {window + 1}")
    if entry.eviction == "none":
        st.info("This model keeps its cache and never sleeps: only the wake pass is shown.", icon=":material/info:")
    headline(pr)

    st.markdown("#### Recall: does S return what each token wrote?")
    lab.chart(viz_memory.probe_heatmap(pr, "recall"), key="probe_recall", export=ex,
              data={"recall": pr.recall}, title="Recall cos(S^T k, v) per position and pass")
    st.caption("Rows: passes over the window (1 = wake, then the sleep passes); columns: the window's tokens. Colour: "
               "cos(Sᵀk, v) between what the memory returns for a token's key and the value it wrote, read after "
               "that pass. Purple near 1 = the memory gives back what was written; white or red = it returns "
               "something else (overwritten, or never written).")
    st.markdown("#### Residual: what is still unlearned")
    lab.chart(viz_memory.probe_heatmap(pr, "residual"), key="probe_residual", export=ex,
              data={"residual": pr.residual, "value_norm": pr.value_norm},
              title="Residual ||v - S^T k|| per position and pass")
    st.caption("‖v − Sᵀk‖: the part of each value the memory does not hold yet, which is what the delta rule would "
               "still write. Rows getting lighter down the passes = sleep finishing the writing.")
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.markdown("#### Per pass, averaged over the window")
        lab.chart(viz_memory.recall_by_pass_figure(pr), key="probe_by_pass", export=ex,
                  data={"mean_recall": pr.mean_recall(), "mean_residual": pr.mean_residual()},
                  title="Mean recall and residual per pass")
        st.caption("Purple: mean recall (up is better). Grey: mean residual (down = less left to write). Solid: head "
                   "1, dashed: head 2.")
    with right:
        token_panel(pr, ex)
    rows_panel(entry, task, passes, ex)
    ex.menu()


main()
