"""Many concurrent users against a real `streamlit run app.py` (run by hand; not a test).

    .venv/bin/python bench/load_test.py                 # 25 sessions, ends with one JSON line
    .venv/bin/python bench/load_test.py --sessions 40 --reference 3

One headless Debian Chromium (docs/screenshots.py's flags and server helper), one browser context per
session, all driven concurrently from one asyncio loop (threads buy nothing on 2 cores; Playwright's
async API keeps every page in flight at once). Each session picks its own sample seed and N in the
sidebar, steps forward its own number of times, jumps to the first sleep pass, then to the end, and
checks after every interaction that the page shows exactly what that session asked for: the full
caption ("window 1, wake token 4 of 17: '1'", "window 1 asleep: pass 2 of 6"), the step counter
("step 5 of 58", which depends on N) and the model's answer with its confidence. The expected texts come
from the same code path the app runs (`pages.lab.sample_for` + `sleepcore.timeline.trace_sample` on the
same checkpoint), and `--reference` sessions are first run alone in a fresh browser to confirm that a
single user sees exactly those texts. Latency = interaction -> the updated caption visible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))
from screenshots import CHROMIUM_FLAGS, streamlit_server  # noqa: E402  (docs/screenshots.py)

CHECKPOINT = "rule110-n4"       # the app's default checkpoint
DEPTH = 6                       # the timeline's default depth t
PASS_CHOICES = [1, 2, 3, 4, 6, 8]  # pages.lab.PASS_CHOICES; the app starts at the trained N = 4
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHARTS_DRAWN = ("() => [...document.querySelectorAll(\"[data-testid='stPlotlyChart']\")]"
                ".every(c => c.querySelector('.main-svg'))")


@dataclass
class Plan:
    index: int
    seed: int
    passes: int
    forward: int
    expected: dict = field(default_factory=dict)


def plans(n: int) -> list[Plan]:
    ns = [2, 3, 4, 6, 8]  # N > 1, so there is a sleep pass to jump to
    return [Plan(i, seed=1000 + 37 * i, passes=ns[i % len(ns)], forward=1 + i % 7) for i in range(n)]


def expected_texts(plan: Plan) -> dict:
    """What the app must show for this plan, from the same functions the app calls."""
    import torch

    from pages import lab
    from sleepcore.checkpoint import load_checkpoint
    from sleepcore.tasks import task_from_config
    from sleepcore.timeline import SLEEP, trace_sample

    global _MODEL
    if "_MODEL" not in globals():
        torch.set_num_threads(1)
        model, cfg = load_checkpoint(ROOT / "checkpoints" / CHECKPOINT)
        _MODEL = (model, task_from_config(cfg["task"]))
    model, task = _MODEL
    tl = trace_sample(model, task, lab.sample_for(task, plan.seed, DEPTH), plan.passes)
    k = plan.forward
    sleep_i = next(s.index for s in tl.steps[k + 1:] if s.kind != "wake")
    assert tl.steps[sleep_i].kind == SLEEP
    last = len(tl) - 1
    return {
        "start": tl.caption(0),
        "counter_start": f"step 1 of {len(tl)}",
        "forward": [tl.caption(i) for i in range(1, k + 1)],
        "sleep": tl.caption(sleep_i),
        "last": tl.caption(last),
        "answers": [f"Model says {p.predicted} with {100 * p.confidence:.1f}% · true answer {p.target}"
                    for p in tl.predictions],
    }


async def drive(browser, url: str, plan: Plan, timeout_ms: float) -> dict:
    """One user: returns {"latencies": {...}, "errors": [...], "seen": {...}}."""
    from playwright.async_api import expect

    ctx = await browser.new_context(viewport={"width": 1280, "height": 1100})
    page = await ctx.new_page()
    page.set_default_timeout(timeout_ms)
    lat: dict[str, list[float]] = {}
    errors: list[str] = []
    seen: dict = {}
    exp = plan.expected

    async def idle():
        await page.wait_for_selector(IDLE)
        await page.wait_for_function(CHARTS_DRAWN)

    async def check(label: str, text: str, t0: float | None = None):
        try:
            await expect(page.get_by_text(text, exact=False).first).to_be_visible(timeout=timeout_ms)
        except AssertionError:
            errors.append(f"session {plan.index} {label}: expected {text!r} never appeared")
            return
        if t0 is not None:
            lat.setdefault(label, []).append(time.perf_counter() - t0)
        seen[label] = text

    async def click(key: str):
        await idle()
        await page.locator(f".st-key-{key} button:visible").click()

    try:
        t0 = time.perf_counter()
        await page.goto(url, wait_until="domcontentloaded")
        await check("first_render", "window 1, wake token 1 of 17", t0)
        await idle()
        # N: the slider starts at the trained N = 4; move it with the keyboard
        steps = PASS_CHOICES.index(plan.passes) - PASS_CHOICES.index(4)
        t0 = time.perf_counter()
        for _ in range(abs(steps)):  # one key per rerun: a rerun briefly shows a stale copy beside the new one
            await idle()
            handle = page.get_by_role("slider", name="Sleep passes N")
            await expect(handle).to_have_count(1, timeout=timeout_ms)
            await handle.press("ArrowRight" if steps > 0 else "ArrowLeft")
        await check("set_N", exp["counter_start"], t0 if steps else None)
        # seed: type it into the sidebar's number input
        await idle()
        box = page.locator("[data-testid='stSidebar'] [data-testid='stNumberInput'] input")
        await expect(box).to_have_count(1, timeout=timeout_ms)
        await box.fill(str(plan.seed))
        await box.press("Enter")
        # no wait here: the next click carries the new seed with it, and the seed-dependent captions decide
        for j, caption in enumerate(exp["forward"]):
            t0 = time.perf_counter()
            await click("tl_fwd")
            await check("step_forward", caption, t0)
        t0 = time.perf_counter()
        await click("tl_next_sleep")
        await check("jump_to_sleep", exp["sleep"], t0)
        t0 = time.perf_counter()
        await click("tl_last")
        await check("jump_to_end", exp["last"], t0)
        await idle()
        for a in exp["answers"]:
            await check("answer", a)
        # nothing of another session: exactly one caption, one counter, and the N this session chose
        body = await page.locator("[data-testid='stMain']").inner_text()
        counters = set(re.findall(r"step \d+ of \d+", body))
        if len(counters) != 1:
            errors.append(f"session {plan.index}: step counters {sorted(counters)}")
        shown_n = await page.get_by_role("slider", name="Sleep passes N").get_attribute("aria-valuetext")
        if shown_n is not None and shown_n.strip() != str(plan.passes):
            errors.append(f"session {plan.index}: slider shows N={shown_n}, asked for {plan.passes}")
    except Exception as e:  # a timeout or a crash of this session is an error, not the end of the run
        errors.append(f"session {plan.index}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    finally:
        await ctx.close()
    return {"latencies": lat, "errors": errors, "seen": seen}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


async def run(url: str, sessions: list[Plan], reference: int, timeout_ms: float) -> dict:
    from playwright.async_api import async_playwright

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_FLAGS)
        ref_errors = []
        # a fresh single session for the first `reference` plans: one user sees exactly the expected texts
        for plan in sessions[:reference]:
            r = await drive(browser, url, plan, timeout_ms)
            ref_errors += [f"reference {e}" for e in r["errors"]]
            print(f"reference session {plan.index} (seed {plan.seed}, N={plan.passes}): "
                  f"{'ok' if not r['errors'] else r['errors']}", flush=True)
        t0 = time.perf_counter()
        results = await asyncio.gather(*(drive(browser, url, plan, timeout_ms) for plan in sessions))
        wall = time.perf_counter() - t0
        await browser.close()
    return {"results": results, "wall": wall, "ref_errors": ref_errors}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=25)
    ap.add_argument("--reference", type=int, default=2, help="plans first run alone as a single fresh session")
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds any one expected text may take")
    args = ap.parse_args(argv)
    if not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()):
        print("chromium is not installed: apt-get install -y chromium", file=sys.stderr)
        return 2
    sessions = plans(args.sessions)
    for plan in sessions:
        plan.expected = expected_texts(plan)
    with streamlit_server() as url:
        out = asyncio.run(run(url, sessions, args.reference, args.timeout * 1000))
    errors = out["ref_errors"] + [e for r in out["results"] for e in r["errors"]]
    for e in errors:
        print("ERROR", e)
    by_kind: dict[str, list[float]] = {}
    for r in out["results"]:
        for k, v in r["latencies"].items():
            by_kind.setdefault(k, []).extend(v)
    interactions = [x for k, v in by_kind.items() if k != "first_render" for x in v]
    for k, v in sorted(by_kind.items()):
        print(f"{k:>14}: n={len(v):>3}  p50 {pct(v, .5):6.2f} s  p90 {pct(v, .9):6.2f} s  p99 {pct(v, .99):6.2f} s")
    summary = {
        "sessions": len(sessions), "reference_sessions": args.reference, "errors": len(errors),
        "sessions_ok": sum(not r["errors"] for r in out["results"]), "interactions": len(interactions),
        "wall_s": round(out["wall"], 1),
        "latency_s": {"p50": round(pct(interactions, .5), 3), "p90": round(pct(interactions, .9), 3),
                      "p99": round(pct(interactions, .99), 3),
                      "mean": round(statistics.fmean(interactions), 3) if interactions else None},
        "first_render_s": {"p50": round(pct(by_kind.get("first_render", []), .5), 3),
                           "p99": round(pct(by_kind.get("first_render", []), .99), 3)},
        "distinct_settings": len({(p.seed, p.passes, p.forward) for p in sessions}),
    }
    print(json.dumps(summary))
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
