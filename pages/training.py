"""Training curves: how the shipped models learned, side by side at equal steps, from their training logs.

For the models that answer the same question as the sidebar's checkpoint: exact match on fresh inputs
logged during training at one depth (or all depths pooled), the training loss, and the learning-rate
schedule with the steps where a later phase began. The reading is `sleepcore.runlog`; the figures are
`sleepcore.viz_training`. Nothing is computed: these are the numbers the runs wrote while training.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from pages import lab
from sleepcore import runlog, viz_training
from sleepcore.recipe import recipe_label

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)

ss = st.session_state
DEPTH = "tr_depth"        # the depth whose exact match is drawn ("all" pools every depth)
MODELS = "tr_models"      # the checkpoints drawn (names)
MODELS_FOR = "_tr_models_for"   # the sidebar checkpoint MODELS was chosen for (a new one chooses again)
ALL = "all"
DEPTH_NAMES = {"eca": "t", "rule110": "t", "khop": "k", "arith": "depth"}


@st.cache_data(show_spinner=False, max_entries=128)
def _read(path: str, stamp: tuple) -> runlog.RunLog | str:
    try:
        return runlog.read_log(path)
    except runlog.LogError as e:
        return str(e)


def log_for(folder: str) -> runlog.RunLog | str:
    """The checkpoint folder's training log, or why it cannot be read (a string); read again whenever the file
    changes (a run still training appends to it)."""
    path = Path(folder) / lab.LOG_FILE
    try:
        st_ = path.stat()
        stamp = (st_.st_mtime_ns, st_.st_size)
    except OSError:
        stamp = ()
    return _read(str(path), stamp)


def question_of(entry) -> str:
    """What a model is asked, as a key: the task's config without how training drew its samples."""
    task = {k: v for k, v in entry.task.items() if k != "depth_weights"}
    return json.dumps(task, sort_keys=True)


def label(entry, recipe: bool = False) -> str:
    """A curve's legend name; with `recipe`, how training drew t (when the drawn runs were trained differently)."""
    if entry.hybrid:
        ns = entry.trained_passes
        n = f"N={ns[0]}" if len(ns) == 1 else "N∈{" + ",".join(map(str, ns)) + "}"
    else:
        n = "attention, cache kept" if entry.eviction == "none" else "attention, cache evicted"
    how = ", " + recipe_label(entry.recipe) if recipe else ""
    return f"{entry.name} ({n}{how}" + (f", seed {entry.seed})" if entry.seed else ")")


def mixed(entries) -> bool:
    """Whether the runs drawn together were trained with different draws of t (sleepcore.recipe)."""
    return len({e.recipe for e in entries}) > 1


def style(entry) -> tuple[str, str]:
    return viz_training.run_style(max(entry.trained_passes or (1,)), entry.seed, entry.hybrid,
                                  cache_kept=entry.eviction == "none")


def depth_word(entry) -> str:
    return DEPTH_NAMES.get(str(entry.task.get("name", "")), "depth")


def pick_models(selected, logged: list) -> list[str]:
    """The models drawn: chosen again whenever the sidebar's checkpoint changes (its siblings: the hybrids that
    answer the same question and were trained with the same draw of depths, and the sidebar's own model), else what
    the user left in the picker (where the other recipe's runs can be added)."""
    names = [e.name for e in logged]
    if ss.get(MODELS_FOR) != selected.name or not isinstance(ss.get(MODELS), list):
        ss[MODELS_FOR] = selected.name
        default = [e.name for e in logged if e.hybrid and e.recipe == selected.recipe or e.name == selected.name]
        ss[MODELS] = default or names
    ss[MODELS] = [n for n in ss[MODELS] if n in names]
    return names


def _common_prefix(names: list[str]) -> str:
    """The part every name starts with, cut back to a '-' (the picker's chips show the rest: "n4-seed1")."""
    if len(names) < 2:
        return ""
    first, last = min(names), max(names)
    i = next((k for k, (a, b) in enumerate(zip(first, last)) if a != b), min(len(first), len(last)))
    return first[:first.rfind("-", 0, i) + 1] if "-" in first[:i] else ""


def curves(entries, logs, depth: str, selected: str) -> list[viz_training.Curve]:
    """One line per run; the sidebar's checkpoint drawn bold so it stands out among its siblings."""
    out = []
    for e in entries:
        log = logs[e.name]
        y = log.eval_acc if depth == ALL else log.eval_depth.get(depth, np.full(len(log.eval_steps), np.nan))
        color, dash = style(e)
        out.append(viz_training.Curve(label(e, mixed(entries)), log.eval_steps, y, color, dash,
                                      3.5 if e.name == selected else 1.6))
    return out


def table(entries, logs, depth: str) -> list[dict]:
    rows = []
    for e in entries:
        log = logs[e.name]
        y = log.eval_acc if depth == ALL else log.eval_depth.get(depth)
        seen = y[np.isfinite(y)] if y is not None else np.array([])
        wall = float(np.nanmax(log.wall)) if np.isfinite(log.wall).any() else float("nan")
        rows.append({"model": e.name, "N": ", ".join(map(str, e.trained_passes)) if e.hybrid else "—",
                     "seed": e.seed, "steps": log.last_step, "phases": 1 + len(log.phases()),
                     "hours": round(wall / 3600, 2) if np.isfinite(wall) else None,
                     "last": float(seen[-1]) if len(seen) else None,
                     "best": float(seen.max()) if len(seen) else None})
    return rows


def main() -> None:
    start = lab.page_start(
        "Training curves",
        "How the models learned, side by side at equal steps: what each run logged while it trained. These are "
        "fresh inputs drawn during training, a few hundred per evaluation, so they are noisy; the held-out "
        "accuracy with confidence bands is on *Sleep more, think deeper*.")
    if start is None:
        return
    selected, entries = start
    if selected is None or not selected.ok:
        st.info("Pick a readable checkpoint in the sidebar.", icon=":material/arrow_back:")
        return
    same = [e for e in entries if e.ok and question_of(e) == question_of(selected)]
    logs = {e.name: log_for(e.path) for e in same}
    logged = [e for e in same if isinstance(logs[e.name], runlog.RunLog)]
    if selected not in logged:
        why = logs.get(selected.name)
        st.info(f"`{selected.name}` has no readable training log ({why}). A checkpoint folder written by "
                f"`python -m sleepcore.train --out` holds one (`{lab.LOG_FILE}`); an upload brings it when you add "
                "that file (or upload the whole folder)." + (" The models below answer the same question."
                                                              if logged else ""),
                icon=":material/query_stats:")
        if not logged:
            return
        selected = logged[0]
    names = pick_models(selected, logged)
    by_name = {e.name: e for e in logged}
    ex = lab.Exporter("Training curves")

    depths = sorted({d for e in logged for d in logs[e.name].depths}, key=lambda d: (len(d), d))
    word = depth_word(selected)
    options = depths + [ALL]
    if ss.get(DEPTH) not in options:
        ss[DEPTH] = depths[-1] if depths else ALL
    prefix = _common_prefix(names)
    left, right = st.columns([3, 1], vertical_alignment="bottom", gap="medium")
    left.multiselect("Models", names, key=MODELS, format_func=lambda n: n[len(prefix):] or n,
                    help="Every checkpoint here that answers the same question as the sidebar's and ships its "
                         "training log. Colour: N (blue = no sleep, deeper purple = more sleep); grey and black: "
                         "attention only, cache evicted / kept; dash: seed.")
    if depths:
        right.select_slider(f"Exact match at {word}", options, key=DEPTH,
                          format_func=lambda d: "all pooled" if d == ALL else f"{word}={d}",
                          help="The deepest questions are where the models part ways.")
    chosen = [by_name[n] for n in ss[MODELS]]
    if not chosen:
        st.info("Pick at least one model above.", icon=":material/arrow_upward:")
        return
    depth = ss[DEPTH]
    phases = sorted({p for e in chosen for p in logs[e.name].phases()})

    what = "exact match, all depths pooled" if depth == ALL else f"exact match at {word}={depth}"
    cells = selected.cells_asked
    if cells > 1:
        what += " (whole row right)"
    st.markdown(f"### {what[0].upper() + what[1:]}")
    fig = viz_training.curves_figure(curves(chosen, logs, depth, selected.name), what, phases, y_range=(-0.02, 1.02),
                                     y_percent=True, height=400)
    lab.chart(fig, key="tr_acc", export=ex, title=what,
              data={f"{e.name}__eval_step": logs[e.name].eval_steps for e in chosen}
              | {f"{e.name}__{'all' if depth == ALL else word + depth}": (
                  logs[e.name].eval_acc if depth == ALL else logs[e.name].eval_depth.get(depth, np.array([])))
                 for e in chosen})
    evals = {json.dumps((e.config.get("train") or {}).get("eval_samples")) for e in chosen}
    n_eval = next(iter(evals)) if len(evals) == 1 else None
    st.caption(
        (f"Each point: {int(n_eval):,} fresh inputs, all depths mixed" if n_eval not in (None, "null") else
         "Each point: the run's fresh inputs, all depths mixed")
        + (f", so about {int(n_eval) // max(1, len(depths))} per depth when depths are drawn evenly"
           + (" (more at the deep end where training drew them weighted towards it, config `depth_weights`)"
              if any(e.task.get("depth_weights") for e in chosen) else "")
           if n_eval not in (None, "null") and depth != ALL else "")
        + (f". Bold: `{selected.name}`, the sidebar's checkpoint" if selected.name in ss[MODELS] else "")
        + ". Dotted lines: where a later training phase began (the learning rate restarts). Look for: do the runs "
        "with more sleep climb higher, and do seeds of the same model agree?")

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("### Training loss")
        fig = viz_training.curves_figure(
            [viz_training.Curve(label(e, mixed(chosen)), logs[e.name].steps, logs[e.name].loss, *style(e))
             for e in chosen],
            "loss (cross-entropy)", phases, y_log=True, height=320, legend=False)
        lab.chart(fig, key="tr_loss", export=ex, title="Training loss",
                  data={f"{e.name}__step": logs[e.name].steps for e in chosen}
                  | {f"{e.name}__loss": logs[e.name].loss for e in chosen})
        st.caption("On the training batches, averaged over every answer position; log scale."
                   + (" Where the loss steps up as a phase begins, the training data changed there: these runs' "
                      "later phases draw the deep questions more often (config `depth_weights`; each model card "
                      "says from which step), so their batches got harder."
                      if any(e.task.get("depth_weights") for e in chosen) else ""))
    with right:
        st.markdown("### Learning rate")
        fig = viz_training.curves_figure(
            [viz_training.Curve(label(e, mixed(chosen)), logs[e.name].steps, logs[e.name].lr, *style(e))
             for e in chosen],
            "learning rate", phases, height=320, legend=False)
        lab.chart(fig, key="tr_lr", export=ex, title="Learning rate",
                  data={f"{e.name}__lr": logs[e.name].lr for e in chosen})
        st.caption("Warmup, then cosine decay to 10% of the peak; a run continued for more steps recomputes the "
                   "cosine, so the rate rises again where a phase began.")

    st.markdown("### The runs")
    st.dataframe(table(chosen, logs, depth), hide_index=True, width="stretch",
                 column_config={"last": st.column_config.ProgressColumn("last", format="percent", min_value=0.0,
                                                                        max_value=1.0, help=f"{what}, last evaluation"),
                                "best": st.column_config.ProgressColumn("best", format="percent", min_value=0.0,
                                                                        max_value=1.0, help=f"{what}, best evaluation"),
                                "hours": st.column_config.NumberColumn("hours", format="%.1f",
                                                                       help="the run's own training wall clock")})
    st.caption(f"Last and best: {what} in the log. Steps and phases from the log; hours are the run's own wall clock, "
               "summed over phases and machines (each model card says where it trained).")
    ex.menu()


main()
