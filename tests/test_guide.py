"""The Guide page through app.py (AppTest) and its lessons file against the shipped checkpoints.

The lessons in pages/classroom.json store what rule110-n1/-n2/-n4 answered; the last tests recompute
those answers, so a retrained checkpoint cannot silently leave stale lessons behind.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from sleepcore.checkpoint import load_checkpoint
from sleepcore.lessons import LessonError, load_lessons, model_answer, parse_lessons
from sleepcore.tasks import task_from_config
from sleepcore.viz_guide import row_figure, sleep_strip_figure

ROOT = Path(__file__).resolve().parents[1]
CKPTS = ROOT / "checkpoints"
LESSONS = ROOT / "pages" / "classroom.json"
needs_checkpoints = pytest.mark.skipif(not (CKPTS / "rule110-n4" / "model.safetensors").exists(),
                                       reason="needs the shipped checkpoints rule110-n1/-n2/-n4")
pytestmark = pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")   # tests/conftest.py


def guide(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page("pages/guide.py").run()
    no_exception(at)
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def spec(at: AppTest, key: str) -> dict:
    return json.loads(at.get_by_key(key).proto.spec)


def z(at: AppTest, key: str) -> np.ndarray:
    zz = spec(at, key)["data"][0]["z"]
    if isinstance(zz, dict):                       # plotly >= 6 sends numpy arrays base64-encoded
        shape = tuple(int(s) for s in str(zz["shape"]).split(","))
        return np.frombuffer(base64.b64decode(zz["bdata"]), dtype=np.dtype(zz["dtype"])).reshape(shape)
    return np.asarray(zz, dtype=float)


def stored() -> list[dict]:
    return json.loads(LESSONS.read_text())["lessons"]


def pass_labels(fig_spec: dict) -> list[str]:
    return [a["text"] for a in fig_spec["layout"]["annotations"] if a["text"].startswith("pass ")]


# ---------------------------------------------------------------------------- the page
@needs_checkpoints
def test_intro_picture_follows_the_sidebars_N():
    at = guide()
    assert at.title[0].value == "Guide" and "## What is sleep?" in markdown(at)
    assert pass_labels(spec(at, "guide_strip")) == ["pass 2", "pass 3", "pass 4"]   # rule110-n4 at N = 4
    at.session_state["passes"] = 2
    at.run()
    assert pass_labels(spec(at, "guide_strip")) == ["pass 2"]
    at.button(key="guide_start").click().run()
    assert at.session_state["guide_section"] == "Classroom" and "## 1. " in markdown(at)


@needs_checkpoints
def test_glossary_has_every_symbol_with_where_it_appears():
    at = guide(guide_section="Glossary")
    text = markdown(at)
    for sym in ("N", "L", "S", "α", "β", "t", "k", "wake", "sleep", "evict", "KV cache", "held-out", "t²"):
        assert f'<td class="sym">{sym}</td>' in text, sym
    assert text.count('<td class="where">') == 13


@needs_checkpoints
def test_answer_then_reveal_shows_the_truth_and_the_models():
    first = stored()[0]
    at = guide(guide_section="Classroom")
    assert at.button(key="guide_reveal").disabled                      # predict first
    wrong = 1 - first["truth"]
    at.button(key=f"guide_pick_{wrong}").click().run()
    assert at.session_state["guide_answers"] == {0: {"cell": wrong}}
    assert not at.button(key="guide_reveal").disabled
    at.button(key="guide_reveal").click().run()
    no_exception(at)
    text = markdown(at)
    assert f'is <b style="font-size:2.2rem">{first["truth"]}</b>' in text
    assert f"You said {wrong}: not this time." in text
    truth = z(at, "guide_truth")
    assert truth.shape == (first["t"] + 1, 16) and truth[0].tolist() == first["cells"]
    assert truth[-1, 0] == first["truth"]
    for a in first["answers"]:
        assert f'N = {a["passes"]}</div>' in text and f'{100 * a["confidence"]:.0f}% sure' in text
    assert first["explanation"] in text


@needs_checkpoints
def test_next_back_keep_answers_and_start_over_clears_them():
    lessons = stored()
    at = guide(guide_section="Classroom")
    at.button(key=f"guide_pick_{lessons[0]['truth']}").click().run()
    at.button(key="guide_reveal").click().run()
    assert "right!" in markdown(at)
    assert at.button(key="guide_back").disabled
    at.button(key="guide_next").click().run()
    assert at.session_state["guide_step"] == 1 and f"## 2. {lessons[1]['title']}" in markdown(at)
    assert z(at, "guide_row")[0].tolist() == lessons[1]["cells"]
    assert "guide_truth" not in [getattr(e, "key", None) for e in at.get("plotly_chart")]   # not revealed yet
    at.button(key="guide_back").click().run()
    assert at.session_state["guide_step"] == 0 and "right!" in markdown(at)             # answer and reveal kept
    for _ in range(len(lessons) - 1):
        at.button(key="guide_next").click().run()
    assert at.session_state["guide_step"] == len(lessons) - 1 and at.button(key="guide_next").disabled
    at.button(key="guide_restart").click().run()
    assert (at.session_state["guide_step"], at.session_state["guide_answers"], at.session_state["guide_revealed"]) \
        == (0, {}, ())


@needs_checkpoints
def test_models_question_and_open_in_the_timeline():
    lessons = stored()
    i = next(j for j, d in enumerate(lessons) if d["question"] == "models")
    lesson = lessons[i]
    low, high = lesson["answers"][0], lesson["answers"][-1]
    at = guide(guide_section="Classroom", guide_step=i)
    at.button(key="guide_low_true").click().run()
    assert at.button(key="guide_reveal").disabled                      # both predictions needed
    at.button(key="guide_high_true").click().run()
    at.button(key="guide_reveal").click().run()
    text = markdown(at)
    low_right = low["answer"] == lesson["truth"]
    verdict = "✓ it was." if low_right else "✗ it was wrong."
    assert f"You said N = {low['passes']} would be right: {verdict}" in text
    at.button(key="guide_open").click().run()
    no_exception(at)
    state = {k: at.session_state[k] for k in ("ckpt", "passes", "seed", "depth", "custom_state")}
    assert state == {"ckpt": high["checkpoint"], "passes": high["passes"], "seed": lesson["seed"],
                     "depth": lesson["t"], "custom_state": None}
    text = markdown(at)                                                 # now on the timeline, same input
    assert f"window 1, wake token 1 of 17: 't={lesson['t']}'" in text
    assert f"True answer: <b>{lesson['truth']}</b>" in text


@needs_checkpoints
@pytest.mark.parametrize("content, message", [
    (None, "No lessons file"),
    ("{not json", "is not readable JSON"),
    ('{"format": "sleeplab-classroom/1", "rule": 110, "lessons": []}', "needs a non-empty list 'lessons'"),
])
def test_missing_or_malformed_lessons_file_is_explained(tmp_path, content, message):
    path = tmp_path / "classroom.json"
    if content is not None:
        path.write_text(content)
    at = guide(guide_section="Classroom", guide_file=str(path))
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


# ---------------------------------------------------------------------------- the lessons file
def test_lessons_file_is_valid():
    header, lessons = load_lessons(LESSONS)
    assert header["command"].startswith("python experiments/classroom.py") and header["split"] == "held_out"
    assert 4 <= len(lessons) <= 6
    assert {ls.question for ls in lessons} == {"cell", "models"}
    assert all([a.passes for a in ls.answers] == [1, 2, 4] for ls in lessons)
    # the promised kinds of lesson are there: all right; N = 1 wrong and N = 4 right; all wrong
    assert any(all(a.right(ls.truth) for a in ls.answers) for ls in lessons)
    assert any(not ls.by_passes(1).right(ls.truth) and ls.by_passes(4).right(ls.truth) for ls in lessons)
    assert any(not any(a.right(ls.truth) for a in ls.answers) for ls in lessons)


def test_validation_names_what_is_wrong():
    data = json.loads(LESSONS.read_text())
    data["lessons"][0]["truth"] = 1 - data["lessons"][0]["truth"]
    with pytest.raises(LessonError, match="lesson 1: truth .* is wrong"):
        parse_lessons(data)
    data = json.loads(LESSONS.read_text())
    data["lessons"][1]["answers"][0]["confidence"] = 1.5
    with pytest.raises(LessonError, match="lesson 2, answer 1: confidence 1.5"):
        parse_lessons(data)
    data = json.loads(LESSONS.read_text())
    data["lessons"][2]["cells"] = [0, 1, 2]
    with pytest.raises(LessonError, match="lesson 3: cells must be 16"):
        parse_lessons(data)


@needs_checkpoints
def test_stored_answers_match_what_the_checkpoints_answer_now(one_torch_thread):
    """A retrained checkpoint must not leave stale lessons: rerun `python experiments/classroom.py`."""
    _, lessons = load_lessons(LESSONS)
    for n in (1, 2, 4):
        name = lessons[0].by_passes(n).checkpoint
        model, cfg = load_checkpoint(CKPTS / name)
        task = task_from_config(cfg["task"])
        batches = [task.sample(1, seed=ls.seed, split="held_out", depth=ls.t) for ls in lessons]
        for ls, b in zip(lessons, batches):                       # the timeline shows exactly these inputs
            assert tuple(b.raw[0]["states"][0]) == ls.cells and b.raw[0]["labels"][0] == ls.truth
        now = model_answer(model.eval(), task, torch.cat([b.tokens for b in batches]),
                           torch.cat([b.targets for b in batches]), n)
        for ls, (answer, confidence) in zip(lessons, now):
            kept = ls.by_passes(n)
            assert kept.checkpoint == name
            assert answer == kept.answer, (ls.title, name, "rerun: python experiments/classroom.py")
            assert confidence == pytest.approx(kept.confidence, abs=2e-3), (ls.title, name)


# ---------------------------------------------------------------------------- the figures
def test_sleep_strip_draws_one_box_per_sleep_pass():
    labels = lambda fig: [a.text for a in fig.layout.annotations if a.text.startswith("pass ")]   # noqa: E731
    assert labels(sleep_strip_figure(passes=1)) == []
    assert labels(sleep_strip_figure(passes=6)) == [f"pass {p}" for p in range(2, 7)]
    assert any("no sleep" in a.text for a in sleep_strip_figure(passes=1).layout.annotations)


def test_row_figure_shows_the_cells_and_circles_cell_0():
    fig = row_figure([1, 0] * 8)
    assert np.asarray(fig.data[0].z).tolist() == [[1.0, 0.0] * 8]
    assert list(fig.data[1].x) == [0]
