"""Where do a k-hop model's answers land? The hop distance from the start node of every answer it gives.

    python experiments/khop_hops.py            # writes docs/results/khop-hops.json (about a minute on one core)

For khop-n4 and khop-n4-seed1 (trained with N=4) run at N = 2, 4 and 8, on 1,000 fresh problems per k
(every question of a problem asks the same k), each answer is classified by where it lands on the
problem's cycle: j hops after the start node (j = k is right), or not a node of the cycle at all.
It explains why, at N=8, exact match at k=2 falls below k=3: the wrong answers are off by one hop.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sleepcore.checkpoint import load_checkpoint  # noqa: E402
from sleepcore.evaluate import EVAL_SEED_OFFSET  # noqa: E402
from sleepcore.tasks import IGNORE, task_from_config  # noqa: E402

NAMES = ["khop-n4", "khop-n4-seed1"]
PASSES = [2, 4, 8]
SAMPLES = 1000
OUT = ROOT / "docs" / "results" / "khop-hops.json"


def landing(model, task, passes: int, k: int, samples: int) -> dict[str, float]:
    """Share of answers landing j hops after the start ("j"), or off the cycle ("off")."""
    batch = task.sample(samples, seed=EVAL_SEED_OFFSET + k, split="any", depth=k)
    with torch.inference_mode():
        logits = model(batch.tokens, batch.targets, passes=passes).logits
    asked = batch.targets != IGNORE
    predicted = logits.argmax(-1)[asked].view(len(batch), -1).tolist()
    hist: Counter = Counter()
    for row, raw in zip(predicted, batch.raw):
        nodes = raw["nodes"]                                 # the cycle, in order
        for token, (start, _, _) in zip(row, raw["queries"]):
            name = task.vocab[token]
            hist[str((nodes.index(name) - nodes.index(start)) % len(nodes)) if name in nodes else "off"] += 1
    total = sum(hist.values())
    return {j: round(c / total, 4) for j, c in sorted(hist.items(), key=lambda x: (x[0] == "off", x[0]))}


def main() -> int:
    torch.set_num_threads(1)
    out = {"about": __doc__.splitlines()[0], "command": "python experiments/khop_hops.py", "samples": SAMPLES,
           "models": {}}
    for name in NAMES:
        model, cfg = load_checkpoint(ROOT / "checkpoints" / name)
        task = task_from_config(cfg["task"])
        out["models"][name] = {str(n): {str(k): landing(model, task, n, k, SAMPLES) for k in task.depths}
                               for n in PASSES}
        print(f"[khop_hops] {name}: {out['models'][name]}", flush=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"[khop_hops] wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
