"""Amnesia test: the same continuation three ways, side by side, with the same weights.

For a Rule 110 model, the continuation is its whole predicted space-time diagram (cell j after step
s, every one an ordinary question). (a) cache kept after N sleep passes (outside training), (b) cache
cleared after N sleep passes (normal operation), (c) cache cleared with no sleep. Optionally (d),
the attention-only model trained with its cache kept. Computation: `sleepcore.probe`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from pages import lab
from sleepcore import probe, viz, viz_memory
from sleepcore.evaluate import EVAL_SEED_OFFSET
from sleepcore.tasks import evolve
from sleepcore.probe import KEPT, NO_SLEEP, SLEPT, WAYS

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)

ss = st.session_state
T = "amn_t"                  # last automaton step shown
SAMPLES = "amn_samples"      # held-out inputs in the aggregate
BASELINE = "amn_baseline"    # show the trained cache-kept attention model as a fourth column
STATE_KEYS = (T, SAMPLES, BASELINE)
SAMPLE_CHOICES = [8, 16, 32, 64]
CELL = 10                    # pixel size of a diagram cell (five diagrams share a row of the wide layout)
BASE = viz_memory.BASELINE


def _use(name: str) -> None:
    ss[lab.CKPT] = name
    ss[lab.PASSES] = lab.find(lab.catalog(), name).default_passes


@st.cache_data(show_spinner=False, max_entries=128)
def one_sample(path: str, mtime: float, cells: tuple, t: int, passes: int) -> probe.Amnesia:
    model, _, task = lab._load(path, mtime)
    return probe.amnesia_diagrams(model, task, torch.tensor([cells]), t, passes)


@st.cache_data(show_spinner=False, max_entries=32)
def held_out_states(path: str, mtime: float, samples: int, t: int) -> np.ndarray:
    """(samples, W) fixed held-out initial states (the same for every N and model, so comparisons pair)."""
    _, _, task = lab._load(path, mtime)
    batch = task.sample(samples, seed=EVAL_SEED_OFFSET + 7, split="held_out", depth=t)
    return np.asarray([r["states"][0] for r in batch.raw], dtype=np.int64)


@st.cache_data(show_spinner=False, max_entries=32)
def aggregate(path: str, mtime: float, samples: int, t: int, passes: int) -> dict[str, np.ndarray]:
    """way -> (t,) error rate per step over `samples` held-out diagrams."""
    model, _, task = lab._load(path, mtime)
    states = torch.from_numpy(held_out_states(path, mtime, samples, t))
    return probe.error_rates(probe.amnesia_diagrams(model, task, states, t, passes))


@st.cache_data(show_spinner=False, max_entries=32)
def baseline_rates(path: str, mtime: float, states: np.ndarray, t: int) -> np.ndarray:
    """(t,) error rate per step of a (cache-kept) baseline model on the same states."""
    model, _, task = lab._load(path, mtime)
    s = torch.from_numpy(states)
    M, W = s.shape
    p = probe.diagram_p1(model, task, probe.diagram_tokens(task, s, t), 1).view(M, t, W).numpy()
    truth = evolve(s, rule=task.rule, steps=t, boundary=task.boundary).numpy()[:, 1:]
    return ((p >= 0.5) != (truth >= 0.5)).mean((0, 2))


def suitable(entry, task) -> str | None:
    """Why this checkpoint cannot be used here, or None."""
    if getattr(task, "name", "") != "eca" or getattr(task, "states", 1) != 1 or task.boundary != "periodic":
        return (f"`{entry.name}` is not a one-state automaton on a ring, so its answers cannot be assembled into a "
                "space-time diagram. The amnesia test needs a Rule 110 checkpoint.")
    if not entry.hybrid:
        return (f"`{entry.name}` is attention only: with no fast weights, clearing the cache leaves it nothing, and "
                "sleep has nothing to write into. The amnesia test needs a hybrid (layers with an F).")
    if entry.eviction != "hard":
        return f"`{entry.name}` was trained with eviction '{entry.eviction}'; this test needs hard eviction."
    return None


def offer_hybrid(entries) -> None:
    ok = [e for e in entries if e.ok and e.hybrid and e.rule == 110 and e.eviction == "hard"]
    if ok:
        best = next((e for e in ok if e.name == "rule110-n4"), ok[0])
        st.button(f"Use `{best.name}` instead", key="amn_use_hybrid", on_click=_use, args=(best.name,),
                  icon=":material/swap_horiz:")


def diagrams(am: probe.Amnesia, base_p1: np.ndarray | None, passes: int, ex) -> None:
    truth = am.truth[0]
    cols = st.columns(5 if base_p1 is not None else 4, gap="small")
    with cols[0]:
        lab.chart(viz.spacetime_figure(truth, "true diagram", show_y=False, cell=CELL), key="amn_truth", export=ex,
                  data={"truth": truth}, title="True diagram")
        st.caption("what Rule 110 does")
    titles = {KEPT: "(a) cache kept", SLEPT: f"(b) N = {passes}, cleared", NO_SLEEP: "(c) no sleep",
              BASE: "(d) attention"}
    shown = [(w, am.p1[w][0]) for w in WAYS] + ([(BASE, base_p1)] if base_p1 is not None else [])
    for col, (way, p1) in zip(cols[1:], shown):
        wrong = (p1 >= 0.5) != (truth >= 0.5)
        with col:
            lab.chart(viz.spacetime_figure(p1, titles[way], wrong=wrong, truth=truth, show_y=False, cell=CELL),
                      key=f"amn_diagram_{way}", export=ex, data={f"p1_{way}": p1}, title=titles[way])
            st.caption(f"**{int(wrong.sum())} wrong** · {viz_memory.WAY_LABELS[way]}")


def main() -> None:
    st.title("Amnesia test")
    st.caption("The same continuation three ways, with the same weights: the model's whole predicted space-time "
               "diagram when its attention cache is kept, when it is cleared after N sleep passes (normal "
               "operation), and when it is cleared with no sleep. What survives the clearing is what sleep wrote "
               "into the fast weights.")
    entry, model, cfg, task = lab.require_model()
    entries = lab.catalog()
    why = suitable(entry, task)
    if why:
        st.info(why, icon=":material/info:")
        offer_hybrid(entries)
        return
    depths = list(task.depths)
    if ss.get(T) not in depths:
        ss[T] = depths[-1]
    ss.setdefault(SAMPLES, 16)
    if ss[SAMPLES] not in SAMPLE_CHOICES:
        ss[SAMPLES] = 16
    kept_model = lab.baselines(entries, cells=entry.cells_asked).get("kept")   # one asking the same question
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    row.select_slider("Steps t", depths, key=T, width=300, help="How many automaton steps to predict.")
    if kept_model is not None:
        ss.setdefault(BASELINE, True)
        row.toggle(f"Add `{kept_model.name}` (trained with its cache kept)", key=BASELINE)
    passes = int(ss.get(lab.PASSES) or entry.default_passes)
    seed, t = int(ss.get(lab.SEED) or 0), int(ss[T])
    if passes == 1:
        st.info("N = 1 in the sidebar: (b) and (c) are the same run. Raise N to see what sleep adds.",
                icon=":material/info:")
    cells = tuple(int(c) for c in lab.sample_for(task, seed, t).raw[0]["states"][0])
    am = one_sample(entry.path, entry.mtime, cells, t, passes)
    use_base = kept_model is not None and ss.get(BASELINE) and lab.loads(kept_model)
    base_p1 = lab.diagram_for(kept_model.path, kept_model.mtime, cells, t, 1) if use_base else None
    ex = lab.Exporter("Amnesia test")
    ex.note(f"checkpoint {entry.name}, N = {passes}, seed {seed} (held-out initial state "
            f"{''.join(map(str, cells))}), t = {t}")

    st.markdown(f"#### One held-out initial state (seed {seed}), {t} steps")
    diagrams(am, base_p1, passes, ex)
    no_sleep = next((e.name for e in entries if e.ok and e.hybrid and e.rule == entry.rule and not e.seed
                     and e.cells_asked == entry.cells_asked and tuple(e.trained_passes) == (1,)), None)
    st.caption(f"Each diagram: the initial state on top, then one row per step s = 1..{t}, cell 0 to 15 left to "
               f"right; vermillion squares: cells predicted wrong. (a) is the same weights with the attention cache kept "
               f"after the {passes} passes, so the question can still attend to the initial state; this model was "
               f"trained with the cache always cleared, so (a) is outside what it learned and is not guaranteed to "
               f"help. (c) runs the same weights at N = 1"
               + ("" if 1 in entry.trained_passes else f", also unlike its training (N = "
                  f"{', '.join(map(str, entry.trained_passes))})"
                  + (f"; `{no_sleep}` is the model trained without sleep" if no_sleep else ""))
               + ". (d), when shown, is an attention-only model trained with its cache kept, for the same question: "
                 "the reference with no memory limit.")

    left, right = st.columns([5, 4], gap="large")
    counts = {w: am.errors_per_step(w)[0] for w in WAYS}
    if base_p1 is not None:
        counts[BASE] = ((base_p1 >= 0.5) != (am.truth[0] >= 0.5))[1:].sum(-1)
    with left:
        st.markdown("#### Wrong cells per step")
        lab.chart(viz_memory.errors_by_step_figure(counts, "wrong cells (of 16)"), key="amn_errors", export=ex,
                  data={f"errors_{w}": c for w, c in counts.items()}, title="Wrong cells per step")
        st.caption("Each line counts the wrong cells in one row of the diagrams above. The gap between the purple "
                   "(slept) and blue (no sleep) lines is what sleep kept alive after the cache was cleared.")
    with right:
        saved, lost = am.saved(SLEPT, NO_SLEEP)[0], am.saved(NO_SLEEP, SLEPT)[0]
        st.markdown("#### Sleep's effect: (b) against (c)")
        lab.chart(viz_memory.difference_figure(saved, lost, am.truth[0],
                                               f"{int(saved.sum())} saved · {int(lost.sum())} broken"),
                  key="amn_difference", export=ex, data={"saved": saved, "broken": lost}, title="Saved and broken")
        st.caption("Green: cells (b) gets right and (c) gets wrong, what sleep saved. Vermillion: the reverse. Grey "
                   "and cream: both agree (on a true 1 or 0).")

    st.markdown("#### Over many held-out inputs")
    st.select_slider("Held-out initial states", SAMPLE_CHOICES, key=SAMPLES, width=300,
                     help="More states: a steadier rate, a slower first measurement (then cached).")
    t_max = depths[-1]
    n_samples = int(ss[SAMPLES])
    with st.spinner(f"Predicting {n_samples} diagrams three ways…"):
        rates = dict(aggregate(entry.path, entry.mtime, n_samples, t_max, passes))
        if use_base:
            states = held_out_states(entry.path, entry.mtime, n_samples, t_max)
            rates[BASE] = baseline_rates(kept_model.path, kept_model.mtime, states, t_max)
    lab.chart(viz_memory.errors_by_step_figure(rates, "wrong cells", rate=True), key="amn_rates", export=ex,
              data={f"rate_{w}": r for w, r in rates.items()}, title="Error rate per step, held-out inputs")
    st.caption(f"Fraction of wrong cells per step s, over {n_samples} held-out initial states × 16 cells (the same "
               f"states for every N and checkpoint). Chance is about 50%.")
    ex.menu()


main()
