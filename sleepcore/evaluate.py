"""Accuracy by depth with confidence intervals and chance levels; `python -m sleepcore.evaluate`.

Accuracy is exact-match per sample: every answer token of the sample right. Where a sample has several
answers (k-hop with several queries), `answer_accuracy` also gives the share of single answers right.
Evaluation samples are
drawn from a seed namespace that training never uses (`EVAL_SEED_OFFSET`), so the same seed gives
the same evaluation set to every model, and no evaluation sample is a training batch. For tasks with
a held-out input set (the automaton), `held_out` reports accuracy on inputs never trained on.

    python -m sleepcore.evaluate --checkpoint checkpoints/rule110-n4 --samples 2000 --json
    python -m sleepcore.evaluate --checkpoint checkpoints/rule110-n4 --samples 2000 --per-depth --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import torch

from .model import IGNORE, SleepingHybrid
from .tasks import task_from_config
from .tasks.base import Task

__all__ = ["evaluate_model", "wilson", "EVAL_SEED_OFFSET", "main"]

EVAL_SEED_OFFSET = 7_000_000_007  # training draws batches from seeds below this


def wilson(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved near 0 and 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@torch.no_grad()
def predict_answers(model: SleepingHybrid, tokens: torch.Tensor, targets: torch.Tensor, passes: int | None = None,
                    batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample: (answers right, answers asked), both (B,) long."""
    right_n, asked = [], []
    for i in range(0, tokens.shape[0], batch_size):
        dev = model.head.weight.device
        tok, tgt = tokens[i:i + batch_size].to(dev), targets[i:i + batch_size].to(dev)
        logits = model(tok, tgt, passes=passes).logits
        mask = tgt != IGNORE
        right_n.append(((logits.argmax(-1) == tgt) & mask).sum(-1).cpu())
        asked.append(mask.sum(-1).cpu())
    return torch.cat(right_n), torch.cat(asked)


def predict(model: SleepingHybrid, tokens: torch.Tensor, targets: torch.Tensor, passes: int | None = None,
            batch_size: int = 500) -> torch.Tensor:
    """Exact-match correctness per sample, (B,) bool."""
    right_n, asked = predict_answers(model, tokens, targets, passes, batch_size)
    return right_n == asked


def summarise(correct: torch.Tensor, depth: torch.Tensor, chance: dict[int, float],
              answers: tuple[torch.Tensor, torch.Tensor] | None = None,
              answer_chance: dict[int, float] | None = None) -> dict[str, Any]:
    """Exact-match accuracy overall and per depth; with `answers` = (right, asked) per sample and more than
    one answer in some sample, also `answer_accuracy` (share of single answers right) with its interval,
    and `answer_chance` (majority-class share of single answers, weighted by answers) when given."""
    n = int(correct.numel())
    k = int(correct.sum())
    multi = answers is not None and int(answers[1].max()) > 1

    def per_answer(sel: torch.Tensor) -> dict[str, Any]:
        r, a = int(answers[0][sel].sum()), int(answers[1][sel].sum())
        out = {"answer_accuracy": r / max(1, a), "answer_ci95": list(wilson(r, a)), "answers": a}
        if answer_chance:
            w = {d: int(answers[1][sel & (depth == d)].sum()) for d in answer_chance}
            out["answer_chance"] = sum(answer_chance[d] * w[d] for d in w) / max(1, sum(w.values()))
        return out
    per_depth = {}
    for d in sorted(set(depth.tolist())):
        sel = depth == d
        c, m = int(correct[sel].sum()), int(sel.sum())
        lo, hi = wilson(c, m)
        per_depth[str(d)] = {"accuracy": c / m, "ci95": [lo, hi], "count": m, "chance": chance.get(d)}
        if multi:
            per_depth[str(d)].update(per_answer(sel))
    lo, hi = wilson(k, n)
    weights = {d: int((depth == d).sum()) for d in chance}
    overall_chance = sum(chance[d] * weights[d] for d in chance) / max(1, sum(weights.values()))
    out = {"accuracy": k / n, "ci95": [lo, hi], "per_depth": per_depth, "chance": overall_chance, "samples": n}
    if multi:
        out.update(per_answer(torch.ones_like(correct, dtype=torch.bool)))
    return out


def _answers_line(r: dict[str, Any]) -> str:
    """The single-answer part of a printed result line (several answers per sample), else ''."""
    if "answer_accuracy" not in r:
        return ""
    chance = f" (chance {r['answer_chance']:.3f})" if "answer_chance" in r else ""
    return f"  single answers right {r['answer_accuracy']:.3f}{chance}"


def _draw(task: Task, samples: int, seed: int, split: str, per_depth: bool):
    """Evaluation batch: `samples` in all (depths mixed), or `samples` at every depth."""
    if not per_depth:
        return [task.sample(samples, seed=seed, split=split)]
    return [task.sample(samples, seed=seed + 7919 * (i + 1), split=split, depth=d) for i, d in enumerate(task.depths)]


def _score(model, task, batches, passes, batch_size) -> dict[str, Any]:
    per = [predict_answers(model, b.tokens, b.targets, passes, batch_size) for b in batches]
    right_n, asked = torch.cat([r for r, _ in per]), torch.cat([a for _, a in per])
    depth = torch.cat([b.depth for b in batches])
    chance: dict[int, float] = {}
    answer_chance: dict[int, float] = {}
    for b in batches:
        chance.update(task.chance(b))
        answer_chance.update(task.answer_chance(b))
    return summarise(right_n == asked, depth, chance, (right_n, asked), answer_chance)


def evaluate_model(model: SleepingHybrid, task: Task, samples: int = 2000, seed: int = 0,
                   passes: int | None = None, batch_size: int = 500, per_depth: bool = False) -> dict[str, Any]:
    """Evaluate on fresh samples (and on held-out inputs where the task has them).

    Args:
        samples: samples in all, or per depth when per_depth is True.
    Returns a dict with accuracy, ci95, per_depth {depth: {accuracy, ci95, count, chance}}, chance,
    samples, passes, and `held_out` shaped like the top level when the task has a held-out set.
    """
    was_training = model.training
    model.eval()
    try:
        result: dict[str, Any] = {}
        batches = _draw(task, samples, EVAL_SEED_OFFSET + seed, "any", per_depth)
        result.update(_score(model, task, batches, passes, batch_size))
        if task.has_held_out:
            held = _draw(task, samples, EVAL_SEED_OFFSET + seed + 1, "held_out", per_depth)
            result["held_out"] = _score(model, task, held, passes, batch_size)
        result["passes"] = passes if passes is not None else model.sleep_cfg.passes
        result["seed"] = seed
        return result
    finally:
        model.train(was_training)


def _fail(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError, load_checkpoint

    ap = argparse.ArgumentParser(prog="python -m sleepcore.evaluate", description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True, help="checkpoint folder (model.safetensors + config.json)")
    ap.add_argument("--passes", type=int, default=None, help="override N at test time (1..64)")
    ap.add_argument("--seed", type=int, default=0, help="evaluation seed (default 0)")
    ap.add_argument("--samples", type=int, default=2000, help="samples per evaluation set (default 2000)")
    ap.add_argument("--per-depth", action="store_true", help="draw --samples at every depth instead of in all")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    for flag in ("passes", "seed", "samples"):  # argparse turns `--seed=--` into [] instead of refusing it
        value = getattr(args, flag)
        if value is not None and not isinstance(value, int):
            _fail(f"--{flag} expects a whole number; got {value!r}")
    if args.passes is not None and not 1 <= args.passes <= 64:
        _fail(f"--passes must be in 1..64; got {args.passes}")
    if not 1 <= args.samples <= 1_000_000:
        _fail(f"--samples must be in 1..1000000; got {args.samples}")
    if args.seed < 0:
        _fail(f"--seed must be >= 0; got {args.seed}")
    try:
        model, cfg = load_checkpoint(args.checkpoint)
        task = task_from_config(cfg.get("task") or {})
    except (CheckpointError, ValueError) as e:
        _fail(str(e))
    if task.vocab_size != model.cfg.vocab_size or task.window != model.sleep_cfg.window:
        _fail(f"the checkpoint's task {task!r} (vocabulary {task.vocab_size}, window L={task.window}) does not fit "
              f"its model (vocabulary {model.cfg.vocab_size}, window L={model.sleep_cfg.window})")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    res = evaluate_model(model, task, args.samples, args.seed, args.passes, per_depth=args.per_depth)
    res["checkpoint"] = str(args.checkpoint)
    if args.json:
        print(json.dumps(res))
    else:
        def show(r, label):
            print(f"{label}: accuracy {r['accuracy']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]  "
                  f"chance {r['chance']:.3f}  (n={r['samples']})"
                  + _answers_line(r))
            for d, v in r["per_depth"].items():
                print(f"   depth {d:>3}: {v['accuracy']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}] "
                      f"chance {v['chance']:.3f} n={v['count']}"
                      + _answers_line(v))
        show(res, f"fresh samples, N={res['passes']}")
        if "held_out" in res:
            show(res["held_out"], "held-out inputs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
