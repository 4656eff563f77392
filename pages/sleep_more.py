"""Sleep more, think deeper: accuracy against the number of sleep passes N and against depth t,
measured live on fresh held-out inputs, with Wilson 95% bands, chance, and the attention baselines.
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from pages import lab
from sleepcore import viz
from sleepcore.recipe import recipe_label

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)

ss = st.session_state
TEST_TIME_N = (1, 2, 4, 8)
SAMPLE_CHOICES = lab.EVAL_SAMPLE_CHOICES
BASELINE_STYLE = {"evicted": ("attention, cache evicted", "#6B7280", "dash"),
                  "kept": ("attention, cache kept", "#111111", "dot")}


# One look per training seed, so that three seeds of one N stay apart in the legend and the chart
SEED_SYMBOL = ("circle", "diamond", "square", "triangle-up", "x")
SEED_DASH = ("solid", "dash", "dot", "dashdot", "longdash")


def short(name: str) -> str:
    """Legend names without the prefix every checkpoint of a chart shares: the task, and for the models that
    answer the whole row the "cells-" the question picker already says ("rule110-cells-n4-seed1" -> "n4-seed1"),
    and the curriculum's "curr-" the recipe picker says ("rule110-cells-curr-n1-seed2" -> "n1-seed2")."""
    return name.removeprefix("rule110-").removeprefix("cells-").removeprefix("curr-")


def seed_style(seed: int, items: tuple[str, ...]) -> str:
    return items[seed % len(items)]


def follow_sidebar(key: str, options: list, own, picked: str | None) -> None:
    """Set the control `key` so it follows the sidebar: a newly picked Rule 110 checkpoint shows what it belongs
    to (`own`, None when it belongs to none of `options`), a choice from the link stands on the first visit, the
    user's own choice holds until the sidebar changes, and anything else falls back to the first option."""
    marker = f"_{key}_for"
    if marker not in ss:                  # first visit: a choice from the link stands, else the checkpoint's
        ss[marker] = picked
        if ss.get(key) not in options and own is not None:
            ss[key] = own
    elif picked != ss[marker]:
        ss[marker] = picked
        if own is not None:
            ss[key] = own
    if ss.get(key) not in options:
        ss[key] = options[0]


def _open(ckpt: str, n: int, depth: int) -> None:
    ss[lab.CKPT], ss[lab.PASSES], ss[lab.DEPTH] = ckpt, n, depth
    ss[lab.CUSTOM_STATE], ss[lab.STEP_OBJ], ss[lab.STEP], ss[lab.PLAYING] = None, None, 0, False


def _open_selected() -> None:
    _open(ss[lab.OPEN_CKPT], int(ss[lab.OPEN_N]), int(ss[lab.OPEN_DEPTH]))
    ss["_goto_timeline"] = True


def _open_clicked(chart_key: str) -> None:
    points = ss.get(chart_key, {}).get("selection", {}).get("points", [])
    for p in points:
        cd = p.get("customdata")
        if cd:
            ckpt, n, depth = cd[0], int(cd[1]), int(cd[2])
            ss[lab.OPEN_CKPT], ss[lab.OPEN_N], ss[lab.OPEN_DEPTH] = ckpt, n, depth
            return


def families(entries) -> list[int]:
    """The kinds of Rule 110 question among the checkpoints (cells asked per sample), one-cell first."""
    return sorted({e.cells_asked for e in entries if e.ok and e.rule == 110})


def family_label(cells: int) -> str:
    return "cell 0 (one answer)" if cells == 1 else f"all {cells} cells (whole row right)"


def recipes(entries, cells: int) -> list[str]:
    """The training recipes (lab.Entry.recipe) among the Rule 110 checkpoints asking `cells` cells: the one of the
    most checkpoints first (the shipped comparison), then by name."""
    counts: dict[str, int] = {}
    for e in entries:
        if e.ok and e.rule == 110 and e.cells_asked == cells:
            counts[e.recipe] = counts.get(e.recipe, 0) + 1
    return sorted(counts, key=lambda r: (-counts[r], r))


def jobs(entries, cells: int = 1, recipe: str | None = None) -> list[tuple[str, lab.Entry, int]]:
    """(role, entry, N) pairs to evaluate among the Rule 110 checkpoints asking `cells` cells (and trained with
    `recipe`, when given): trained hybrids at their N, nmix at several N, the baselines (seed 0 of each kind, when
    there is one: a second seed would draw a second line of the same name). Models asking different questions, or
    trained on different mixes of depths, are never mixed in one chart."""
    out = []
    entries = [e for e in entries if e.ok and e.rule == 110 and e.cells_asked == cells
               and (recipe is None or e.recipe == recipe)]
    for e in entries:
        ns = e.trained_passes
        if not e.hybrid:
            if not e.seed or not any(o.ok and not o.hybrid and o.rule == 110 and not o.seed
                                     and o.eviction == e.eviction for o in entries):
                out.append(("baseline", e, ns[0]))   # one line per baseline kind: its first seed
        elif len(ns) > 1:
            out.extend(("mix", e, n) for n in TEST_TIME_N)
        elif e.eviction == "hard":
            out.append(("trained", e, ns[0]))
    return out


def first_loadable_task(todo):
    """The task of the first checkpoint that loads (they all share it), or None."""
    for _, e, _ in todo:
        try:
            return lab.load_model(e)[2]
        except lab.LabError:
            continue
    return None


def evaluate_all(todo, samples: int, seed: int) -> dict[tuple[str, int], dict[int, tuple[int, int]]]:
    results = {}
    bar = st.progress(0.0, text="Measuring accuracy on fresh inputs…")
    for k, (_, e, n) in enumerate(todo):
        bar.progress(k / len(todo), text=f"Measuring `{e.name}` at N = {n} ({k + 1}/{len(todo)})…")
        try:
            results[(e.name, n)] = lab.accuracy_for(e.path, e.mtime, n, samples, seed)
        except (lab.LabError, ValueError, RuntimeError, OSError, KeyError) as ex:  # name it, keep the page
            st.warning(f"Could not evaluate `{e.name}` at N = {n}: {ex}")
    bar.empty()
    return results


def depth_series(todo, results, depths) -> list[dict]:
    series = []
    for role, e, n in todo:
        if role == "mix" and n != e.default_passes or (e.name, n) not in results:
            continue
        counts = results[(e.name, n)]
        acc, lo, hi, ns = (list(v) for v in zip(*(lab.summary(counts, [d]) for d in depths)))
        if role == "baseline":
            label, color, dash = BASELINE_STYLE["kept" if e.eviction == "none" else "evicted"]
        else:
            label = f"{short(e.name)} (N = {n})"
            color, dash = viz.passes_color(n), ("dash" if role == "mix" else seed_style(e.seed, SEED_DASH))
        series.append(dict(x=list(depths), acc=acc, lo=lo, hi=hi, n=ns, label=label, color=color, dash=dash,
                           width=1.4 if e.seed or role == "mix" else 2.4, band=not (e.seed or role == "mix"),
                           custom=[[e.name, n, d] for d in depths]))
    return series


def passes_series(todo, results, depths, deepest) -> tuple[list[dict], list[dict]]:
    series, refs = [], []
    mix = {}
    for role, e, n in todo:
        if (e.name, n) not in results:
            continue
        a, lo, hi, m = lab.summary(results[(e.name, n)], depths)
        if role == "mix":
            mix.setdefault(e.name, []).append((n, a, lo, hi, m))
        elif role == "trained":
            series.append(dict(x=[n], acc=[a], lo=[lo], hi=[hi], n=[m], label=f"{short(e.name)} (trained, N = {n})",
                               color=viz.passes_color(n), marker=11 if not e.seed else 8,
                               offset=0.12 * (1 + min(e.seed, 3)),
                               symbol=seed_style(e.seed, SEED_SYMBOL), custom=[[e.name, n, deepest]]))
            if n == 1 and not e.seed:
                refs.append(dict(label="no-sleep hybrid (N = 1)", acc=a, lo=lo, hi=hi, color=viz.WAKE_COLOR,
                                 dash="dash"))
        else:
            label, color, dash = BASELINE_STYLE["kept" if e.eviction == "none" else "evicted"]
            refs.append(dict(label=label, acc=a, lo=lo, hi=hi, color=color, dash=dash))
    for name, pts in mix.items():
        pts.sort()
        series.insert(0, dict(x=[p[0] for p in pts], acc=[p[1] for p in pts], lo=[p[2] for p in pts],
                              hi=[p[3] for p in pts], n=[p[4] for p in pts], color=viz.SLEEP_COLOR, width=2.6,
                              label=f"{short(name)} at test-time N",
                              custom=[[name, p[0], deepest] for p in pts]))
    return series, refs


def open_controls(entries, depths) -> None:
    st.markdown("### Open a setting in the timeline")
    names = [e.name for e in entries if e.ok]
    if ss.get(lab.OPEN_CKPT) not in names:
        ss[lab.OPEN_CKPT] = ss.get(lab.CKPT) if ss.get(lab.CKPT) in names else names[0]
    if ss.get(lab.OPEN_N) not in lab.PASS_CHOICES:
        ss[lab.OPEN_N] = 4
    if ss.get(lab.OPEN_DEPTH) not in depths:
        ss[lab.OPEN_DEPTH] = depths[-1]
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    row.selectbox("Checkpoint", names, key=lab.OPEN_CKPT, width=230)
    row.selectbox("N", lab.PASS_CHOICES, key=lab.OPEN_N, width=90)
    row.selectbox("Depth t", depths, key=lab.OPEN_DEPTH, width=100)
    row.button("Open in timeline", icon=":material/timeline:", type="primary", on_click=_open_selected,
               key="sm_open")
    st.caption("Or click any point of the charts above to fill these in.")
    if ss.pop("_goto_timeline", False):
        st.switch_page(lab.PAGES["timeline"])


def main() -> None:
    start = lab.page_start(
        "Sleep more, think deeper",
        "Accuracy on fresh inputs the models never saw in training, measured live (and cached). Shaded bands "
        "are Wilson 95% intervals: where two bands overlap, the difference may be noise.")
    if start is None:
        return
    selected, entries = start
    kinds = families(entries)
    own = selected if selected is not None and selected.ok and selected.rule == 110 else None
    picked = selected.name if selected is not None else None
    if len(kinds) > 1:
        follow_sidebar("sm_family", kinds, own.cells_asked if own is not None else None, picked)
        st.segmented_control("The question the models answer", kinds, key="sm_family", format_func=family_label,
                             persist_state="session",
                             help="Models trained to answer cell 0 after t steps, or every cell of the row (exact "
                                  "match = all of them right). Accuracies of the two are not comparable, so they "
                                  "are never drawn together.")
    cells = ss.get("sm_family") if len(kinds) > 1 else (kinds[0] if kinds else 1)
    ways = recipes(entries, cells)
    if len(ways) > 1:
        follow_sidebar("sm_recipe", ways, own.recipe if own is not None and own.cells_asked == cells else None,
                       picked)
        st.segmented_control("How their training drew the depth t", ways, key="sm_recipe", format_func=recipe_label,
                             persist_state="session",
                             help="How often each depth t came up in training: every t alike, or t drawn in "
                                  "proportion to t² (deep questions far more often) from the step named. The "
                                  "standard whole-row runs switch to t² at step 7,500, the curriculum runs start "
                                  "with it. Models trained two ways are separate experiments, so they are never "
                                  "drawn together.")
    recipe = (ss.get("sm_recipe") if len(ways) > 1 else None)
    todo = jobs(entries, cells, recipe)
    if not todo:
        st.info("No Rule 110 checkpoints to compare here yet. Train some with `python -m sleepcore.train`.",
                icon=":material/school:")
        return
    task = first_loadable_task(todo)
    if task is None:
        st.error("None of the Rule 110 checkpoints could be loaded; the sidebar says what is wrong with each.",
                 icon=":material/error:")
        return
    depths = list(task.depths)
    ex = lab.Exporter("Sleep more, think deeper")

    c1, c2, c3, c4 = st.columns([2, 1, 2, 1], vertical_alignment="bottom")
    samples = c1.select_slider("Inputs per depth", SAMPLE_CHOICES, key=lab.EVAL_SAMPLES, persist_state="session",
                               help=f"Fresh held-out inputs per depth t ({len(depths)} depths). More inputs: narrower "
                                    "bands, slower first measurement (then cached).")
    seed = c2.number_input("Evaluation seed", 0, 10_000, key=lab.EVAL_SEED, persist_state="session")
    if not (isinstance(ss.get(lab.EVAL_DEPTHS), (list, tuple)) and len(ss[lab.EVAL_DEPTHS]) == 2
            and all(d in depths for d in ss[lab.EVAL_DEPTHS])):
        ss[lab.EVAL_DEPTHS] = (depths[-2], depths[-1]) if len(depths) > 1 else (depths[0], depths[0])
    lo_d, hi_d = c3.select_slider("Depths pooled in the N chart", depths, key=lab.EVAL_DEPTHS,
                                  persist_state="session", help="Shallow questions are easy for every model; "
                                  "the differences live at the deepest t.")
    missing = [k for k in ("evicted", "kept") if k not in lab.baselines(entries, cells=cells, recipe=recipe)]
    if missing:
        elsewhere = sorted({e.recipe for e in entries if e.ok and not e.hybrid and e.rule == 110
                            and e.cells_asked == cells and e.recipe != recipe}) if recipe else []
        st.caption(":material/info: Baseline(s) not found: " + ", ".join(BASELINE_STYLE[k][0] for k in missing)
                   + (". The attention-only baselines here were trained another way ("
                      + ", ".join(recipe_label(r) for r in elsewhere) + "), so they are not drawn beside these models."
                      if elsewhere else ". They appear here as soon as their checkpoints are in the checkpoints "
                      "folder."))

    results = evaluate_all(todo, int(samples), int(seed))
    chance = lab.chance_for(json.dumps(task.config(), sort_keys=True), int(samples), int(seed))
    pooled = [d for d in depths if lo_d <= d <= hi_d]

    left, right = st.columns([1, 1], gap="large")
    with left:
        st.markdown(f"### Accuracy against N (t = {lo_d}–{hi_d})" if lo_d != hi_d
                    else f"### Accuracy against N (t = {lo_d})")
        series, refs = passes_series(todo, results, pooled, hi_d)
        ch = sum(chance[d] for d in pooled) / len(pooled)
        fig = viz.accuracy_figure(series, "sleep passes N",
                                  chance={"x": list(TEST_TIME_N), "acc": [ch] * len(TEST_TIME_N)},
                                  refs=refs, x_log2=True, y_min=0.35 if cells == 1 else -0.02)
        lab.chart(fig, key="sm_by_n", on_select=lambda: _open_clicked("sm_by_n"), selection_mode="points",
                  export=ex, title="Accuracy against N")
        st.caption(("Purple line: *nmix*, one model trained with N drawn from {1, 2, 4}, run here at each N (N = 8 "
                    "is beyond anything it trained on). Dots: models trained with a single N. Horizontal lines: the "
                    "no-sleep hybrid and the attention-only baselines (cache evicted: must forget; cache kept: no "
                    "memory limit at all). ") if cells == 1 else
                   (f"Dots: models trained with a single N to answer all {cells} cells"
                    + (f" ({recipe_label(recipe)})" if recipe else "")
                    + "; a sample counts as right only when every cell is. Horizontal lines: the no-sleep hybrid"
                    + (" and the attention-only baselines (cache evicted: must forget; cache kept: no memory limit at "
                       "all). " if not missing else ". "))
                   + "Look for: does accuracy on deep questions climb with N?")
    with right:
        st.markdown("### Accuracy against depth t")
        fig = viz.accuracy_figure(depth_series(todo, results, depths), "depth t (automaton steps)",
                                  chance={"x": depths, "acc": [chance[d] for d in depths]},
                                  y_min=0.35 if cells == 1 else -0.02)
        lab.chart(fig, key="sm_by_depth", on_select=lambda: _open_clicked("sm_by_depth"), selection_mode="points",
                  export=ex, title="Accuracy against depth t")
        st.caption("Each model at the N it was trained with. Every line starts near 1 for shallow t; look at where "
                   "each one starts to fall as the question needs more steps of computation.")
    open_controls(entries, depths)
    with st.expander("The numbers"):
        rows = [{"checkpoint": e.name, "N": n, "role": role, **{f"t={d}": round(results[(e.name, n)][d][0] /
                 max(1, results[(e.name, n)][d][1]), 3) for d in depths}}
                for role, e, n in todo if (e.name, n) in results]
        st.dataframe(rows, hide_index=True)
        st.caption(f"{samples} held-out inputs per depth, evaluation seed {seed}; chance = always answering the "
                   f"most common answer at that depth.")
    ex.add("numbers", data={"accuracy": np.array([[r[f"t={d}"] for d in depths] for r in rows]),
                            "depths": np.array(depths), "passes": np.array([r["N"] for r in rows])})
    ex.note("Rows of 'accuracy' (checkpoint, N): " + "; ".join(f"{r['checkpoint']} N={r['N']}" for r in rows))
    ex.note(f"{samples} held-out inputs per depth, evaluation seed {seed}")
    ex.menu(c4)


main()
