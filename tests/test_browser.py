"""The explorer in a real browser: a real `streamlit run app.py` server and headless Debian Chromium
driven by Playwright. Waits on what the page shows (and the app's health endpoint), never on sleeps.

    .venv/bin/python -m pytest -m browser tests/test_browser.py
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sys.path.insert(0, str(ROOT / "docs"))
from screenshots import CHROMIUM_FLAGS, streamlit_server  # noqa: E402  (docs/screenshots.py)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="chromium is not installed (apt-get install -y chromium); the browser test needs it"),
    pytest.mark.skipif(not (ROOT / "checkpoints" / "rule110-n4" / "model.safetensors").exists(),
                       reason="needs the shipped checkpoints in checkpoints/"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_api.expect
# Playwright's expect waits 5 s by default; under a loaded 2-core run (CI, or training in the background) a
# rerun after a click has taken longer than that. What the page must show is unchanged, only the patience.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def app_url():
    """A fresh `streamlit run app.py` on a free loopback port, ready when /_stcore/health says ok
    (the same server helper the screenshot script uses)."""
    with streamlit_server(timeout=60.0) as url:
        yield url


EXTERNAL: list[str] = []   # every request the app's pages tried to send off this machine


def _only_local(route) -> None:
    """The app must work offline: requests to anything but the local server are recorded and refused."""
    url = route.request.url
    if url.startswith(("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "ws://localhost", "data:", "blob:", "file:",
                       "about:")):
        route.continue_()
    else:
        EXTERNAL.append(url)
        route.abort()


@pytest.fixture(scope="module")
def browser_page(app_url):
    """Headless Debian Chromium with a fresh profile, 1280 wide (a laptop screen), cut off from the internet."""
    with playwright_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 1500},
                                                   accept_downloads=True)
        ctx.route("**/*", _only_local)
        pg = ctx.pages[0] if ctx.pages else ctx.new_page()
        pg.set_default_timeout(30_000)
        yield pg
        ctx.close()


def idle(page) -> None:
    """The script run has finished and every plotly chart on the page is drawn."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stPlotlyChart']\")]"
                           ".every(c => c.querySelector('.main-svg'))")


def click(page, key: str) -> None:
    """Click the button placed with this key (class st-key-<key>) once the app is idle."""
    idle(page)
    page.locator(f".st-key-{key} button:visible").click()


def heatmap_values(page, key: str) -> list:
    """The z values plotly.js is drawing in the chart placed with this key (Streamlit marks the
    element with the class st-key-<key>)."""
    plot = page.locator(f".st-key-{key} .js-plotly-plot")
    expect(plot).to_have_count(1)
    # _fullData holds the decoded arrays (data[i].z is the base64 payload plotly.py sent)
    return plot.evaluate("el => el._fullData.filter(t => t.type === 'heatmap')"
                         ".map(t => Array.from(t.z, row => Array.from(row)))")


def test_timeline_steps_into_sleep_and_the_memory_changes(browser_page, app_url, tmp_path):
    page = browser_page
    page.goto(app_url, wait_until="domcontentloaded")
    expect(page.get_by_text("window 1, wake token 1 of 17: 't=8'")).to_be_visible(timeout=60_000)
    idle(page)
    page.screenshot(path=str(tmp_path / "timeline-start.png"))
    first = heatmap_values(page, "tl_S_1")
    assert len(first) == 2 and len(first[0]) == 32 and len(first[0][0]) == 32       # two heads, 32 x 32

    click(page, "tl_fwd")
    expect(page.get_by_text("window 1, wake token 2 of 17")).to_be_visible()
    idle(page)
    assert heatmap_values(page, "tl_S_1") != first

    click(page, "tl_next_sleep")
    expect(page.get_by_text("window 1 asleep: pass 2 of 4")).to_be_visible()
    idle(page)
    pass2 = heatmap_values(page, "tl_S_1")
    shot2 = page.locator(".st-key-tl_S_1").screenshot(path=str(tmp_path / "S-pass2.png"))
    click(page, "tl_fwd")
    expect(page.get_by_text("window 1 asleep: pass 3 of 4")).to_be_visible()
    idle(page)
    assert heatmap_values(page, "tl_S_1") != pass2                                  # sleeping changed S
    assert page.locator(".st-key-tl_S_1").screenshot(path=str(tmp_path / "S-pass3.png")) != shot2
    page.screenshot(path=str(tmp_path / "timeline-sleep.png"))

    click(page, "tl_last")
    expect(page.get_by_text("prediction window, wake token 1 of 1: '?'")).to_be_visible()
    expect(page.get_by_text("The question:")).to_be_visible()


def press_until(page, key: str, text: str, tries: int = 3) -> None:
    """Press a shortcut key until `text` shows. In a loaded full-suite run the very first key after a page
    load was once not picked up (the shortcut listener attaches after the buttons render); a user simply
    presses again. The key must work within `tries` presses."""
    for attempt in range(tries):
        page.keyboard.press(key)
        try:
            expect(page.get_by_text(text)).to_be_visible(timeout=4_000)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def test_keyboard_steps_and_plays(browser_page, app_url):
    page = browser_page
    page.goto(app_url, wait_until="domcontentloaded")
    expect(page.get_by_text("window 1, wake token 1 of 17")).to_be_visible(timeout=60_000)
    idle(page)
    page.locator("h1").first.click()                      # focus the page, not a widget
    press_until(page, "ArrowRight", "window 1, wake token 2 of 17")
    idle(page)
    press_until(page, "ArrowLeft", "window 1, wake token 1 of 17")
    idle(page)
    page.keyboard.press("Space")                          # play ...
    expect(page.locator(".st-key-tl_pause button")).to_be_visible()
    # it is stepping by itself (a tick is a fragment rerun: seconds apart when the two cores are busy)
    expect(page.get_by_text("window 1, wake token 3 of 17")).to_be_visible(timeout=20_000)
    # ... and pause. Press between ticks; a press can be lost while a tick replaces the button, so press again
    # if it still says Pause after 30 s (harmless now that Play and Pause are two buttons, not one toggle)
    play = page.locator(".st-key-tl_play button")
    for attempt in range(2):
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
        if play.is_visible():                             # already stopped: playback reached the end
            break
        page.keyboard.press("Space")
        try:
            expect(play).to_be_visible(timeout=30_000)
            break
        except AssertionError:
            if attempt == 1:
                raise
    # the button flips to Play at once; a tick already on its way may still redraw the step: let it land
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
    page.wait_for_timeout(1_000)
    # the status line ("... step 7 of 22"); a slow pause may land past the wake tokens, in a sleep pass
    status = page.locator("[data-testid='stMarkdown']").filter(has_text=re.compile(r"step \d+ of \d+")).first
    stopped_at = status.inner_text()
    page.wait_for_timeout(1_500)                          # paused: no more steps
    now = status.inner_text()
    assert now == stopped_at, f"still stepping after pause (Play button shown: {play.is_visible()})"


def test_a_shared_link_opens_the_same_view_and_follows_it(browser_page, app_url):
    page = browser_page
    page.goto(f"{app_url}/?ckpt=rule110-n2&seed=7&t=8&step=18", wait_until="domcontentloaded")
    expect(page.get_by_text("window 1 asleep: pass 2 of 2")).to_be_visible(timeout=60_000)
    click(page, "tl_fwd")
    expect(page.get_by_text("step 19 of 20")).to_be_visible()
    idle(page)
    page.wait_for_function("() => location.search.includes('step=19')")
    assert "ckpt=rule110-n2" in page.url and "n=2" in page.url and "seed=7" in page.url and "t=8" in page.url
    page.goto(f"{app_url}/?ckpt=nope&n=5", wait_until="domcontentloaded")
    expect(page.get_by_text("checkpoint 'nope' is not in this app's checkpoints folder")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("n='5' is not one of 1, 2, 3, 4, 6, 8")).to_be_visible()


def test_upload_your_own_checkpoint(browser_page, app_url, tmp_path):
    page = browser_page
    page.goto(app_url, wait_until="domcontentloaded")
    expect(page.get_by_text("window 1, wake token 1 of 17")).to_be_visible(timeout=60_000)
    idle(page)
    page.get_by_text("Load your own checkpoint").click()
    evil = tmp_path / "model.safetensors"
    evil.write_bytes(b"\x80\x04\x95" + b"pickle payload" * 10)
    src = ROOT / "checkpoints" / "rule110-n2"
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files([str(evil), str(src / "config.json")])
    expect(page.get_by_text("looks like a pickle")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Rule 110 · hybrid AF · trained N=4")).to_be_visible()        # nothing changed
    idle(page)                                            # each attempt starts with an empty uploader
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        [str(src / "model.safetensors"), str(src / "config.json"), str(src / "log.jsonl")])
    expect(page.get_by_text("It stays in this browser session only")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Its training log came with it")).to_be_visible()
    expect(page.get_by_text("window 1, wake token 1 of 17")).to_be_visible(timeout=30_000)
    idle(page)
    assert "ckpt=" not in page.url
    page.get_by_text("Experiment").click()                       # its curves, beside the shipped models'
    page.get_by_role("menuitem", name="Training curves").click()
    expect(page.get_by_role("heading", name="Exact match at t=8")).to_be_visible(timeout=60_000)
    idle(page)
    expect(page.locator(".legendtext", has_text="⬆ upload (").first).to_be_visible()   # two loose files: "upload"


def test_export_html_snapshot_is_self_contained(browser_page, app_url, tmp_path):
    page = browser_page
    page.goto(app_url, wait_until="domcontentloaded")
    expect(page.get_by_text("window 1, wake token 1 of 17")).to_be_visible(timeout=60_000)
    idle(page)
    page.get_by_role("button", name="Export").click()
    with page.expect_download() as dl:
        page.get_by_role("button", name="HTML snapshot of this view").click()
    path = tmp_path / "snapshot.html"
    dl.value.save_as(path)
    html = path.read_text()
    assert "Fast weights S, block 1" in html and "window 1, wake token 1 of 17" in html
    import re
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    page.keyboard.press("Escape")                                          # close the Export menu
    expect(page.get_by_role("button", name="HTML snapshot of this view")).to_be_hidden()
    chart = page.locator(".st-key-tl_S_1 .js-plotly-plot")                  # PNG of one figure: its camera
    chart.hover()
    with page.expect_download() as png:
        chart.get_by_role("button", name="Download plot as a PNG").click()
    png_path = tmp_path / png.value.suggested_filename
    png.value.save_as(png_path)
    assert png_path.name == "sleeplab-tl_S_1.png" and png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    snap = page.context.new_page()
    snap.goto(path.as_uri())
    expect(snap.locator(".js-plotly-plot").first).to_be_visible()
    assert snap.locator(".js-plotly-plot").count() >= 5
    snap.close()


def test_every_page_renders(browser_page, app_url, tmp_path):
    """Every page of the navigation, opened from its link, draws without an exception, offline."""
    page = browser_page
    page.goto(app_url, wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible(timeout=60_000)
    idle(page)
    page.get_by_text("Explore").click()                                  # the top navigation's menus work
    page.get_by_role("menuitem", name="Cellular automaton").click()
    expect(page.get_by_role("heading", name="Cellular automaton")).to_be_visible()
    expect(page.get_by_text("N = 4:").first).to_be_visible()
    idle(page)
    page.screenshot(path=str(tmp_path / "automaton.png"))
    for path, heading, ready in [
        ("guide", "Guide", "What is sleep?"),
        ("guide?part=classroom", "Guide", "Reveal"),
        ("tasks?ckpt=khop-n4", "Graphs and arithmetic", "Does sleep help on this task?"),
        ("tasks?ckpt=arith-n4", "Graphs and arithmetic", "has NOT learned"),
        ("amnesia", "Amnesia test", "Over many held-out inputs"),
        ("probe", "Memory probe", "Residual: what is still unlearned"),
        ("cost", "Cost of memory", "Measure on this machine"),
        ("training?ckpt=rule110-cells-n4&at=8", "Training curves", "The runs"),
        ("sleep_more", "Sleep more, think deeper", "Accuracy against depth t"),
    ]:
        page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text(ready).first).to_be_visible(timeout=120_000)
        idle(page)
        page.screenshot(path=str(tmp_path / f"{path.split('?')[0]}.png"))
        assert page.locator("[data-testid='stException']").count() == 0, path
    expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(2, timeout=30_000)   # the Sleep-more page
    assert EXTERNAL == [], f"the app tried to reach the internet: {EXTERNAL[:5]}"


def test_a_deep_link_as_a_fresh_servers_first_request_gets_the_whole_app(browser_page):
    """Streamlit runs a `pages/` file alone (no sidebar, no navigation) when a deep link is the first request
    a server sees; `lab.ensure_shell` reruns it inside app.py. Needs its own, fresh server."""
    with streamlit_server(timeout=60.0) as url:
        page = browser_page.context.new_page()
        page.goto(f"{url}/automaton?seed=3", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Cellular automaton")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Rule 110 · hybrid AF · trained N=4")).to_be_visible()       # the sidebar is there
        expect(page.get_by_text("Explore")).to_be_visible()                                   # and the top navigation
        idle(page)
        assert "seed=3" in page.url and "/automaton" in page.url
        page.close()
