"""Benchmark: per-token wake latency against context length, sleeping hybrid vs cache-kept transformer.

Run by hand (never part of the test run):

    .venv/bin/python bench/bench_wake_latency.py [--contexts 256,1024,4096,16384,32768] [--steps 50]
        [--block 10] [--threads 1] [--checkpoint checkpoints/rule110-n4] [--window L] [--passes N]

Models (float32, B=1, no grad), both FRESHLY INITIALISED (seed 0) in the shape of the checkpoint's
config.json (latency does not depend on the weights' values, only on their shapes):
  hybrid       the checkpoint's layers (rule110-n4: "AF", d=64, 2 heads x 32), window L and N; hard
               eviction. It sleeps (model.sleep(mem, passes=N)) whenever mem.window_full; those sleeps
               are timed separately and never counted as wake latency.
  transformer  the same config with layers "AA" and SleepConfig(eviction="none"): it never evicts and
               attends to its whole cache (KVCache visibility with eviction "none" is unbounded: the
               model passes window=None to the attention, whatever L is; L then only sets the period of
               the learned in-window position embedding, as in the shipped rule110-attn-kept).

Each model is brought to every context length C once (random tokens fed through model.forward in
windows, which is what streaming computes, with the hybrid consolidating every window with N passes),
and its memory is cloned at each C. Then every (model, C) pair is timed for `--steps` wake steps
(model.step), in blocks of `--block` steps, the pairs visited in a rotating order each round, so load
drift on the shared machine hits all of them alike. The figure is the median per-token latency; every
comparison is a ratio of medians from this one process. The context grows by `--steps` tokens during
a measurement (C .. C + steps). Memory = mem.kv.nbytes() + mem.fast.nbytes() (keys/values and S; the
int64 position index and the window's hidden states are not counted), the peak over the timed steps.
The last line of the output is one JSON object of named figures, for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the package is used from the checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import load_at_start, load_figures  # noqa: E402
from sleepcore.costs import build_models, fill, shape_from_config, time_wake  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.15          # hybrid latency at the largest context within 1.15x of the smallest


def build(checkpoint: Path, window: int | None, passes: int | None):
    mcfg, L, N = shape_from_config(json.loads((checkpoint / "config.json").read_text()), window, passes)
    return build_models(mcfg, L, N), mcfg, L, N


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contexts", default="256,1024,4096,16384,32768")
    ap.add_argument("--steps", type=int, default=50, help="timed wake steps per (model, context)")
    ap.add_argument("--block", type=int, default=10, help="steps per visit; visits rotate over all pairs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "rule110-n4"),
                    help="only its config.json is read (the shape); the weights are fresh")
    ap.add_argument("--window", type=int, default=None, help="L (default: the checkpoint's)")
    ap.add_argument("--passes", type=int, default=None, help="N (default: the checkpoint's)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    contexts = sorted(int(c) for c in args.contexts.split(","))

    load, others = load_at_start()
    models, mcfg, L, N = build(Path(args.checkpoint), args.window, args.passes)
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float32, B=1, no grad; {os.cpu_count()} "
          f"cores, 1-min load average {load:.2f} (lags), other runnable tasks now: {others}")
    print(f"fresh random weights (seed 0) in the shape of {Path(args.checkpoint).name}/config.json: d_model="
          f"{mcfg.d_model}, heads {mcfg.n_heads}x{mcfg.head_dim}, mlp x{mcfg.mlp_ratio}, vocab {mcfg.vocab_size}")
    print(f"  hybrid      layers {mcfg.layers!r}, L={L}, N={N}, eviction hard, {params['hybrid']} params")
    print(f"  transformer layers {'A' * len(mcfg.layers)!r}, eviction none (unbounded attention), "
          f"{params['transformer']} params")
    if others:
        print("WARNING: other processes are running; they distort these timings (rerun when idle). "
              "Ratios below are from alternating measurements, so they are less affected than absolute times.")

    mems, fill_s = {}, {}
    for name, m in models.items():
        mems[name], fill_s[name] = fill(m, contexts, seed=1)
    print(f"filled to {contexts[-1]} tokens once per model: hybrid {fill_s['hybrid']:.1f} s, "
          f"transformer {fill_s['transformer']:.1f} s (not timed below)")

    recs = time_wake(models, mems, contexts, args.steps, args.block, N, rng_seed=2)
    rounds = -(-args.steps // args.block)

    def med(p):
        return statistics.median(recs[p]["step"]) * 1e3

    def p90(p):
        s = sorted(recs[p]["step"])
        return s[int(0.9 * (len(s) - 1))] * 1e3

    base = {name: med((name, contexts[0])) for name in models}
    print(f"\nwake latency per token, model.step (median of {rounds * args.block} steps per cell, ms); "
          f"ratio = median / median at {contexts[0]}")
    print(f"{'context':>8} | {'hybrid ms':>9} {'p90':>7} {'ratio':>6} {'KV+S bytes':>11} | "
          f"{'transf. ms':>10} {'p90':>7} {'ratio':>6} {'KV+S bytes':>11} | {'transf/hybrid':>13}")
    for C in contexts:
        h, a = ("hybrid", C), ("transformer", C)
        print(f"{C:>8} | {med(h):>9.3f} {p90(h):>7.3f} {med(h) / base['hybrid']:>5.2f}x {recs[h]['peak']:>11,} | "
              f"{med(a):>10.3f} {p90(a):>7.3f} {med(a) / base['transformer']:>5.2f}x {recs[a]['peak']:>11,} | "
              f"{med(a) / med(h):>12.2f}x")
    sleeps = [s for C in contexts for s in recs[("hybrid", C)]["sleep"]]
    sleep_ms = statistics.median(sleeps) * 1e3 if sleeps else float("nan")
    print(f"\nhybrid sleeps during the timed steps: {len(sleeps)}, median {sleep_ms:.2f} ms per model.sleep "
          f"(N={N}: {N - 1} offline passes over L={L} tokens + eviction), i.e. "
          f"{sleep_ms / L:.3f} ms per window token amortised; wake + amortised sleep at {contexts[-1]}: "
          f"{med(('hybrid', contexts[-1])) + sleep_ms / L:.3f} ms/token")
    ratio_h = med(("hybrid", contexts[-1])) / base["hybrid"]
    ratio_a = med(("transformer", contexts[-1])) / base["transformer"]
    verdict = "MET" if ratio_h <= TARGET_RATIO else "MISSED"
    print(f"target: hybrid latency at {contexts[-1]} within {TARGET_RATIO}x of {contexts[0]}: {ratio_h:.2f}x -> "
          f"{verdict}; transformer: {ratio_a:.2f}x")
    machine = load_figures(torch.get_num_threads(), load, others)

    figures = {
        **machine,
        "window": L, "passes": N, "layers_hybrid": mcfg.layers,
        "contexts": contexts,
        "hybrid_step_ms": [round(med(("hybrid", C)), 4) for C in contexts],
        "transformer_step_ms": [round(med(("transformer", C)), 4) for C in contexts],
        "hybrid_bytes_peak": [recs[("hybrid", C)]["peak"] for C in contexts],
        "transformer_bytes_peak": [recs[("transformer", C)]["peak"] for C in contexts],
        "hybrid_ratio_last_vs_first": round(ratio_h, 3),
        "transformer_ratio_last_vs_first": round(ratio_a, 3),
        "transformer_over_hybrid_at_last": round(med(("transformer", contexts[-1])) / med(("hybrid", contexts[-1])), 2),
        "hybrid_sleep_ms_median": round(sleep_ms, 3),
        "hybrid_target_met": ratio_h <= TARGET_RATIO,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
