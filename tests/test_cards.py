"""Model cards (experiments/cards.py) and the phase sentences of results.md (experiments/report.py): the phases a
whole-row Rule 110 run went through are told with the right step boundaries, schedules, commands and wall times,
whichever phase the checkpoint has reached."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
import cards  # noqa: E402


THIRD = ROOT / "experiments/resume/r110cells_p3/r110cells-n4"   # committed: the third phase's end, 7,500 steps


def _checkpoint_at_third_phase_end(dst: Path) -> None:
    """A checkpoint folder as the third phase left it: config, log and the weights file (from the run state)."""
    from safetensors.torch import load_file, save_file
    from sleepcore.train import STATE_FILE, WEIGHTS_PREFIX
    shutil.copytree(THIRD, dst, ignore=shutil.ignore_patterns("train_state.*", "model.safetensors"))
    state = load_file(str(THIRD / STATE_FILE))
    save_file({k[len(WEIGHTS_PREFIX):]: v for k, v in state.items() if k.startswith(WEIGHTS_PREFIX)},
              str(dst / "model.safetensors"))


def _fake_phase(dst: Path, prev, rs, extra_seconds: float) -> None:
    """A checkpoint at the end of phase `prev`, made to look as if the curriculum phase `rs` had run from it."""
    cfg = json.loads((dst / "config.json").read_text())
    assert cfg["trained_steps"] == prev.steps, f"the checkpoint is not at step {prev.steps}"
    wall = cfg["wall_seconds"]
    cfg["trained_steps"] = cfg["train"]["steps"] = rs.steps
    cfg["train"]["init_from"] = f"{prev.runs_dir}/r110cells-n4"
    cfg["task"]["depth_weights"] = [float(t * t) for t in range(1, 9)]
    cfg["wall_seconds"] = wall + extra_seconds
    (dst / "config.json").write_text(json.dumps(cfg))
    with open(dst / "log.jsonl", "a") as f:
        f.write(json.dumps({"step": rs.steps, "loss": 0.1, "acc": 0.5, "passes": 4, "lr": 3e-4,
                            "tokens_per_s": 1.0, "wall_seconds": wall + extra_seconds}) + "\n")


def _fake_fourth_phase(dst: Path, extra_seconds: float) -> None:
    """The third phase's end, made to look as if the fourth phase had run."""
    _checkpoint_at_third_phase_end(dst)
    _fake_phase(dst, cards.P3, cards.P4, extra_seconds)


@pytest.fixture
def fake_ckpt(tmp_path, monkeypatch):
    monkeypatch.setattr(cards, "CKPT", tmp_path)
    monkeypatch.setattr(cards, "EVAL", tmp_path / "no-evals")
    monkeypatch.setattr(cards, "_in_progress", lambda name: [])     # whatever runs are in flight right now
    return tmp_path


def test_a_card_after_the_fourth_phase_tells_every_phase_with_its_own_boundaries(fake_ckpt):
    _fake_fourth_phase(fake_ckpt / "rule110-cells-n4", 900.0)
    text = cards.card("rule110-cells-n4")
    third = text[text.index("Third phase"):text.index("Fourth phase")]
    fourth = text[text.index("Fourth phase"):]
    assert "Fifth phase" not in text
    assert "to 7,500 steps" in third and "--steps 7500" in third and "8,500" not in third
    assert cards.P3.command in third and f"git show {cards.AT7500_COMMIT}:checkpoints/NAME" in third
    assert "from 7,500-step state to 8,500 steps" not in fourth and "to 8,500 steps" in fourth
    assert "depth_weights=[1,4,9,16,25,36,49,64]" in fourth and "t=8 31.4%" in fourth and "t=1 0.5%" in fourth
    assert f"--init-from {cards.P3.runs_dir}/r110cells-n4 --out {cards.P4.runs_dir}/r110cells-n4" in fourth
    assert re.search(r"training wall time 9\d\d s for steps 7,500-8,500\.", fourth) and cards.P4.command in fourth
    assert f"The checkpoint is a copy of `{cards.P4.runs_dir}/r110cells-n4`." in fourth
    assert "then in proportion to the task parameter `depth_weights`" in text       # the task section says so too


def test_a_card_at_the_third_phase_end_has_no_fourth_phase(fake_ckpt):
    _checkpoint_at_third_phase_end(fake_ckpt / "rule110-cells-n4")
    text = cards.card("rule110-cells-n4")
    assert "Third phase: continued from the 6,000-step checkpoint to 7,500 steps" in text
    assert "Fourth phase" not in text and "depth_weights" not in text
    assert f"The checkpoint is a copy of `{cards.P3.runs_dir}/r110cells-n4`." in text


def test_a_card_after_the_fifth_phase_caps_the_fourth_at_its_own_end(fake_ckpt):
    dst = fake_ckpt / "rule110-cells-n4"
    _fake_fourth_phase(dst, 900.0)
    _fake_phase(dst, cards.P4, cards.P5, 1400.0)
    text = cards.card("rule110-cells-n4")
    fourth = text[text.index("Fourth phase"):text.index("Fifth phase")]
    fifth = text[text.index("Fifth phase"):]
    assert "to 8,500 steps" in fourth and "--steps 8500" in fourth and "10,000" not in fourth
    assert re.search(r"training wall time 9\d\d s for steps 7,500-8,500\.", fourth)    # not the fifth's time
    assert f"git show {cards.inflight.AT8500_COMMIT}:checkpoints/NAME" in fourth and "the next phase starts" in fourth
    assert "from the 8,500-step state to 10,000 steps" in fifth and "depth_weights=[1,4,9,16,25,36,49,64]" in fifth
    assert f"--init-from {cards.P4.runs_dir}/r110cells-n4 --out {cards.P5.runs_dir}/r110cells-n4 --steps 10000" in fifth
    assert "taken over from the fourth phase" in fifth and "rises from 10% to 1" in fifth
    assert re.search(r"training wall time 1,4\d\d s for steps 8,500-10,000\.", fifth) and cards.P5.command in fifth
    assert f"The checkpoint is a copy of `{cards.P5.runs_dir}/r110cells-n4`." in fifth


def test_results_md_tells_the_fourth_phase_to_its_own_end_and_the_fifth_after_it():
    import report
    assert report._cells_fifth_sentence(cards.P4.steps) == ""          # not shipped yet: nothing to tell
    fourth, fifth = report._cells_fourth_sentence(cards.P5.steps), report._cells_fifth_sentence(cards.P5.steps)
    assert "from 7,500 to 8,500 steps" in fourth and "10,000" not in fourth and "over 8,500 steps" in fourth
    assert "from 8,500 to 10,000 steps" in fifth and cards.P5.command in fifth
    assert f"commit {report.AT8500_COMMIT}" in fifth and f"`{cards.P4.runs_dir}/`" in fifth


def test_results_md_says_where_the_seed_screen_stands_against_the_shipped_seeds_at_the_same_step(tmp_path,
                                                                                                  monkeypatch):
    import dataclasses
    import inflight
    import report
    rs = dataclasses.replace(inflight.CELLS_SEEDS34, runs_dir=str(tmp_path))      # absolute: ROOT / it is it
    monkeypatch.setattr(inflight, "CELLS_SEEDS34", rs)
    assert report._seed_screen_status([]) == ""                                  # nothing started: nothing said
    for run, (step, t6) in {"r110cells-n4-seed3": (750, 0.5), "r110cells-n4-seed4": (500, 0.25)}.items():
        (tmp_path / run).mkdir()
        (tmp_path / run / "train_state.json").write_text(json.dumps({"step": step}))
        (tmp_path / run / "log.jsonl").write_text("".join(
            json.dumps({"step": s, "eval": {"per_depth": {"5": 0.5, "6": t6 * s / 1000, "7": 0.0}}}) + "\n"
            for s in range(250, step + 1, 250)))
    text = report._seed_screen_status([("rule110-cells-n4-seed1", {})])
    assert "r110cells-n4-seed3 at step 750 and r110cells-n4-seed4 at step 500" in text
    assert "At step 500 of the first phase" in text                              # the step both new seeds reached
    assert "r110cells-n4-seed3 0.50 / 0.25 / 0.00, r110cells-n4-seed4 0.50 / 0.12 / 0.00 and rule110-cells-n4-seed1 " in text
    assert rs.command in text and text.startswith(" Two more N=4 seeds")


def test_results_md_says_which_n4_seeds_fall_below_every_n2_seed():
    import report

    def res(**accs):
        return {g: [(f"m{i}", {"held_out": {"per_depth": {"8": {"accuracy": a}}}}) for i, a in enumerate(v)]
                for g, v in accs.items()}
    assert report._below_n2(res(**{"N=2": [0.15, 0.16], "N=4": [0.10, 0.72, 0.13]}), "8") == \
        "two of the three N=4 seeds (0.100, 0.130) are below every N=2 seed (0.150, 0.160)"
    assert report._below_n2(res(**{"N=2": [0.15, 0.16], "N=4": [0.155, 0.72]}), "8") == ""   # between is not below
    assert report._below_n2(res(**{"N=4": [0.1]}), "8") == ""
