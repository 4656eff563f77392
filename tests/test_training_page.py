"""Training curves: `sleepcore.runlog` reads a run's log.jsonl, `sleepcore.viz_training` draws it, and the page
sets the shipped models side by side (AppTest, on the shipped checkpoints)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from sleepcore import runlog, viz_training

ROOT = Path(__file__).resolve().parents[1]
CKPTS = ROOT / "checkpoints"


def lines(*recs) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in recs)


def test_a_log_is_read_into_columns_later_lines_win_and_junk_is_counted():
    text = lines({"step": 10, "loss": 2.0, "acc": 0.0, "lr": 1e-3, "wall_seconds": 5.0},
                 {"step": 20, "loss": 1.5, "acc": 0.1, "lr": 2e-3, "wall_seconds": 9.0},
                 "not json", {"no": "step"}, {"step": "x", "loss": 1},
                 {"step": 20, "eval": {"accuracy": 0.5, "per_depth": {"1": 1.0, "10": 0.25, "2": 0.5}}},
                 {"step": 20, "loss": 1.25, "acc": 0.2, "lr": 2e-3, "wall_seconds": 9.5},      # resumed: wins
                 {"step": 40, "eval": {"accuracy": 0.75, "per_depth": {"1": 1.0}, "answer_accuracy": 0.9}},
                 {"step": 30, "loss": float("inf"), "acc": None, "lr": 1e-3})
    log = runlog.parse_log(text.replace("Infinity", "1e999"))
    assert log.skipped == 3
    assert log.steps.tolist() == [10, 20, 30] and log.loss[:2].tolist() == [2.0, 1.25]
    assert math.isnan(log.loss[2]) and math.isnan(log.batch_acc[2]) and math.isnan(log.wall[2])
    assert log.eval_steps.tolist() == [20, 40] and log.eval_acc.tolist() == [0.5, 0.75]
    assert log.depths == ["1", "2", "10"]                                 # by number, not by string
    assert log.eval_depth["1"].tolist() == [1.0, 1.0]
    assert log.eval_depth["10"][0] == 0.25 and math.isnan(log.eval_depth["10"][1])   # not evaluated: a gap
    assert np.isnan(log.eval_answers[0]) and log.eval_answers[1] == 0.9
    assert log.last_step == 40


def test_a_log_without_records_is_refused_with_what_a_record_is(tmp_path):
    for text in ("", "\n\n", lines("garbage", {"step": 3, "other": 1})):
        with pytest.raises(runlog.LogError, match='lines of JSON with a "step"'):
            runlog.parse_log(text)
    with pytest.raises(runlog.LogError, match="no training log at"):
        runlog.read_log(tmp_path / "missing.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(runlog.LogError, match="is not text"):
        runlog.read_log(tmp_path / "bin.jsonl")


def test_a_log_far_larger_than_a_training_log_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(runlog, "MAX_LOG_BYTES", 100)
    (tmp_path / "big.jsonl").write_text(lines(*({"step": i, "loss": 1.0} for i in range(20))))
    with pytest.raises(runlog.LogError, match="a training log is at most"):
        runlog.read_log(tmp_path / "big.jsonl")


def test_phase_starts_are_warm_restarts_not_the_warmup():
    steps = np.arange(0, 100, 10)
    lr = [0.1, 0.5, 1.0, 0.8, 0.5, 0.3, 0.6, 0.4, 0.2, 0.3]   # warmup, decay, restart after 50, restart after 80
    assert runlog.phase_starts(steps, lr) == [50, 80]
    assert runlog.phase_starts(steps[:3], lr[:3]) == []
    assert runlog.phase_starts(steps, [0.5] * 10) == []


@pytest.mark.skipif(not (CKPTS / "rule110-cells-n4" / "log.jsonl").exists(), reason="needs the shipped logs")
def test_the_shipped_whole_row_runs_show_their_five_phases():
    log = runlog.read_log(CKPTS / "rule110-cells-n4" / "log.jsonl")
    assert log.phases() == [4000, 6000, 7500, 8500] and log.last_step == 10_000
    assert log.depths == [str(d) for d in range(1, 9)] and log.eval_answers is not None


def test_curves_leave_gaps_mark_phases_and_label_a_log_axis_only_at_1_2_5():
    c = viz_training.Curve("a", np.array([0, 10, 20]), np.array([0.5, np.nan, 0.02]), "#000", "dash")
    fig = viz_training.curves_figure([c], "loss", phases=[10, 10, 15], y_log=True).to_plotly_json()
    tr = fig["data"][0]
    assert list(tr["y"]) == [0.5, None, 0.02] and tr["line"]["dash"] == "dash" and tr["connectgaps"] is False
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [10, 15]
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["10", "15"]
    assert list(fig["layout"]["yaxis"]["tickvals"]) == [0.02, 0.05, 0.1, 0.2, 0.5]
    wide = viz_training.Curve("b", np.arange(3), np.array([2.0, 0.01, 3e-5]), "#000")
    ticks = viz_training.curves_figure([wide], "loss", y_log=True).to_plotly_json()["layout"]["yaxis"]["tickvals"]
    assert list(ticks) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])    # six decades: powers of ten only
    assert viz_training.run_style(4, 1) == (viz_training.passes_color(4), "dash")
    assert viz_training.run_style(1, 0, hybrid=False, cache_kept=True)[0] == viz_training.KEPT_COLOR


# ---------------------------------------------------------------------------- the page (AppTest)
needs_shipped = pytest.mark.skipif(not (CKPTS / "rule110-cells-n4" / "model.safetensors").exists(),
                                   reason="needs the shipped checkpoints")


def app(**state):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page("pages/training.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def chart(at, key: str) -> dict:
    return json.loads(at.get_by_key(key).proto.spec)


@needs_shipped
@pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")
def test_the_page_sets_the_runs_of_one_question_side_by_side_from_their_logs():
    at = app(ckpt="rule110-cells-n4")
    hybrids = ["rule110-cells-n1", "rule110-cells-n1-seed1", "rule110-cells-n2", "rule110-cells-n2-seed1",
               "rule110-cells-n4", "rule110-cells-n4-seed1", "rule110-cells-n4-seed2"]
    assert at.session_state["tr_models"] == hybrids                       # the baselines are offered, not drawn
    chips = at.multiselect(key="tr_models").options                      # shown without the common prefix
    assert "attn-kept" in chips and "n4-seed1" in chips                  # the baselines are offered too
    assert "curr-n4" in chips                                             # the other recipe's runs: offered, not
    whole_row = [p.name for p in CKPTS.glob("rule110-cells-*") if (p / "log.jsonl").exists()]   # drawn; and
    assert len(chips) == len(whole_row)                                   # nothing that asks another question
    assert "drew them weighted towards it, config `depth_weights`" in " ".join(c.value for c in at.caption)
    fig = chart(at, "tr_acc")
    assert len(fig["data"]) == 7 and [s["x0"] for s in fig["layout"]["shapes"]] == [4000, 6000, 7500, 8500]
    # the drawn values are the log's own: seed 1 of N=4 at t=8, read straight from its file
    raw = [json.loads(ln) for ln in (CKPTS / "rule110-cells-n4-seed1" / "log.jsonl").read_text().splitlines()]
    want = [r["eval"]["per_depth"]["8"] for r in raw if "eval" in r]
    seed1 = next(t for t in fig["data"] if t["name"].startswith("rule110-cells-n4-seed1"))
    assert seed1["y"] == pytest.approx(want) and seed1["line"]["dash"] == "dash"
    widths = {t["name"].split(" ")[0]: t["line"]["width"] for t in fig["data"]}
    assert widths.pop("rule110-cells-n4") > max(widths.values())         # the sidebar's model stands out
    at.select_slider(key="tr_depth").set_value("all").run()
    assert not at.exception
    pooled = next(t for t in chart(at, "tr_acc")["data"] if t["name"].startswith("rule110-cells-n4-seed1"))
    assert pooled["y"] == pytest.approx([r["eval"]["accuracy"] for r in raw if "eval" in r])
    assert at.query_params["at"] == "all"                                 # the link follows the view
    at.multiselect(key="tr_models").set_value(["rule110-cells-attn-kept"]).run()
    assert len(chart(at, "tr_acc")["data"]) == 1 and "cache kept" in chart(at, "tr_acc")["data"][0]["name"]
    at.multiselect(key="tr_models").set_value([]).run()
    assert "Pick at least one model above." in [i.value for i in at.info]
    # another checkpoint in the sidebar chooses again: the k-hop runs, by k
    at.sidebar.selectbox(key="ckpt").set_value("khop-n4").run()
    assert not at.exception
    assert at.session_state["tr_models"] and all(n.startswith("khop-") for n in at.session_state["tr_models"])
    assert at.select_slider(key="tr_depth").options[-2:] == ["k=4", "all pooled"]
    at.select_slider(key="tr_depth").set_value("4").run()                 # it kept "all" from before
    caption = " ".join(c.value for c in at.caption)
    assert "about 250 per depth when depths are drawn evenly." in caption and "depth_weights" not in caption


@needs_shipped
@pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")
def test_a_checkpoint_without_a_readable_log_says_so_and_shows_its_siblings(tmp_path):
    for name in ("rule110-cells-n1", "rule110-cells-n4"):
        shutil.copytree(CKPTS / name, tmp_path / name, ignore=shutil.ignore_patterns("train_state*"))
    (tmp_path / "rule110-cells-n4" / "log.jsonl").write_text("this is not a log\n")
    at = app(ckpt_dir=str(tmp_path), ckpt="rule110-cells-n4")
    info = " ".join(i.value for i in at.info)
    assert "`rule110-cells-n4` has no readable training log (the training log holds no training" in info
    assert at.session_state["tr_models"] == ["rule110-cells-n1"] and len(chart(at, "tr_acc")["data"]) == 1
    (tmp_path / "rule110-cells-n1" / "log.jsonl").unlink()
    at = app(ckpt_dir=str(tmp_path), ckpt="rule110-cells-n1")
    assert "no training log at" in " ".join(i.value for i in at.info) and not at.get("plotly_chart")


@needs_shipped
@pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")
def test_a_link_carries_the_depth_and_a_bad_one_says_what_it_accepts():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ckpt"], at.query_params["at"] = "rule110-cells-n2", "7"
    at.switch_page("pages/training.py").run()
    assert not at.exception and at.session_state["tr_depth"] == "7"
    assert "### Exact match at t=7 (whole row right)" in "\n".join(m.value for m in at.markdown)
    bad = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    bad.query_params["ckpt"], bad.query_params["at"] = "rule110-cells-n2", "deep"
    bad.switch_page("pages/training.py").run()
    assert not bad.exception and bad.session_state["tr_depth"] == "8"     # the default, and the reason why
    assert "at='deep' is not a depth 1..64 or all" in " ".join(w.value for w in bad.sidebar.warning)


def _upload_script(args: str) -> None:
    """Runs inside AppTest: lab.add_upload on the given (name, path) files, then reports the upload's folder."""
    import json as _json
    import sys as _sys
    from pathlib import Path as _Path

    import streamlit as st
    root, files_json = args.split("|", 1)
    _sys.path.insert(0, root)
    from pages import lab

    class F:
        def __init__(self, name, path):
            self.name, self.path = name, path

        def getvalue(self):
            return open(self.path, "rb").read()

    name = lab.add_upload([F(n, p) for n, p in _json.loads(files_json)])
    folder = _Path(st.session_state[lab.UPLOADS][name])
    st.session_state["result"] = (sorted(f.name for f in folder.iterdir()), st.session_state[lab.UPLOAD_LOG_PROBLEM])


@needs_shipped
@pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")
def test_an_uploaded_folder_brings_its_training_log_and_a_bad_log_is_left_out_with_the_reason(tmp_path):
    from streamlit.testing.v1 import AppTest
    src = CKPTS / "khop-n2"

    def upload(log: Path | None):
        files = [("khop-n2/model.safetensors", str(src / "model.safetensors")),
                 ("khop-n2/config.json", str(src / "config.json"))] + ([("khop-n2/log.jsonl", str(log))] if log else [])
        at = AppTest.from_function(_upload_script, args=(f"{ROOT}|" + json.dumps(files),), default_timeout=60)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at.session_state["result"]

    assert upload(src / "log.jsonl") == (["config.json", "log.jsonl", "model.safetensors"], None)
    assert upload(None) == (["config.json", "model.safetensors"], None)
    (tmp_path / "log.jsonl").write_bytes(b"\x89PNG\r\n")
    files, why = upload(tmp_path / "log.jsonl")
    assert files == ["config.json", "model.safetensors"] and why == "`log.jsonl` is not text (a training log is UTF-8 lines of JSON)"
    (tmp_path / "log.jsonl").write_text("hello\n")
    assert "holds no training or evaluation record" in upload(tmp_path / "log.jsonl")[1]


@needs_shipped
@pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")
def test_several_checkpoint_folders_side_by_side_as_when_watching_runs_in_training(tmp_path, monkeypatch):
    """SLEEPLAB_CHECKPOINTS may name several folders (os.pathsep): the shipped models and runs in training
    appear together, a name met twice gets its folder's name, and a missing folder is named in the message."""
    import os
    shipped, runs = tmp_path / "checkpoints", tmp_path / "r110cells_curr_p2"
    for folder, name, as_name in ((shipped, "rule110-cells-n4", "rule110-cells-n4"),
                                  (shipped, "rule110-cells-n1", "rule110-cells-n1"),
                                  (runs, "rule110-cells-n1", "rule110-cells-n1"),       # the same name again
                                  (runs, "rule110-cells-n4-seed1", "r110cells-curr-n4")):
        shutil.copytree(CKPTS / name, folder / as_name, ignore=shutil.ignore_patterns("train_state*", "README*"))
    monkeypatch.setenv("SLEEPLAB_CHECKPOINTS", f"{shipped}{os.pathsep}{runs}")
    at = app(ckpt="rule110-cells-n4")
    names = at.session_state["tr_models"]
    assert sorted(names) == ["r110cells-curr-n4", "rule110-cells-n1 (checkpoints)",
                             "rule110-cells-n1 (r110cells_curr_p2)", "rule110-cells-n4"]
    assert len(chart(at, "tr_acc")["data"]) == 4
    monkeypatch.setenv("SLEEPLAB_CHECKPOINTS", f"{shipped}{os.pathsep}{tmp_path / 'nope'}")
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert f"No checkpoints folder at `{tmp_path / 'nope'}`" in " ".join(e.value for e in at.sidebar.error)


@needs_shipped
@pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")
def test_runs_of_another_training_recipe_are_offered_not_drawn_and_their_labels_say_the_recipe(tmp_path):
    """A curriculum run (t drawn in proportion to t² from step 0) in the sidebar: the curves drawn at first are its
    own recipe's; the standard recipe's runs (t² from step 7,500) stay in the picker, and when both are drawn each
    label says which recipe a line is."""
    for name, curriculum in (("rule110-cells-n4", False), ("rule110-cells-n1", False),
                             ("rule110-cells-n4-seed1", True), ("rule110-cells-n1-seed1", True)):
        dst = tmp_path / (name.replace("cells-", "cells-curr-") if curriculum else name)
        shutil.copytree(CKPTS / name, dst, ignore=shutil.ignore_patterns("train_state*", "README*"))
        if curriculum:              # as if trained with t² from step 0: no earlier phase drew t another way
            cfg = json.loads((dst / "config.json").read_text())
            cfg.pop("history"), cfg["train"].pop("init_from")
            (dst / "config.json").write_text(json.dumps(cfg))
    at = app(ckpt_dir=str(tmp_path), ckpt="rule110-cells-curr-n4-seed1")
    assert at.session_state["tr_models"] == ["rule110-cells-curr-n1-seed1", "rule110-cells-curr-n4-seed1"]
    assert len(at.multiselect(key="tr_models").options) == 4
    names = [t["name"] for t in chart(at, "tr_acc")["data"]]
    assert names == ["rule110-cells-curr-n1-seed1 (N=1, seed 1)", "rule110-cells-curr-n4-seed1 (N=4, seed 1)"]
    at.multiselect(key="tr_models").set_value(["rule110-cells-curr-n4-seed1", "rule110-cells-n4"]).run()
    names = [t["name"] for t in chart(at, "tr_acc")["data"]]              # two recipes drawn: the labels say which
    assert names == ["rule110-cells-curr-n4-seed1 (N=4, t² weighting from step 0, seed 1)",
                     "rule110-cells-n4 (N=4, t² weighting from step 7,500)"]
    at.sidebar.selectbox(key="ckpt").set_value("rule110-cells-n4").run()
    assert at.session_state["tr_models"] == ["rule110-cells-n1", "rule110-cells-n4"]
