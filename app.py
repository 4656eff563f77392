"""Sleep Lab: the explorer. `streamlit run app.py`.

Page config, the sidebar every page shares (checkpoint, N, sample seed), and the page list.
The pages are thin: they read widgets, call `pages/lab.py` (glue, caching) and `sleepcore`
(the model, the timeline derivation, the figures) and place what comes back.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pages import lab

# A local icon file: a :material/...: icon as favicon would be fetched from fonts.gstatic.com (the app must
# work offline; tests/test_browser.py refuses every request off this machine).
st.set_page_config(page_title="Sleep Lab", page_icon=str(ROOT / ".streamlit" / "icon.png"), layout="wide",
                   initial_sidebar_state="expanded")
st.markdown(
    """<style>
    .block-container {padding-top: 3.2rem; padding-bottom: 2rem; max-width: 1400px;}
    [data-testid="stSidebar"] .block-container {padding-top: 1rem;}
    h1 {font-size: 1.9rem !important; padding-bottom: 0.1rem !important;}
    h3 {font-size: 1.1rem !important; padding-top: 0.4rem !important; padding-bottom: 0 !important;}
    [data-testid="stCaptionContainer"] {line-height: 1.35;}
    </style>""",
    unsafe_allow_html=True,
)

lab.init_state()
lab.remove_stale_uploads_once()   # upload folders of servers killed before they could clean up


TASK_MENU_ORDER = {"rule110": 0, "eca": 0, "khop": 1, "arith": 2}


def _menu_rank(entry) -> tuple:
    """The checkpoint menu's order: Rule 110 models first (the classroom's), then k-hop, arithmetic, anything
    else, and your uploads last; by name within a task (so a model's second seed follows it)."""
    uploaded = entry.name.startswith(lab.UPLOAD_PREFIX)
    return (uploaded, TASK_MENU_ORDER.get(str(entry.task.get("name", "")), 3), entry.name)


def _on_checkpoint_change() -> None:
    """A new model starts at the N it was trained with, at the first step."""
    entries = lab.catalog() if all(f.is_dir() for f in lab.checkpoints_dirs()) else []
    entry = lab.find(entries, st.session_state.get(lab.CKPT))
    if entry is not None and entry.ok:
        st.session_state[lab.PASSES] = entry.default_passes
    st.session_state[lab.PLAYING] = False


def _upload_key() -> str:
    return f"upload_files_{st.session_state.get('upload_round', 0)}"


def _on_upload() -> None:
    files = st.session_state.get(_upload_key()) or []
    if not files:
        return
    st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1   # next attempt starts empty
    try:
        name = lab.add_upload(files)
    except lab.LabError as e:
        st.session_state[lab.UPLOAD_MESSAGE] = ("error", str(e))
        return
    entry = lab.find(lab.catalog(), name)
    st.session_state[lab.CKPT] = name
    st.session_state[lab.PASSES] = entry.default_passes if entry.default_passes in lab.PASS_CHOICES else 1
    st.session_state[lab.PLAYING] = False
    problem = st.session_state.pop(lab.UPLOAD_LOG_PROBLEM, None)
    log = (" Its training log came with it (see *Training curves*)." if (Path(entry.path) / lab.LOG_FILE).is_file()
           else f" Its training log was left out: {problem}." if problem else "")
    st.session_state[lab.UPLOAD_MESSAGE] = ("ok", f"Loaded `{name}`: {entry.description}. It stays in this browser "
                                                  f"session only.{log}")


def upload_panel() -> None:
    """Load your own checkpoint: the two files (or the folder) `python -m sleepcore.train` writes."""
    message = st.session_state.get(lab.UPLOAD_MESSAGE)
    with st.expander("Load your own checkpoint", icon=":material/upload_file:", expanded=message is not None):
        mode = st.segmented_control("Upload", ["Two files", "A folder"], default="Two files", key="upload_mode",
                                    label_visibility="collapsed")
        st.file_uploader(
            f"`{lab.MODEL_FILE}` + `{lab.CONFIG_FILE}` (+ `{lab.LOG_FILE}`, optional)" if mode != "A folder"
            else "A checkpoint folder",
            type=["safetensors", "json", "jsonl"], accept_multiple_files="directory" if mode == "A folder" else True,
            key=_upload_key(), on_change=_on_upload,
            help="The weights are read as safetensors only (never unpickled) and checked against the config "
                 "before anything is kept. The training log, if you add it, draws the model's curves on the "
                 "Training curves page. Nobody else sees what you upload.")
        if message:
            kind, text = message
            (st.error if kind == "error" else st.success)(text, icon=":material/error:" if kind == "error"
                                                            else ":material/check_circle:")


def sidebar() -> None:
    with st.sidebar:
        st.markdown("## :material/bedtime: Sleep Lab")
        st.caption("A model that *sleeps*: at every window boundary it re-reads the window N times, writing it into "
                   "its fast weights S, before the attention cache is thrown away.")
        try:
            entries = lab.catalog()
        except lab.LabError as e:
            st.error(str(e), icon=":material/folder_off:")
            return
        if not entries:
            st.info(f"No checkpoints in `{lab.checkpoints_dir()}` yet. Train one with "
                    "`python -m sleepcore.train --out checkpoints/NAME ...`.")
            return
        for message in st.session_state.pop(lab.URL_MESSAGES, None) or []:
            st.warning(f"This link: {message}. Showing the default instead.", icon=":material/link_off:")
        names = [e.name for e in sorted(entries, key=_menu_rank)]
        if st.session_state.get(lab.CKPT) not in names:
            # the flagship: a one-cell Rule 110 hybrid trained with N=4 (seed 0 first), else any loadable checkpoint
            preferred = sorted((e for e in entries if e.ok and e.hybrid and e.default_passes == 4 and e.rule == 110),
                               key=lambda e: (e.cells_asked > 1, e.seed, e.name))
            st.session_state[lab.CKPT] = (preferred or [e for e in entries if e.ok] or entries)[0].name
            st.session_state[lab.PASSES] = lab.find(entries, st.session_state[lab.CKPT]).default_passes
        st.selectbox("Checkpoint", names, key=lab.CKPT, on_change=_on_checkpoint_change,
                     format_func=lambda n: n if lab.find(entries, n).ok else f"⚠ {n}",
                     help="Folders in the checkpoints folder. Each was trained on one task with one N.")
        upload_panel()
        entry = lab.find(entries, st.session_state[lab.CKPT])
        if not entry.ok:
            st.error(entry.description, icon=":material/error:")
        else:
            st.caption(entry.description)
        if st.session_state.get(lab.PASSES) not in lab.PASS_CHOICES:
            st.session_state[lab.PASSES] = entry.default_passes if entry.default_passes in lab.PASS_CHOICES else 1
        st.select_slider("Sleep passes N", lab.PASS_CHOICES, key=lab.PASSES,
                         help="N = 1: no sleep (one wake pass, then eviction). N > 1: N-1 extra offline passes "
                              "over the window before its attention cache is evicted.")
        warning = lab.passes_warning(entry, st.session_state[lab.PASSES]) if entry.ok else None
        if warning:
            st.warning(warning, icon=":material/bedtime_off:")
        seed = st.session_state.get(lab.SEED)
        if not isinstance(seed, int) or not 0 <= seed <= lab.MAX_SEED:
            st.error(f"Sample seed {seed!r} is out of range; seeds are whole numbers 0..{lab.MAX_SEED}. "
                     f"Reset to 0.")
            st.session_state[lab.SEED] = 0
        st.number_input("Sample seed", min_value=0, max_value=lab.MAX_SEED, step=1, key=lab.SEED,
                        help="Which held-out input the timeline shows (inputs the model never saw in training).")
        st.markdown(lab.legend_html(), unsafe_allow_html=True)


pages = {
    "Learn": [
        st.Page(lab.PAGES["guide"], title="Guide", icon=":material/school:"),
    ],
    "Explore": [
        st.Page(lab.PAGES["timeline"], title="Timeline", icon=":material/timeline:", default=True),
        st.Page(lab.PAGES["automaton"], title="Cellular automaton", icon=":material/grid_on:"),
        st.Page(lab.PAGES["tasks"], title="Graphs and arithmetic", icon=":material/hub:"),
    ],
    "Experiment": [
        st.Page(lab.PAGES["sleep_more"], title="Sleep more, think deeper", icon=":material/bedtime:"),
        st.Page(lab.PAGES["amnesia"], title="Amnesia test", icon=":material/psychology_alt:"),
        st.Page(lab.PAGES["probe"], title="Memory probe", icon=":material/manage_search:"),
        st.Page(lab.PAGES["training"], title="Training curves", icon=":material/query_stats:"),
        st.Page(lab.PAGES["cost"], title="Cost of memory", icon=":material/speed:"),
    ],
}
page = st.navigation(pages, position="top")
lab.read_url(lab.page_key(page))      # a shared link: once per session, before the sidebar draws its widgets
sidebar()
lab.write_url(lab.page_key(page))
try:
    page.run()
finally:
    lab.write_url(lab.page_key(page))   # again: the page may have corrected a value it cannot show
