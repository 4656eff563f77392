"""Benchmark: training throughput (tokens/s) against the number of sleep passes N and the batch size.

Run by hand (never part of the test run):

    .venv/bin/python bench/bench_train_throughput.py [--passes 1,2,4] [--batches 512,256] [--repeats 15]
        [--threads 1] [--config checkpoints/rule110-n1/config.json]

One training step exactly as `sleepcore.train` runs it on CPU: forward through Algorithm 1 at N passes
(sleep on the consolidation window, one pass on the prediction window), the finite-loss check,
zero_grad, backward through every pass, clip_grad_norm_ and its finite check, the Muon + AdamW step
(`make_optimizers`), and the per-step exact accuracy. Model, task and optimiser settings come from the
config file (the shipped automaton config: layers "AF", d=64, Rule 110 width 16, t in 1..8); every
(N, batch) pair has its own freshly initialised model and optimisers (seed 0). Batches are drawn the
way training draws them (split "train", seed per step) before timing; drawing is timed separately.

Each repeat runs every (N, batch) pair once, in a rotating order, so load drift on the shared machine
hits all of them alike; the figure is the median step time over repeats, and tokens/s = batch x
sequence length / median step time. A second table lists each shipped checkpoint's recorded training
wall time (config.json `wall_seconds`, `trained_steps`) and where its model card says it was trained.
The last line of the output is one JSON object of named figures, for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the package is used from the checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import load_at_start, load_figures  # noqa: E402
from sleepcore import ModelConfig, SleepConfig, SleepingHybrid  # noqa: E402
from sleepcore.config import from_dict  # noqa: E402
from sleepcore.tasks import task_from_config  # noqa: E402
from sleepcore.train import DATA_SEED_STRIDE, TrainConfig, exact_accuracy, make_optimizers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def train_step(model, opts, tok, tgt, N: int, clip: float) -> None:
    """The body of sleepcore.train's loop (without lr scheduling, logging and checkpoints)."""
    res = model(tok, tgt, passes=N)
    loss = res.loss
    if not torch.isfinite(loss):
        raise FloatingPointError("non-finite loss")
    for opt in opts:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    if not torch.isfinite(grad_norm):
        raise FloatingPointError("non-finite gradient norm")
    for opt in opts:
        opt.step()
    exact_accuracy(res.logits.detach(), tgt)


def card_hardware(folder: Path) -> str:
    """The "Trained on ..." clause of a model card, shortened."""
    try:
        text = (folder / "README.md").read_text()
    except OSError:
        return "(no card)"
    m = re.search(r"Trained on ([^;]*);", text)
    return m.group(1).strip() if m else "(card does not say)"


def shipped_table(folder: Path) -> list[dict]:
    rows = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "config.json").is_file()):
        cfg = json.loads((sub / "config.json").read_text())
        tr = cfg.get("train") or {}
        steps, wall = cfg.get("trained_steps"), cfg.get("wall_seconds")
        try:
            seq = task_from_config(cfg["task"]).seq_len
        except Exception:  # noqa: BLE001  (an unreadable task only loses the tokens/s column)
            seq = None
        tps = steps * tr.get("batch_size", 0) * seq / wall if steps and wall and seq else None
        rows.append({"name": sub.name, "layers": cfg["model"]["layers"], "passes": cfg["sleep"]["passes"],
                     "mix": tr.get("passes") or [], "eviction": cfg["sleep"]["eviction"], "steps": steps,
                     "batch": tr.get("batch_size"), "wall_s": wall, "device": tr.get("device"),
                     "threads": tr.get("threads"), "ms_per_step": 1e3 * wall / steps if steps and wall else None,
                     "tokens_per_s": tps, "card": card_hardware(sub)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", default="1,2,4")
    ap.add_argument("--batches", default="512,256")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--config", default=str(ROOT / "checkpoints" / "rule110-n1" / "config.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    Ns = [int(x) for x in args.passes.split(",")]
    Bs = [int(x) for x in args.batches.split(",")]

    cfg = json.loads(Path(args.config).read_text())
    mcfg, scfg = from_dict(ModelConfig, cfg["model"]), from_dict(SleepConfig, cfg["sleep"])
    tcfg = from_dict(TrainConfig, {k: v for k, v in cfg["train"].items() if k != "passes"})
    task = task_from_config(cfg["task"])

    load, others = load_at_start()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float32, CPU; {os.cpu_count()} cores, "
          f"1-min load average {load:.2f} (lags), other runnable tasks now: {others}")
    print(f"config {args.config}: layers {mcfg.layers!r}, d_model={mcfg.d_model}, L={scfg.window}, task "
          f"{task.config()['name']} (sequence {task.seq_len} tokens, {task.consolidation_windows} consolidation "
          f"window(s)); Muon lr {tcfg.lr} + AdamW lr {tcfg.adam_lr}, clip {tcfg.clip}; median of {args.repeats} "
          f"alternating repeats")
    if others:
        print("WARNING: other processes are running; they distort these timings (rerun when idle). "
              "Ratios below are from alternating measurements, so they are less affected than absolute times.")

    pairs = [(N, B) for B in Bs for N in Ns]
    setups = {}
    for N, B in pairs:
        torch.manual_seed(tcfg.seed)
        model = SleepingHybrid(mcfg, scfg).train()
        setups[(N, B)] = (model, make_optimizers(model, tcfg))
    batches, draw_s = {}, {B: [] for B in Bs}
    for B in Bs:
        batches[B] = []
        for s in range(args.repeats + 1):
            t0 = time.perf_counter()
            b = task.sample(B, seed=tcfg.seed * DATA_SEED_STRIDE + s, split="train")
            draw_s[B].append(time.perf_counter() - t0)
            batches[B].append((b.tokens, b.targets))
    for (N, B), (model, opts) in setups.items():  # warm-up (first-call allocations, Muon buffers)
        train_step(model, opts, *batches[B][0], N, tcfg.clip)
    samples = {p: [] for p in pairs}
    for r in range(args.repeats):
        k = r % len(pairs)
        for N, B in pairs[k:] + pairs[:k]:
            model, opts = setups[(N, B)]
            tok, tgt = batches[B][r + 1]
            t0 = time.perf_counter()
            train_step(model, opts, tok, tgt, N, tcfg.clip)
            samples[(N, B)].append(time.perf_counter() - t0)

    med = {p: statistics.median(s) for p, s in samples.items()}
    tps = {(N, B): B * task.seq_len / med[(N, B)] for N, B in pairs}
    fits = {}
    for B in Bs:  # step(N) = a + b N: b = one pass over the consolidation window (fwd + bwd), a = the rest
        xs, ys = [float(N) for N in Ns], [med[(N, B)] * 1e3 for N in Ns]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(sum((x - mx) ** 2 for x in xs), 1e-12)
        fits[B] = (my - b * mx, b)
    print(f"\n{'batch':>6} {'N':>3} {'step ms':>9} {'min..max ms':>16} {'tokens/s':>10} {'vs N=' + str(Ns[0]):>9}"
          f" {'fit ms':>8}")
    for B in Bs:
        a, b = fits[B]
        for N in Ns:
            s = samples[(N, B)]
            print(f"{B:>6} {N:>3} {med[(N, B)] * 1e3:>9.1f} {f'{min(s) * 1e3:.0f}..{max(s) * 1e3:.0f}':>16} "
                  f"{tps[(N, B)]:>10,.0f} {tps[(N, B)] / tps[(Ns[0], B)]:>8.2f}x {a + b * N:>8.1f}")
    for B in Bs:
        a, b = fits[B]
        print(f"batch {B}: step ~ {a:.0f} ms + {b:.0f} ms x N  (per pass over the {scfg.window}-token consolidation "
              f"window, forward + backward; the rest is the one-token prediction window, loss and optimiser)")
    for B in Bs:
        d = statistics.median(draw_s[B]) * 1e3
        print(f"drawing a batch of {B} (task.sample, not in the step times): median {d:.1f} ms "
              f"({d / (med[(Ns[0], B)] * 1e3):.0%} of the N={Ns[0]} step)")

    rows = shipped_table(ROOT / "checkpoints")
    print("\nshipped checkpoints, recorded training wall time (config.json) and hardware (model card):")
    print(f"{'checkpoint':<22} {'layers':>6} {'N':>7} {'evict':>6} {'steps':>6} {'batch':>5} {'wall s':>7} "
          f"{'ms/step':>8} {'tokens/s':>9} {'device':>6} {'thr':>3}  card")
    for r in rows:
        n = "{" + ",".join(map(str, r["mix"])) + "}" if r["mix"] else str(r["passes"])
        print(f"{r['name']:<22} {r['layers']:>6} {n:>7} {r['eviction']:>6} {r['steps'] or '-':>6} {r['batch'] or '-':>5} "
              f"{r['wall_s'] or '-':>7} {(r['ms_per_step'] or float('nan')):>8.1f} "
              f"{(r['tokens_per_s'] or float('nan')):>9,.0f} {r['device'] or '-':>6} {r['threads'] or '-':>3}  "
              f"{r['card']}")
    machine = load_figures(torch.get_num_threads(), load, others)

    figures = {
        **machine,
        "seq_len": task.seq_len,
        "step_ms": {f"N{N}_B{B}": round(med[(N, B)] * 1e3, 2) for N, B in pairs},
        "tokens_per_s": {f"N{N}_B{B}": round(tps[(N, B)], 1) for N, B in pairs},
        "tokens_per_s_ratio_vs_N1": {f"N{N}_B{B}": round(tps[(N, B)] / tps[(Ns[0], B)], 3) for N, B in pairs},
        "fit_ms": {f"B{B}": {"fixed": round(fits[B][0], 1), "per_pass": round(fits[B][1], 1)} for B in Bs},
        "shipped_wall_seconds": {r["name"]: r["wall_s"] for r in rows},
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
