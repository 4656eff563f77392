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

from sleepcore.recipe import phase_history  # noqa: E402


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
    cfg["history"] = phase_history(ROOT / prev.runs_dir / "r110cells-n4")   # as training writes it
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
    monkeypatch.setattr(report, "CELLS_AT4000", tmp_path / "no-evals")           # not evaluated at 4,000 yet
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


def test_results_md_gives_the_seed_screen_verdict_once_every_screened_seed_is_evaluated(tmp_path, monkeypatch):
    import report
    monkeypatch.setattr(report, "CELLS_AT4000", tmp_path)
    t7 = {"rule110-cells-n4": 0.138, "rule110-cells-n4-seed1": 0.659, "rule110-cells-n4-seed2": 0.23,
          "rule110-cells-n4-seed3": 0.62, "rule110-cells-n4-seed4": 0.5}             # 0.5 is not above 0.5
    for name, a in t7.items():
        (tmp_path / f"{name}.json").write_text(json.dumps({"held_out": {"per_depth": {
            d: {"accuracy": v} for d, v in {"6": 0.9, "7": a, "8": a / 4}.items()}}}))
    shipped = [(n, {}) for n in list(t7)[:3]]
    (tmp_path / "rule110-cells-n4-seed4.json").rename(tmp_path / "later.json")
    assert "Two more N=4 seeds are in training" in report._seed_screen_status(shipped) or \
        report._seed_screen_status(shipped) == ""                                 # one not evaluated: no verdict
    (tmp_path / "later.json").rename(tmp_path / "rule110-cells-n4-seed4.json")
    text = report._seed_screen_status(shipped)
    assert "**Two of five N=4 seeds pass** (rule110-cells-n4-seed1 and rule110-cells-n4-seed3)." in text
    (tmp_path / "rule110-cells-n4-seed3.json").unlink()
    (tmp_path / "rule110-cells-n4-seed3.json").write_text((tmp_path / "rule110-cells-n4.json").read_text())
    assert "**One of five N=4 seeds passes** (rule110-cells-n4-seed1)." in report._seed_screen_status(shipped)
    assert "rule110-cells-n4-seed3 0.900 / 0.620 / 0.155" in text and "seed3 and seed4 trained from scratch" in text
    assert "above 0.5 after 4,000 steps (the seed that went on to lead passed it with 0.659)" in text


def test_results_md_reads_a_finished_pilot_by_the_seed_screens_test(tmp_path, monkeypatch):
    import dataclasses
    import inflight
    import report
    rs = dataclasses.replace(inflight.CELLS_CURR_PILOT, runs_dir=str(tmp_path / "runs"))
    monkeypatch.setattr(report, "_pilots", lambda: ((rs, "the curriculum"),))
    monkeypatch.setattr(report, "PILOTS_AT4000", tmp_path / "evals")
    monkeypatch.setattr(report, "CELLS_AT4000", tmp_path / "at4000")
    assert report._pilots_status() == ""                                          # not started: nothing said
    run = tmp_path / "runs" / "r110cells-curr-n4"
    run.mkdir(parents=True)
    (run / "train_state.json").write_text(json.dumps({"step": 4000}))
    (run / "log.jsonl").write_text(json.dumps({"step": 4000, "eval": {"per_depth": {"5": 0.9, "6": 0.5, "7": 0.2}}}) + "\n")
    assert "step 4,000 of 4,000; at step 4,000 its in-training t=5 / t=6 / t=7 exact match (1,000 fresh inputs mixed over t) read 0.90 / 0.50 / 0.20" in report._pilots_status()
    for folder, name, t7 in ((tmp_path / "at4000", "rule110-cells-n4", 0.125),
                             (tmp_path / "evals", "rule110-cells-curr-n4", 0.51)):
        folder.mkdir()
        (folder / f"{name}.json").write_text(json.dumps({"held_out": {"per_depth": {
            d: {"accuracy": v} for d, v in {"6": 0.9, "7": t7, "8": t7 / 4}.items()}}}))
    text = report._pilots_status()
    assert "held-out t=6 / t=7 / t=8 0.900 / 0.510 / 0.128" in text and "it **passes** the seed screen's test" in text
    assert "under the standard recipe the same seed had 0.900 / 0.125 / 0.031" in text
    (tmp_path / "evals" / "rule110-cells-curr-n4.json").write_text(json.dumps({"held_out": {"per_depth": {
        d: {"accuracy": 0.5} for d in ("6", "7", "8")}}}))                         # 0.5 is not above 0.5
    assert "it **fails** the seed screen's test" in report._pilots_status()


def test_results_md_reads_the_curriculum_on_fresh_seeds_by_its_own_test(tmp_path, monkeypatch):
    import dataclasses
    import inflight
    import report
    rs = dataclasses.replace(inflight.CELLS_CURR_SCREEN, runs_dir=str(tmp_path / "runs"))
    monkeypatch.setattr(inflight, "CELLS_CURR_SCREEN", rs)
    monkeypatch.setattr(report, "PILOTS_AT4000", tmp_path / "evals")
    assert report._curr_screen_status() == ""                                     # nothing started: nothing said
    run = tmp_path / "runs" / "r110cells-curr-n1"
    run.mkdir(parents=True)
    (run / "train_state.json").write_text(json.dumps({"step": 1250}))
    (run / "log.jsonl").write_text(json.dumps({"step": 1000, "eval": {"per_depth": {"8": 0.01}}}) + "\n")
    text = report._curr_screen_status()
    assert "rule110-cells-curr-n1 at step 1,250 (t=8 0.01 in training at step 1,000)" in text and "pass" in text
    assert "the same-recipe N=1 seed 0 trains beside them" in text                 # started: not "comes next"
    (tmp_path / "evals").mkdir()
    for name, t8 in (("rule110-cells-curr-n4-seed2", 0.12), ("rule110-cells-curr-n4-seed3", 0.10)):   # 0.10 is not above
        (tmp_path / "evals" / f"{name}.json").write_text(json.dumps({"held_out": {"per_depth": {"8": {"accuracy": t8}}}}))
    text = report._curr_screen_status()
    assert "rule110-cells-curr-n4-seed2 0.120 and rule110-cells-curr-n4-seed3 0.100" in text
    assert "**One of two passes.**" in text and f"above {report.CURR_T8:.2f}" in text
    assert "trains beside them" in text and "lifts N=1 too" not in text            # N=1 not evaluated yet
    monkeypatch.setattr(report, "CELLS_AT4000", tmp_path / "std")
    (tmp_path / "std").mkdir()
    for folder, name, t8 in (("evals", "rule110-cells-curr-n1", 0.045), ("evals", "rule110-cells-curr-n4", 0.129),
                             ("std", "rule110-cells-n1", 0.009), ("std", "rule110-cells-n4", 0.022)):
        (tmp_path / folder / f"{name}.json").write_text(json.dumps({"held_out": {"per_depth": {
            "7": {"accuracy": 0.1}, "8": {"accuracy": t8}}}}))
    text = report._curr_screen_status()
    assert "the same-recipe N=1 seed 0 was trained beside them" in text
    assert ("The recipe lifts N=1 too (seed 0 at t=8: 0.045, against 0.009 under the standard recipe), so at 4,000 "
            "steps N=4 minus N=1 for seed 0 is +0.084 under the curriculum, against +0.013") in text


def test_results_md_reads_each_curriculum_phase_beside_the_standard_recipe(tmp_path, monkeypatch):
    import dataclasses
    import inflight
    import report
    rs = dataclasses.replace(inflight.CELLS_CURR_P2, runs_dir=str(tmp_path / "runs"))
    monkeypatch.setattr(inflight, "CELLS_CURR_P2", rs)
    monkeypatch.setattr(report, "CURR_AT", {**report.CURR_AT, 6000: tmp_path / "curr"})
    monkeypatch.setattr(report, "STD_AT", {**report.STD_AT, 6000: tmp_path / "std"})
    assert report._curr_phase_status(rs, 4000) == ""                             # nothing started: nothing said
    run = tmp_path / "runs" / "r110cells-curr-n4"
    run.mkdir(parents=True)
    (run / "train_state.json").write_text(json.dumps({"step": 4000}))             # copied log only: not started
    assert report._curr_phase_status(rs, 4000) == ""
    (run / "train_state.json").write_text(json.dumps({"step": 4500}))
    (run / "log.jsonl").write_text("".join(json.dumps({"step": s, "eval": {"per_depth": {"8": t8}}}) + "\n"
                                           for s, t8 in ((4000, 0.1), (4500, 0.17))))
    text = report._curr_phase_status(rs, 4000)
    assert text.startswith("Phase 4,000 -> 6,000 steps (`experiments/sweep_rule110_cells_curr_p2.json`).")
    assert "rule110-cells-curr-n4 at step 4,500 (t=8 0.17 on 1,000 fresh inputs in training at step 4,500)" in text

    def held(folder, name, t8):
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.json").write_text(json.dumps({"held_out": {"per_depth": {
            d: {"accuracy": v} for d, v in {"6": 0.8, "7": 0.4, "8": t8}.items()}}}))
    held(tmp_path / "std", "rule110-cells-n4", 0.043)
    held(tmp_path / "curr", "rule110-cells-curr-n4", 0.25)
    held(tmp_path / "curr", "rule110-cells-curr-n4-seed3", 0.2)
    text = report._curr_phase_status(rs, 4000)
    assert "rule110-cells-curr-n4 0.800 / 0.400 / 0.250 (standard recipe 0.800 / 0.400 / 0.043)" in text
    assert "rule110-cells-curr-n4-seed3 0.800 / 0.400 / 0.200 (no standard-recipe run of this N and seed" in text
    assert "N=4 minus N=1" not in text and "In training" not in text               # no N=1 yet; nothing running
    held(tmp_path / "curr", "rule110-cells-curr-n1", 0.03)
    assert "N=4 minus N=1 at t=8 (the aim asks for +0.20 at 10,000 steps): seed 0 +0.220." in \
        report._curr_phase_status(rs, 4000)
    assert "the aim" not in report._curr_phase_status(rs, 4000).split("10,000 steps)")[1]   # no verdict mid-budget
    monkeypatch.setattr(report, "_curr_later", lambda: [rs])                       # as if this were the last phase
    assert "**One of one seed pair is 0.20 or more apart: the aim needs a second seed pair.**" in \
        report._curr_phase_status(rs, 4000)
    held(tmp_path / "curr", "rule110-cells-curr-n4-seed2", 0.2)
    held(tmp_path / "curr", "rule110-cells-curr-n1-seed2", 0.05)
    assert "seed 0 +0.220 and seed 2 +0.150. **One of two seed pairs is 0.20 or more apart: the aim is not met.**" \
        in report._curr_phase_status(rs, 4000)
    held(tmp_path / "curr", "rule110-cells-curr-n1-seed2", 0.0)
    assert "**Two of two seed pairs are 0.20 or more apart: the aim is met.**" in report._curr_phase_status(rs, 4000)
    monkeypatch.undo()
    assert "python experiments/phases.py curr" in report._curr_phases_status()    # the chain's command heads it


def test_results_md_tables_every_recipe_trial_beside_the_standard_recipe(tmp_path, monkeypatch):
    import report
    dirs = {k: tmp_path / k for k in ("pilots", "curr", "at4000", "at6000")}
    for k, attr in (("pilots", "PILOTS_AT4000"), ("at4000", "CELLS_AT4000")):
        dirs[k].mkdir()
        monkeypatch.setattr(report, attr, dirs[k])
    dirs["curr"].mkdir()
    monkeypatch.setattr(report, "CURR_AT", {6000: dirs["curr"]})
    monkeypatch.setattr(report, "STD_AT", {6000: dirs["at6000"]})
    for attr in ("_seed_screen_status", "_pilots_status", "_curr_screen_status", "_curr_phases_status"):
        monkeypatch.setattr(report, attr, lambda *a: "")
    assert report._recipe_section([]) == [] and report._recipe_rows() == []      # no trial evaluated: no section

    def held(folder, name, steps, t7, t8):
        (dirs[folder] / f"{name}.json").write_text(json.dumps({"trained_steps": steps, "held_out": {"per_depth": {
            d: {"accuracy": v} for d, v in {"1": 0.9, "6": 0.6, "7": t7, "8": t8}.items()}}}))
    held("at4000", "rule110-cells-n4", 4000, 0.125, 0.022)
    held("at4000", "rule110-cells-n4-seed1", 4000, 0.612, 0.212)
    held("pilots", "rule110-cells-curr-n4", 4000, 0.318, 0.129)
    held("pilots", "rule110-cells-curr-n4-seed3", 4000, 0.233, 0.119)
    held("curr", "rule110-cells-curr-n4", 6000, 0.5, 0.25)
    text = "\n".join(report._recipe_section([]))
    assert "Under the standard recipe one N=4 seed in two found the deep computation by 4,000 steps" in text
    assert "| rule110-cells-curr-n4 | t ∝ t² from step 0 | 4 | 0 | 4,000 | 0.900 | 0.600 | 0.318 | 0.129 | 0.022 |" in text
    assert "| rule110-cells-curr-n4-seed3 | t ∝ t² from step 0 | 4 | 3 | 4,000 | 0.900 | 0.600 | 0.233 | 0.119 | — |" in text
    assert "| rule110-cells-curr-n4 | t ∝ t² from step 0 | 4 | 0 | 6,000 | 0.900 | 0.600 | 0.500 | 0.250 | — |" in text
    held("pilots", "rule110-cells-curr-attn-kept", 4000, 0.4, 0.1)              # the recipe's attention baselines
    held("at4000", "rule110-cells-attn-kept", 4000, 0.3, 0.05)
    text = "\n".join(report._recipe_section([]))
    assert ("| rule110-cells-curr-attn-kept | t ∝ t² from step 0 | attention, cache kept | 0 | 4,000 | 0.900 | 0.600 "
            "| 0.400 | 0.100 | 0.050 |") in text


def test_the_curriculum_screen_quotes_the_slow_seeds_range_from_their_evaluations(tmp_path, monkeypatch):
    import report
    monkeypatch.setattr(report, "CELLS_AT4000", tmp_path)
    for name, t7, t8 in (("rule110-cells-n4", 0.125, 0.022), ("rule110-cells-n4-seed1", 0.612, 0.212),
                         ("rule110-cells-n4-seed2", 0.213, 0.046), ("rule110-cells-n1", 0.04, 0.009)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"held_out": {"per_depth": {
            "7": {"accuracy": t7}, "8": {"accuracy": t8}}}}))
    assert report._slow_t8() == "0.022 to 0.046"                # N=4 seeds that failed the screen; not N=1, not seed 1


def test_results_md_says_which_n4_seeds_fall_below_every_n2_seed():
    import report

    def res(**accs):
        return {g: [(f"m{i}", {"held_out": {"per_depth": {"8": {"accuracy": a}}}}) for i, a in enumerate(v)]
                for g, v in accs.items()}
    assert report._below_n2(res(**{"N=2": [0.15, 0.16], "N=4": [0.10, 0.72, 0.13]}), "8") == \
        "two of the three N=4 seeds (0.100, 0.130) are below every N=2 seed (0.150, 0.160)"
    assert report._below_n2(res(**{"N=2": [0.15, 0.16], "N=4": [0.155, 0.72]}), "8") == ""   # between is not below
    assert report._below_n2(res(**{"N=4": [0.1]}), "8") == ""


ATTN_RUN = ROOT / "experiments/resume/r110cells_attn/r110cells-attn-evicted"   # committed, at whatever step it is


def test_an_attention_baseline_card_tells_the_phases_it_went_through(fake_ckpt):
    from safetensors.torch import load_file, save_file
    from sleepcore.train import STATE_FILE, WEIGHTS_PREFIX
    dst = fake_ckpt / "rule110-cells-attn-evicted"
    shutil.copytree(ATTN_RUN, dst, ignore=shutil.ignore_patterns("train_state.*", "model.safetensors"))
    state = load_file(str(ATTN_RUN / STATE_FILE))
    save_file({k[len(WEIGHTS_PREFIX):]: v for k, v in state.items() if k.startswith(WEIGHTS_PREFIX)},
              str(dst / "model.safetensors"))
    cfg = json.loads((dst / "config.json").read_text())
    # as if it had gone through all five phases: 100 s of training per 1,000 steps
    cfg["trained_steps"] = cfg["train"]["steps"] = 10000
    cfg["wall_seconds"] = 1000.0
    cfg["task"]["depth_weights"] = [float(t * t) for t in range(1, 9)]
    (dst / "config.json").write_text(json.dumps(cfg))
    (dst / "log.jsonl").write_text("".join(json.dumps({"step": s, "wall_seconds": s / 10}) + "\n"
                                           for s in (4000, 6000, 7500, 8500, 10000)))
    text = cards.card("rule110-cells-attn-evicted")
    assert "Layers `AA`" in text and "eviction `hard`" in text
    for line in ("- Phase 1, steps 0-4,000, from scratch; training wall time 400 s.",
                 "- Phase 3, steps 6,000-7,500, in the same folder; training wall time 150 s.",
                 "- Phase 4, steps 7,500-8,500, from the phase-3 state (`--init-from "
                 "experiments/resume/r110cells_attn/r110cells-attn-evicted`), t drawn in proportion to t² "
                 "(`depth_weights=[1,4,9,16,25,36,49,64]`); training wall time 100 s.",
                 "- Phase 5, steps 8,500-10,000, in the same folder, the same curriculum; training wall time 150 s."):
        assert line in text
    for rs in cards.ATTN:
        assert rs.command in text and f"--out {rs.runs_dir}/r110cells-attn-evicted" in text
    assert "The checkpoint is a copy of `experiments/resume/r110cells_attn_curr/r110cells-attn-evicted`." in text
    # the same folder after phase 1 only: nothing of the later phases
    cfg["trained_steps"] = cfg["train"]["steps"] = 4000
    cfg["wall_seconds"] = 400.0
    del cfg["task"]["depth_weights"]
    (dst / "config.json").write_text(json.dumps(cfg))
    text = cards.card("rule110-cells-attn-evicted")
    assert "- Phase 1, steps 0-4,000, from scratch; training wall time 400 s." in text and "Phase 2" not in text
    assert "--steps 6000" not in text and cards.ATTN[0].command in text
    assert "The checkpoint is a copy of `experiments/resume/r110cells_attn/r110cells-attn-evicted`." in text


def test_results_md_tells_the_attention_baselines_against_the_hybrids():
    import report

    def rs(*accs, steps=10000):
        return [(f"m{i}", {"trained_steps": steps, "held_out": {"per_depth": {"8": {"accuracy": a}}}})
                for i, a in enumerate(accs)]
    hybrids = {"N=1 (no sleep)": rs(0.03, 0.05), "N=4": rs(0.1, 0.7)}
    text = " ".join(report._cells_attn_sentence(
        {"attention only, cache evicted": rs(0.0, 0.001), "attention only, cache kept": rs(0.8, 0.9)}, hybrids, "8", 0.0))
    assert "0.000, 0.001 of held-out inputs (seeds; chance 0.000): at chance, as it must be." in text
    assert "it gets 0.800, 0.900 at t=8 (mean 0.850), +81.0 points from the N=1 mean. Seed means above it, in " \
        "points: none; at or below it: N=1 (-81.0) and N=4 (-45.0)." in text and "not an upper bound" not in text
    assert "10,000 steps), gives the floor" in text                              # an equal budget: nothing to add
    text = " ".join(report._cells_attn_sentence({"attention only, cache kept": rs(0.14, 0.04)}, hybrids, "8", 0.0))
    assert "Seed means above it, in points: N=4 (+31.0); at or below it: N=1 (-5.0). One N=4 seed beats both " \
        "of its seeds. Keeping every token is not an upper bound here" in text
    text = " ".join(report._cells_attn_sentence(
        {"attention only, cache evicted": rs(0.2, 0.0, steps=4000)}, hybrids, "8", 0.0))
    assert "**above chance, which should be impossible**" in text
    assert "4,000 steps, where the hybrids above have had 10,000: not yet an equal budget" in text
    assert report._cells_attn_sentence({}, hybrids, "8", 0.0) == []


def test_results_md_says_where_the_pilots_stand_against_the_standard_recipe_at_the_same_step(tmp_path, monkeypatch):
    import dataclasses
    import inflight
    import report
    for attr in ("CELLS_CURR_PILOT", "CELLS_BETA_PILOT", "CELLS_CURR_SCREEN"):
        monkeypatch.setattr(inflight, attr, dataclasses.replace(getattr(inflight, attr), runs_dir=str(tmp_path / attr)))
    monkeypatch.setattr(report, "PILOTS_AT4000", tmp_path / "no-evals")           # none evaluated yet
    assert report._pilots_status() == ""                                          # nothing started: nothing said
    run = tmp_path / "CELLS_BETA_PILOT" / "r110cells-beta-n4"
    run.mkdir(parents=True)
    (run / "train_state.json").write_text(json.dumps({"step": 1250}))
    (run / "log.jsonl").write_text(json.dumps({"step": 1000, "eval": {"per_depth": {"5": 0.5, "6": 0.25, "7": 0.0}}})
                                   + "\n" + json.dumps({"step": 1250, "loss": 0.1}) + "\n")
    text = report._pilots_status()
    assert "the write strength started low (`--beta-bias -2`), seed 0" in text and "step 1,250 of 4,000" in text
    assert "at step 1,000 its in-training t=5 / t=6 / t=7 exact match (1,000 fresh inputs mixed over t) read 0.50 / 0.25 / 0.00, against rule110-cells-n4 " in text
    assert "depth curriculum" not in text


@pytest.mark.skipif(not (ROOT / "checkpoints/rule110-cells-curr-n4/config.json").exists(),
                    reason="needs the shipped curriculum checkpoint")
def test_a_curriculum_card_tells_its_recipe_and_each_phase_from_scratch_to_the_end():
    text = cards.card("rule110-cells-curr-n4")
    assert "in proportion to the task parameter `depth_weights` from step 0 (the curriculum recipe" in text
    assert "uniformly for the first" not in text                    # the standard recipe's words are not used
    phases = re.findall(r"^- Phase (\d), steps ([\d,]+)-([\d,]+), (from scratch|from `[^`]+`)", text, re.M)
    assert [(p[1], p[2]) for p in phases] == [("0", "4,000"), ("4,000", "6,000"), ("6,000", "7,500"),
                                              ("7,500", "8,500"), ("8,500", "10,000")]
    assert phases[0][3] == "from scratch" and phases[1][3] == "from `experiments/resume/r110cells_curr_pilot/r110cells-curr-n4`"
    assert text.count("python -m sleepcore.train --out experiments/resume/r110cells_curr_") == 5
    assert "--init-from experiments/resume/r110cells_curr_p4/r110cells-curr-n4 --steps 10000" in text
    assert "leans to the deep end; the evaluation above" in text and "fourth phase's depth weights" not in text
