"""What does each sleep pass compute? Linear probes of the whole-row Rule 110 models, pass by pass.

For held-out initial states at one depth t, run a checkpoint with a trace and take the top-of-stack
hidden state at each cell's token of the state window after pass n = 1..N (pass 1 is the wake pass,
2..N the sleep passes), and at each query token of the prediction window (after the eviction, when
only the fast weights S carry the state). A logistic-regression probe per (pass, s) reads cell j of
the automaton's row after s steps, s = 0..t, from the hidden state at cell j's token (all 16 cells
pooled; the ring is symmetric). Probes are fitted on half of the samples and scored on the other half.
The reference is the same probe reading the input row itself (rotated so cell j comes first): what a
linear read gets with no computation at all.

If sleep works as iterated computation, the row a probe can read should move deeper with each pass.

    python experiments/pass_probe.py checkpoints/rule110-cells-n4 checkpoints/rule110-cells-n4-seed1 \
        --depth 8 --samples 2000 --json docs/results/pass_probe.json

Not a test; an experiment script like the others in experiments/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sleepcore.checkpoint import load_checkpoint  # noqa: E402
from sleepcore.probe import pass_probe  # noqa: E402
from sleepcore.tasks import task_from_config  # noqa: E402


def probe_model(folder: str, depth: int, samples: int, seed: int = 0) -> dict:
    """`sleepcore.probe.pass_probe` on a checkpoint folder (relative to the repo, or absolute), as JSON-ready
    lists keyed by pass ("1".."N"); a checkpoint or setting it cannot probe exits with the reason."""
    model, cfg = load_checkpoint(ROOT / folder)                              # ROOT / an absolute path is that path
    try:
        pp = pass_probe(model, task_from_config(cfg["task"]), depth, samples, seed=seed)
    except ValueError as e:
        raise SystemExit(f"{folder}: {e}") from None
    return {"checkpoint": folder, "depth": depth, "samples": samples, "passes": pp.passes,
            "tokens": {str(n + 1): a.tolist() for n, a in enumerate(pp.tokens)},
            "memory": {str(n + 1): a.tolist() for n, a in enumerate(pp.memory)},
            "input": pp.input.tolist(), "chance": pp.chance.tolist()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="+", help="checkpoint folders of whole-row automaton models")
    ap.add_argument("--depth", type=int, default=8, help="rollout depth t of the probed samples (default 8)")
    ap.add_argument("--samples", type=int, default=2000, help="held-out samples (half fit, half score)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    results = []
    for folder in args.checkpoints:
        r = probe_model(folder, args.depth, args.samples)
        results.append(r)
        print(f"{folder} (N={r['passes']}), probe accuracy on held-out cells, row after s steps:")
        print("  " + " " * 10 + " ".join(f"s={s:<4d}" for s in range(args.depth + 1)))
        for where in ("tokens", "memory"):
            for n, accs in r[where].items():
                print(f"  {where} {n:<3}" + " ".join(f"{a:.3f} " for a in accs))
        print(f"  {'input row':10s}" + " ".join(f"{a:.3f} " for a in r["input"]))
        print(f"  {'chance':10s}" + " ".join(f"{a:.3f} " for a in r["chance"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"command": "python experiments/pass_probe.py " + " ".join(
            (argv if argv is not None else sys.argv[1:])), "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
