"""The Graphs and arithmetic page through `streamlit.testing.v1.AppTest`: a Rule 110 model is explained
with buttons to the task checkpoints, the at-chance warning comes from the shipped accuracy.json, and
the stepper moves the pictures (edges and chips change state at the evictions)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sleepcore.tasks import task_from_config
from sleepcore.timeline import EVICT
from sleepcore.viz import GOLD

ROOT = Path(__file__).resolve().parents[1]
CKPTS = ROOT / "checkpoints"
pytestmark = [pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads"),  # conftest
              pytest.mark.skipif(not (CKPTS / "khop-n4" / "model.safetensors").exists()
                                 or not (CKPTS / "arith-n4" / "model.safetensors").exists()
                                 or not (CKPTS / "rule110-n4" / "model.safetensors").exists(),
                                 reason="needs the shipped checkpoints khop-n4, arith-n4 and rule110-n4")]
PAGE = "pages/tasks.py"


def page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    return at.switch_page(PAGE).run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def spec(at: AppTest, key: str) -> dict:
    return json.loads(at.get_by_key(key).proto.spec)


def edge_dashes(at: AppTest) -> dict[str, str]:
    return {t["name"]: t["line"]["dash"] for t in spec(at, "tk_graph")["data"]
            if t.get("name", "").startswith("window")}


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_a_rule110_model_is_explained_and_the_buttons_switch_to_the_task_checkpoints():
    at = page()
    no_exception(at)
    assert at.session_state["ckpt"] == "rule110-n4"
    assert any("is a Rule 110 model" in i.value for i in at.info)
    assert not at.get("plotly_chart")                                   # nothing drawn for the wrong kind
    at.button(key="tk_switch_khop").click().run()
    no_exception(at)
    assert (at.session_state["ckpt"], at.session_state["passes"]) == ("khop-n4", 4)
    assert at.get_by_key("tk_graph") is not None
    at.button(key="tk_switch_arith").click().run()                      # the k-hop view offers the other task
    no_exception(at)
    assert at.session_state["ckpt"] == "arith-n4" and at.get_by_key("tk_chips") is not None


def test_the_at_chance_warning_quotes_the_shipped_numbers():
    at = page(ckpt="arith-n4", passes=4)
    no_exception(at)
    acc = json.loads((CKPTS / "arith-n4" / "accuracy.json").read_text())
    assert acc["at_chance"] is True
    warning = at.info[0].value
    assert warning.startswith("**This model has NOT learned the task**")
    assert f"{100 * acc['accuracy']:.1f}%" in warning and f"{100 * acc['guess']['accuracy']:.1f}%" in warning


def test_a_learned_khop_model_quotes_its_accuracy_and_is_compared_with_the_other_n():
    at = page(ckpt="khop-n4", passes=4)
    no_exception(at)
    acc = json.loads((CKPTS / "khop-n4" / "accuracy.json").read_text())
    assert acc["at_chance"] is False and not at.info
    note = next(c.value for c in at.caption if c.value.startswith("Measured accuracy of"))
    assert f"{100 * acc['accuracy']:.1f}%" in note and f"{100 * acc['answer_accuracy']:.1f}% of single answers" in note
    bars = [t for t in spec(at, "tk_by_n")["data"] if t["type"] == "bar"]
    assert [t["name"].split(" (")[0] for t in bars][:1] == ["N = 1"] and bars[-1]["name"] == "N = 4 (2 seeds)"


def test_a_right_answer_of_an_at_chance_model_is_called_luck():
    at = page(ckpt="arith-n4", passes=4, seed=6, tk_depth=3)      # this sample the model gets right
    no_exception(at)
    assert "✓ right" in markdown(at) and "a right answer is luck" in markdown(at)


def test_khop_stepper_moves_the_edges_from_cache_to_s():
    at = page(ckpt="khop-n4", passes=4, seed=5, tk_depth=3)
    no_exception(at)
    task = task_from_config(json.loads((CKPTS / "khop-n4" / "config.json").read_text())["task"])
    sample = task.sample(1, seed=5, split="any", depth=3)
    start, k, answer = sample.raw[0]["queries"][0]
    # A first visit opens at the (first) question: every edge is only in S, and the model's answer is marked.
    assert set(edge_dashes(at).values()) == {"dash"}
    assert f"From <b>{start}</b>, 3 hops → <b>{answer}</b>" in spec(at, "tk_graph")["layout"]["title"]["text"]
    assert f"where do you land 3 hops after {start}?" in markdown(at)
    assert markdown(at).count(" → ") >= 3 and "| 3 |" in markdown(at)        # the hop table has k rows
    at.button(key="tk_first").click().run()
    assert at.session_state["tk_step"] == 0
    assert set(edge_dashes(at).values()) <= {"dot"}                      # nothing read yet
    at.button(key="tk_fwd").click().run()
    assert at.session_state["tk_step"] == 1
    at.button(key="tk_next_evict").click().run()
    i = at.session_state["tk_step"]
    assert at.session_state["tk_step_obj"].kind == EVICT and at.session_state["tk_step_obj"].window == 0
    dashes = edge_dashes(at)
    assert any(n.startswith("window 1") and d == "dash" for n, d in dashes.items())
    assert all(d == "dot" for n, d in dashes.items() if not n.startswith("window 1"))   # later windows: unread
    at.button(key="tk_fwd").click().run()
    assert at.session_state["tk_step"] == i + 1


def _step_index(passes: int, kind: str, window: int, offset: int) -> int:
    """Where (kind, window, offset) is in the timeline of khop-n4's seed-0 sample run at `passes`."""
    from sleepcore.checkpoint import load_checkpoint
    from sleepcore.timeline import trace_sample
    model, cfg = load_checkpoint(CKPTS / "khop-n4")
    task = task_from_config(cfg["task"])
    tl = trace_sample(model, task, task.sample(1, seed=0, split="any", depth=task.depths[1]), passes)
    return next(j for j, s in enumerate(tl.steps) if (s.kind, s.window, s.offset) == (kind, window, offset))


def test_a_preset_step_is_kept_and_changing_n_keeps_the_place():
    step = _step_index(4, "wake", 1, 1)                                # the second question token's neighbour
    at = page(ckpt="khop-n4", passes=4, tk_step=step)                  # as a link would set it
    no_exception(at)
    assert at.session_state["tk_step"] == step
    before = at.session_state["tk_step_obj"]
    assert (before.kind, before.window, before.offset) == ("wake", 1, 1)
    at.sidebar.select_slider(key="passes").set_value(1).run()         # no sleep passes: fewer steps before it
    no_exception(at)
    after = at.session_state["tk_step_obj"]
    assert (after.kind, after.window, after.offset) == ("wake", 1, 1)
    assert at.session_state["tk_step"] == _step_index(1, "wake", 1, 1) < step


def test_arith_chips_and_operations_follow_the_sample():
    at = page(ckpt="arith-n4", passes=4, seed=2, tk_depth=4)
    no_exception(at)
    task = task_from_config(json.loads((CKPTS / "arith-n4" / "config.json").read_text())["task"])
    raw = task.sample(1, seed=2, split="any", depth=4).raw[0]
    chips = [s for s in spec(at, "tk_chips")["layout"]["shapes"] if s["type"] == "rect"]
    assert len(chips) == task.seq_len
    md = markdown(at)
    assert f"| 5 | {raw['chain'][-1]} = " in md and f"= {raw['answer']}" in md    # 4 operations after the constant
    assert f"what is {raw['query']}?" in md
    at.select_slider(key="tk_depth").set_value(1).run()
    no_exception(at)
    assert "| 2 |" in markdown(at) and "| 3 |" not in markdown(at)


def test_a_task_checkpoint_without_measured_accuracy_says_so(tmp_path):
    shutil.copytree(CKPTS / "khop-n4", tmp_path / "khop-bare", ignore=shutil.ignore_patterns("accuracy.json", "log*"))
    at = page(ckpt_dir=str(tmp_path), ckpt="khop-bare", passes=4)
    no_exception(at)
    assert not at.info and any("No measured accuracy ships" in c.value for c in at.caption)
    assert at.get_by_key("tk_graph") is not None


def test_only_rule110_checkpoints_explains_how_to_get_a_task_model(tmp_path):
    shutil.copytree(CKPTS / "rule110-n4", tmp_path / "rule110-n4", ignore=shutil.ignore_patterns("train_state*", "log*"))
    at = page(ckpt_dir=str(tmp_path))
    no_exception(at)
    assert any("no checkpoint here was trained on k-hop" in i.value and "--task khop" in i.value for i in at.info)
    assert not [b for b in at.button if str(b.key).startswith("tk_")]


def _tiny(folder: Path, task_config: dict, passes: int, seed: int = 0):
    """An untrained small hybrid for `task_config` saved as a checkpoint in `folder`; returns the task."""
    import torch
    from sleepcore.checkpoint import save_checkpoint
    from sleepcore.config import ModelConfig, SleepConfig
    from sleepcore.model import SleepingHybrid
    task = task_from_config(task_config)
    torch.manual_seed(seed)
    model = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, d_model=16, n_heads=1, head_dim=8, layers="AF",
                                       max_window=task.window), SleepConfig(window=task.window, passes=passes))
    save_checkpoint(folder, model, task=task.config())
    return task


def test_a_sample_with_several_questions_lets_you_follow_each(tmp_path):
    task = _tiny(tmp_path / "khop-q5", {"name": "khop", "nodes": [6, 8], "max_nodes": 8, "window": 16, "queries": 5,
                                        "max_hops": 4}, passes=2)
    at = page(ckpt_dir=str(tmp_path), ckpt="khop-q5", passes=2, seed=3, tk_depth=2)
    no_exception(at)
    queries = task.sample(1, seed=3, split="any", depth=2).raw[0]["queries"]
    picker = at.get_by_key("tk_query")
    assert picker is not None and at.session_state["tk_query"] == 0
    assert f"(question 1 of 5) where do you land 2 hops after {queries[0][0]}?" in markdown(at)
    first = at.session_state["tk_step"]
    assert at.session_state["tk_step_obj"].kind == "wake"
    at.button_group(key="tk_query").set_value(3).run()                  # follow question 4
    no_exception(at)
    assert f"(question 4 of 5) where do you land 2 hops after {queries[3][0]}?" in markdown(at)
    # the stepper jumped to the step that answers question 4 (three query tokens after the first)
    assert at.session_state["tk_step"] == first + 9
    assert f"from <b>{queries[3][0]}</b>, 2 hops → <b>{queries[3][2]}</b>" in \
        spec(at, "tk_graph")["layout"]["title"]["text"].lower()
    rows = [r for r in markdown(at).splitlines() if r.startswith("| 1 |")]
    assert rows and rows[0].startswith(f"| 1 | {queries[3][0]} →")          # the hop table follows question 4


def test_arithmetic_with_several_questions_follows_each_variable(tmp_path):
    task = _tiny(tmp_path / "arith-q5", {"name": "arith", "queries": 5}, passes=2)
    at = page(ckpt_dir=str(tmp_path), ckpt="arith-q5", passes=2, seed=4, tk_depth=3)
    no_exception(at)
    queries = task.sample(1, seed=4, split="any", depth=3).raw[0]["queries"]
    assert at.get_by_key("tk_query") is not None
    md = markdown(at)
    assert f"(question 1 of 5) what is {queries[0]['var']}?" in md and "| 4 |" in md   # 3 operations: 4 rows
    assert any("questions come after every fact was evicted" in c.value for c in at.caption)
    first = at.session_state["tk_step"]
    pick = next(j for j, q in enumerate(queries) if len(q["chain"]) < 4)  # a shallower question
    at.button_group(key="tk_query").set_value(pick).run()
    no_exception(at)
    md = markdown(at)
    assert f"(question {pick + 1} of 5) what is {queries[pick]['var']}?" in md
    assert at.session_state["tk_step"] == first + 2 * pick             # "x ?" per question
    rows = [r for r in md.splitlines() if r.startswith("| ") and " = " in r]
    assert len(rows) == len(queries[pick]["chain"]) and f"| {queries[pick]['var']} = " in rows[-1]
    chips = spec(at, "tk_chips")["layout"]["shapes"]
    gold = [c for c in chips if c["type"] == "rect" and c["line"]["color"] == GOLD]
    assert gold                                                           # the followed question is outlined


def _tiny_khop(folder: Path, passes: int, seed: int = 0) -> None:
    _tiny(folder, {"name": "khop", "nodes": [4, 5], "max_nodes": 6, "window": 12, "queries": 3, "max_hops": 2},
          passes, seed)


def test_checkpoints_of_one_task_at_several_n_are_compared_from_their_measured_accuracy(tmp_path, monkeypatch):
    import sys
    sys.path.insert(0, str(ROOT / "experiments"))
    import task_evals
    monkeypatch.setattr(task_evals, "CKPT_DIR", str(tmp_path))
    monkeypatch.setattr(task_evals, "SAMPLES", 30)
    for name, passes, seed in (("kx-n1", 1, 0), ("kx-n1-seed1", 1, 1), ("kx-n4", 4, 0)):
        _tiny_khop(tmp_path / name, passes, seed)
        (tmp_path / name / "accuracy.json").write_text(json.dumps(task_evals.measure(name)))
    accs = {n: json.loads((tmp_path / n / "accuracy.json").read_text()) for n in ("kx-n1", "kx-n1-seed1", "kx-n4")}
    assert all("answer_accuracy" in a and "answer_guess" in a for a in accs.values())
    at = page(ckpt_dir=str(tmp_path), ckpt="kx-n4", passes=4)
    no_exception(at)
    bars = [t for t in spec(at, "tk_by_n")["data"] if t["type"] == "bar"]
    assert [t["name"] for t in bars] == ["N = 1 (2 seeds)", "N = 4"]
    mean_n1 = (accs["kx-n1"]["per_depth"]["2"]["accuracy"] + accs["kx-n1-seed1"]["per_depth"]["2"]["accuracy"]) / 2
    assert bars[0]["y"][1] == pytest.approx(mean_n1) and bars[1]["y"][1] == accs["kx-n4"]["per_depth"]["2"]["accuracy"]
    assert any("At k=2: N = 1" in c.value for c in at.caption)
    # one N only: nothing to compare
    shutil.rmtree(tmp_path / "kx-n4")
    at = page(ckpt_dir=str(tmp_path), ckpt="kx-n1", passes=1)
    no_exception(at)
    with pytest.raises(KeyError):
        at.get_by_key("tk_by_n")
    assert at.get_by_key("tk_graph") is not None
