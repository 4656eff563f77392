"""Every shipped checkpoint loads safely, stays small, and has a model card with its provenance and numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepcore.checkpoint import load_checkpoint
from sleepcore.tasks import task_from_config

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (ROOT / "checkpoints").glob("*") if p.is_dir() and not p.name.startswith((".", "_")))


@pytest.mark.skipif(not SHIPPED, reason="no shipped checkpoints in checkpoints/")
@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_a_shipped_checkpoint_loads_and_has_its_card(folder: Path):
    assert not list(folder.glob("*.pt")) and not list(folder.glob("*.bin")) and not list(folder.glob("*.pkl"))
    assert sum(f.stat().st_size for f in folder.iterdir()) < 5 * 2**20                 # a few MB at most
    model, cfg = load_checkpoint(folder)                                                # safetensors + JSON only
    task = task_from_config(cfg["task"])
    assert model.cfg.vocab_size == task.vocab_size and cfg.get("trained_steps")
    card = (folder / "README.md").read_text()
    assert card.startswith(f"# {folder.name}\n")
    assert "with n=" not in card and "(n=" not in card and "kv cache" not in card   # not lower-cased: N=4, KV
    assert "python -m sleepcore.train" in card                                          # how it was trained
    assert "python -m sleepcore.evaluate --checkpoint checkpoints/" + folder.name in card   # how it was measured
    assert "wall time" in card and ("CPU" in card or "GPU" in card or "H200" in card)      # where and how long
    assert f"{cfg['trained_steps']:,}" in card or str(cfg["trained_steps"]) in card
    if (folder / "accuracy.json").exists():                                              # its numbers, quoted
        acc = json.loads((folder / "accuracy.json").read_text())
        assert f"{acc['accuracy']:.3f}" in card
