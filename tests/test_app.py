"""Every page of the explorer through `streamlit.testing.v1.AppTest`: it renders, the controls change
what is shown, and bad input gives a message instead of a traceback.

Uses the shipped checkpoints in checkpoints/ (rule110-n1, -n2, -n4, ...).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
CKPTS = ROOT / "checkpoints"
pytestmark = [pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads"),  # conftest
              pytest.mark.skipif(not (CKPTS / "rule110-n4" / "model.safetensors").exists(),
                                 reason="needs the shipped checkpoints in checkpoints/ (rule110-n1/-n2/-n4)")]


def app(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def chart(at: AppTest, key: str) -> dict:
    return json.loads(at.get_by_key(key).proto.spec)


def z(at: AppTest, key: str, trace: int = 0) -> np.ndarray:
    """A heatmap's z as numpy (plotly >= 6 sends numpy arrays base64-encoded)."""
    zz = chart(at, key)["data"][trace]["z"]
    if isinstance(zz, dict):
        shape = tuple(int(s) for s in str(zz["shape"]).split(","))
        return np.frombuffer(base64.b64decode(zz["bdata"]), dtype=np.dtype(zz["dtype"])).reshape(shape)
    return np.asarray(zz, dtype=float)


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


# ---------------------------------------------------------------------------- timeline
def test_timeline_renders_every_panel():
    at = app()
    no_exception(at)
    assert at.session_state["ckpt"] == "rule110-n4" and at.session_state["passes"] == 4
    assert "window 1, wake token 1 of 17: 't=8'" in markdown(at)
    keys = {c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}
    assert {"tl_ribbon", "tl_norms_1", "tl_sample", "tl_S_1", "tl_dS_1", "tl_attn_0", "tl_gates_1"} <= keys
    assert len(at.select_slider(key="step").options) == 22
    assert "Rule 110 · hybrid AF · trained N=4" in [c.value for c in at.sidebar.caption]


def test_stepping_forward_changes_the_fast_weights():
    at = app()
    before = z(at, "tl_S_1")
    at.button(key="tl_fwd").click().run()
    no_exception(at)
    assert at.session_state["step"] == 1 and "wake token 2 of 17" in markdown(at)
    after = z(at, "tl_S_1")
    assert after.shape == (32, 32) and not np.array_equal(before, after)
    at.button(key="tl_back").click().run()
    np.testing.assert_array_equal(z(at, "tl_S_1"), before)


def test_a_sleep_pass_changes_the_fast_weights_and_the_locked_scale_does_not():
    at = app()
    at.button(key="tl_last").click().run()
    at.button(key="tl_first").click().run()
    at.select_slider(key="step").set_value(16).run()                 # last wake token of window 1
    awake, scale = z(at, "tl_S_1"), chart(at, "tl_S_1")["layout"]["coloraxis"]["cmax"]
    at.button(key="tl_next_sleep").click().run()
    no_exception(at)
    assert "window 1 asleep: pass 2 of 4" in markdown(at)
    assert not np.array_equal(z(at, "tl_S_1"), awake)
    assert chart(at, "tl_S_1")["layout"]["coloraxis"]["cmax"] == scale
    assert chart(at, "tl_norms_1")["data"][0]["marker"]["opacity"] == [0.35, 1.0, 0.35, 0.35]   # pass 2 of 4


def test_changing_N_changes_the_timeline_and_keeps_the_place():
    at = app()
    at.select_slider(key="step").set_value(18).run()                 # N = 4: sleep pass 3
    s4 = z(at, "tl_S_1")
    at.select_slider(key="passes").set_value(2).run()
    no_exception(at)
    assert len(at.select_slider(key="step").options) == 20
    assert "window 1 asleep: pass 2 of 2" in markdown(at)            # the closest step of the new timeline
    assert not np.array_equal(z(at, "tl_S_1"), s4)
    assert any("trained with N = 4" in w.value for w in at.sidebar.warning)


def test_play_advances_and_pause_stops():
    at = app()
    at.button(key="tl_play").click().run()
    no_exception(at)
    assert at.session_state["playing"] and at.session_state["step"] == 1   # the first tick advances at once
    at.button(key="tl_pause").click().run()                                  # the same place, now "Pause"
    no_exception(at)
    assert not at.session_state["playing"] and at.session_state["step"] == 1
    # Pause and Play are two buttons, not one toggle: a press Streamlit delivers twice (seen in Chromium under
    # load) finds the button it was meant for gone, and cannot restart playback
    assert "tl_pause" not in {b.key for b in at.button} and "tl_play" in {b.key for b in at.button}
    at.button(key="tl_fwd").click().run()                                    # ordinary stepping again
    assert at.session_state["step"] == 2 and "wake token 3 of 17" in markdown(at)


def test_a_stale_slider_echo_during_playback_neither_pauses_nor_rewinds():
    """On a busy machine a playback tick can carry the slider value of the step before (seen in Chromium:
    playback paused itself and jumped back). A drag still pauses."""
    at = app()
    at.button(key="tl_play").click().run()
    assert at.session_state["playing"] and at.session_state["step"] == 1
    now = time.monotonic()
    at.session_state["tl_set_steps"] = [(0, now - 1.0), (1, now)]          # the app put 0, then 1, on the slider
    at.select_slider(key="step").set_value(0).run()                         # the browser still showed 0
    no_exception(at)
    assert at.session_state["playing"] and at.session_state["step"] == 2    # kept 1, and this run ticked on
    at.select_slider(key="step").set_value(9).run()                         # a real drag
    assert not at.session_state["playing"] and at.session_state["step"] == 9


def test_depth_and_seed_change_the_sample():
    at = app()
    first = z(at, "tl_sample")
    at.select_slider(key="depth").set_value(3).run()
    assert z(at, "tl_sample").shape == (4, 16)
    at.number_input(key="seed").set_value(7).run()
    no_exception(at)
    assert not np.array_equal(z(at, "tl_sample")[0], first[0])


def test_checkpoint_switch_to_another_model():
    at = app()
    at.sidebar.selectbox(key="ckpt").set_value("rule110-n1").run()
    no_exception(at)
    assert at.session_state["passes"] == 1                           # starts at the N it was trained with
    assert len(at.select_slider(key="step").options) == 19


@pytest.mark.parametrize("name, caption", [("rule110-attn-evicted", "KV cache evicted"),
                                           ("rule110-attn-kept", "cache kept")])
def test_attention_only_baselines_explain_what_they_lack(name, caption):
    if not (CKPTS / name / "model.safetensors").exists():
        pytest.skip(f"{name} is not trained yet")
    at = app()
    at.sidebar.selectbox(key="ckpt").set_value(name).run()
    at.button(key="tl_next_sleep").click().run()
    no_exception(at)
    assert any("No fast weights" in i.value for i in at.info)
    assert caption in markdown(at)
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("tl_S_1")]


def untrained_checkpoint(folder: Path, task_name: str, layers: str = "AF", passes: int = 2, eviction: str = "hard",
                         **params) -> None:
    """A small untrained model (by default a hybrid AF, N=2) for the task, saved as a checkpoint: enough to exercise
    the pages."""
    from sleepcore.checkpoint import save_checkpoint
    from sleepcore.config import ModelConfig, SleepConfig
    from sleepcore.model import SleepingHybrid
    from sleepcore.tasks import make_task

    task = make_task(task_name, **params)
    torch.manual_seed(0)
    model = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, d_model=32, head_dim=16, layers=layers,
                                       max_window=task.window),
                           SleepConfig(window=task.window, passes=passes, eviction=eviction))
    save_checkpoint(folder, model, task=task.config())


def test_a_checkpoint_of_another_task_gets_a_timeline(tmp_path):
    """k-hop retrieval: three consolidation windows, then the query window; an untrained model is enough."""
    untrained_checkpoint(tmp_path / "khop-n2", "khop")
    at = app(ckpt_dir=str(tmp_path))
    no_exception(at)
    assert len(at.select_slider(key="step").options) == 3 * (8 + 1 + 1) + 8 + 1   # a full last window is evicted too
    at.button(key="tl_last").click().run()
    no_exception(at)
    assert "prediction window ends" in markdown(at) and "Model says" in markdown(at)
    at.switch_page("pages/automaton.py").run()          # no automaton model: the true diagram still works
    no_exception(at)
    assert any("No model was trained for rule 110" in i.value for i in at.info)


def test_a_rule110_model_asking_every_cell_shows_its_answers_as_a_row(tmp_path):
    """Rule 110 with cells=16: the answer box compares the model's row with the true one, cell by cell, and the
    worked-out diagram frames the asked row and outlines the wrong cells."""
    untrained_checkpoint(tmp_path / "rule110-cells-n2", "rule110", width=16, steps=[1, 8], cells=16)
    at = app(ckpt_dir=str(tmp_path))
    no_exception(at)
    assert "Rule 110, all 16 cells · hybrid AF · trained N=2" in [c.value for c in at.sidebar.caption]
    assert "what are cells 0..15 after t = 8 steps?" in markdown(at)
    at.button(key="tl_last").click().run()
    no_exception(at)
    text = markdown(at)
    right = int(re.search(r"<b>(\d+) of 16 right</b>", text).group(1))
    assert text.count('title="cell ') == 32                     # the model's row and the true row
    assert text.count("2.5px solid") == 16 - right               # the wrong cells, outlined
    sample = chart(at, "tl_sample")
    frame = sample["layout"]["shapes"]
    assert len(frame) == 1 and (frame[0]["x0"], frame[0]["x1"]) == (-0.62, 15.62)
    outlined = [t["x"] for t in sample["data"] if t.get("type") == "scatter"]
    xs = [np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"])) if isinstance(x, dict)
          else np.asarray(x) for x in outlined]
    assert sum(len(x) for x in xs) == 16 - right


@pytest.mark.parametrize("eviction", ["hard", "none"])
def test_every_page_takes_a_whole_row_attention_only_baseline(tmp_path, eviction):
    """The whole-row baselines (layers AA, cache evicted or kept) next to a whole-row hybrid: no page fails on them."""
    untrained_checkpoint(tmp_path / "rule110-cells-n2", "rule110", width=16, steps=[1, 8], cells=16)
    name = f"rule110-cells-attn-{'kept' if eviction == 'none' else 'evicted'}"
    untrained_checkpoint(tmp_path / name, "rule110", layers="AA", passes=1, eviction=eviction, width=16,
                         steps=[1, 8], cells=16)
    at = app(ckpt_dir=str(tmp_path))
    at.sidebar.selectbox(key="ckpt").set_value(name).run()
    no_exception(at)
    at.button(key="tl_last").click().run()
    no_exception(at)
    assert "what are cells 0..15 after t = 8 steps?" in markdown(at)
    for page in sorted(p.as_posix() for p in (ROOT / "pages").glob("*.py") if p.stem != "lab"):
        at.switch_page(str(Path(page).relative_to(ROOT))).run()
        no_exception(at)


@pytest.mark.parametrize("eviction", ["hard", "none"])
def test_a_baseline_is_only_set_beside_models_that_answer_its_question(tmp_path, eviction):
    """With the one-cell baselines and a whole-row one in the folder, the amnesia test of a whole-row hybrid
    offers only a whole-row cache-kept baseline (none if there is none), never the one-cell one."""
    if not (CKPTS / "rule110-attn-kept" / "model.safetensors").exists():
        pytest.skip("rule110-attn-kept is not shipped")
    shutil.copytree(CKPTS / "rule110-attn-kept", tmp_path / "rule110-attn-kept",
                    ignore=shutil.ignore_patterns("train_state*", "log*"))
    untrained_checkpoint(tmp_path / "rule110-cells-n2", "rule110", width=16, steps=[1, 8], cells=16)
    name = f"rule110-cells-attn-{'kept' if eviction == 'none' else 'evicted'}"
    untrained_checkpoint(tmp_path / name, "rule110", layers="AA", passes=1, eviction=eviction, width=16,
                         steps=[1, 8], cells=16)
    at = app(ckpt_dir=str(tmp_path))
    at.sidebar.selectbox(key="ckpt").set_value("rule110-cells-n2").run()
    at.switch_page("pages/amnesia.py").run()
    no_exception(at)
    labels = [t.label for t in at.toggle]
    assert not any("rule110-attn-kept" in label for label in labels)
    assert any("rule110-cells-attn-kept" in label for label in labels) == (eviction == "none")


# ---------------------------------------------------------------------------- automaton
def test_automaton_diagrams_and_rule_change():
    at = app()
    at.switch_page("pages/automaton.py").run()
    no_exception(at)
    true110 = z(at, "ca_true")
    assert true110.shape == (9, 16)
    titles = [chart(at, f"ca_pred_{n}")["layout"]["title"]["text"] for n in (1, 2, 4)]
    assert all(t.startswith(f"N = {n}: ") and t.endswith("/128 right") for t, n in zip(titles, (1, 2, 4)))
    at.number_input(key="ca_rule").set_value(30).run()
    no_exception(at)
    assert not np.array_equal(z(at, "ca_true"), true110)
    assert any("No model was trained for rule 30" in i.value for i in at.info)


def test_automaton_cells_flip_and_open_in_timeline():
    at = app()
    at.switch_page("pages/automaton.py").run()
    cells = list(at.session_state["ca_cells"])
    at.button(key="ca_cell_0").click().run()
    assert list(at.session_state["ca_cells"]) == [1 - cells[0]] + cells[1:]
    assert z(at, "ca_true")[0, 0] == 1 - cells[0]
    at.button(key="ca_open").click().run()
    no_exception(at)
    assert at.session_state["custom_state"] == tuple(at.session_state["ca_cells"])
    assert "Initial state" not in markdown(at) and "The question" in markdown(at)   # now on the timeline


# ---------------------------------------------------------------------------- sleep more
def test_sleep_more_measures_and_opens_a_point_in_the_timeline():
    at = app(eval_samples=25)
    at.switch_page("pages/sleep_more.py").run()
    no_exception(at)
    by_n, by_depth = chart(at, "sm_by_n"), chart(at, "sm_by_depth")
    names = {t.get("name") for t in by_n["data"]}
    assert "nmix at test-time N" in names
    assert any(t.get("fill") == "toself" for t in by_depth["data"])            # Wilson bands
    for fig in (by_n, by_depth):     # one line per baseline kind, even with two seeds of it shipped
        legend = [t.get("name") for t in fig["data"] if t.get("showlegend", True) is not False]
        assert legend.count("attention, cache evicted") <= 1 and legend.count("attention, cache kept") <= 1, legend
    at.selectbox(key="open_ckpt").set_value("rule110-n2")
    at.selectbox(key="open_n").set_value(2)
    at.selectbox(key="open_depth").set_value(7)
    at.button(key="sm_open").click().run()
    no_exception(at)
    assert (at.session_state["ckpt"], at.session_state["passes"], at.session_state["depth"]) == ("rule110-n2", 2, 7)
    assert "window 1, wake token 1 of 17: 't=7'" in markdown(at)


def test_a_rule110_model_with_several_states_asks_cell_0_of_each(tmp_path):
    """The paper's layout (four states, cell 0 of each): one line per state, not a row of cells."""
    untrained_checkpoint(tmp_path / "rule110-states4-n2", "rule110", width=8, states=4, steps=[1, 4])
    at = app(ckpt_dir=str(tmp_path))
    no_exception(at)
    at.button(key="tl_last").click().run()
    no_exception(at)
    text = markdown(at)
    assert "what is cell 0 after t = 4 steps?" in text and text.count("Model says") == 4
    assert 'title="cell ' not in text


def test_sleep_more_never_mixes_models_that_answer_different_questions(tmp_path):
    """One-cell and all-cells Rule 110 models side by side: a control picks which kind is compared."""
    untrained_checkpoint(tmp_path / "rule110-n2", "rule110", width=16, steps=[1, 8])
    untrained_checkpoint(tmp_path / "rule110-cells-n2", "rule110", width=16, steps=[1, 8], cells=16)
    at = app(ckpt_dir=str(tmp_path), eval_samples=25)
    at.session_state["ckpt"] = "rule110-n2"                                # a one-cell model in the sidebar
    at.switch_page("pages/sleep_more.py").run()
    no_exception(at)
    control = at.segmented_control(key="sm_family")
    assert control.options == ["cell 0 (one answer)", "all 16 cells (whole row right)"] and control.value == 1
    assert list(at.dataframe[0].value["checkpoint"]) == ["rule110-n2"]
    control.set_value(16).run()
    no_exception(at)
    assert list(at.dataframe[0].value["checkpoint"]) == ["rule110-cells-n2"]
    assert any("Baseline(s) not found" in c.value for c in at.caption)     # the one-cell ones don't answer this
    at.switch_page("pages/automaton.py").run()                             # the diagram asks the one-cell model
    no_exception(at)
    assert "`rule110-n2` at N = 2" in " ".join(c.value for c in at.caption)


def test_sleep_more_asks_the_question_of_the_checkpoint_picked_in_the_sidebar(tmp_path):
    """Picking a whole-row checkpoint shows the whole-row comparison; the control still switches; picking a
    one-cell checkpoint brings the one-cell comparison back."""
    untrained_checkpoint(tmp_path / "rule110-n2", "rule110", width=16, steps=[1, 8])
    untrained_checkpoint(tmp_path / "rule110-cells-n2", "rule110", width=16, steps=[1, 8], cells=16)
    at = app(ckpt_dir=str(tmp_path), eval_samples=25)
    at.session_state["ckpt"] = "rule110-cells-n2"
    at.switch_page("pages/sleep_more.py").run()
    no_exception(at)
    assert at.segmented_control(key="sm_family").value == 16
    assert list(at.dataframe[0].value["checkpoint"]) == ["rule110-cells-n2"]
    at.segmented_control(key="sm_family").set_value(1).run()              # the user's choice holds while the
    at.run()                                                               # sidebar stays put
    assert at.segmented_control(key="sm_family").value == 1
    at.session_state["ckpt"] = "rule110-n2"
    at.run()
    assert at.segmented_control(key="sm_family").value == 1
    at.session_state["ckpt"] = "rule110-cells-n2"
    at.run()
    assert at.segmented_control(key="sm_family").value == 16


def test_sleep_more_never_mixes_models_trained_on_different_mixes_of_depths(tmp_path):
    """Whole-row models trained with every t alike and with t drawn in proportion to t² from step 0 (the curriculum)
    answer the same question but are separate experiments: a second control picks the recipe, it follows the
    sidebar's checkpoint, a baseline of the other recipe is not drawn, and the sidebar names the recipe."""
    sq = [float(t * t) for t in range(1, 9)]
    cells = dict(width=16, steps=[1, 8], cells=16)
    untrained_checkpoint(tmp_path / "rule110-cells-n2", "rule110", **cells)
    untrained_checkpoint(tmp_path / "rule110-cells-attn-evicted", "rule110", layers="AA", passes=1, **cells)
    untrained_checkpoint(tmp_path / "rule110-cells-curr-n2", "rule110", depth_weights=sq, **cells)
    at = app(ckpt_dir=str(tmp_path), eval_samples=25)
    at.session_state["ckpt"] = "rule110-cells-curr-n2"
    at.run()
    assert "t² weighting from step 0" in " ".join(c.value for c in at.sidebar.caption)
    at.switch_page("pages/sleep_more.py").run()
    no_exception(at)
    control = at.segmented_control(key="sm_recipe")
    assert control.options == ["every t alike", "t² weighting from step 0"]       # the most checkpoints first
    assert control.value == "t2"                                           # the sidebar's checkpoint's recipe
    assert list(at.dataframe[0].value["checkpoint"]) == ["rule110-cells-curr-n2"]
    assert "n2 (N = 2)" in [t.get("name") for t in chart(at, "sm_by_depth")["data"]]     # short names
    assert any("trained another way (every t alike), so they are not drawn" in c.value   # the standard-recipe
               for c in at.caption)                                        # baseline is not drawn beside them
    control.set_value("uniform").run()                                     # the user's choice
    no_exception(at)
    assert sorted(at.dataframe[0].value["checkpoint"]) == ["rule110-cells-attn-evicted", "rule110-cells-n2"]
    assert at.query_params["recipe"] == "uniform"
    at.run()                                                               # holds while the sidebar stays put
    assert at.segmented_control(key="sm_recipe").value == "uniform"
    at.session_state["ckpt"] = "rule110-cells-n2"                          # the sidebar changes: its recipe
    at.run()
    assert at.segmented_control(key="sm_recipe").value == "uniform"
    at.session_state["ckpt"] = "rule110-cells-curr-n2"
    at.run()
    assert at.segmented_control(key="sm_recipe").value == "t2"


def test_sleep_more_tells_three_seeds_of_one_n_apart(tmp_path):
    """Three seeds of one N: a marker and a dash of their own each, and legend names short enough to read."""
    import json
    for seed in (0, 1, 2):
        name = "rule110-cells-n2" + (f"-seed{seed}" if seed else "")
        untrained_checkpoint(tmp_path / name, "rule110", width=16, steps=[1, 8], cells=16)
        cfg = json.loads((tmp_path / name / "config.json").read_text())
        cfg["train"] = {**(cfg.get("train") or {}), "seed": seed}
        (tmp_path / name / "config.json").write_text(json.dumps(cfg))
    at = app(ckpt_dir=str(tmp_path), eval_samples=25)
    at.switch_page("pages/sleep_more.py").run()
    no_exception(at)
    by_n = {t["name"]: t for t in json.loads(at.get_by_key("sm_by_n").proto.spec)["data"] if t.get("name")}
    by_depth = {t["name"]: t for t in json.loads(at.get_by_key("sm_by_depth").proto.spec)["data"] if t.get("name")}
    names = ["n2", "n2-seed1", "n2-seed2"]
    assert [f"{n} (trained, N = 2)" in by_n for n in names] == [True] * 3
    assert len({by_n[f"{n} (trained, N = 2)"]["marker"]["symbol"] for n in names}) == 3
    assert len({by_depth[f"{n} (N = 2)"]["line"]["dash"] for n in names}) == 3


# ---------------------------------------------------------------------------- bad input
PAGES_WITH_MODELS = ["pages/timeline.py", "pages/automaton.py", "pages/sleep_more.py", "pages/training.py",
                     "pages/cost.py"]


@pytest.mark.parametrize("page", PAGES_WITH_MODELS)
def test_missing_checkpoints_folder_is_explained(monkeypatch, tmp_path, page):
    monkeypatch.setenv("SLEEPLAB_CHECKPOINTS", str(tmp_path / "nowhere"))
    at = app()
    at.switch_page(page).run()
    no_exception(at)
    messages = [e.value for e in at.error] + [i.value for i in at.info]
    assert any("No checkpoints folder" in m and "SLEEPLAB_CHECKPOINTS" in m for m in messages)


@pytest.mark.parametrize("page", PAGES_WITH_MODELS[2:])
def test_an_empty_checkpoints_folder_says_how_to_fill_it(monkeypatch, tmp_path, page):
    monkeypatch.setenv("SLEEPLAB_CHECKPOINTS", str(tmp_path))
    at = app()
    at.switch_page(page).run()
    no_exception(at)
    assert any("is empty. Train a model" in i.value for i in at.info)
    assert len(at.title) == 1                                   # the page still says what it is


def test_corrupt_checkpoint_is_explained(tmp_path):
    good, bad = tmp_path / "rule110-n4", tmp_path / "broken"
    shutil.copytree(CKPTS / "rule110-n4", good, ignore=shutil.ignore_patterns("train_state*", "log*"))
    shutil.copytree(good, bad)
    (bad / "model.safetensors").write_bytes(b"\x80\x04 this is a pickle, not safetensors")
    at = app(ckpt_dir=str(tmp_path))
    no_exception(at)
    at.sidebar.selectbox(key="ckpt").set_value("broken").run()
    no_exception(at)
    assert any("broken" in e.value and "pickle" in e.value for e in at.error)
    at.switch_page("pages/automaton.py").run()                      # the good N = 4 model answers, not the broken
    no_exception(at)
    assert chart(at, "ca_pred_4")["layout"]["title"]["text"].endswith("/128 right")
    at.session_state["eval_samples"] = 25
    at.switch_page("pages/sleep_more.py").run()
    no_exception(at)
    assert any("Could not evaluate `broken`" in w.value for w in at.warning)


def test_seed_out_of_range_is_reset_with_a_message():
    at = app(seed=-5)
    no_exception(at)
    assert any("out of range" in e.value for e in at.sidebar.error)
    assert at.session_state["seed"] == 0


# ---------------------------------------------------------------------------- glue
def test_diagram_is_the_models_answer_for_each_rotation():
    from pages import lab
    from sleepcore.checkpoint import load_checkpoint
    from sleepcore.tasks import task_from_config

    model, cfg = load_checkpoint(CKPTS / "rule110-n4")
    task = task_from_config(cfg["task"])
    cells = [0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1]
    probs = lab.diagram_predictions(model, task, cells, 5, passes=4)
    assert probs.shape == (6, 16) and probs[0].tolist() == cells
    for s, j in [(1, 0), (5, 3), (3, 15)]:
        sample = lab.custom_sample(task, cells[j:] + cells[:j], s)
        with torch.inference_mode():
            logits = model(sample.tokens, sample.targets, passes=4).logits[0, -1]
        p1 = logits[[task.index["0"], task.index["1"]]].softmax(-1)[1]
        assert probs[s, j] == pytest.approx(float(p1), abs=1e-5)
    truth = lab.true_diagram(cells, 110, 5)
    assert int(sample.targets[0, -1]) == truth[3, 15]


# ---------------------------------------------------------------------------- isolation
def test_sessions_are_isolated_and_the_shared_model_is_never_mutated():
    """Two browser sessions at once: each keeps its own N, position and view; the model cached for
    both (st.cache_resource) still holds exactly the weights on disk after both have stepped and slept."""
    from safetensors.torch import load_file

    from pages import lab

    a, b = app(), app()
    b_before = z(b, "tl_S_1")
    a.select_slider(key="passes").set_value(2).run()
    a.button(key="tl_next_sleep").click().run()
    a.button(key="tl_fwd").click().run()
    no_exception(a)
    assert a.session_state["passes"] == 2 and a.session_state["step"] > 0
    b.run()
    no_exception(b)
    assert b.session_state["passes"] == 4 and b.session_state["step"] == 0
    np.testing.assert_array_equal(z(b, "tl_S_1"), b_before)
    folder = ROOT / "checkpoints" / "rule110-n4"
    model, _, _ = lab.load_model(lab.find(lab.catalog(), "rule110-n4"))   # the object the app's cache holds
    on_disk = load_file(str(folder / "model.safetensors"))
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, on_disk[name]), f"{name} changed in the shared model"
