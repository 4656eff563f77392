"""Ship a finished run of a phase chain as a checkpoint: copy its last phase's folder into checkpoints/NAME.

    python experiments/ship.py rule110-cells-curr-n4-seed2 rule110-cells-curr-n1-seed2

git keeps only the training state of a run carried between sessions (experiments/resume/*/RUN/train_state.*), not
its model.safetensors, so the weights file is written from that state (the same weights, checked by loading the
checkpoint), then config.json, log.jsonl and the training state are copied beside it, and the config's phase
history is recorded if it predates configs keeping one (sleepcore.recipe). A run that has not finished its chain is
refused with where it stands. Then `python experiments/report.py` evaluates it and `python experiments/cards.py`
writes its card.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

import inflight  # noqa: E402
import phases  # noqa: E402

from sleepcore.checkpoint import CONFIG_FILE, MODEL_FILE, atomic_save_tensors, load_checkpoint  # noqa: E402
from sleepcore.recipe import backfill  # noqa: E402
from sleepcore.train import LOG_FILE, STATE_FILE, STATE_JSON, WEIGHTS_PREFIX  # noqa: E402

CKPT = ROOT / "checkpoints"


def last_phase(name: str, chain: list[inflight.RunSet]) -> inflight.RunSet:
    """The last phase of the chain that names `name` (its shipped name); ValueError when none does."""
    sets = [rs for rs in chain if name in rs.runs]
    if not sets:
        raise ValueError(f"no run ships as {name} in this chain; its names: "
                         + ", ".join(sorted({n for rs in chain for n in rs.runs})))
    return sets[-1]


def write_weights(folder: Path) -> None:
    """model.safetensors from the run's training state (the weights it holds, under WEIGHTS_PREFIX)."""
    from safetensors.torch import load_file
    state = load_file(str(folder / STATE_FILE))
    weights = {k[len(WEIGHTS_PREFIX):]: v for k, v in state.items() if k.startswith(WEIGHTS_PREFIX)}
    atomic_save_tensors(folder / MODEL_FILE, weights)


def ship(name: str, chain: list[inflight.RunSet], dest: Path = CKPT) -> Path:
    """Copy `name`'s finished last phase into dest/name; -> the checkpoint folder."""
    rs = last_phase(name, chain)
    run = rs.runs[name]
    p = rs.progress(run)
    if p is None or p["step"] < rs.steps:
        raise ValueError(f"{name} has not finished: {run} is at step {p['step'] if p else 0:,} of {rs.steps:,} in "
                         f"{rs.runs_dir}/ (resume: {inflight.CURR_CHAIN_COMMAND})")
    src = ROOT / rs.runs_dir / run
    if not (src / MODEL_FILE).is_file():
        write_weights(src)
    backfill(src)
    out = dest / name
    out.mkdir(parents=True, exist_ok=True)
    for f in (CONFIG_FILE, MODEL_FILE, LOG_FILE, STATE_FILE, STATE_JSON):
        shutil.copy2(src / f, out / f)
    cfg = load_checkpoint(out)[1]                  # the copy loads and is the run's end
    assert cfg["trained_steps"] == rs.steps, f"{out} holds a {cfg['trained_steps']}-step model"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="+", help="the names the runs ship under (rule110-cells-curr-n4-seed2, ...)")
    ap.add_argument("--chain", default="curr", choices=sorted(phases.CHAINS))
    args = ap.parse_args(argv)
    chain = phases.CHAINS[args.chain]
    for name in args.names:
        try:
            out = ship(name, chain)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"[ship] {name}: {out.relative_to(ROOT)}")
    print("next: python experiments/report.py && python experiments/cards.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
