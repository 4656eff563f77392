"""Guide: what sleep is in plain words, a glossary of the symbols, and a predict-then-reveal classroom.

The classroom's lessons are curated held-out inputs with the N = 1, 2, 4 checkpoints' answers stored
in `pages/classroom.json` (written by `experiments/classroom.py`, validated by `sleepcore.lessons`),
so a step loads instantly and never runs a model; tests/test_guide.py holds the stored answers equal
to what the shipped checkpoints answer now. Progress lives in this session's `guide_*` keys.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import streamlit as st

from pages import lab
from sleepcore import viz
from sleepcore.lessons import Lesson, LessonError, load_lessons
from sleepcore.viz_guide import row_figure, sleep_strip_figure

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)

ss = st.session_state

# ---------------------------------------------------------------------------- session-state keys
SECTION = "guide_section"      # which part of the guide is shown (one of SECTIONS)
STEP = "guide_step"            # classroom step index, 0-based
ANSWERS = "guide_answers"      # {step: {"cell": 0|1, "low": bool, "high": bool}} the student's predictions
REVEALED = "guide_revealed"    # tuple of step indices whose answer has been revealed
FILE = "guide_file"            # override of the lessons file (tests); default pages/classroom.json

SECTIONS = ("What is sleep?", "Glossary", "Classroom")
LESSONS_FILE = Path(__file__).resolve().parent / "classroom.json"

CSS = """<style>
.st-key-guide_page p, .st-key-guide_page li {font-size: 1.2rem; line-height: 1.6;}
.st-key-guide_page h2 {font-size: 1.75rem; padding-top: 0.6rem;}
.st-key-guide_page [data-testid="stCaptionContainer"] p {font-size: 1.02rem;}
.st-key-guide_page button p {font-size: 1.1rem;}
[class*="st-key-guide_pick_"] button, [class*="st-key-guide_low_"] button, [class*="st-key-guide_high_"] button
    {min-width: 5.5rem; min-height: 3rem;}
[class*="st-key-guide_pick_"] button p {font-size: 1.6rem; font-weight: 700;}
.guide-card {border: 2px solid #e4dff0; border-radius: 14px; padding: 0.9rem 1.1rem; background: #fbfaff;}
.guide-gloss td {padding: 0.55rem 0.9rem; vertical-align: top; font-size: 1.12rem; line-height: 1.45;
    border-bottom: 1px solid #eeeaf5;}
.guide-gloss td.sym {font-size: 1.45rem; font-weight: 700; color: #7b4fa3; white-space: nowrap; text-align: center;}
.guide-gloss td.where {color: #5c6070; font-size: 1.0rem;}
.guide-gloss {border-collapse: collapse; width: 100%;}
</style>"""


def init() -> None:
    defaults = {SECTION: SECTIONS[0], STEP: 0, ANSWERS: {}, REVEALED: ()}
    for k, v in defaults.items():
        ss.setdefault(k, v)
    if ss.get(SECTION) not in SECTIONS:
        ss[SECTION] = SECTIONS[0]


@st.cache_data(show_spinner=False, max_entries=8)
def _lessons(path: str, mtime: float) -> tuple[dict, list[Lesson]]:
    return load_lessons(path)


def lessons() -> tuple[dict, list[Lesson]]:
    """The validated lessons (cached by the file's modification time); LessonError if missing or malformed."""
    path = Path(ss.get(FILE) or LESSONS_FILE)
    mtime = path.stat().st_mtime if path.is_file() else 0.0
    return _lessons(str(path), mtime)


# ---------------------------------------------------------------------------- callbacks
def _go_section(name: str) -> None:
    ss[SECTION] = name


def _go_step(i: int, last: int) -> None:
    ss[STEP] = max(0, min(last, i))


def _answer(step: int, field: str, value) -> None:
    answers = {k: dict(v) for k, v in (ss.get(ANSWERS) or {}).items()}
    answers.setdefault(step, {})[field] = value
    ss[ANSWERS] = answers


def _reveal(step: int) -> None:
    ss[REVEALED] = tuple(sorted(set(ss.get(REVEALED) or ()) | {step}))


def _start_over() -> None:
    ss[STEP], ss[ANSWERS], ss[REVEALED] = 0, {}, ()


def _open_in_timeline(lesson: Lesson, checkpoint: str, passes: int) -> None:
    """The timeline's sample for this lesson is its held-out seed at depth t (exactly these cells)."""
    ss[lab.CKPT] = checkpoint
    ss[lab.PASSES] = passes
    ss[lab.SEED] = lesson.seed
    ss[lab.DEPTH] = lesson.t
    ss[lab.CUSTOM_STATE] = None
    ss[lab.STEP] = 0
    ss[lab.STEP_OBJ] = None
    ss[lab.PLAYING] = False


# ---------------------------------------------------------------------------- part 1: what is sleep
WHERE = [
    ("timeline", "Timeline", ":material/timeline:", "step through one input: wake, sleep, evict, answer"),
    ("automaton", "Cellular automaton", ":material/grid_on:", "build a row; see what each model predicts"),
    ("tasks", "Graphs and arithmetic", ":material/hub:", "the same stepping on k-hop retrieval and sums"),
    ("sleep_more", "Sleep more", ":material/bedtime:", "accuracy against N and depth t"),
    ("amnesia", "Amnesia test", ":material/psychology_alt:", "what is lost when the cache is evicted"),
    ("probe", "Memory probe", ":material/manage_search:", "what the fast weights S remember"),
    ("cost", "Cost of memory", ":material/speed:", "what sleeping costs in time"),
    ("training", "Training curves", ":material/query_stats:", "how each model learned, step by step"),
]


def what_is_sleep(ex) -> None:
    st.markdown("## What is sleep?")
    st.markdown(
        "A language model with **attention** remembers the last few tokens exactly, in its *cache*, but the "
        "cache has room for one window only. When the window is full, the cache is thrown away (**evicted**). "
        "What survives is a small memory, the **fast weights S**, that the model wrote while reading.\n\n"
        "**Sleep** happens just before the eviction: the model reads the same window again, N − 1 more times, "
        "with no new input, and each pass rewrites S. More passes give it more computation to turn the "
        "window into a memory it can answer from later. N = 1 means no sleep.")
    passes = int(ss.get(lab.PASSES) or 4) if ss.get(lab.PASSES) in lab.PASS_CHOICES else 4
    lab.chart(sleep_strip_figure(passes=passes), key="guide_strip", export=ex, title="Sleep in one picture")
    st.caption(f"One input at N = {passes} (the sidebar's N): the window is read once awake, then {passes - 1} "
               f"more time{'s' if passes != 2 else ''} asleep, then evicted; the question is answered from S alone.")
    st.markdown("#### In this app, the question is always the same")
    st.markdown("A row of 16 black and white cells evolves by **Rule 110** (each cell looks at itself and its two "
                "neighbours). The model reads the row and the number of steps *t*, sleeps, forgets the row, "
                "and must then say what **cell 0** will be after *t* steps.")
    st.button("Start the classroom", icon=":material/school:", type="primary", key="guide_start",
              on_click=_go_section, args=("Classroom",))
    st.markdown("## Where to look")
    cols = st.columns(3, gap="medium")
    for j, (page, label, icon, what) in enumerate(WHERE):
        with cols[j % 3].container(border=True, height=120):
            st.page_link(lab.PAGES[page], label=label, icon=icon)
            st.caption(what)


# ---------------------------------------------------------------------------- part 2: glossary
GLOSSARY = [
    ("N", "sleep passes", "How many times the model reads a window before its cache is evicted. N = 1: no sleep.",
     "sidebar slider; x axis of <i>Sleep more</i>"),
    ("L", "window", "How many tokens attention sees at once: here 17 (\"t=…\" and 16 cells). At each window's end "
     "the model sleeps, then evicts.", "<i>Timeline</i>: the ribbon, one group of bars per window"),
    ("S", "fast weights", "A small matrix per head the model writes into while it reads; the only memory that "
     "survives eviction.", "<i>Timeline</i>: “Fast weights S” heatmaps; <i>Memory probe</i>"),
    ("α", "forget gate", "How much of S is kept at each token (1 = keep everything, 0 = forget it all).",
     "<i>Timeline</i>: “Gates and writes”, black line"),
    ("β", "write strength", "How strongly the current token is written into S (0 = not at all, 1 = fully).",
     "<i>Timeline</i>: “Gates and writes”, gold line"),
    ("t", "automaton steps", "How far ahead the question asks: cell 0 after t steps (1 to 8). Larger t = harder.",
     "<i>Timeline</i>: depth slider; <i>Cellular automaton</i>; <i>Sleep more</i>"),
    ("k", "hops", "In the graph task: how many edges to follow from a start node to the answer.",
     "<i>Graphs and arithmetic</i>"),
    ("wake", "reading", "Tokens arrive one at a time and each is read once. Blue everywhere in the app.",
     "<i>Timeline</i>: blue steps"),
    ("sleep", "offline passes", "N − 1 extra passes over the window with no new input; each rewrites S. Purple.",
     "<i>Timeline</i>: purple steps “p2, p3, …”"),
    ("evict", "eviction", "At the end of a window its attention cache is thrown away. Orange ✂.",
     "<i>Timeline</i>: orange step; <i>Amnesia test</i>"),
    ("KV cache", "attention's memory", "The keys and values of the window's tokens: exact, but only for the "
     "current window.", "<i>Timeline</i>: ribbon bars (height = entries)"),
    ("held-out", "never seen", "Inputs kept out of training (one initial row in 8). Every accuracy in the app is "
     "measured on them.", "<i>Sleep more</i>; the sidebar's sample seed"),
    ("t²", "curriculum", "How often each depth t came up in training. “t² weighting” asks deep questions far more "
     "often (t = 8 in 31% of samples, not 12.5%): the whole-row models switch to it at step 7,500, the "
     "<code>curr</code> models use it from step 0.", "<i>Sleep more</i>: second control; sidebar caption"),
]


def glossary() -> None:
    st.markdown("## Glossary")
    st.caption("Each symbol in one line, and where it appears in the app.")
    rows = "".join(f'<tr><td class="sym">{sym}</td><td><b>{name}</b>: {text}</td><td class="where">{where}</td></tr>'
                   for sym, name, text, where in GLOSSARY)
    st.markdown(f'<table class="guide-gloss">{rows}</table>', unsafe_allow_html=True)


# ---------------------------------------------------------------------------- part 3: classroom
def progress_html(i: int, n: int, revealed) -> str:
    dots = []
    for j in range(n):
        if j == i:
            style = "background:#7b4fa3;color:white;border:2px solid #7b4fa3"
        elif j in revealed:
            style = "background:#efe8f6;color:#7b4fa3;border:2px solid #c9b4df"
        else:
            style = "background:white;color:#8A8F98;border:2px solid #dcd7e6"
        mark = "✓" if j in revealed and j != i else str(j + 1)
        dots.append(f'<span style="display:inline-flex;align-items:center;justify-content:center;width:2.2rem;'
                    f'height:2.2rem;border-radius:50%;font-weight:700;font-size:1.05rem;{style}">{mark}</span>')
    return (f'<div style="display:flex;gap:0.6rem;align-items:center;margin:0.2rem 0 0.6rem 0">{"".join(dots)}'
            f'<span style="margin-left:0.8rem;color:#5c6070;font-size:1.1rem">step {i + 1} of {n}</span></div>')


def rule_html(rule: int = 110) -> str:
    """The 8 neighbourhoods (left, centre, right) on top and the cell each one makes below, large."""
    cell = ('<span style="display:inline-block;width:18px;height:18px;margin:0 1px;border:1.5px solid #1F2A44;'
            'background:{}"></span>')
    parts = []
    for pattern in range(7, -1, -1):
        top = "".join(cell.format("#1F2A44" if (pattern >> s) & 1 else "#FBF8F1") for s in (2, 1, 0))
        bottom = cell.format("#1F2A44" if (rule >> pattern) & 1 else "#FBF8F1")
        parts.append(f'<div style="display:flex;flex-direction:column;align-items:center;gap:4px">'
                     f'<div style="white-space:nowrap;line-height:0">{top}</div>'
                     f'<div style="line-height:0">{bottom}</div></div>')
    return f'<div style="display:flex;flex-wrap:wrap;gap:16px;padding:4px 0 8px 0">{"".join(parts)}</div>'


def model_cards_html(lesson: Lesson) -> str:
    cards = []
    for a in lesson.answers:
        ok = a.right(lesson.truth)
        color = viz.RIGHT_COLOR if ok else viz.WRONG_COLOR
        who = "no sleep" if a.passes == 1 else f"{a.passes - 1} sleep pass{'es' if a.passes > 2 else ''}"
        cards.append(
            f'<div style="flex:1;min-width:6.5rem;border:3px solid {color};border-radius:14px;padding:0.6rem 0.7rem">'
            f'<div style="font-size:1.15rem;color:{viz.passes_color(a.passes)};font-weight:700">N = {a.passes}</div>'
            f'<div style="font-size:0.95rem;color:#5c6070">{who}</div>'
            f'<div style="white-space:nowrap;line-height:1.3"><span style="font-size:1.05rem">says</span> '
            f'<span style="font-size:2.3rem;font-weight:700">{a.answer}</span></div>'
            f'<div style="font-size:1.05rem;color:#5c6070">{100 * a.confidence:.0f}% sure</div>'
            f'<div style="font-size:1.2rem;font-weight:700;color:{color}">{"✓ right" if ok else "✗ wrong"}</div>'
            f'<div style="font-size:0.85rem;color:#8A8F98">{escape(a.checkpoint)}</div></div>')
    return f'<div style="display:flex;gap:0.8rem;flex-wrap:wrap">{"".join(cards)}</div>'


def low_high(lesson: Lesson) -> tuple[int, int]:
    ns = [a.passes for a in lesson.answers]
    return ns[0], ns[-1]


def answered(lesson: Lesson, mine: dict) -> bool:
    return ("cell" in mine) if lesson.question == "cell" else ("low" in mine and "high" in mine)


def choice_row(label: str, options: list[tuple[str, object]], key: str, step: int, field: str, mine: dict) -> None:
    st.markdown(label)
    row = st.container(horizontal=True, gap="small")
    for text, value in options:
        row.button(text, key=f"{key}_{str(value).lower()}", on_click=_answer, args=(step, field, value),
                   type="primary" if mine.get(field) == value else "secondary")


def question(lesson: Lesson, i: int, mine: dict) -> None:
    lo, hi = low_high(lesson)
    if lesson.question == "cell":
        choice_row(f"**What is cell 0 after t = {lesson.t} step{'s' if lesson.t > 1 else ''}?**",
                   [("0", 0), ("1", 1)], "guide_pick", i, "cell", mine)
    else:
        yes_no = [("Yes", True), ("No", False)]
        choice_row(f"**Will the model that does not sleep (N = {lo}) get it right?**", yes_no, "guide_low", i, "low",
                   mine)
        choice_row(f"**And the model that sleeps (N = {hi})?**", yes_no, "guide_high", i, "high", mine)


def verdict_html(lesson: Lesson, mine: dict) -> str:
    steps = f"{lesson.t} step{'s' if lesson.t > 1 else ''}"
    head = (f'<div style="font-size:1.6rem">Cell 0 after {steps} is '
            f'<b style="font-size:2.2rem">{lesson.truth}</b>.</div>')
    if lesson.question == "cell":
        ok = mine.get("cell") == lesson.truth
        you = f"You said {mine.get('cell')}: " + ("right!" if ok else "not this time.")
        color = viz.RIGHT_COLOR if ok else viz.WRONG_COLOR
        return head + f'<div style="font-size:1.3rem;color:{color};font-weight:700">{you}</div>'
    lo, hi = low_high(lesson)
    parts = []
    for n, field in ((lo, "low"), (hi, "high")):
        actual = lesson.by_passes(n).right(lesson.truth)
        guess = mine.get(field)
        ok = guess == actual
        color = viz.RIGHT_COLOR if ok else viz.WRONG_COLOR
        said = f'You said N = {n} would be {"right" if guess else "wrong"}'
        parts.append(f'<div style="color:{color};font-weight:700">{said}: '
                     f'{"✓ it was." if ok else "✗ it was " + ("right." if actual else "wrong.")}</div>')
    return head + f'<div style="font-size:1.3rem">{"".join(parts)}</div>'


def reveal(lesson: Lesson, i: int, mine: dict, entries, ex) -> None:
    st.markdown(verdict_html(lesson, mine), unsafe_allow_html=True)
    left, right = st.columns([5, 4], gap="medium")
    with left:
        truth = lab.true_diagram(lesson.cells, 110, lesson.t)
        lab.chart(viz.spacetime_figure(truth.astype(float), f"The true diagram, t = 0..{lesson.t}",
                                       mark=(lesson.t, 0), cell=30), key="guide_truth", export=ex,
                  data={"true_diagram": truth}, title="The true diagram")
        st.caption("Rows are time, top to bottom; the circled cell is the answer.")
    with right:
        st.markdown("**What the models answered**")
        st.markdown(model_cards_html(lesson), unsafe_allow_html=True)
        st.markdown('<div style="height:0.8rem"></div>', unsafe_allow_html=True)
        st.markdown("**What happened**")
        st.markdown(lesson.explanation)
        _, hi = low_high(lesson)
        target = lesson.by_passes(hi)
        names = {e.name for e in entries if e.ok}
        can = target.checkpoint in names
        st.button(f"Open in the timeline ({target.checkpoint}, N = {hi})", icon=":material/timeline:",
                  key="guide_open", on_click=_open_in_timeline, args=(lesson, target.checkpoint, hi),
                  disabled=not can, help="Step through this input: watch the window being read, slept on and evicted.")
        if not can:
            st.caption(f"Checkpoint `{target.checkpoint}` is not in the checkpoints folder, so the timeline cannot "
                       "show this lesson's model.")
        if ss.get("guide_open"):
            st.switch_page(lab.PAGES["timeline"])


def classroom(ex, entries) -> None:
    try:
        header, items = lessons()
    except LessonError as e:
        st.error(f"The classroom lessons could not be loaded: {e}", icon=":material/school:")
        return
    n = len(items)
    i = ss.get(STEP)
    if not isinstance(i, int) or not 0 <= i < n:
        i = ss[STEP] = 0
    lesson = items[i]
    revealed = set(ss.get(REVEALED) or ())
    mine = dict((ss.get(ANSWERS) or {}).get(i, {}))
    st.markdown(progress_html(i, n, revealed), unsafe_allow_html=True)
    st.markdown(f"## {i + 1}. {lesson.title}")
    st.markdown(f"Here is a row of 16 cells (row 0). It evolves for **t = {lesson.t}** "
                f"step{'s' if lesson.t > 1 else ''} by Rule 110. The question is about **cell 0** (circled).")
    lab.chart(row_figure(lesson.cells), key="guide_row", export=ex, data={"initial_row": list(lesson.cells)},
              title="The initial row")
    a, b = st.columns([3, 2], gap="large")
    with a:
        question(lesson, i, mine)
    with b:
        st.markdown("**Rule 110**: each cell's next value from (left, itself, right)")
        st.markdown(rule_html(110), unsafe_allow_html=True)
        st.caption("The row is a ring: cell 0's left neighbour is cell 15.")
    ready = answered(lesson, mine)
    if i in revealed:
        st.divider()
        reveal(lesson, i, mine, entries, ex)
    else:
        row = st.container(horizontal=True, gap="medium", vertical_alignment="center")
        row.button("Reveal", icon=":material/visibility:", type="primary", key="guide_reveal", on_click=_reveal,
                   args=(i,), disabled=not ready)
        if not ready:
            row.markdown("Predict first, then reveal.")
    st.divider()
    nav = st.container(horizontal=True, gap="medium", vertical_alignment="center")
    nav.button("Back", icon=":material/arrow_back:", key="guide_back", on_click=_go_step, args=(i - 1, n - 1),
               disabled=i == 0, shortcut="Left")
    nav.button("Next", icon=":material/arrow_forward:", key="guide_next", on_click=_go_step, args=(i + 1, n - 1),
               disabled=i == n - 1, type="primary" if i in revealed else "secondary", shortcut="Right")
    nav.button("Start over", icon=":material/restart_alt:", key="guide_restart", on_click=_start_over)
    st.caption(f"Lessons: held-out inputs the models never saw in training, with the answers of the shipped "
               f"checkpoints, made by `{header.get('command', 'python experiments/classroom.py')}`.")


# ---------------------------------------------------------------------------- the page
def main() -> None:
    init()
    ex = lab.Exporter("Guide")
    st.markdown(CSS, unsafe_allow_html=True)
    page = st.container(key="guide_page")
    with page:
        st.title("Guide")
        st.caption("What a sleeping model does, in plain words; the symbols used in the app; and a classroom path "
                   "of real examples where you predict first and then see what the models answered.")
        st.segmented_control("Part", SECTIONS, key=SECTION, required=True, label_visibility="collapsed")
        section = ss.get(SECTION) or SECTIONS[0]
        if section == "What is sleep?":
            what_is_sleep(ex)
        elif section == "Glossary":
            glossary()
        else:
            _, entries, _ = lab.selected_entry()
            classroom(ex, entries)
    ex.menu()


main()
