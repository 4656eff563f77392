"""Regenerate the explorer's screenshots in docs/img/ from a real server and headless Chromium.

    .venv/bin/python docs/screenshots.py            # writes docs/img/*.png, one or more per page

Starts `streamlit run app.py` on a free loopback port, waits for its health endpoint, drives Debian's
Chromium through Playwright (a fresh profile, no network beyond 127.0.0.1), and waits on what the
page shows, never on fixed sleeps. Prints how long each interaction took to appear.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_FLAGS = ["--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(timeout: float = 60.0):
    """Yield the URL of a fresh `streamlit run app.py`; stop it afterwards."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                                 str(port), *SERVER_FLAGS], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + timeout
        try:
            while True:
                try:
                    if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read().strip() == b"ok":
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"streamlit did not start:\n{log.read().decode(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def chromium_page(width: int = 1280, height: int = 900):
    """A Playwright page in headless Debian Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=exe, headless=True, args=CHROMIUM_FLAGS,
                                                   viewport={"width": width, "height": height})
        try:
            yield ctx.pages[0] if ctx.pages else ctx.new_page()
        finally:
            ctx.close()


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the app has finished its script run and drawn every plotly chart."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stPlotlyChart']\")]"
        ".every(c => c.querySelector('.main-svg'))", timeout=timeout)


def snap(page, name: str, height: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": height})
    wait_idle(page)
    page.wait_for_timeout(400)  # let plotly finish its transitions so the picture is not mid-animation
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def snap_section(page, name: str, first: str, last: str) -> Path:
    """Write docs/img/<name>.png: the part of the page from the heading `first` to the end of the text `last`."""
    OUT.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 2600})
    wait_idle(page)
    page.wait_for_timeout(400)
    top = page.get_by_role("heading", name=first).first.bounding_box()
    end = page.get_by_text(last).first.bounding_box()
    path = OUT / f"{name}.png"
    x = max(0.0, top["x"] - 24)                   # the main column only, not the sidebar beside it
    page.screenshot(path=str(path), full_page=True,
                    clip={"x": x, "y": top["y"] - 16, "width": min(1280 - x, end["x"] + end["width"] + 24 - x),
                          "height": end["y"] + end["height"] + 24 - top["y"]})
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def click(page, key: str) -> None:
    """Click the button placed with this key (Streamlit marks it with the class st-key-<key>) once the app
    is idle, so no stale copy of it is on the page."""
    wait_idle(page)
    page.locator(f".st-key-{key} button:visible").click()


def press(page, slider: str, *keys: str) -> None:
    """Move a slider with the keyboard once the app is idle."""
    from playwright.sync_api import expect

    wait_idle(page)
    handle = page.get_by_role("slider", name=slider)
    expect(handle).to_have_count(1)  # a rerun can briefly show the stale copy beside the new one
    handle.focus()
    for k in keys:
        handle.press(k)


def timed(label: str, action, check) -> float:
    t0 = time.perf_counter()
    action()
    check()
    dt = time.perf_counter() - t0
    print(f"{label}: {dt:.2f} s")
    return dt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=1650, help="viewport height for the full-page shots")
    args = ap.parse_args(argv)
    if not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()):
        print("chromium is not installed: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import expect

    with streamlit_server() as url, chromium_page() as page:
        t0 = time.perf_counter()
        page.goto(url, wait_until="domcontentloaded")
        expect(page.get_by_text("window 1, wake token 1 of 17")).to_be_visible(timeout=60_000)
        wait_idle(page)
        print(f"first render: {time.perf_counter() - t0:.2f} s")
        for k in range(5):
            timed(f"step forward {k + 1}", lambda: click(page, "tl_fwd"),
                  lambda k=k: expect(page.get_by_text(f"window 1, wake token {k + 2} of 17")).to_be_visible())
        snap(page, "timeline-wake", args.height)
        timed("jump to the first sleep pass", lambda: click(page, "tl_next_sleep"),
              lambda: expect(page.get_by_text("window 1 asleep: pass 2 of 4")).to_be_visible())
        timed("step to sleep pass 3", lambda: click(page, "tl_fwd"),
              lambda: expect(page.get_by_text("window 1 asleep: pass 3 of 4")).to_be_visible())
        snap(page, "timeline", args.height)
        timed("new N (4 -> 8), first sleep of it", lambda: press(page, "Sleep passes N", "End"),
              lambda: expect(page.get_by_text("window 1 asleep: pass 3 of 8")).to_be_visible())
        timed("back to N = 4", lambda: press(page, "Sleep passes N", "ArrowLeft", "ArrowLeft"),
              lambda: expect(page.get_by_text("window 1 asleep: pass 3 of 4")).to_be_visible())
        click(page, "tl_last")
        expect(page.get_by_text("prediction window, wake token 1 of 1")).to_be_visible()
        snap(page, "timeline-prediction", args.height)

        # the other pages, opened by their links (the top navigation groups them in menus)
        for path, heading, ready, name, height in [
            ("automaton", "Cellular automaton", "N = 4:", "automaton", 1000),
            ("guide?part=sleep", "Guide", "What is sleep?", "guide", 1000),
            ("guide?part=classroom&lesson=3", "Guide", "Deep: 8 steps", "guide-classroom", 1100),
            ("tasks?ckpt=khop-n4", "Graphs and arithmetic", "What the answer needs", "tasks-khop", 1300),
            ("tasks?ckpt=arith-n4", "Graphs and arithmetic", "The operations the answer needs", "tasks-arith", 1300),
            ("amnesia", "Amnesia test", "Over many held-out inputs", "amnesia", 1600),
            ("probe", "Memory probe", "Residual: what is still unlearned", "probe", 1600),
            ("training?ckpt=rule110-cells-n4&at=8", "Training curves", "The runs", "training", 1500),
        ]:
            t0 = time.perf_counter()
            page.goto(f"{url}/{path}", wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=60_000)
            expect(page.get_by_text(ready).first).to_be_visible(timeout=120_000)
            print(f"{path}: drawn in {time.perf_counter() - t0:.2f} s")
            snap(page, name, height)

        page.goto(f"{url}/probe?ckpt=rule110-cells-n4-seed1", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Memory probe")).to_be_visible(timeout=60_000)
        timed("memory probe: rows read after each pass (300 inputs)", lambda: click(page, "probe_rows_go"),
              lambda: expect(page.get_by_text("answer row is read right on")).to_be_visible(timeout=120_000))
        snap_section(page, "probe-rows", "Which rows of the automaton", "answer row is read right on")

        page.goto(f"{url}/cost", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Cost of memory")).to_be_visible(timeout=60_000)
        timed("cost of memory: measure on this machine", lambda: click(page, "cost_measure"),
              lambda: expect(page.get_by_text("Wake latency per token")).to_be_visible(timeout=180_000))
        snap(page, "cost", 1700)

        t0 = time.perf_counter()
        page.goto(f"{url}/sleep_more", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Sleep more, think deeper")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Accuracy against depth t")).to_be_visible(timeout=120_000)
        print(f"sleep-more page measured and drawn: {time.perf_counter() - t0:.2f} s")
        snap(page, "sleep-more", 1100)

        t0 = time.perf_counter()       # the curriculum pair: the question and the recipe picked from the link
        page.goto(f"{url}/sleep_more?ckpt=rule110-cells-curr-n4&ask=row&recipe=t2", wait_until="domcontentloaded")
        expect(page.get_by_text("How their training drew the depth t")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Accuracy against depth t")).to_be_visible(timeout=180_000)
        wait_idle(page, 180_000)
        print(f"sleep-more page, curriculum pair, measured and drawn: {time.perf_counter() - t0:.2f} s")
        snap(page, "sleep-more-curriculum", 1100)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
