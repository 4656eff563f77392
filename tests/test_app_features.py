"""Features every page shares: the view in the URL, loading your own checkpoint, the Export menu.

AppTest through app.py, with the shipped checkpoints.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sleepcore import export

ROOT = Path(__file__).resolve().parents[1]
CKPTS = ROOT / "checkpoints"
pytestmark = [pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads"),  # conftest
              pytest.mark.skipif(not (CKPTS / "rule110-n4" / "model.safetensors").exists(),
                                 reason="needs the shipped checkpoints in checkpoints/")]


def run(params: dict | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def params(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


# ---------------------------------------------------------------------------- URL state
def test_a_link_reproduces_the_view_and_the_url_follows_the_widgets():
    at = run({"ckpt": "rule110-n2", "seed": "7", "t": "8", "step": "18"})
    no_exception(at)
    ss = at.session_state
    assert (ss["ckpt"], ss["passes"], ss["seed"], ss["depth"], ss["step"]) == ("rule110-n2", 2, 7, 8, 17)
    assert not at.sidebar.warning or all("trained" not in w.value for w in at.sidebar.warning)
    assert "window 1 asleep: pass 2 of 2" in "\n".join(m.value for m in at.markdown)
    at.button(key="tl_fwd").click().run()
    assert params(at) == {"ckpt": "rule110-n2", "n": "2", "seed": "7", "t": "8", "step": "19"}   # shown as "step 19 of 20"
    at.select_slider(key="passes").set_value(4).run()
    assert params(at)["n"] == "4"


def test_a_bad_link_says_what_was_wrong_and_falls_back_to_defaults():
    at = run({"ckpt": "no-such-model", "n": "5", "seed": "-3", "t": "x", "zoom": "2"})
    no_exception(at)
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "'no-such-model' is not in this app's checkpoints folder" in warnings
    assert "(available: arith-n4, khop-n1, " in warnings and " more in the Checkpoint menu)" in warnings  # not 29
    assert "n='5' is not one of 1, 2, 3, 4, 6, 8" in warnings
    assert "seed='-3' is not a whole number 0..2147483647" in warnings
    assert "t='x'" in warnings and "'zoom'" in warnings
    ss = at.session_state
    assert (ss["ckpt"], ss["passes"], ss["seed"]) == ("rule110-n4", 4, 0)
    assert params(at) == {"ckpt": "rule110-n4", "n": "4", "seed": "0", "t": "8", "step": "1"}
    at.run()                                                     # the warning is shown once, not forever
    assert not any("This link" in w.value for w in at.sidebar.warning)


def test_the_url_is_read_once_then_the_widgets_own_the_state():
    at = run({"seed": "5"})
    at.number_input(key="seed").set_value(9).run()
    assert at.session_state["seed"] == 9 and params(at)["seed"] == "9"


# ---------------------------------------------------------------------------- your own checkpoint
class Upload:
    """What st.file_uploader hands the callback: a name and getvalue()."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def _files(folder: Path, names=("model.safetensors", "config.json")) -> list[Upload]:
    return [Upload(f"{folder.name}/{n}", (folder / n).read_bytes()) for n in names]


def test_upload_validation_messages(tmp_path):
    from pages import lab

    good = CKPTS / "rule110-n2"
    with pytest.raises(lab.LabError, match="two files"):
        lab._pick_upload_files([Upload("model.safetensors", b"x")])
    with pytest.raises(lab.LabError, match="got config.json, notes.txt"):
        lab._pick_upload_files([Upload("config.json", b"{}"), Upload("notes.txt", b"")])
    # a whole folder: train_state.* and the card are ignored
    picked = lab._pick_upload_files(_files(good, ("model.safetensors", "config.json", "train_state.safetensors",
                                                  "train_state.json", "README.md")))
    assert picked[2] == "rule110-n2" and picked[0] == (good / "model.safetensors").read_bytes()


def _upload_script(files_json: str) -> None:
    """Runs inside AppTest: the sidebar's upload step (lab.add_upload) on the given files, then reports."""
    import json as _json
    import sys as _sys

    import streamlit as st
    _sys.path.insert(0, files_json.split("|", 1)[0])
    from pages import lab

    class F:
        def __init__(self, name, path):
            self.name, self.path = name, path

        def getvalue(self):
            return open(self.path, "rb").read()

    files = [F(n, p) for n, p in _json.loads(files_json.split("|", 1)[1])]
    try:
        name = lab.add_upload(files)
        st.session_state["result"] = ("ok", name, [e.name for e in lab.catalog()])
    except lab.LabError as e:
        st.session_state["result"] = ("error", str(e), [e.name for e in lab.catalog()])


def upload_in_session(files: list[tuple[str, Path]]) -> tuple:
    at = AppTest.from_function(_upload_script, args=(f"{ROOT}|" + json.dumps([(n, str(p)) for n, p in files]),),
                               default_timeout=60)
    at.run()
    no_exception(at)
    return at.session_state["result"]


def test_an_uploaded_checkpoint_is_validated_and_kept_for_its_session_only(tmp_path):
    import pickle

    src = CKPTS / "rule110-n2"
    (tmp_path / "evil.safetensors").write_bytes(pickle.dumps({"w": 1}))
    kind, text, _ = upload_in_session([("model.safetensors", tmp_path / "evil.safetensors"),
                                       ("config.json", src / "config.json")])
    assert kind == "error" and "pickle" in text and "never opened" in text
    cfg = json.loads((src / "config.json").read_text())
    cfg["model"]["d_model"] = 32
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    kind, text, _ = upload_in_session([("model.safetensors", src / "model.safetensors"),
                                       ("config.json", tmp_path / "config.json")])
    assert kind == "error" and "does not match" in text
    kind, name, names = upload_in_session([("rule110-n2/model.safetensors", src / "model.safetensors"),
                                           ("rule110-n2/config.json", src / "config.json"),
                                           ("rule110-n2/train_state.safetensors", src / "train_state.safetensors")])
    assert kind == "ok" and name.startswith("⬆ rule110-n2 (") and name in names
    at = run()                                                  # another browser session never sees it
    assert name not in at.sidebar.selectbox(key="ckpt").options


def _many_uploads_script(root: str) -> None:
    """Runs inside AppTest: one session uploads MAX_UPLOADS + 1 different checkpoints (configs differ by a byte)."""
    import sys as _sys

    import streamlit as st
    _sys.path.insert(0, root)
    from pages import lab

    class F:
        def __init__(self, name, data):
            self.name, self._data = name, data

        def getvalue(self):
            return self._data

    src = f"{root}/checkpoints/rule110-n2"
    weights, config = open(f"{src}/model.safetensors", "rb").read(), open(f"{src}/config.json", "rb").read()
    if "folders" not in st.session_state:
        names, created = [], []
        for i in range(lab.MAX_UPLOADS + 1):
            names.append(lab.add_upload([F("model.safetensors", weights), F("config.json", config + b" " * i)]))
            created.append(st.session_state[lab.UPLOADS][names[-1]])
        st.session_state["names"], st.session_state["created"] = names, created
        st.session_state["folders"] = [str(f.path) for f in st.session_state[lab.UPLOAD_FOLDERS].values()]


def test_upload_folders_belong_to_their_session_and_are_deleted_with_it():
    import gc

    from pages import lab

    folder = lab.UploadFolder()
    path = folder.path
    assert path.is_dir() and path.name.startswith("sleeplab-upload-")
    del folder
    gc.collect()
    assert not path.exists()                                     # nothing outlives its owner

    at = AppTest.from_function(_many_uploads_script, args=(str(ROOT),), default_timeout=60)
    at.run()
    no_exception(at)
    names, kept = at.session_state["names"], [Path(f) for f in at.session_state["folders"]]
    assert len(set(names)) == lab.MAX_UPLOADS + 1 and len(kept) == lab.MAX_UPLOADS
    assert list(at.session_state[lab.UPLOADS]) == names[1:]      # the oldest was dropped ...
    created = [Path(f) for f in at.session_state["created"]]
    assert created[1:] == kept and all(f.is_dir() for f in kept) and not created[0].exists()
    del at                                                       # ... and when the session goes, so do its files
    gc.collect()
    assert not any(f.exists() for f in kept)


def test_upload_folders_of_a_killed_server_are_removed_at_the_next_start(tmp_path):
    import os
    import subprocess
    import sys

    from pages import lab

    # A "server" that uploads a checkpoint and is then SIGKILLed: its finalizer never runs, the folder stays.
    script = ("import os, signal, sys; sys.path.insert(0, %r); from pages import lab; f = lab.UploadFolder(); "
              "(f.path / 'model.safetensors').write_bytes(b'x'); print(f.path, flush=True); "
              "os.kill(os.getpid(), signal.SIGKILL)" % str(ROOT))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp_path)}, timeout=120)
    assert proc.returncode == -9, proc.stderr
    dead = Path(proc.stdout.strip())
    assert dead.parent == tmp_path and dead.is_dir()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = tmp_path / f"{lab.UPLOAD_DIR_PREFIX}{alive.pid}-abc"       # another live server's upload
        mine = tmp_path / f"{lab.UPLOAD_DIR_PREFIX}{os.getpid()}-abc"        # this server's
        other = tmp_path / "sleeplab-upload-notapid-abc"                    # not ours to judge
        for d in (theirs, mine, other):
            d.mkdir()
        assert lab.remove_stale_uploads(tmp_path) == [dead]
        assert not dead.exists() and theirs.is_dir() and mine.is_dir() and other.is_dir()
    finally:
        alive.kill()
        alive.wait()


# ---------------------------------------------------------------------------- export
def test_the_timeline_exports_its_figures_and_the_arrays_behind_them():
    at = run()
    at.button(key="tl_fwd").click().run()
    no_exception(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "HTML snapshot of this view" in labels and "All arrays (.npz)" in labels
    assert "S_block1 (2, 32, 32) (.csv)" in labels and "attention_block0 (2, 17, 17) (.csv)" in labels or \
        any(lbl.startswith("attention_block0 (2,") for lbl in labels)


def test_export_files_round_trip(tmp_path):
    import plotly.graph_objects as go

    S = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    data = export.npz_bytes({"S block/1": S, "gates": [0.5, 1.0]})
    back = np.load(io.BytesIO(data))
    np.testing.assert_array_equal(back["S_block_1"], S)
    np.testing.assert_array_equal(back["gates"], [0.5, 1.0])
    csv = export.csv_text(S).splitlines()
    assert csv[0] == "i0,i1,i2,value" and csv[1] == "0,0,0,0.0" and csv[-1] == "1,2,3,23.0" and len(csv) == 25
    assert export.csv_text(np.float32(2.5)).splitlines() == ["value", "2.5"]
    fig = go.Figure(go.Heatmap(z=S[0]))
    html = export.snapshot_html("Timeline", {"ckpt": "rule110-n4", "n": 4}, [("S", fig)], ["step 2 of 22"])
    assert html.startswith("<!DOCTYPE html>") and "rule110-n4" in html and "step 2 of 22" in html
    import re
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)           # nothing fetched: offline
    assert 'id="fig0"' in html and len(html) > 1_000_000                       # plotly.js is inside


def test_a_classroom_link_opens_the_lesson():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["part"] = "classroom"
    at.query_params["lesson"] = "3"
    at.switch_page("pages/guide.py").run()
    no_exception(at)
    assert at.session_state["guide_section"] == "Classroom" and at.session_state["guide_step"] == 2
    assert any(m.value.startswith("## 3. ") for m in at.markdown)
    assert params(at)["part"] == "classroom" and params(at)["lesson"] == "3" and "step" not in params(at)
    bad = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    bad.query_params["part"] = "recess"
    bad.switch_page("pages/guide.py").run()
    no_exception(bad)
    assert "part='recess' is not one of sleep, glossary, classroom" in " ".join(w.value for w in bad.sidebar.warning)


@pytest.mark.parametrize("page, query, expected", [
    ("probe", {"t": "8", "pass": "2", "block": "1", "token": "3"},
     {"probe_depth": 8, "probe_pass": 2, "probe_layer": 1, "probe_token": 3}),
    ("amnesia", {"t": "7", "states": "8"}, {"amn_t": 7, "amn_samples": 8}),
])
def test_page_links_round_trip(page, query, expected):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py").run()
    no_exception(at)
    assert {k: at.session_state[k] for k in expected} == expected
    assert {k: params(at)[k] for k in query} == query                    # and the link still says so


@pytest.mark.parametrize("page, query", [("probe", {"block": "63", "token": "9999", "pass": "60"}),
                                         ("amnesia", {"t": "64", "states": "1000"})])
def test_out_of_range_page_links_fall_back_without_a_crash(page, query):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py").run()
    no_exception(at)
    assert any(p != query.get(k) for k, p in params(at).items() if k in query)   # the page put in what it could show


@pytest.mark.parametrize("page", ["timeline", "probe"])
def test_a_model_at_chance_is_flagged_first(page):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ckpt"] = "arith-n4"
    at.switch_page(f"pages/{page}.py").run()
    no_exception(at)
    assert any("`arith-n4` has NOT learned its task" in w.value and "at chance" in w.value for w in at.warning)
    assert "arithmetic · hybrid AF · trained N=4" in [c.value for c in at.sidebar.caption]
    ok = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    ok.switch_page(f"pages/{page}.py").run()
    assert not any("NOT learned" in w.value for w in ok.warning)


def test_automaton_and_sleep_more_links_round_trip():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in {"rule": "30", "cells": "1000000000000001", "t": "5"}.items():
        at.query_params[k] = v
    at.switch_page("pages/automaton.py").run()
    no_exception(at)
    assert (at.session_state["ca_rule"], at.session_state["ca_t"]) == (30, 5)
    assert tuple(at.session_state["ca_cells"]) == (1,) + (0,) * 14 + (1,)
    at.button(key="ca_cell_1").click().run()                               # flip a cell: the link follows
    assert params(at)["cells"] == "1100000000000001" and params(at)["rule"] == "30"
    sm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in {"inputs": "25", "evalseed": "3", "depths": "5-6"}.items():
        sm.query_params[k] = v
    sm.switch_page("pages/sleep_more.py").run()
    no_exception(sm)
    ss = sm.session_state
    assert (ss["eval_samples"], ss["eval_seed"], tuple(ss["eval_depths"])) == (25, 3, (5, 6))
    assert params(sm)["depths"] == "5-6"
    if (CKPTS / "rule110-cells-n4" / "config.json").exists():           # the question travels too
        assert params(sm)["ask"] == "cell"                                # the sidebar's one-cell model's
        row = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        for k, v in {"ckpt": "rule110-n4", "inputs": "25", "ask": "row"}.items():
            row.query_params[k] = v
        row.switch_page("pages/sleep_more.py").run()
        no_exception(row)
        assert row.session_state["sm_family"] == 16 and params(row)["ask"] == "row"   # the link wins, once
        row.session_state["ckpt"] = "rule110-n2"                           # then the sidebar leads again
        row.run()
        assert row.session_state["sm_family"] == 1 and params(row)["ask"] == "cell"
    bad = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in {"cells": "10x", "rule": "300", "inputs": "7", "depths": "9-3", "ask": "all"}.items():
        bad.query_params[k] = v
    bad.switch_page("pages/automaton.py").run()
    no_exception(bad)
    warned = " ".join(w.value for w in bad.sidebar.warning)
    assert "cells='10x' is not 16 digits 0/1" in warned and "rule='300' is not a whole number 0..255" in warned
    assert "'inputs'" in warned and "'ask'" in warned                      # not parameters of this page
    worse = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    worse.query_params["ask"] = "all"
    worse.query_params["recipe"] = "best"
    worse.switch_page("pages/sleep_more.py").run()
    no_exception(worse)
    warned = " ".join(w.value for w in worse.sidebar.warning)
    assert "ask='all' is not cell, row or a number of cells 1..64" in warned
    assert "recipe='best' is not uniform, t2, weighted, or one of them followed by -from-STEP" in warned


def test_the_checkpoint_menu_lists_rule110_first_then_khop_then_arithmetic():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    no_exception(at)
    options = at.sidebar.selectbox(key="ckpt").options
    tasks = [o.split("-")[0] for o in options]
    order = [t for i, t in enumerate(tasks) if t not in tasks[:i]]
    assert order[:3] == ["rule110", "khop", "arith"], options
    assert options.index("rule110-n4") + 1 == options.index("rule110-n4-seed1")   # a second seed follows its model


# ---------------------------------------------------------------------------- the row probe on the probe page
def test_the_row_probe_runs_when_asked_and_only_for_the_setting_it_was_asked_for():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/probe.py").run()                               # rule110-n4 asks one cell, not the row
    no_exception(at)
    assert any("needs a model asked for the whole row" in c.value and "cells=1" in c.value for c in at.caption)
    at.button(key="probe_rows_use").click().run()
    assert at.session_state["ckpt"] == "rule110-cells-n4-seed1"
    charts = len(at.get("plotly_chart"))
    assert [b.label for b in at.button if b.key == "probe_rows_go"] == ["Measure at t = 8 with N = 4 (a few seconds)"]
    at.button(key="probe_rows_go").click().run()
    no_exception(at)
    assert len(at.get("plotly_chart")) == charts + 1
    said = next(c.value for c in at.caption if "answer row is read right on" in c.value)
    high = int(said.split("read right on ")[1].split("%")[0])
    assert high >= 85                                   # this seed gets t=8 whole rows right 72% of the time
    at.select_slider(key="probe_depth").set_value(7).run()               # another setting: asked for again
    assert len(at.get("plotly_chart")) == charts and any(b.key == "probe_rows_go" for b in at.button)
