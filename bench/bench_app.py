"""Benchmark: server-side time of the explorer's main interactions, through streamlit.testing.v1.AppTest.

Run by hand (never part of the test run):

    .venv/bin/python bench/bench_app.py [--repeats 7] [--cold 3] 2>/dev/null

What is timed is AppTest.run() after an interaction: the script rerun with the new widget state, i.e.
all Python the server runs for it (the app's own code, cached model/trace look-ups, building the
Plotly figures and serialising every element to protobuf); no browser, network or rendering. Two
caveats, both making these figures upper bounds for a real `streamlit run` server: AppTest reruns the
whole script for a click inside `st.fragment` (the timeline's player), where the server reruns only
the fragment; and AppTest creates a fresh mock runtime per run.

  cold start   a fresh Python process (`--cold` of them, one after another) that imports streamlit's
               AppTest and runs app.py once: the first page (timeline) with empty caches, so it imports
               torch, loads the checkpoint, traces the sample and builds every figure. Reported: that
               first run alone, and the whole process from launch to the rendered page.
  warm         in this process, after one cold pass over every interaction (which fills the caches:
               each page's first visit and the first change of N are reported as "first time"), the
               interactions below run in one fixed cycle `--repeats` times (so every interaction is
               measured interleaved with all the others); the figure is the median over repeats.

Pages are routed as a server routes them (see `server_like_pages`). Widget keys are read from app.py /
pages/*.py; any that is missing is reported (and that interaction
skipped) rather than failing the benchmark, as is any exception the app raised. Targets: every
interaction under 300 ms median after warm-up, cold start under 5 s, on this 2-core machine (the app
runs torch with 1 thread, SLEEPLAB_THREADS). The last line of the output is one JSON object.
Streamlit's own logging and the app's stderr are best silenced with 2>/dev/null.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

T_PROCESS = time.perf_counter()  # as early as possible, for the child's "whole process" figure

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import load_at_start, load_figures  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TARGET_MS, TARGET_COLD_S = 300.0, 5.0
TIMEOUT = 600.0


def server_like_pages() -> None:
    """Make AppTest route pages the way a running server does.

    AppTest resets `PagesManager.uses_pages_directory` before every run, and because a `pages/` folder
    sits next to app.py it then runs a switched-to page file directly ("MPA v1"), skipping app.py: no
    sidebar, and the sidebar's widget state (the checkpoint) is dropped. A server sets the flag once;
    app.py's st.navigation turns it off for good, so every page runs through app.py. Do that here.
    """
    from streamlit.runtime.pages_manager import PagesManager
    if getattr(PagesManager.__init__, "_bench_patched", False):
        return
    original = PagesManager.__init__

    def init(self, *a, **k):
        PagesManager.uses_pages_directory = False
        original(self, *a, **k)

    init._bench_patched = True
    PagesManager.__init__ = init


def cold_child() -> None:
    """One cold start, in this fresh process: print a JSON line with the timings."""
    t0 = time.perf_counter()
    from streamlit.testing.v1 import AppTest
    server_like_pages()
    t1 = time.perf_counter()
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    t2 = time.perf_counter()
    print(json.dumps({"import_apptest_s": t1 - t0, "first_run_s": t2 - t1, "process_s": t2 - T_PROCESS,
                      "exceptions": [str(e.value)[:200] for e in at.exception],
                      "title": [t.value for t in at.title][:1]}))


def measure_cold(n: int) -> list[dict]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, __file__, "--cold-child"], capture_output=True, text=True,
                           cwd=str(ROOT), timeout=TIMEOUT)
        wall = time.perf_counter() - t0
        line = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("{")), None)
        if line is None:
            out.append({"error": (p.stderr or p.stdout)[-400:], "wall_s": wall})
        else:
            out.append({**json.loads(line), "wall_s": wall})
    return out


class Session:
    """One AppTest session with timed, defensive interactions."""

    def __init__(self):
        from streamlit.testing.v1 import AppTest
        server_like_pages()
        self.at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        self.problems: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def timed_run(self, name: str, prepare=None, title: str | None = None) -> float | None:
        """Apply `prepare(at)` (a widget change), then time at.run(); None if the interaction is impossible.
        `title`: the page title expected afterwards (a mismatch is reported as an app error)."""
        try:
            if prepare is not None:
                prepare(self.at)
        except Exception as e:  # noqa: BLE001  (a key that moved: report it, measure the rest)
            self.problems[name] = f"{type(e).__name__}: {str(e)[:160]}"
            return None
        t0 = time.perf_counter()
        self.at.run()
        dt = time.perf_counter() - t0
        exc = list(self.at.exception)
        if exc:
            self.errors[name] = str(exc[0].value)[:200]
        titles = [t.value for t in self.at.title]
        if title is not None and title not in titles:
            self.errors[name] = f"expected the page {title!r}, got titles {titles}"
        return dt

    # ---------------------------------------------------------------- the interactions
    def page(self, path: str):
        return lambda at: at.switch_page(path)

    @staticmethod
    def click(key: str):
        return lambda at: at.button(key=key).click()

    @staticmethod
    def set_passes(value_from):
        def prep(at):
            w = at.select_slider(key="passes")
            w.set_value(value_from(w.value))
        return prep

    @staticmethod
    def scrub_to_sleep(at):
        """Drag the step slider to the first sleep step (found by its label)."""
        w = at.select_slider(key="step")
        idx = next((i for i, label in enumerate(w.options) if "sleep" in str(label)), None)
        if idx is None:
            raise LookupError("no sleep step among the step slider's options (N = 1?)")
        w.set_value(idx)


def other_n(current) -> int:
    return 2 if current != 2 else 4


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--cold", type=int, default=3, help="fresh processes for the cold start")
    ap.add_argument("--cold-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cold_child:
        cold_child()
        return

    import streamlit
    import torch
    load, others = load_at_start()
    print(f"streamlit {streamlit.__version__}, torch {torch.__version__}; {os.cpu_count()} cores, 1-min load average "
          f"{load:.2f} (lags), other runnable tasks now: {others}; app {APP.relative_to(ROOT)} "
          f"(modified {time.strftime('%H:%M:%S', time.localtime(APP.stat().st_mtime))})")
    if others:
        print("WARNING: other processes are running; they distort these timings (rerun when idle)")

    colds = measure_cold(args.cold)
    good = [c for c in colds if "error" not in c]
    print(f"\ncold start ({args.cold} fresh processes, one after another):")
    for i, c in enumerate(colds):
        if "error" in c:
            print(f"  #{i + 1}: FAILED: {c['error']}")
        else:
            print(f"  #{i + 1}: first run of app.py {c['first_run_s']:.2f} s; import AppTest {c['import_apptest_s']:.2f} s; "
                  f"process launch to rendered page {c['wall_s']:.2f} s" + (f"; EXCEPTION {c['exceptions']}"
                                                                            if c["exceptions"] else ""))
    cold_first = statistics.median(c["first_run_s"] for c in good) if good else float("nan")
    cold_wall = statistics.median(c["wall_s"] for c in good) if good else float("nan")

    s = Session()
    t_first = s.timed_run("first run (this process, torch already imported)")
    first_time: dict[str, float | None] = {}
    # One cycle, ordered so that every button it clicks is enabled (AppTest refuses disabled ones):
    # it starts at step 0 and goes back there with "Start" before N, t or the page change.
    expect = {"open page: cellular automaton": "Cellular automaton",
              "open page: sleep more, think deeper": "Sleep more, think deeper", "open page: timeline": "Timeline",
              "open page: guide": "Guide", "open page: graphs and arithmetic": "Graphs and arithmetic",
              "open page: amnesia test": "Amnesia test", "amnesia: change t": "Amnesia test",
              "open page: memory probe": "Memory probe", "probe: change pass": "Memory probe",
              "open page: cost of memory": "Cost of memory", "open page: training curves": "Training curves",
              "training: change depth": "Training curves"}
    cycle = [
        ("timeline: rerun, nothing changed", None),
        ("timeline: step forward", Session.click("tl_fwd")),
        ("timeline: step forward again", Session.click("tl_fwd")),
        ("timeline: jump to next sleep / eviction", Session.click("tl_next_sleep")),
        ("timeline: step back", Session.click("tl_back")),
        ("timeline: scrub slider to a sleep pass", Session.scrub_to_sleep),
        ("timeline: Start", Session.click("tl_first")),
        ("timeline: change N", Session.set_passes(other_n)),
        ("timeline: change N back", Session.set_passes(other_n)),
        ("timeline: change depth t", lambda at: at.select_slider(key="depth").set_value(
            7 if at.select_slider(key="depth").value != 7 else 6)),
        ("open page: cellular automaton", s.page("pages/automaton.py")),
        ("automaton: flip a cell", Session.click("ca_cell_3")),
        ("open page: sleep more, think deeper", s.page("pages/sleep_more.py")),
        ("open page: guide", s.page("pages/guide.py")),
        ("open page: graphs and arithmetic", s.page("pages/tasks.py")),
        ("open page: amnesia test", s.page("pages/amnesia.py")),
        ("amnesia: change t", lambda at: at.select_slider(key="amn_t").set_value(
            7 if at.select_slider(key="amn_t").value != 7 else 8)),
        ("open page: memory probe", s.page("pages/probe.py")),
        ("probe: change pass", lambda at: at.select_slider(key="probe_pass").set_value(
            2 if at.select_slider(key="probe_pass").value != 2 else 3)),
        ("open page: cost of memory", s.page("pages/cost.py")),
        ("open page: training curves", s.page("pages/training.py")),
        ("training: change depth", lambda at: at.select_slider(key="tr_depth").set_value(
            "7" if at.select_slider(key="tr_depth").value != "7" else "8")),
        ("open page: timeline", s.page("pages/timeline.py")),
    ]
    for name, prep in cycle:  # first pass: fills the caches (first visit of each page, first N change)
        first_time[name] = s.timed_run(name, prep, expect.get(name, "Timeline" if name.startswith("timeline") else None))
    samples: dict[str, list[float]] = {name: [] for name, _ in cycle}
    for _ in range(args.repeats):
        for name, prep in cycle:
            dt = s.timed_run(name, prep, expect.get(name, "Timeline" if name.startswith("timeline") else None))
            if dt is not None:
                samples[name].append(dt)

    print(f"\nwarm interactions (AppTest.run() after the change; median of {args.repeats} cycles, ms; "
          f"'first time' = the first pass, caches still empty for what it needed):")
    print(f"{'interaction':<42} {'median':>8} {'min..max':>14} {'first time':>11}  target < {TARGET_MS:.0f} ms")
    meds = {}
    for name, _ in cycle:
        xs = samples[name]
        if not xs:
            print(f"{name:<42} {'skipped':>8}  ({s.problems.get(name, 'no samples')})")
            continue
        m = statistics.median(xs) * 1e3
        meds[name] = m
        ft = first_time.get(name)
        print(f"{name:<42} {m:>8.0f} {f'{min(xs) * 1e3:.0f}..{max(xs) * 1e3:.0f}':>14} "
              f"{(f'{ft * 1e3:.0f}' if ft is not None else '-'):>11}  {'ok' if m < TARGET_MS else 'MISSED'}")
    if s.problems:
        print("interactions that could not be performed (widget keys changed?):")
        for k, v in s.problems.items():
            print(f"  {k}: {v}")
    if s.errors:
        print("exceptions the app showed:")
        for k, v in s.errors.items():
            print(f"  after {k!r}: {v}")
    worst = max(meds, key=meds.get) if meds else None
    all_ok = bool(meds) and all(m < TARGET_MS for m in meds.values()) and not s.errors and not s.problems
    if s.errors or s.problems:
        print("NOTE: the app raised exceptions or interactions were skipped: a page that stops early is fast "
              "for the wrong reason, so these timings do not count toward the target (rerun when the app is fixed)")
    print(f"\nfirst run in this process (torch imported already): {t_first:.2f} s")
    print(f"cold start, first page: {cold_first:.2f} s (median of {len(good)}) -> "
          f"{'MET' if cold_first < TARGET_COLD_S else 'MISSED'} (target < {TARGET_COLD_S:.0f} s); process launch to "
          f"page {cold_wall:.2f} s")
    if worst:
        print(f"slowest warm interaction: {worst!r} {meds[worst]:.0f} ms -> every interaction under "
              f"{TARGET_MS:.0f} ms: {'MET' if all_ok else 'MISSED'} ({sum(m >= TARGET_MS for m in meds.values())} of "
              f"{len(meds)} over)")
    machine = load_figures(torch.get_num_threads(), load, others)
    figures = {
        "torch_threads_app": machine.pop("threads"),
        **machine,
        "cold_first_run_s": round(cold_first, 3),
        "cold_process_s": round(cold_wall, 3),
        "warm_ms": {k: round(v, 1) for k, v in meds.items()},
        "first_time_ms": {k: (round(v * 1e3, 1) if v is not None else None) for k, v in first_time.items()},
        "slowest": worst,
        "all_under_target": all_ok,
        "valid": not s.errors and not s.problems,
        "cold_under_target": cold_first < TARGET_COLD_S,
        "skipped": sorted(s.problems),
        "app_exceptions": s.errors,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
