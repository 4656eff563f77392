"""Cost of memory: per-token wake latency and memory against context length, measured live on this
machine for the sleeping hybrid (flat) and the cache-kept transformer (growing); the time of one sleep
against N; and, next to it, the accuracy those sleeps buy on the shipped checkpoints.

The measuring is `sleepcore.costs` (the same functions as bench/bench_wake_latency.py and
bench/bench_sleep_cost.py); the figures are `sleepcore.viz_cost`. Nothing is timed until the button is
pressed, and a measurement is kept in this session only.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import streamlit as st
import torch

from pages import lab
from sleepcore import costs, viz_cost

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)

ss = st.session_state

# ---------------------------------------------------------------------------- session-state keys
CONTEXTS = "cost_contexts"        # context lengths to measure (list of ints)
STEPS = "cost_steps"              # timed wake steps per (model, context)
MAX_N = "cost_max_n"              # one sleep is timed for N = 1..this
REPEATS = "cost_repeats"          # timed sleeps per N
ACC_SAMPLES = "cost_acc_samples"  # held-out inputs per depth behind the accuracy chart
RESULT = "cost_result"            # this session's last measurement (dict, see `measure`), or absent

CONTEXT_CHOICES = [256, 1024, 4096, 16384, 32768]
STEP_CHOICES = [20, 50, 100, 200]
MAX_N_CHOICES = [4, 8, 12, 16]
REPEAT_CHOICES = [5, 11, 21, 51]
ACC_CHOICES = [50, 100, 200, 500]
DEFAULTS = {CONTEXTS: [256, 1024, 4096], STEPS: 50, MAX_N: 8, REPEATS: 11, ACC_SAMPLES: 200}
MAX_CONTEXT = 32768               # the transformer alone takes ~20 s to read this many tokens
LIMITS = {STEPS: 500, MAX_N: 32, REPEATS: 101, ACC_SAMPLES: 1000}   # bounds on what session state may ask for
PERFORMANCE_DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
BLOCK = 5                          # wake steps per visit of a (model, context) pair


def init() -> None:
    for k, v in DEFAULTS.items():
        ss.setdefault(k, v)


def _choices(base: list[int], current) -> list[int]:
    """The offered values plus the current one (a test or a link may ask for another)."""
    return sorted(set(base) | ({int(current)} if isinstance(current, int) and current > 0 else set()))


@st.cache_resource(show_spinner=False)
def _measuring_lock() -> threading.Lock:
    """One measurement at a time in this server: two at once would each time the other's load."""
    return threading.Lock()


def hybrid_source(entry, entries):
    """The checkpoint whose shape (layers, d, heads, L) the hybrid takes: the sidebar's if it is a
    hybrid, else the shipped N = 4 hybrid (or the first hybrid there is); None if there is none."""
    if entry is not None and entry.ok and entry.hybrid:
        return entry
    picks = lab.pick_by_passes(entries)
    return picks.get(4) or next(iter(picks.values()), None) or next((e for e in entries if e.ok and e.hybrid), None)


def valid_contexts(value) -> list[int] | None:
    if not isinstance(value, (list, tuple)):
        return None
    if not all(isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= MAX_CONTEXT for c in value):
        return None
    return sorted(set(value))


def controls(source, passes: int) -> tuple[list[int] | None, bool]:
    """The measurement's settings; returns (contexts or None if invalid, button pressed)."""
    contexts = valid_contexts(ss[CONTEXTS])
    if contexts is None:
        st.error(f"Context lengths must be a list of whole numbers between 1 and {MAX_CONTEXT:,}; got "
                 f"{ss[CONTEXTS]!r:.80}. They are reset to {DEFAULTS[CONTEXTS]}.", icon=":material/error:")
        ss[CONTEXTS] = list(DEFAULTS[CONTEXTS])
        contexts = list(DEFAULTS[CONTEXTS])
    else:
        ss[CONTEXTS] = contexts
    for key, top in LIMITS.items():
        if not (isinstance(ss[key], int) and not isinstance(ss[key], bool) and 1 <= ss[key] <= top):
            st.error(f"`{key}` must be a whole number in 1..{top}; got {ss[key]!r:.40}. Reset to {DEFAULTS[key]}.",
                     icon=":material/error:")
            ss[key] = DEFAULTS[key]
    row = st.columns([3, 2], vertical_alignment="bottom", gap="large")
    picked = row[0].pills("Context lengths (tokens)", sorted(set(CONTEXT_CHOICES) | set(contexts)),
                          selection_mode="multi", key=CONTEXTS, format_func=lambda c: f"{c:,}",
                          help="The cache-kept transformer must first read every one of these tokens, so long "
                               "contexts take a while: on a quiet machine 16,384 adds about 10 s and 32,768 about "
                               "30 s; two to three times that when the machine is busy.")
    with st.expander("Measurement settings"):
        c1, c2, c3 = st.columns(3)
        c1.select_slider("Timed wake steps per model and context", _choices(STEP_CHOICES, ss[STEPS]), key=STEPS)
        c2.select_slider("Sleep timed for N = 1 …", _choices(MAX_N_CHOICES, ss[MAX_N]), key=MAX_N)
        c3.select_slider("Timed sleeps per N", _choices(REPEAT_CHOICES, ss[REPEATS]), key=REPEATS)
        st.caption("More steps and repeats give steadier medians; the time estimate on the right follows them.")
    if not picked:
        row[1].info("Pick at least one context length.", icon=":material/touch_app:")
        return None, False
    est = costs.estimate_seconds(list(picked), int(ss[STEPS]), int(ss[MAX_N]), int(ss[REPEATS]))
    pressed = row[1].button("Measure on this machine", key="cost_measure", type="primary", icon=":material/speed:",
                            help=f"Times fresh models in the shape of `{source.name}` (N = {passes}) on one torch "
                                 "thread; nothing runs until you press.")
    row[1].caption(f"about {est:.0f} s on a quiet machine, two to three times that when it is busy")
    return sorted(picked), pressed


def measure(source, passes: int, contexts: list[int]) -> dict | None:
    """Time both models and one sleep with a progress display; the result dict, or None if busy."""
    lock = _measuring_lock()
    if not lock.acquire(blocking=False):
        st.warning("Another session is measuring right now (two at once would time each other's load). Try again "
                   "in a few seconds.", icon=":material/hourglass_top:")
        return None
    try:
        mcfg, L, _ = costs.shape_from_config(source.config)
        before = costs.machine_load()
        t0 = time.perf_counter()
        with st.status("Measuring on this machine…", expanded=True) as box:
            bar = st.progress(0.0, text="starting")
            wake = costs.measure_wake(mcfg, L, passes, contexts, steps=int(ss[STEPS]), block=BLOCK,
                                      progress=lambda f, t: bar.progress(min(0.8 * f, 1.0), text=t))
            sleep = costs.measure_sleep(mcfg, L, int(ss[MAX_N]), int(ss[REPEATS]),
                                        progress=lambda f, t: bar.progress(min(0.8 + 0.2 * f, 1.0),
                                                                           text=f"timing one sleep per N: {t}"))
            seconds = time.perf_counter() - t0
            bar.empty()
            box.update(label=f"Measured in {seconds:.1f} s", state="complete", expanded=False)
        return {"wake": wake, "sleep": sleep, "shape": source.name, "seconds": seconds,
                "when": datetime.now(timezone.utc), "threads": torch.get_num_threads(),
                "load_before": before, "load_after": costs.machine_load()}
    finally:
        lock.release()


def empty_state(source, passes: int) -> None:
    with st.container(border=True):
        st.markdown("#### :material/speed: Nothing measured yet in this session")
        st.markdown(
            f"**Measure on this machine** builds two fresh models in the shape of `{source.name}` and times them "
            "here, now:\n"
            f"- the **sleeping hybrid** (layers {source.layers}, window L = {source.config['sleep']['window']}, "
            f"N = {passes}): it sleeps and evicts its cache at every window boundary;\n"
            f"- a **transformer** of the same size (layers {'A' * len(source.layers)}) that keeps its whole KV "
            "cache, like `rule110-attn-kept`.\n\n"
            "Each is fed random tokens up to every chosen context length, then a few single-token wake steps are "
            "timed, alternating between models so the machine's load hits both alike. Then one sleep is timed "
            "for each N. The charts of latency, memory and sleep cost appear below; they stay until you leave.")
        st.caption("Timings depend on the tensors' shapes, not on the trained values, so fresh weights give the "
                   "same speed as the checkpoint's.")


@st.cache_data(show_spinner=False, max_entries=4)
def _reference(path: str, mtime: float) -> dict:
    return costs.bench_reference(open(path, encoding="utf-8").read())


def reference() -> None:
    """The committed bench results (docs/performance.md), clearly apart from this session's measurement."""
    if not PERFORMANCE_DOC.exists():
        return
    ref = _reference(str(PERFORMANCE_DOC), PERFORMANCE_DOC.stat().st_mtime)
    if ref["wake"] is None and ref["sleep"] is None:
        return
    when = f" on {ref['date']}" if ref["date"] else ""
    with st.expander(f"Reference: the committed bench run{when} (not this machine's measurement)"):
        left, right = st.columns(2, gap="large")
        if ref["wake"] is not None:
            with left:
                lab.chart(viz_cost.latency_figure(ref["wake"], height=280), key="cost_ref_latency")
                st.caption(f"Measured by `bench/bench_wake_latency.py`{when} (1-minute load {ref['wake_load']}), "
                           f"50 steps per point, as pasted in `docs/performance.md`.")
        if ref["sleep"] is not None:
            with right:
                lab.chart(viz_cost.sleep_figure(ref["sleep"], height=280), key="cost_ref_sleep")
                st.caption(f"Measured by `bench/bench_sleep_cost.py`{when} (1-minute load {ref['sleep_load']}), "
                           f"median of {ref['sleep'].repeats} sleeps per N, as pasted in `docs/performance.md`.")


def result_header(res: dict) -> None:
    w = res["wake"]
    load = res["load_before"]
    busy = max(load.get("other_runnable") or 0, res["load_after"].get("other_runnable") or 0)
    when = res["when"].strftime("%H:%M:%S UTC")
    st.caption(f"Measured at **{when}** in {res['seconds']:.1f} s, shape of `{res['shape']}` (layers {w.layers}, "
               f"L = {w.window}, N = {w.passes}), fresh weights, float32, one sequence, {res['threads']} torch "
               f"thread(s), {w.steps} timed steps per point. Machine: {load['cores']} cores, 1-minute load "
               f"{load['loadavg_1m']}, {busy} other runnable task(s).")
    if busy:
        st.warning(f"{busy} other task(s) were competing for the CPU while measuring: absolute times are inflated "
                   "and noisy. Compare the two models (they were measured alternately), not the numbers with "
                   "another day's.", icon=":material/warning:")
    C = w.contexts[-1]
    s = res["sleep"]
    m = st.columns(4)
    quiet = dict(delta_color="off", delta_arrow="off")
    m[0].metric("Transformer, per token", f"{w.transformer_ms[-1]:.2f} ms",
                f"{w.transformer_ms[-1] / w.hybrid_ms[-1]:.1f}× the hybrid at {C:,}", **quiet,
                help=f"Median wake step of the cache-kept transformer at {C:,} tokens of context.")
    m[1].metric("Hybrid, per token", f"{w.hybrid_ms[-1]:.2f} ms",
                f"{w.hybrid_ms[-1] / w.hybrid_ms[0]:.2f}× its time at {w.contexts[0]:,}", **quiet,
                help=f"Median wake step of the sleeping hybrid at {C:,} tokens of context.")
    m[2].metric("Transformer's memory", _size(w.transformer_bytes[-1]),
                f"hybrid: {_size(w.hybrid_bytes[-1])}", **quiet,
                help=f"KV cache at {C:,} tokens; the hybrid holds one window of KV plus its fast weights S.")
    m[3].metric("One sleep pass", f"{s.per_pass_ms:.2f} ms", f"over L = {s.window} tokens",
                **quiet, help="The slope of the line fitted to the time of one sleep against N.")


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:.2f} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.1f} KiB"


def wake_charts(res: dict, ex) -> None:
    w = res["wake"]
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("##### Wake latency per token")
        lab.chart(viz_cost.latency_figure(w), key="cost_latency", export=ex, title="wake latency",
                  data={"contexts": w.contexts, "hybrid_ms": w.hybrid_ms, "transformer_ms": w.transformer_ms,
                        "hybrid_amortised_ms": w.amortised_ms})
        st.caption("Median time of one `model.step`. Look at the slopes: the hybrid's step does the same work at "
                   "any length (one window of cache, then S), the transformer's attends over everything it has seen. "
                   "Dashed: the hybrid with its sleeps spread over the window's tokens.")
    with right:
        st.markdown("##### Memory held")
        lab.chart(viz_cost.memory_figure(w), key="cost_memory", export=ex, title="memory",
                  data={"contexts": w.contexts, "hybrid_bytes": w.hybrid_bytes,
                        "transformer_bytes": w.transformer_bytes})
        st.caption("Cached keys/values plus fast weights S, in bytes, at the peak of the timed steps. The hybrid "
                   "holds one window of cache and S, whatever the length; the transformer's cache grows with "
                   "every token.")


def accuracy(entries, samples: int):
    """({N: (name, counts)}, {"kept"/"evicted": counts}, chance, depths) on fresh held-out inputs, or None."""
    picks = lab.pick_by_passes(entries)
    if not picks:
        return None
    task = lab.load_model(next(iter(picks.values())))[2]
    depths = list(task.depths)
    pooled = ss.get(lab.EVAL_DEPTHS)
    if not (isinstance(pooled, (list, tuple)) and len(pooled) == 2 and all(d in depths for d in pooled)):
        pooled = (depths[-2], depths[-1]) if len(depths) > 1 else (depths[0], depths[0])
    pooled = [d for d in depths if pooled[0] <= d <= pooled[1]]
    seed = int(ss.get(lab.EVAL_SEED) or 0)
    by_n = {n: (e.name, lab.accuracy_for(e.path, e.mtime, n, samples, seed)) for n, e in picks.items()}
    base = {}
    for key, e in lab.baselines(entries, cells=next(iter(picks.values())).cells_asked).items():
        try:
            lab.load_model(e)
            base[key] = lab.accuracy_for(e.path, e.mtime, e.default_passes, samples, seed)
        except lab.LabError:
            continue
    chance = lab.chance_for(json.dumps(task.config(), sort_keys=True), samples, seed)
    return by_n, base, sum(chance[d] for d in pooled) / len(pooled), pooled


def sleep_charts(res: dict | None, entries, ex) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("##### What one sleep costs")
        if res is None:
            st.caption("Appears after a measurement.")
        else:
            s = res["sleep"]
            lab.chart(viz_cost.sleep_figure(s), key="cost_sleep", export=ex, title="sleep cost",
                      data={"passes": s.passes, "sleep_ms": s.median_ms, "sleep_q25_ms": s.q25_ms,
                            "sleep_q75_ms": s.q75_ms})
            st.caption(f"Median of {s.repeats} sleeps per N over the same full window (bars: middle half). One "
                       f"sleep runs N − 1 passes over L = {s.window} tokens, so its cost should grow in a straight "
                       f"line with N: {s.per_pass_ms:.2f} ms per pass here (largest gap to the line at N ≥ 2: "
                       f"{s.max_rel_dev:.0%}). It is paid once per window, not per token.")
    with right:
        samples = int(ss[ACC_SAMPLES])
        st.markdown("##### What it buys")
        with st.spinner("Measuring accuracy on fresh held-out inputs…"):
            try:
                acc = accuracy(entries, samples)
            except lab.LabError as e:
                st.error(str(e), icon=":material/error:")
                return
        if acc is None:
            st.info("No trained Rule 110 hybrids in the checkpoints folder, so there is no accuracy to show. Train "
                    "some with `python -m sleepcore.train` (see checkpoints/*/README.md).", icon=":material/school:")
            return
        by_n, base, chance, pooled = acc
        depth_text = f"t = {pooled[0]}–{pooled[-1]}" if len(pooled) > 1 else f"t = {pooled[0]}"
        lab.chart(viz_cost.buys_figure(by_n, pooled, base, chance), key="cost_buys", export=ex, title="accuracy",
                  data={"trained_passes": sorted(by_n),
                        "accuracy": [sum(by_n[n][1][d][0] for d in pooled) / max(1, sum(by_n[n][1][d][1]
                                     for d in pooled)) for n in sorted(by_n)]})
        st.caption(f"Accuracy at the deepest questions ({depth_text}) of the shipped hybrids trained with each N, "
                   f"measured live on {samples} fresh held-out inputs per depth (seed {int(ss.get(lab.EVAL_SEED) or 0)}"
                   "; bands: Wilson 95%). Lines: attention-only baselines. Each extra pass costs the time on the left.")
        st.select_slider("Inputs per depth", _choices(ACC_CHOICES, samples),
                         key=ACC_SAMPLES, help="More inputs: narrower bands, slower first measurement (then cached).")


def main() -> None:
    init()
    start = lab.page_start(
        "Cost of memory",
        "What remembering costs, measured live on this machine: time per token and memory as the context grows, "
        "for the sleeping hybrid and for a transformer that keeps its whole cache, and what one sleep costs "
        "against the accuracy it buys.")
    if start is None:
        return
    entry, entries = start
    source = hybrid_source(entry, entries)
    if source is None:
        st.info("There is no hybrid (fast-weight) checkpoint to take the model's shape from. Train one with "
                "`python -m sleepcore.train` or point the app at a checkpoints folder that has one.",
                icon=":material/folder_off:")
        return
    if source is not entry and entry is not None:
        st.caption(f":material/info: `{entry.name}` has no fast weights, so the hybrid measured here takes the shape of "
                   f"`{source.name}`.")
    n_side = ss.get(lab.PASSES)
    passes = int(n_side) if source is entry and isinstance(n_side, int) and n_side >= 1 else source.default_passes
    ex = lab.Exporter("Cost of memory")

    contexts, pressed = controls(source, passes)
    if pressed and contexts:
        res = measure(source, passes, contexts)
        if res is not None:
            ss[RESULT] = res
    res = ss.get(RESULT)
    st.markdown("### Wake: time and memory against context length")
    if res is None:
        empty_state(source, passes)
    else:
        result_header(res)
        wake_charts(res, ex)
    reference()
    st.markdown("### Sleep: what it costs and what it buys")
    sleep_charts(res, entries, ex)
    ex.menu()


main()
