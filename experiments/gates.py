"""How strongly does each pass write into the fast weights? Gate statistics of the whole-row Rule 110 models.

For held-out initial states at one depth t, run each checkpoint with a trace over the state window and
average, per pass (pass 1 the wake pass, 2..N the sleep passes), the fast-weight block's forget gate
alpha (1 keeps S, 0 wipes it), its write strength beta (the delta rule's step: 1 overwrites the value
stored under a key, small values nudge it) and the size of each token's write ||delta||. Written to
compare seeds that find the deep computation with seeds that do not; a correlation over a handful of
seeds, not a cause.

    python experiments/gates.py checkpoints/rule110-cells-n4 checkpoints/rule110-cells-n4-seed1 \
        checkpoints/rule110-cells-n4-seed2 experiments/resume/r110cells_seeds34/r110cells-n4-seed3 \
        experiments/resume/r110cells_seeds34/r110cells-n4-seed4 --json docs/results/gates.json

Accepts checkpoint folders and run folders (model.safetensors + config.json). Not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sleepcore import Trace  # noqa: E402
from sleepcore.checkpoint import load_checkpoint  # noqa: E402
from sleepcore.tasks import task_from_config  # noqa: E402


@torch.no_grad()
def gate_stats(folder: str, depth: int, samples: int, seed: int = 0) -> dict:
    """Mean alpha, beta and ||write|| of every fast-weight block over the first window, per pass, as JSON-ready
    lists (index 0 = pass 1); exits with the reason for a checkpoint it cannot measure."""
    model, cfg = load_checkpoint(ROOT / folder)
    if not model.cfg.fast_layers:
        raise SystemExit(f"{folder}: no fast-weight block (layers {model.cfg.layers}), so no gates to measure")
    task = task_from_config(cfg["task"])
    if depth not in task.depths:
        raise SystemExit(f"{folder}: depth {depth} is not one of the task's depths {list(task.depths)}")
    batch = task.sample(samples, seed=seed, split="held_out", depth=depth)
    trace = Trace()
    model(batch.tokens, trace=trace)
    frames = trace.passes(window=0)
    blocks = {}
    for i in model.cfg.fast_layers:
        blocks[str(i)] = {g: [float(f[f"blocks.{i}.fast.{g}"].float().mean()) for f in frames]
                          for g in ("alpha", "beta", "write")}
    return {"checkpoint": folder, "passes": len(frames), "trained_steps": cfg.get("trained_steps"),
            "seed": (cfg.get("train") or {}).get("seed"), "blocks": blocks}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="checkpoint or run folders (relative to the repo)")
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0, help="which held-out inputs")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    res = [gate_stats(f, args.depth, args.samples, args.seed) for f in args.folders]
    for r in res:
        for i, b in r["blocks"].items():
            print(f"{r['checkpoint']} (step {r['trained_steps']:,}), block {i}: " + " | ".join(
                f"pass {n + 1}: alpha {a:.3f} beta {be:.3f} |write| {w:.2f}"
                for n, (a, be, w) in enumerate(zip(b["alpha"], b["beta"], b["write"]))))
    if args.json:
        command = ("python experiments/gates.py " + " ".join(args.folders)
                   + f" --depth {args.depth} --samples {args.samples}" + (f" --seed {args.seed}" if args.seed else "")
                   + f" --json {args.json}")
        Path(args.json).write_text(json.dumps({"command": command, "depth": args.depth, "samples": args.samples,
                                               "results": res}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
