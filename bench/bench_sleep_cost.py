"""Benchmark: time of one sleep (model.sleep over a full window) against the number of passes N.

Run by hand (never part of the test run):

    .venv/bin/python bench/bench_sleep_cost.py [--max-passes 16] [--repeats 101] [--threads 1]
        [--checkpoint checkpoints/rule110-n4] [--window L] [--batch 1]

A fresh randomly initialised model (seed 0) in the shape of the checkpoint's config.json (cost does
not depend on the weights' values) fills one window of L tokens by model.step; that memory is kept,
and every timed sleep runs on a clone of it (the clone is not timed), so each N consolidates the very
same window. model.sleep(mem, passes=N) runs passes 2..N (N-1 offline passes) and then evicts, so
N=1 is eviction only and the expected cost is  t(N) = t0 + (N-1) * per_pass.

Each repeat visits N = 1..max in a rotating order (alternating, so load drift hits every N alike); the
figure per N is the median over repeats. A least-squares line t(N) = a + b N is fitted to the medians;
two linearity figures are reported:
  rel_dev   max over N >= 2 of |median(N) - fit(N)| / fit(N), the relative deviation from the line (the
            target: <= 10%, "linear in N within 10%"); N=1 runs no pass at all (eviction only, ~0.02 ms
            where the line is ~0), so a relative figure there means nothing; it is shown but not counted.
  pass_dev  max over all N of |median(N) - fit(N)| / b, the deviation in units of one pass's cost, a much
            stricter figure (at N=16 one pass is ~6% of the time) that mostly measures timing noise.
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
from sleepcore.costs import build_sleeper, fill_window, linear_fit, shape_from_config, time_sleeps  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-passes", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=101)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1, help="sequences sleeping at once (B)")
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "rule110-n4"),
                    help="only its config.json is read (the shape); the weights are fresh")
    ap.add_argument("--window", type=int, default=None, help="L (default: the checkpoint's)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    mcfg, L, _ = shape_from_config(json.loads((Path(args.checkpoint) / "config.json").read_text()), args.window)
    model = build_sleeper(mcfg, L)

    load, others = load_at_start()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float32, B={args.batch}, no grad; "
          f"{os.cpu_count()} cores, 1-min load average {load:.2f} (lags), other runnable tasks now: {others}")
    print(f"fresh random weights (seed 0), shape of {Path(args.checkpoint).name}: layers {mcfg.layers!r}, d_model="
          f"{mcfg.d_model}, heads {mcfg.n_heads}x{mcfg.head_dim}, chunk {mcfg.chunk_size}; window L={L}; "
          f"median of {args.repeats} alternating repeats per N")
    if others:
        print("WARNING: other processes are running; they distort these timings (rerun when idle). "
              "N values are measured alternately, so the fit is less affected than absolute times.")

    full = fill_window(model, args.batch, seed=1)
    Ns = list(range(1, args.max_passes + 1))
    samples = time_sleeps(model, full, Ns, args.repeats)
    med = {N: statistics.median(s) * 1e3 for N, s in samples.items()}
    a, b = linear_fit([float(N) for N in Ns], [med[N] for N in Ns])
    dev = {N: (med[N] - (a + b * N)) / b for N in Ns}                 # in units of one pass
    rel = {N: (med[N] - (a + b * N)) / (a + b * N) for N in Ns}       # relative to the line
    worst = max(Ns, key=lambda N: abs(dev[N]))
    worst_rel = max(Ns[1:], key=lambda N: abs(rel[N]))
    marginal = [(med[N] - med[1]) / (N - 1) for N in Ns[1:]]          # cost per offline pass seen at each N

    print(f"\n{'N':>3} {'offline passes':>15} {'median ms':>10} {'min..max ms':>16} {'fit ms':>8} {'dev/fit':>8} "
          f"{'dev/pass':>9} {'ms per pass':>12}")
    for N in Ns:
        s = samples[N]
        per = f"{(med[N] - med[1]) / (N - 1):.3f}" if N > 1 else "-"
        print(f"{N:>3} {N - 1:>15} {med[N]:>10.3f} {f'{min(s) * 1e3:.2f}..{max(s) * 1e3:.2f}':>16} "
              f"{a + b * N:>8.3f} {(f'{rel[N]:+.1%}' if N > 1 else '(n/a)'):>8} {dev[N]:>+8.1%} {per:>12}")
    verdict = "MET" if abs(rel[worst_rel]) <= TARGET else "MISSED"
    print(f"\nfit t(N) = {a:.3f} ms + {b:.3f} ms * N: one offline pass over L={L} tokens costs {b:.3f} ms "
          f"(per-pass cost seen at N=2..{Ns[-1]}: {min(marginal):.3f}..{max(marginal):.3f} ms); N=1 (eviction only) "
          f"{med[1]:.3f} ms")
    print(f"max relative deviation from the line (N >= 2): {abs(rel[worst_rel]):.1%} (at N={worst_rel}); target <= "
          f"{TARGET:.0%} -> {verdict}")
    print(f"max deviation in units of one pass (all N, stricter, mostly timing noise): {abs(dev[worst]):.1%} "
          f"(at N={worst})")
    machine = load_figures(torch.get_num_threads(), load, others)
    figures = {
        **machine,
        "window": L, "batch": args.batch, "repeats": args.repeats,
        "sleep_ms_median": {str(N): round(med[N], 4) for N in Ns},
        "fit_intercept_ms": round(a, 4),
        "per_pass_ms": round(b, 4),
        "per_pass_ms_range": [round(min(marginal), 4), round(max(marginal), 4)],
        "max_rel_dev_from_fit": round(abs(rel[worst_rel]), 4),
        "worst_N_rel": worst_rel,
        "max_dev_in_passes": round(abs(dev[worst]), 4),
        "worst_N_passes": worst,
        "linear_target_met": abs(rel[worst_rel]) <= TARGET,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
