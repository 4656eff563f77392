"""Glue between the pages and `sleepcore`: session-state keys, one init function, the checkpoint
catalog, and the cached loaders and computations every page shares.

Caching (STYLE habit 9): models are loaded by `_load`, an `st.cache_resource` shared by every user, so
a model is only ever read (each trace runs on a fresh memory); per-user settings live in
`st.session_state`.
Computed traces, diagrams and accuracies are `st.cache_data` functions whose arguments are every
input they read, including the checkpoint's modification time, so a retrained checkpoint is never
served stale.

This file is not a page: `app.py` lists the pages explicitly with `st.navigation`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch

from sleepcore import export
from sleepcore.checkpoint import (CONFIG_FILE, MODEL_FILE, CheckpointError, load_checkpoint, load_from_bytes,
                                  read_config)
from sleepcore.config import ConfigError
from sleepcore.evaluate import EVAL_SEED_OFFSET, predict, wilson
from sleepcore.recipe import RECIPE_PATTERN, recipe_label, training_recipe
from sleepcore.tasks import IGNORE, Batch, evolve, task_from_config
from sleepcore.tasks.automaton import first_cell_after
from sleepcore.timeline import Timeline, trace_sample

ROOT = Path(__file__).resolve().parents[1]
ENV_CHECKPOINTS = "SLEEPLAB_CHECKPOINTS"   # other checkpoints folder(s), joined by os.pathsep (":" on Linux)
ENV_THREADS = "SLEEPLAB_THREADS"           # torch threads for the app (default 1, see below)

# On the project's 2-core machines, with training jobs busy, torch's 2-thread pool made a batch of
# 1600 samples 30-100x slower than one thread (0.3 s vs 20-80 s); a traced sample takes ~10 ms on one.
torch.set_num_threads(max(1, int(os.environ.get(ENV_THREADS, "1") or 1)))

PAGES = {"guide": "pages/guide.py", "timeline": "pages/timeline.py", "automaton": "pages/automaton.py",
         "tasks": "pages/tasks.py", "sleep_more": "pages/sleep_more.py", "amnesia": "pages/amnesia.py",
         "probe": "pages/probe.py", "cost": "pages/cost.py", "training": "pages/training.py"}

# ---------------------------------------------------------------------------- session-state keys
CKPT_DIR = "ckpt_dir"          # override of the checkpoints folder (tests; otherwise env var / default)
CKPT = "ckpt"                  # selected checkpoint: folder name
SEED = "seed"                  # sample seed of the timeline
PASSES = "passes"              # N, sleep passes per consolidation window
DEPTH = "depth"                # t of the timeline's sample
CUSTOM_STATE = "custom_state"  # initial cells (tuple) sent from the automaton page, or None
STEP = "step"                  # scrubber position (index into Timeline.steps)
STEP_OBJ = "step_obj"          # the Step shown last (to keep the place when N or the sample changes)
TL_KEY = "tl_key"              # identity of the timeline shown last
PLAYING = "playing"
SPEED = "speed"
CA_RULE, CA_CELLS, CA_T = "ca_rule", "ca_cells", "ca_t"
EVAL_SAMPLES, EVAL_SEED, EVAL_DEPTHS = "eval_samples", "eval_seed", "eval_depths"
OPEN_CKPT, OPEN_N, OPEN_DEPTH = "open_ckpt", "open_n", "open_depth"

SIDEBAR_KEYS = (CKPT, PASSES, SEED)

# ---------------------------------------------------------------------------- the view in the URL
# URL parameter -> session-state key, for every page (the sidebar) and per page, so a shared link
# reproduces the view; `read_url` validates each value, `write_url` keeps the address bar current.
URL_GLOBAL = {"ckpt": CKPT, "n": PASSES, "seed": SEED}
PAGE_URL_PARAMS: dict[str, dict[str, str]] = {
    "timeline": {"t": DEPTH, "step": STEP},
    "guide": {"part": "guide_section", "lesson": "guide_step"},
    "probe": {"t": "probe_depth", "block": "probe_layer", "window": "probe_window", "token": "probe_token",
              "pass": "probe_pass"},
    "amnesia": {"t": "amn_t", "states": "amn_samples"},
    "tasks": {"depth": "tk_depth", "question": "tk_query", "step": "tk_step"},
    "automaton": {"rule": CA_RULE, "cells": CA_CELLS, "t": CA_T},
    "sleep_more": {"inputs": EVAL_SAMPLES, "evalseed": EVAL_SEED, "depths": EVAL_DEPTHS, "ask": "sm_family",
                   "recipe": "sm_recipe"},
    "training": {"at": "tr_depth"},
}
URL_READ = "_url_read"            # session flag: the URL has been read (once, on the session's first run)
URL_MESSAGES = "_url_messages"    # what was wrong with the link, shown once
UPLOADS = "_uploads"              # this session's uploaded checkpoints: name -> folder (never shared)
UPLOAD_MESSAGE = "_upload_message"
UPLOAD_PREFIX = "⬆ "
UPLOAD_FOLDERS = "_upload_folders"  # name -> UploadFolder: the session owns them; they go when it goes
MAX_UPLOADS = 8                     # per browser session; the oldest is dropped (and deleted) past this

MAX_SEED = 2**31 - 1
PASS_CHOICES = [1, 2, 3, 4, 6, 8]
EVAL_SAMPLE_CHOICES = [25, 50, 100, 200, 500, 1000]   # held-out inputs per depth on the Sleep-more page
SPEEDS = {"slow": 1.0, "normal": 0.5, "fast": 0.25}      # seconds per step while playing
DEFAULT_CELLS = (0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1)


def init_state() -> None:
    """Give every session-state key its default if it has none yet (called at the top of every run)."""
    defaults: dict[str, Any] = {
        SEED: 0, DEPTH: 8, PASSES: None, CUSTOM_STATE: None, STEP: 0, STEP_OBJ: None, TL_KEY: None,
        PLAYING: False, SPEED: "normal", CA_RULE: 110, CA_CELLS: DEFAULT_CELLS, CA_T: 8,
        EVAL_SAMPLES: 50, EVAL_SEED: 0, EVAL_DEPTHS: (7, 8),
    }
    for k, v in defaults.items():
        st.session_state.setdefault(k, v)
    # The sidebar's widgets live in app.py, before st.navigation. Streamlit 1.67 gave them a new widget
    # id on the first rerun (the first run executes before the page is known), which reset the
    # checkpoint picker to its first option. Re-assigning the value makes it a user value that a
    # widget with a new id starts from.
    for k in SIDEBAR_KEYS:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]


def _int_in(lo: int, hi: int, offset: int = 0):
    """Parser of a whole number lo..hi; `offset` is subtracted (links count steps from 1, the state from 0)."""
    def parse(text: str) -> int:
        v = int(text)
        if not lo <= v <= hi:
            raise ValueError
        return v - offset
    parse.accepted = f"a whole number {lo}..{hi}"
    return parse


def _one_of(choices: dict):
    """Parser of a word from `choices` (word -> state value)."""
    def parse(text: str):
        if text not in choices:
            raise ValueError
        return choices[text]
    parse.accepted = "one of " + ", ".join(map(str, choices))
    return parse


def _cells(text: str) -> tuple:
    """`cells=0001001101111101`: the automaton page's initial row, 16 cells of 0/1."""
    if len(text) != len(DEFAULT_CELLS) or set(text) - {"0", "1"}:
        raise ValueError
    return tuple(int(c) for c in text)


_cells.accepted = f"{len(DEFAULT_CELLS)} digits 0/1"


def _depth_range(text: str) -> tuple:
    """`depths=7-8` (or `depths=8`): the Sleep-more page's pooled depths."""
    lo, _, hi = text.partition("-")
    lo, hi = int(lo), int(hi or lo)
    if not 1 <= lo <= hi <= 64:
        raise ValueError
    return (lo, hi)


_depth_range.accepted = "a depth range like 7-8"


def _depth_or_all(text: str) -> str:
    """`at=8` or `at=all`: the training-curves page's depth (kept as the log writes it, a string)."""
    if text == "all":
        return text
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise ValueError
    return str(int(text))


_depth_or_all.accepted = "a depth 1..64 or all"


def _cells_asked(text: str) -> int:
    """`ask=cell` (cell 0, one answer), `ask=row` (all 16 cells) or `ask=N` (cells 0..N-1): the Sleep-more page's
    question."""
    named = {"cell": 1, "row": len(DEFAULT_CELLS)}
    if text in named:
        return named[text]
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise ValueError
    return int(text)


_cells_asked.accepted = "cell, row or a number of cells 1..64"
def _recipe(text: str) -> str:
    """`recipe=t2` (t² weighting from step 0), `recipe=t2-from-7500`, `recipe=uniform`: the Sleep-more page's
    training recipe (sleepcore.recipe)."""
    if not RECIPE_PATTERN.fullmatch(text):
        raise ValueError
    return text


_recipe.accepted = "uniform, t2, weighted, or one of them followed by -from-STEP (t2-from-7500)"
GUIDE_PARTS = {"sleep": "What is sleep?", "glossary": "Glossary", "classroom": "Classroom"}   # link word -> part
URL_PARSERS = {
    "n": _one_of({str(n): n for n in PASS_CHOICES}), "seed": _int_in(0, MAX_SEED), "t": _int_in(1, 64),
    "depth": _int_in(1, 64), "step": _int_in(1, 100_000, offset=1), "part": _one_of(GUIDE_PARTS),
    "lesson": _int_in(1, 100, offset=1), "question": _int_in(1, 100, offset=1), "block": _int_in(0, 63), "window": _int_in(0, 10_000),
    "token": _int_in(0, 10_000), "pass": _int_in(1, 64), "states": _int_in(1, 1024),
    "rule": _int_in(0, 255), "cells": _cells, "inputs": _one_of({str(n): n for n in EVAL_SAMPLE_CHOICES}),
    "evalseed": _int_in(0, 10_000), "depths": _depth_range, "at": _depth_or_all, "ask": _cells_asked,
    "recipe": _recipe,
}
URL_WRITERS = {"ask": lambda c: {1: "cell", len(DEFAULT_CELLS): "row"}.get(int(c), int(c)),
               "step": lambda i: int(i) + 1, "lesson": lambda i: int(i) + 1, "question": lambda i: int(i) + 1,
               "cells": lambda c: "".join(map(str, c)), "depths": lambda d: f"{d[0]}-{d[1]}",
               "part": lambda p: next((k for k, v in GUIDE_PARTS.items() if v == p), "sleep")}


def url_params(page: str | None) -> dict[str, str]:
    """The parameters a link to `page` carries: the sidebar's, then the page's own."""
    return {**URL_GLOBAL, **PAGE_URL_PARAMS.get(page or "", {})}


def read_url(page: str | None = None) -> None:
    """On a session's first run, take the view from the URL (`/?ckpt=rule110-n2&n=2&seed=7&t=8&step=20`; the
    timeline is the home page, at /).

    Every value is checked; a bad one is dropped (the default stays) and the reason is kept in
    `URL_MESSAGES` for the sidebar to show. Later runs ignore the URL: the widgets own the state.
    """
    if st.session_state.get(URL_READ):
        return
    st.session_state[URL_READ] = True
    params = {k: st.query_params.get(k) for k in st.query_params.keys()}
    known = url_params(page)
    messages = []
    unknown = sorted(k for k in params if k not in known)
    if unknown:
        messages.append(f"ignored parameter(s) {', '.join(repr(u[:30]) for u in unknown)}; a link to this page "
                        "understands " + ", ".join(known))
    if "ckpt" in params:
        try:
            entries = catalog()
        except LabError:
            entries = []
        names = [e.name for e in entries if e.ok]
        if params["ckpt"] in names:
            entry = find(entries, params["ckpt"])
            st.session_state[CKPT] = entry.name
            st.session_state[PASSES] = entry.default_passes if entry.default_passes in PASS_CHOICES else 1
        else:
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more in the Checkpoint menu" if len(names) > 8
                                             else "")
            messages.append(f"checkpoint {params['ckpt'][:60]!r} is not in this app's checkpoints folder "
                            f"(available: {shown or 'none'}); uploaded checkpoints live only in the "
                            "browser session that uploaded them")
    for name, key in known.items():
        if name == "ckpt" or name not in params:
            continue
        parse = URL_PARSERS[name]
        try:
            st.session_state[key] = parse(params[name])
        except (TypeError, ValueError):
            messages.append(f"{name}={params[name][:40]!r} is not {parse.accepted}")
    st.session_state[URL_MESSAGES] = messages


def write_url(page: str | None = None) -> None:
    """Put the current view into the address bar (only the parameters that mean something on `page`)."""
    current = {}
    for name, key in url_params(page).items():
        v = st.session_state.get(key)
        if v is None or (name == "ckpt" and str(v).startswith(UPLOAD_PREFIX)):
            continue                   # an upload lives in this session only: a link cannot carry it
        try:
            current[name] = str(URL_WRITERS.get(name, lambda x: x)(v))
        except (TypeError, ValueError, IndexError):
            continue                   # a value the page has not validated yet; the next write has it
    if {k: st.query_params.get(k) for k in st.query_params.keys()} != current:
        st.query_params.from_dict(current)


def page_key(page) -> str:
    """The PAGES key of a `st.navigation` page ("timeline", "guide", ...)."""
    path = str(getattr(page, "_page", "") or "")
    return next((k for k, v in PAGES.items() if path.endswith(v)), getattr(page, "url_path", "") or "")


def share_link() -> str | None:
    """The app URL with the current view's parameters, when the server knows its own address."""
    base = getattr(st.context, "url", None)
    if not base:
        return None
    query = "&".join(f"{k}={v}" for k, v in ((k, st.query_params.get(k)) for k in st.query_params.keys()))
    return base.split("?")[0] + (f"?{query}" if query else "")


def ensure_shell() -> None:
    """Run every page inside app.py's shell (sidebar, top navigation, wide layout), even for a deep link.

    Streamlit treats a `pages/` folder next to the main script as the old folder-based navigation until
    `st.navigation` has run once in the server process. So when a fresh server's very first request is a
    deep link (`/guide?seed=3`), the page file ran alone, without app.py. Each page calls this first: in
    that case it switches the server to app.py's navigation and reruns, which opens the same page (page
    ids are their URL paths either way) with the URL's parameters intact.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


class LabError(Exception):
    """Something the user can fix: the message says what was wrong and what to do."""


# ---------------------------------------------------------------------------- the checkpoint catalog
@dataclass(frozen=True)
class Entry:
    """One folder of the checkpoints folder: its config (or why it cannot be read)."""

    name: str
    path: str
    mtime: float
    config: dict | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.config is not None

    @property
    def layers(self) -> str:
        return self.config["model"]["layers"] if self.ok else ""

    @property
    def hybrid(self) -> bool:
        return "F" in self.layers

    @property
    def eviction(self) -> str:
        return (self.config.get("sleep") or {}).get("eviction", "hard") if self.ok else "hard"

    @property
    def cells_asked(self) -> int:
        """Automaton cells a sample asks (1: cell 0, the default; 16 on a 16-cell ring: the whole row)."""
        return int(self.task.get("cells", 1) or 1)

    @property
    def trained_passes(self) -> tuple[int, ...]:
        """The N (or Ns) the model was trained with."""
        if not self.ok:
            return ()
        mix = (self.config.get("train") or {}).get("passes") or []
        return tuple(sorted(mix)) if mix else (int((self.config.get("sleep") or {}).get("passes", 1)),)

    @property
    def default_passes(self) -> int:
        return int((self.config.get("sleep") or {}).get("passes", 1)) if self.ok else 1

    @property
    def recipe(self) -> str:
        """How training drew the depth t over its phases (sleepcore.recipe): "uniform", "t2" (t² from step 0, the
        curriculum recipe), "t2-from-7500" (the standard whole-row recipe), ..."""
        return training_recipe(self.config) if self.ok else "uniform"

    @property
    def task(self) -> dict:
        return (self.config.get("task") or {}) if self.ok else {}

    @property
    def rule(self) -> int | None:
        t = self.task
        if t.get("name") == "rule110":
            return 110
        return t.get("rule") if t.get("name") == "eca" else None

    @property
    def seed(self) -> int:
        return int((self.config.get("train") or {}).get("seed", 0) or 0) if self.ok else 0

    @property
    def description(self) -> str:
        """E.g. "Rule 110 · hybrid AF · trained N=4" or "Rule 110 · attention AA · cache kept"."""
        if not self.ok:
            return f"unreadable: {self.error}"
        t = self.task
        names = {"khop": "k-hop retrieval", "arith": "arithmetic"}
        task = f"Rule {self.rule}" if self.rule is not None else names.get(t.get("name"), str(t.get("name", "?")))
        if self.rule is not None and self.cells_asked > 1:
            task += f", all {t['cells']} cells" if t["cells"] == t.get("width") else f", cells 0..{t['cells'] - 1}"
        if self.hybrid:
            body = f"hybrid {self.layers}"
        else:
            body = f"attention only {self.layers}"
        if self.eviction == "none":
            sleep = "cache kept, no eviction"
        elif self.eviction == "sliding":
            sleep = "sliding window"
        else:
            ns = self.trained_passes
            sleep = f"trained N={ns[0]}" if len(ns) == 1 else "trained N∈{" + ",".join(map(str, ns)) + "}"
            if not self.hybrid:
                sleep = "cache evicted" + (f", N={ns[0]}" if ns != (1,) else "")
        recipe = [] if self.recipe == "uniform" else [recipe_label(self.recipe)]
        return " · ".join([task, body, sleep] + recipe + ([f"seed\u00a0{self.seed}"] if self.seed else []))


def checkpoints_dirs() -> list[Path]:
    """The checkpoints folders: a session override, else $SLEEPLAB_CHECKPOINTS (one folder, or several joined by
    os.pathsep, e.g. `checkpoints:experiments/resume/r110cells_curr_p2`), else ./checkpoints."""
    override = st.session_state.get(CKPT_DIR)
    if override:
        return [Path(override)]
    env = [Path(p) for p in (os.environ.get(ENV_CHECKPOINTS) or "").split(os.pathsep) if p.strip()]
    return env or [ROOT / "checkpoints"]


def checkpoints_dir() -> Path:
    """The first checkpoints folder (see checkpoints_dirs): where the messages point to."""
    return checkpoints_dirs()[0]


def _mtime(folder: Path) -> float:
    times = [(folder / f).stat().st_mtime for f in (CONFIG_FILE, MODEL_FILE) if (folder / f).exists()]
    return max(times) if times else 0.0


def catalog(folder: Path | None = None) -> list[Entry]:
    """Every sub-folder of the checkpoints folder, with its config or the reason it is unreadable.

    Raises LabError if the folder itself is missing.
    """
    explicit = folder is not None
    folders = [Path(folder)] if explicit else checkpoints_dirs()
    for f in folders:
        if not f.is_dir():
            raise LabError(f"No checkpoints folder at `{f}`. Put trained checkpoints there (each a folder with "
                           f"`{MODEL_FILE}` and `{CONFIG_FILE}`, e.g. from `python -m sleepcore.train --out "
                           f"checkpoints/NAME ...`), or point the app at other folders with the environment "
                           f"variable `{ENV_CHECKPOINTS}` (several joined by `{os.pathsep}`).")
    subs = [(f, sub) for f in folders
            for sub in sorted(p for p in f.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))]
    twice = {n for n in (sub.name for _, sub in subs) if sum(s.name == n for _, s in subs) > 1}
    out = []
    for f, sub in subs:
        try:
            cfg, err = read_config(sub), None
        except (CheckpointError, OSError) as e:
            cfg, err = None, str(e)
        name = f"{sub.name} ({f.name})" if sub.name in twice else sub.name   # a name met in two folders: both say where
        out.append(Entry(name, str(sub), _mtime(sub), cfg, err))
    if not explicit:
        for name, path in (st.session_state.get(UPLOADS) or {}).items():
            try:
                out.append(Entry(name, path, _mtime(Path(path)), read_config(path), None))
            except (CheckpointError, OSError) as e:     # its temp folder was cleaned up under us
                out.append(Entry(name, path, 0.0, None, str(e)))
    return out


def find(entries: list[Entry], name: str | None) -> Entry | None:
    return next((e for e in entries if e.name == name), None)


def _preference(e: Entry) -> tuple:
    """Which of several similar checkpoints to show first: one that answers cell 0 before one asking several
    cells, then one trained with t drawn uniformly (the standard recipe), then seed 0 first, then the shortest name."""
    return e.cells_asked > 1, e.recipe != "uniform", e.seed, len(e.name), e.name


def pick_by_passes(entries: list[Entry], rule: int = 110) -> dict[int, Entry]:
    """Per trained N: the first hybrid trained with exactly that N for this rule that loads (one that answers
    cell 0 before one asking several cells, then seed 0 first)."""
    out: dict[int, Entry] = {}
    ranked = sorted((e for e in entries if e.ok and e.hybrid and e.rule == rule and e.eviction == "hard"),
                    key=_preference)
    for e in ranked:
        ns = e.trained_passes
        if len(ns) == 1 and ns[0] not in out and loads(e):
            out[ns[0]] = e
    return dict(sorted(out.items()))


def loads(entry: Entry) -> bool:
    """Whether a checkpoint loads (cached, so asking twice costs nothing)."""
    try:
        load_model(entry)
        return True
    except LabError:
        return False


def baselines(entries: list[Entry], rule: int = 110, cells: int | None = None,
              recipe: str | None = None) -> dict[str, Entry]:
    """The attention-only baselines that exist: {"evicted": ..., "kept": ...}, each the first of its kind (one that
    answers cell 0 before one asking several cells, then seed 0 first); with `cells`, only those asking that many
    cells, so a baseline is never set beside models that answer a different question; with `recipe`, only those
    trained with that draw of t (Entry.recipe)."""
    out = {}
    ranked = sorted((e for e in entries if e.ok and not e.hybrid and e.rule == rule
                     and (cells is None or e.cells_asked == cells) and (recipe is None or e.recipe == recipe)),
                    key=_preference)
    for e in ranked:
        out.setdefault("kept" if e.eviction == "none" else "evicted", e)
    return out


# ---------------------------------------------------------------------------- your own checkpoint
def _pick_upload_files(files) -> tuple[bytes, bytes, str]:
    """(model bytes, config bytes, a name) from uploaded files: `model.safetensors` + `config.json`, or a
    checkpoint folder's files (other files of the folder, e.g. train_state.*, are ignored)."""
    by_name: dict[str, list] = {}
    for f in files:
        by_name.setdefault(Path(f.name).name, []).append(f)
    weights = by_name.get(MODEL_FILE) or [f for n, fs in by_name.items() if n.endswith(".safetensors")
                                          and not n.startswith("train_state") for f in fs]
    configs = by_name.get(CONFIG_FILE) or [f for n, fs in by_name.items() if n.endswith(".json")
                                           and not n.startswith("train_state") for f in fs]
    got = ", ".join(sorted(by_name)) or "nothing"
    if len(weights) != 1 or len(configs) != 1:
        raise LabError(f"A checkpoint is two files: `{MODEL_FILE}` + `{CONFIG_FILE}`; got {got}. Select both "
                       f"at once, or the checkpoint's folder.")
    parent = Path(weights[0].name).parent.name
    return weights[0].getvalue(), configs[0].getvalue(), parent or "upload"   # two loose files: no folder name


class UploadFolder:
    """A private temp folder holding one uploaded checkpoint, owned by the browser session that uploaded it.

    Streamlit has no "session ended" hook, so the folder is deleted when this object is garbage-collected:
    that happens when the session's state is dropped (a closed tab, after Streamlit's reconnect grace), when
    the session uploads more than MAX_UPLOADS checkpoints, or at the latest when the server exits.
    """

    def __init__(self) -> None:
        import shutil
        import tempfile
        import weakref

        self.path = Path(tempfile.mkdtemp(prefix=f"{UPLOAD_DIR_PREFIX}{os.getpid()}-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), ignore_errors=True)

    def delete(self) -> None:
        self._finalizer()


UPLOAD_DIR_PREFIX = "sleeplab-upload-"   # + the server's pid + "-" + a random part


@st.cache_resource(show_spinner=False)
def remove_stale_uploads_once() -> int:
    """Run remove_stale_uploads once per server process (the first page view); returns how many went."""
    return len(remove_stale_uploads())


def remove_stale_uploads(root: Path | None = None) -> list[Path]:
    """Delete upload folders left by app servers that are no longer running (killed before they could clean up).

    A folder is named after the pid of the server that made it; it is removed only when no process with that pid
    exists, so the folders of a live server (this one or another) are never touched. Returns what was removed.
    """
    import shutil
    import tempfile

    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{UPLOAD_DIR_PREFIX}*-*"):
        pid = folder.name[len(UPLOAD_DIR_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or not folder.is_dir():
            continue
        try:
            os.kill(int(pid), 0)              # signal 0: only asks whether the process exists
            continue
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, OSError):
            continue                          # exists (another user's) or unknowable: leave it
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


LOG_FILE = "log.jsonl"               # a run's training log (sleepcore.train), read by the Training curves page
UPLOAD_LOG_PROBLEM = "_upload_log_problem"   # why an uploaded training log was not kept (shown once), or absent


def _upload_log(files) -> tuple[bytes | None, str | None]:
    """(the training log's bytes, None) when the upload holds a readable `log.jsonl`; (None, why) when it holds
    one that cannot be read; (None, None) when it holds none."""
    from sleepcore import runlog
    logs = [f for f in files if Path(f.name).name == LOG_FILE]
    if not logs:
        return None, None
    data = logs[0].getvalue()
    if len(data) > runlog.MAX_LOG_BYTES:
        return None, (f"`{LOG_FILE}` is {len(data) / 2**20:.0f} MB; a training log is at most "
                      f"{runlog.MAX_LOG_BYTES // 2**20} MB")
    try:
        runlog.parse_log(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"`{LOG_FILE}` is not text (a training log is UTF-8 lines of JSON)"
    except runlog.LogError as e:
        return None, f"`{LOG_FILE}`: {e}"
    return data, None


def add_upload(files) -> str:
    """Validate an uploaded checkpoint, keep it for this session only, and return its catalog name.

    The files are checked exactly like a folder on disk (safetensors only, never unpickled; the config
    validated; every weight's name, shape and values checked against it) before anything is kept. A training
    log (`log.jsonl`) that comes with them is kept too if it reads as one; if not, the checkpoint still loads and
    UPLOAD_LOG_PROBLEM says why the log was left out.
    """
    import hashlib

    model_bytes, config_bytes, stem = _pick_upload_files(files)
    log_bytes, log_problem = _upload_log(files)
    try:
        load_from_bytes(model_bytes, config_bytes)
    except (CheckpointError, ConfigError) as e:
        raise LabError(f"This checkpoint was not loaded: {e}.") from None
    digest = hashlib.sha256(model_bytes + config_bytes).hexdigest()[:8]
    name = f"{UPLOAD_PREFIX}{stem[:40]} ({digest})"
    uploads = dict(st.session_state.get(UPLOADS) or {})
    owners = dict(st.session_state.get(UPLOAD_FOLDERS) or {})
    if name not in uploads or not Path(uploads[name]).is_dir():
        folder = UploadFolder()
        (folder.path / MODEL_FILE).write_bytes(model_bytes)
        (folder.path / CONFIG_FILE).write_bytes(config_bytes)
        uploads.pop(name, None)
        uploads[name], owners[name] = str(folder.path), folder
    if log_bytes is not None:
        (Path(uploads[name]) / LOG_FILE).write_bytes(log_bytes)
    st.session_state[UPLOAD_LOG_PROBLEM] = log_problem
    while len(uploads) > MAX_UPLOADS:                 # dicts keep insertion order: drop the oldest
        oldest = next(iter(uploads))
        uploads.pop(oldest)
        gone = owners.pop(oldest, None)
        if gone is not None:
            gone.delete()
    st.session_state[UPLOAD_FOLDERS] = owners
    st.session_state[UPLOADS] = uploads
    return name


# ---------------------------------------------------------------------------- cached model and computations
@st.cache_resource(show_spinner=False, max_entries=16)
def _load(path: str, mtime: float):
    """Load a checkpoint once per (path, mtime); shared by every session, so never mutated."""
    model, cfg = load_checkpoint(path)
    return model, cfg, task_from_config(cfg.get("task") or {})


def load_model(entry: Entry):
    """(model, config, task) of a catalog entry, or LabError saying what is wrong with it."""
    if not entry.ok:
        raise LabError(f"Checkpoint `{entry.name}` cannot be read: {entry.error}. Pick another one, or re-save it "
                       f"with `sleepcore.checkpoint.save_checkpoint`.")
    try:
        return _load(entry.path, entry.mtime)
    except (CheckpointError, ConfigError, OSError, ValueError, KeyError, RuntimeError) as e:
        raise LabError(f"Checkpoint `{entry.name}` failed to load: {e}. Pick another one, or retrain it.") from None


def sample_for(task, seed: int, depth: int, custom: tuple | None = None) -> Batch:
    """The timeline's sample: a held-out input (never trained on) of the given depth, or a custom state."""
    if custom is not None:
        return custom_sample(task, list(custom), depth)
    split = "held_out" if task.has_held_out else "any"
    return task.sample(1, seed=int(seed), split=split, depth=int(depth) if depth in task.depths else None)


def custom_sample(task, cells: list[int], t: int) -> Batch:
    """A one-sample automaton batch from a chosen initial state (the automaton page's "open in timeline")."""
    if getattr(task, "name", "") != "eca" or task.states != 1 or len(cells) != task.width:
        raise LabError(f"A custom initial state needs a one-state automaton task of width {len(cells)}.")
    if t not in task.depths:
        raise LabError(f"t = {t} is outside this checkpoint's steps {task.depths[0]}..{task.depths[-1]}.")
    x = torch.tensor([cells], dtype=torch.long)
    label = int(first_cell_after(x, torch.tensor([t]), task.rule, task.boundary)[0])
    head = [task.index[f"t={t}"]] if task.show_steps else []
    tokens = torch.tensor([head + list(cells) + [task.index["?"]]])
    targets = torch.full_like(tokens, IGNORE)
    targets[0, -1] = label
    raw = [{"states": [list(cells)], "steps": t, "labels": [label], "rule": task.rule, "boundary": task.boundary}]
    return Batch(tokens, targets, torch.tensor([t]), [str(label)], raw)


@st.cache_data(show_spinner=False, max_entries=512)
def timeline_for(path: str, mtime: float, seed: int, depth: int, passes: int, custom: tuple | None = None) -> Timeline:
    """The traced timeline of one sample (cached by every input, the checkpoint's mtime included)."""
    model, _, task = _load(path, mtime)
    return trace_sample(model, task, sample_for(task, seed, depth, custom), passes)


@torch.inference_mode()
def diagram_predictions(model, task, cells: list[int], t: int, passes: int) -> np.ndarray:
    """A model's space-time diagram: (t + 1, W) of p(1), row 0 the given state.

    The model only answers "cell 0 after s steps", but on a ring cell j after s steps is cell 0 of
    the state rotated by j, so the whole diagram is one batched forward over all (j, s) pairs.
    """
    W = len(cells)
    x = torch.tensor(cells, dtype=torch.long)
    rotated = torch.stack([x.roll(-j) for j in range(W)])                       # (W, W): row j starts at cell j
    rows = []
    for s in range(1, t + 1):
        head = torch.full((W, 1), task.index[f"t={s}"]) if task.show_steps else torch.empty(W, 0, dtype=torch.long)
        rows.append(torch.cat([head, rotated, torch.full((W, 1), task.index["?"])], 1))
    tokens = torch.cat(rows)                                                     # (t * W, L + 1)
    targets = torch.full_like(tokens, IGNORE)
    targets[:, -1] = 0                                                           # marks the prediction window
    logits = model(tokens, targets, passes=passes).logits[:, -1]                 # (t * W, |V|)
    p = logits[:, [task.index["0"], task.index["1"]]].softmax(-1)[:, 1]          # p(1) among the two cell values
    return np.vstack([np.asarray(cells, dtype=np.float32)[None], p.view(t, W).numpy()])


@st.cache_data(show_spinner=False, max_entries=256)
def diagram_for(path: str, mtime: float, cells: tuple, t: int, passes: int) -> np.ndarray:
    model, _, task = _load(path, mtime)
    return diagram_predictions(model, task, list(cells), t, passes)


def eval_batches(task, samples: int, seed: int) -> dict[int, Batch]:
    """Fresh held-out samples per depth, the same for every model (so comparisons are paired)."""
    split = "held_out" if task.has_held_out else "any"
    return {d: task.sample(samples, seed=EVAL_SEED_OFFSET + 1000 * seed + d, split=split, depth=d) for d in task.depths}


@st.cache_data(show_spinner=False, max_entries=512)
def accuracy_for(path: str, mtime: float, passes: int, samples: int, seed: int) -> dict[int, tuple[int, int]]:
    """{depth: (correct, n)} exact-match on `samples` fresh held-out inputs per depth."""
    model, _, task = _load(path, mtime)
    with torch.inference_mode():
        return {d: (int(predict(model, b.tokens, b.targets, passes).sum()), len(b))
                for d, b in eval_batches(task, samples, seed).items()}


@st.cache_data(show_spinner=False, max_entries=64)
def chance_for(task_json: str, samples: int, seed: int) -> dict[int, float]:
    """Majority-answer accuracy per depth on the same evaluation samples."""
    task = task_from_config(json.loads(task_json))
    return {d: task.chance(b)[d] for d, b in eval_batches(task, samples, seed).items()}


def summary(counts: dict[int, tuple[int, int]], depths) -> tuple[float, float, float, int]:
    """(accuracy, lo, hi, n) pooled over the chosen depths, with a Wilson 95% interval."""
    c = sum(counts[d][0] for d in depths if d in counts)
    n = sum(counts[d][1] for d in depths if d in counts)
    lo, hi = wilson(c, n)
    return (c / n if n else 0.0), lo, hi, n


def true_diagram(cells, rule: int, t: int, boundary: str = "periodic") -> np.ndarray:
    """(t + 1, W) of the true automaton."""
    return evolve(torch.tensor([list(cells)]), rule=rule, steps=t, boundary=boundary)[0].numpy()


ACCURACY_FILE = "accuracy.json"     # measured accuracy next to a checkpoint (experiments/task_evals.py)


@st.cache_data(show_spinner=False, max_entries=64)
def read_accuracy(path: str, mtime: float) -> dict | None:
    """The measured accuracy shipped next to a checkpoint (None if there is none or it is unreadable)."""
    try:
        return json.loads((Path(path) / ACCURACY_FILE).read_text())
    except (OSError, ValueError):
        return None


def not_learned_warning(entry: Entry) -> None:
    """Say it first when a checkpoint ships with a measured accuracy at chance: its answers are guesses."""
    acc = read_accuracy(entry.path, entry.mtime) if entry.ok else None
    if acc and acc.get("at_chance"):
        st.warning(f"**`{entry.name}` has NOT learned its task**: held-out accuracy {100 * acc['accuracy']:.1f}%, "
                   "at chance. It ships to show how the problem is laid out over windows; its answers are "
                   "guesses.", icon=":material/warning:")


# ---------------------------------------------------------------------------- page helpers
PNG_CONFIG = {"displaylogo": False, "modeBarButtons": [["toImage"]], "displayModeBar": "hover"}


def chart(fig, key: str, export: "Exporter | None" = None, data: dict | None = None, title: str | None = None,
          **kwargs):
    """Place a plotly figure exactly as `sleepcore.viz` drew it (no Streamlit theme).

    The only toolbar button is plotly's camera (hover the figure): a PNG of the figure, drawn in the
    browser, offline. With `export`, the figure (and `data`, the arrays behind it) also go into the
    page's Export menu.
    """
    if export is not None:
        export.add(title or key, fig, data)
    config = {**PNG_CONFIG, "toImageButtonOptions": {"format": "png", "filename": f"sleeplab-{key}", "scale": 2}}
    return st.plotly_chart(fig, key=key, theme=None, config=config, **kwargs)


class Exporter:
    """The figures and arrays of one page run, offered by `menu()` as downloads.

    Create one per page run, pass it to `chart(..., export=ex, data={...})` (or `ex.add`), then call
    `ex.menu()` once, or `ex.menu(slot)` with a container placed earlier on the page. Files are built
    only when their button is clicked (Streamlit's deferred download), so a menu costs nothing per rerun.
    """

    def __init__(self, view: str):
        self.view = view
        self.figures: list[tuple[str, Any]] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.notes: list[str] = []

    def add(self, name: str, fig=None, data: dict | None = None) -> None:
        if fig is not None:
            self.figures.append((name, fig))
        for k, v in (data or {}).items():
            self.arrays[export.safe_name(k)] = export.as_array(v)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def state(self) -> dict[str, Any]:
        """The settings that define the view (the same ones the URL carries)."""
        return {"view": self.view, **{k: st.query_params.get(k) for k in st.query_params.keys()}}

    def html(self) -> bytes:
        return export.snapshot_html(self.view, self.state(), self.figures, self.notes,
                                    link=share_link()).encode()

    def menu(self, where=None) -> None:
        stem = "sleeplab-" + export.safe_name(self.view.lower())
        with (where or st.container()):
            with st.popover("Export", icon=":material/download:",
                            help="Download this view: an HTML snapshot, the numbers behind it, or a PNG per figure"):
                st.caption("PNG of one figure: hover it and press the camera icon.")
                st.download_button("HTML snapshot of this view", self.html, file_name=f"{stem}.html",
                                   mime="text/html", on_click="ignore", icon=":material/web:",
                                   key=f"{stem}_html", disabled=not self.figures,
                                   help="One self-contained file with every figure (interactive) and the settings; "
                                        "opens offline")
                if self.arrays:
                    arrays = dict(self.arrays)
                    st.download_button("All arrays (.npz)", lambda: export.npz_bytes(arrays), file_name=f"{stem}.npz",
                                       mime="application/octet-stream", on_click="ignore",
                                       icon=":material/data_array:", key=f"{stem}_npz",
                                       help="numpy: np.load(file) gives every array by name")
                    for name, arr in arrays.items():
                        st.download_button(f"{name} {tuple(arr.shape)} (.csv)",
                                           (lambda a=arr: export.csv_text(a)), file_name=f"{stem}-{name}.csv",
                                           mime="text/csv", on_click="ignore", key=f"{stem}_csv_{name}",
                                           icon=":material/table:")


def selected_entry() -> tuple[Entry | None, list[Entry], str | None]:
    """(selected entry, all entries, error message) for the pages."""
    try:
        entries = catalog()
    except LabError as e:
        return None, [], str(e)
    if not entries:
        return None, [], (f"The checkpoints folder `{checkpoints_dir()}` is empty. Train a model "
                          f"(`python -m sleepcore.train --out checkpoints/NAME ...`) or point `{ENV_CHECKPOINTS}` "
                          f"at a folder of checkpoints.")
    return find(entries, st.session_state.get(CKPT)), entries, None


def page_start(title: str, caption: str) -> tuple[Entry | None, list[Entry]] | None:
    """A page's title and caption, then (the sidebar's entry, every entry); None, after saying why, when there is
    no checkpoint to show (an empty or missing folder)."""
    st.title(title)
    st.caption(caption)
    entry, entries, err = selected_entry()
    if err:
        st.info(err, icon=":material/folder_off:")
        return None
    return entry, entries


def require_model():
    """(entry, model, config, task) of the sidebar's checkpoint; otherwise explain and stop the page."""
    entry, _, err = selected_entry()
    if err:
        st.info(err, icon=":material/folder_off:")
        st.stop()
    if entry is None:
        st.info("Pick a checkpoint in the sidebar.", icon=":material/arrow_back:")
        st.stop()
    try:
        model, cfg, task = load_model(entry)
    except LabError as e:
        st.error(str(e), icon=":material/error:")
        st.stop()
    return entry, model, cfg, task


def passes_warning(entry: Entry, passes: int) -> str | None:
    """A plain-words warning when N is not what the model was trained with."""
    if entry.eviction == "none":
        return "This model keeps its whole cache, so it never sleeps: N has no effect."
    if passes not in entry.trained_passes:
        trained = ", ".join(map(str, entry.trained_passes))
        return (f"This model was trained with N = {trained}; at N = {passes} it is outside what it learned, so "
                f"expect worse answers (that is itself worth seeing).")
    return None


def legend_html() -> str:
    """The wake / sleep / evict colour key, as a tiny inline legend."""
    from sleepcore.viz import EVICT_COLOR, SLEEP_COLOR, WAKE_COLOR
    chip = ('<span style="display:inline-block;width:10px;height:10px;border-radius:2px;background:{c};'
            'margin:0 4px 0 10px;vertical-align:middle"></span>{t}')
    return ('<div style="font-size:0.85rem;color:#555">'
            + chip.format(c=WAKE_COLOR, t="wake").replace("margin:0 4px 0 10px", "margin:0 4px 0 0")
            + chip.format(c=SLEEP_COLOR, t="sleep") + chip.format(c=EVICT_COLOR, t="evict") + "</div>")
