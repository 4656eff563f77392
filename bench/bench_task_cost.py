"""Benchmark: what one training step costs on each task, as a multiple of a k-hop step whose real
training time is known; from it, what training arithmetic would take on this CPU.

Run by hand (never part of the test run):

    .venv/bin/python bench/bench_task_cost.py [--repeats 5] [--batch 256] [--threads 1]

The baseline is the shipped `khop-n4` setup (k-hop, five questions, N=4): its 2,000 steps of batch 256
took the training wall time recorded in checkpoints/khop-n4/config.json on this project's 2-core CPU
(one thread, next to other runs). Each other setup (same model size, layers "AF", d=64) is timed
against it in the same process, one training step exactly as `sleepcore.train` runs it
(`bench_train_throughput.train_step`), every setup once per repeat in a rotating order so machine load
hits all alike; the figure is the median step time. "Projected" = ratio x the baseline's recorded
seconds per step x 2,000 steps: what a 2,000-step run would take under the same conditions as the
baseline's. It is an estimate from a ratio, not a training run.
The last line of the output is one JSON object of named figures, for scripts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the package is used from the checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import load_at_start, load_figures  # noqa: E402
from bench_train_throughput import train_step  # noqa: E402
from sleepcore import ModelConfig, SleepConfig, SleepingHybrid  # noqa: E402
from sleepcore.config import from_dict  # noqa: E402
from sleepcore.tasks import task_from_config  # noqa: E402
from sleepcore.train import TrainConfig, make_optimizers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ("khop, 5 questions", "khop-n4", {})
SETUPS = [BASELINE,
          ("arithmetic, 1 question", "arith-n4", {}),
          ("arithmetic, 5 questions", "arith-n4", {"queries": 5})]
STEPS = 2000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", default="1,4")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    Ns = [int(x) for x in args.passes.split(",")]
    B = args.batch

    load, others = load_at_start()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU; 1-min load average {load:.2f}, "
          f"other runnable tasks now: {others}; batch {B}; median of {args.repeats} alternating repeats")
    if others:
        print("WARNING: other processes are running; absolute times are inflated, the ratios less so.")

    runs = {}
    for label, ckpt, extra in SETUPS:
        cfg = json.loads((ROOT / "checkpoints" / ckpt / "config.json").read_text())
        task = task_from_config({**cfg["task"], **extra})
        mcfg = from_dict(ModelConfig, {**cfg["model"], "vocab_size": task.vocab_size})
        tcfg = from_dict(TrainConfig, {k: v for k, v in cfg["train"].items() if k != "passes"})
        for N in Ns:
            torch.manual_seed(0)
            model = SleepingHybrid(mcfg, from_dict(SleepConfig, {**cfg["sleep"], "passes": N})).train()
            data = [task.sample(B, seed=s, split="train") for s in range(args.repeats + 1)]
            runs[(label, N)] = (model, make_optimizers(model, tcfg), [(b.tokens, b.targets) for b in data],
                                tcfg.clip, task)
    for model, opts, data, clip, _ in runs.values():        # warm-up
        train_step(model, opts, *data[0], 1, clip)
    keys = list(runs)
    samples = {k: [] for k in keys}
    for r in range(args.repeats):
        i = r % len(keys)
        for k in keys[i:] + keys[:i]:
            model, opts, data, clip, _ = runs[k]
            t0 = time.perf_counter()
            train_step(model, opts, *data[r + 1], k[1], clip)
            samples[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in samples.items()}

    base_cfg = json.loads((ROOT / "checkpoints" / BASELINE[1] / "config.json").read_text())
    base_n = base_cfg["sleep"]["passes"]
    base_s_per_step = base_cfg["wall_seconds"] / base_cfg["trained_steps"]
    base_batch = base_cfg["train"]["batch_size"]
    ref = med[(BASELINE[0], base_n)]
    print(f"\nbaseline: {BASELINE[1]} (N={base_n}, batch {base_batch}): {base_cfg['trained_steps']:,} steps took "
          f"{base_cfg['wall_seconds']:,.0f} s in training ({base_s_per_step:.2f} s/step)")
    if base_batch != B:
        print(f"WARNING: the baseline trained at batch {base_batch}; projections assume batch {B} scales alike")
    print(f"\n{'setup':<26} {'N':>2} {'tokens':>6} {'step ms':>8} {'x baseline':>10} {'projected 2,000 steps':>22}")
    figures = {}
    for (label, N), t in med.items():
        ratio = t / ref
        proj = ratio * base_s_per_step * STEPS
        seq = runs[(label, N)][4].seq_len
        print(f"{label:<26} {N:>2} {seq:>6} {t * 1e3:>8.0f} {ratio:>9.2f}x {proj / 3600:>19.1f} h")
        figures[f"{label} N={N}"] = {"step_ms": round(t * 1e3, 1), "ratio": round(ratio, 3),
                                     "projected_2000_steps_s": round(proj)}
    print(json.dumps({**load_figures(torch.get_num_threads(), load, others), "batch": B, "setups": figures}))


if __name__ == "__main__":
    main()
