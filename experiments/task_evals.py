"""Measure the shipped k-hop and arithmetic checkpoints against the guesses that need no memory.

    python experiments/task_evals.py            # writes checkpoints/{khop-*,arith-n4}/accuracy.json

Each accuracy is exactly `python -m sleepcore.evaluate --checkpoint checkpoints/NAME --samples 1000
--per-depth --json` (same function, same samples), plus two baselines on the same samples:
  chance  the majority answer per depth (what `evaluate` reports);
  guess   an informed blind guess: k-hop, a node of the sample's cycle other than the start
          (1 / (n - 1) per answer, since k < n; (1 / (n - 1))^Q for all Q answers of a sample right);
          arithmetic, a uniform value mod p (1 / p).
With several answers per sample (k-hop with Q queries) the JSON also has `answer_accuracy` (the
share of single answers right) and the guess per single answer.
A model is `at_chance` when its accuracy is within AT_CHANCE_MARGIN of the better baseline. The
explorer reads the JSON to say so at the top of its page; experiments/cards.py quotes it in the card.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sleepcore.checkpoint import load_checkpoint  # noqa: E402
from sleepcore.evaluate import EVAL_SEED_OFFSET, _draw, evaluate_model  # noqa: E402
from sleepcore.tasks import task_from_config  # noqa: E402

NAMES = ["khop-n1", "khop-n2", "khop-n4", "khop-n1-seed1", "khop-n2-seed1", "khop-n4-seed1", "arith-n4"]
SAMPLES = 1000
AT_CHANCE_MARGIN = 0.05
FILE = "accuracy.json"
CKPT_DIR = "checkpoints"    # relative to the repo (an absolute path works too)


def command(name: str) -> str:
    return f"python -m sleepcore.evaluate --checkpoint checkpoints/{name} --samples {SAMPLES} --per-depth --json"


def guess_rate(task, batch, per_answer: bool = False) -> float:
    """Accuracy of the informed blind guess on a batch: all answers of a sample right, or (per_answer) one
    answer right (see the module docstring)."""
    if task.name == "khop":
        q = 1 if per_answer else task.queries
        return sum((1 / (len(r["nodes"]) - 1)) ** q for r in batch.raw) / len(batch)
    if task.name == "arith":
        return 1 / task.modulus
    raise ValueError(f"no blind guess defined for task {task.name!r}")


def measure(name: str) -> dict:
    model, cfg = load_checkpoint(ROOT / CKPT_DIR / name)
    task = task_from_config(cfg["task"])
    res = evaluate_model(model, task, SAMPLES, seed=0, per_depth=True)
    # The same batches evaluate_model drew (seed 0, split "any", one batch per depth).
    batches = _draw(task, SAMPLES, EVAL_SEED_OFFSET, "any", per_depth=True)
    per_depth = {str(b.depth[0].item()): guess_rate(task, b) for b in batches}
    guess = sum(per_depth.values()) / len(per_depth)
    best = max(res["chance"], guess)
    if "answer_accuracy" in res:
        per_answer = {str(b.depth[0].item()): guess_rate(task, b, per_answer=True) for b in batches}
        res["answer_guess"] = {"accuracy": sum(per_answer.values()) / len(per_answer), "per_depth": per_answer}
    res.update({"checkpoint": f"checkpoints/{name}", "command": command(name), "task": task.name,
                "trained_steps": cfg.get("trained_steps"),
                "guess": {"accuracy": guess, "per_depth": per_depth,
                          "rule": ("a node of the cycle other than the start, uniformly" if task.name == "khop"
                                   else f"a value 0..{task.modulus - 1}, uniformly")},
                "at_chance": res["accuracy"] < best + AT_CHANCE_MARGIN, "at_chance_margin": AT_CHANCE_MARGIN})
    return res


def main() -> int:
    torch.set_num_threads(1)
    for name in NAMES:
        if not (ROOT / CKPT_DIR / name / "model.safetensors").exists():
            print(f"[task_evals] {name}: no checkpoint, skipped", flush=True)
            continue
        res = measure(name)
        (ROOT / CKPT_DIR / name / FILE).write_text(json.dumps(res, indent=1) + "\n")
        print(f"[task_evals] {name}: accuracy {res['accuracy']:.3f}, chance {res['chance']:.3f}, "
              f"guess {res['guess']['accuracy']:.3f}, at chance: {res['at_chance']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
