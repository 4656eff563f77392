"""experiments/ship.py: a finished run of the curriculum chain becomes a checkpoint folder with the run's own
weights, written from the training state git keeps; an unfinished or unknown run is refused with the reason."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
SHIPPED = ROOT / "checkpoints" / "rule110-cells-curr-n4"


@pytest.mark.skipif(not (SHIPPED / "model.safetensors").exists(), reason="needs the shipped curriculum checkpoint")
def test_a_finished_run_ships_with_the_weights_of_its_training_state(tmp_path):
    import phases
    import ship
    chain = phases.CHAINS["curr"]
    out = ship.ship("rule110-cells-curr-n4", chain, dest=tmp_path)
    assert sorted(f.name for f in out.iterdir()) == ["config.json", "log.jsonl", "model.safetensors",
                                                      "train_state.json", "train_state.safetensors"]
    mine, theirs = load_file(str(out / "model.safetensors")), load_file(str(SHIPPED / "model.safetensors"))
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert (out / "config.json").read_text() == (SHIPPED / "config.json").read_text()   # history included
    with pytest.raises(ValueError, match="rule110-cells-curr-attn-kept has not finished: r110cells-curr-attn-kept "
                                         "is at step"):
        ship.ship("rule110-cells-curr-attn-kept", chain, dest=tmp_path)
    with pytest.raises(ValueError, match="no run ships as rule110-cells-n4 in this chain"):
        ship.ship("rule110-cells-n4", chain, dest=tmp_path)
    assert ship.main(["nope"]) == 2
    run = tmp_path / "state-only"                      # as a clean clone has it: no weights file beside the state
    run.mkdir()
    (run / "train_state.safetensors").write_bytes((SHIPPED / "train_state.safetensors").read_bytes())
    ship.write_weights(run)
    again = load_file(str(run / "model.safetensors"))
    assert again.keys() == theirs.keys() and all(torch.equal(again[k], theirs[k]) for k in again)
