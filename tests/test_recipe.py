"""sleepcore.recipe: how a run drew the depth t over its phases, read from the history training writes into its
config, or for an older run found by following its init_from chain."""

from __future__ import annotations

import json

from sleepcore.recipe import backfill, depth_recipe, main, phase_history, recipe_label, training_recipe

SQ = [float(t * t) for t in range(1, 9)]


def config(folder, steps: int, weights=None, init_from=None, history=None) -> dict:
    cfg = {"task": {"name": "eca", "steps": [1, 8], **({"depth_weights": weights} if weights else {})},
           "train": {"init_from": str(init_from) if init_from else ""}, "trained_steps": steps}
    if history is not None:
        cfg["history"] = history
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg))
    return cfg


def test_a_run_continued_in_phases_keeps_where_its_draw_of_t_changed(tmp_path):
    """The standard whole-row recipe: every t alike to 7,500 steps, then t²; the curriculum: t² from step 0."""
    config(tmp_path / "a", 7500)
    config(tmp_path / "b", 8500, SQ, init_from=tmp_path / "a")
    end = config(tmp_path / "c", 10000, SQ, init_from=tmp_path / "b")
    assert phase_history(tmp_path / "b") == [{"until_step": 7500, "depth_weights": None},
                                             {"until_step": 8500, "depth_weights": SQ}]
    assert training_recipe(end) == "t2"                             # no history recorded: its own phase only
    assert backfill(tmp_path / "c") == phase_history(tmp_path / "b")
    assert backfill(tmp_path / "c") is None                         # once is enough
    written = json.loads((tmp_path / "c" / "config.json").read_text())
    assert training_recipe(written) == "t2-from-7500" and recipe_label("t2-from-7500") == "t² weighting from step 7,500"
    curr = config(tmp_path / "d", 10000, SQ, history=[{"until_step": 4000, "depth_weights": SQ}])
    assert training_recipe(curr) == "t2" and recipe_label("t2") == "t² weighting from step 0"
    assert training_recipe(config(tmp_path / "e", 10)) == "uniform" and recipe_label("uniform") == "every t alike"
    # a recorded history is read, not the chain behind it
    assert phase_history(tmp_path / "c") == written["history"] + [{"until_step": 10000, "depth_weights": SQ}]


def test_a_chain_that_leaves_the_machine_or_loops_says_so_and_ends(tmp_path, capsys):
    config(tmp_path / "b", 8500, SQ, init_from=tmp_path / "gone")
    assert phase_history(tmp_path / "b") == [{"unknown": str(tmp_path / "gone")},
                                             {"until_step": 8500, "depth_weights": SQ}]
    cfg = config(tmp_path / "c", 9000, SQ, history=phase_history(tmp_path / "b"))
    assert training_recipe(cfg) == "unknown"                         # where its draw changed is not known
    assert recipe_label("unknown") == "unknown draw of t"
    config(tmp_path / "x", 5, init_from=tmp_path / "y")
    config(tmp_path / "y", 3, init_from=tmp_path / "x")
    assert len(phase_history(tmp_path / "x")) == 2                 # a loop is followed once round, not forever
    assert phase_history(tmp_path / "nowhere") == []
    assert training_recipe({"task": {"steps": [1, 8]}, "history": "junk"}) == "uniform"
    assert training_recipe({"task": {"steps": [1, 8], "depth_weights": SQ},
                            "history": [{"depth_weights": None}]}) == "unknown"      # no step where it changed
    assert main([str(tmp_path / "c"), str(tmp_path / "nowhere")]) == 0
    out = capsys.readouterr().out
    assert "no readable config.json" in out


def test_weights_in_proportion_to_t_squared_at_any_scale_are_the_t2_recipe():
    assert depth_recipe({"steps": [1, 8]}) == "uniform"
    assert depth_recipe({"steps": [1, 8], "depth_weights": [2.0] * 8}) == "uniform"
    assert depth_recipe({"steps": [1, 8], "depth_weights": SQ}) == "t2"
    assert depth_recipe({"steps": [1, 3], "depth_weights": [3, 12, 27]}) == "t2"
    assert depth_recipe({"steps": [1, 3], "depth_weights": [1, 2, 3]}) == "weighted"
    assert depth_recipe({"steps": [1, 3], "depth_weights": "1,4,9"}) == "weighted"       # hand-edited: no crash
    assert depth_recipe({"steps": 4, "depth_weights": [1, 2]}) == "weighted"
    assert depth_recipe({"steps": [1, 3]}, weights=[1, 4, 9]) == "t2"                    # a phase's own weights
