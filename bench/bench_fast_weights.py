"""Benchmark: chunked gated delta rule vs the reference loop, and the model's per-token wake latency.

Run by hand (never part of the test run):

    .venv/bin/python bench/bench_fast_weights.py [--repeats 7] [--threads 2]

Forward+backward at a training shape (B=32, H=4, K=V=32, T=256, float32). The variants are timed
alternately in one process (each repeat runs every variant once, in a rotating order) so drift in
machine load hits all of them alike; the figure is the median over repeats. The last line of the
output is one JSON object of named figures, for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the package is used from the checkout

from _machine import load_at_start, other_runnable  # noqa: E402,F401  (other_runnable: re-exported)
from sleepcore import ModelConfig, SleepConfig, SleepingHybrid  # noqa: E402
from sleepcore.ops import gated_delta_rule  # noqa: E402

SHAPE = dict(B=32, H=4, K=32, V=32, T=256)
VARIANTS = {"loop": None, "c32": 32, "c64": 64}


def make_inputs(B, H, K, V, T, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(B, T, H, K, generator=g), dim=-1)
    k = F.normalize(torch.randn(B, T, H, K, generator=g), dim=-1)
    v = torch.randn(B, T, H, V, generator=g)
    logalpha = F.logsigmoid(torch.randn(B, T, H, generator=g) + 3.0)
    beta = torch.sigmoid(torch.randn(B, T, H, generator=g))
    S0 = torch.randn(B, H, K, V, generator=g) * 0.1
    leaves = [q, k, v, logalpha, beta, S0]
    for t in leaves:
        t.requires_grad_(True)
    do = torch.randn(B, T, H, V, generator=g)
    return leaves, do


def time_once(chunk, leaves, do, backward: bool) -> float:
    for t in leaves:
        t.grad = None
    t0 = time.perf_counter()
    o, S = gated_delta_rule(*leaves[:5], initial_state=leaves[5], chunk_size=chunk)
    if backward:
        ((o * do).sum() + S.sum()).backward()
    return time.perf_counter() - t0


def bench_rules(repeats: int) -> dict[str, dict[str, float]]:
    leaves, do = make_inputs(**SHAPE)
    names = list(VARIANTS)
    # correctness guard: a fast path that is wrong is not faster
    with torch.no_grad():
        o_ref, S_ref = gated_delta_rule(*leaves[:5], initial_state=leaves[5], chunk_size=None)
        for name in names[1:]:
            o, S = gated_delta_rule(*leaves[:5], initial_state=leaves[5], chunk_size=VARIANTS[name])
            err = max(float((o - o_ref).abs().max()), float((S - S_ref).abs().max()))
            assert err < 1e-3, f"{name} disagrees with the loop by {err:.2e}"
    results = {}
    for backward in (False, True):
        mode = "fwd_bwd" if backward else "fwd"
        samples = {n: [] for n in names}
        for n in names:  # warm-up
            time_once(VARIANTS[n], leaves, do, backward)
        for r in range(repeats):
            order = names[r % len(names):] + names[: r % len(names)]  # rotate who goes first
            for n in order:
                samples[n].append(time_once(VARIANTS[n], leaves, do, backward))
        results[mode] = {n: statistics.median(s) * 1e3 for n, s in samples.items()}
        results[mode + "_spread"] = {n: (min(s) * 1e3, max(s) * 1e3) for n, s in samples.items()}
    return results


def bench_wake(window: int = 64, passes: int = 4, windows: int = 3) -> dict[str, float]:
    """model.step latency per token (B=1, float32, no grad) and model.sleep latency per window."""
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=16, d_model=64, n_heads=2, head_dim=32, layers="AFAF", max_window=window)
    model = SleepingHybrid(cfg, SleepConfig(window=window, passes=passes)).eval()
    mem = model.new_memory(1)
    tokens = torch.randint(0, cfg.vocab_size, (windows * window,)).tolist()
    step_s, sleep_s = [], []
    for i, tok in enumerate(tokens):
        if mem.window_full:
            t0 = time.perf_counter()
            model.sleep(mem)
            sleep_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.step(tok, mem)
        if i >= window:  # the first window is warm-up
            step_s.append(time.perf_counter() - t0)
    return {
        "step_ms_median": statistics.median(step_s) * 1e3,
        "step_ms_p90": sorted(step_s)[int(0.9 * (len(step_s) - 1))] * 1e3,
        "sleep_ms_median": statistics.median(sleep_s[1:] or sleep_s) * 1e3,
        "window": window, "passes": passes, "params": sum(p.numel() for p in model.parameters()),
    }


def chunked_forward_flops(B: int, H: int, K: int, V: int, T: int, C: int) -> float:
    """Analytic multiply-add count (x2) of the chunked forward, the matrix products only.

    Per chunk of C tokens: K K^T and Q K^T (2 C^2 K each), the triangular solve for U and W
    (C^2 (V + K)), and in the loop over chunks W S (2 C K V), Q S (2 C K V), P Delta (2 C^2 V) and
    K^T Delta (2 C K V). Elementwise work (gates, masks) is ignored, so this is a lower bound.
    """
    n = -(-T // C)
    per_chunk = 4 * C * C * K + C * C * (V + K) + 6 * C * K * V + 2 * C * C * V
    return float(B * H * n * per_chunk)


def matmul_peak_gflops(n: int = 512, repeats: int = 20) -> float:
    """Measured float32 GEMM throughput on this machine now (the roofline the op is compared with)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    times.sort()
    return 2 * n ** 3 / times[len(times) // 2] / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    load, others = load_at_start()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, shape {SHAPE}, "
          f"median of {args.repeats} alternating repeats; {os.cpu_count()} cores, 1-min load average {load:.2f} "
          f"(lags), other runnable tasks now: {others}")
    if others:
        print("WARNING: other processes are running; they distort these timings (rerun when idle)")
    r = bench_rules(args.repeats)
    header = f"{'variant':<8}{'fwd ms':>10}{'fwd+bwd ms':>13}{'fwd+bwd min..max':>20}"
    print(f"\n{header}{'speedup fwd':>13}{'speedup f+b':>13}")
    for n in VARIANTS:
        lo, hi = r["fwd_bwd_spread"][n]
        print(f"{n:<8}{r['fwd'][n]:>10.2f}{r['fwd_bwd'][n]:>13.2f}{f'{lo:.1f}..{hi:.1f}':>20}"
              f"{r['fwd']['loop'] / r['fwd'][n]:>12.2f}x{r['fwd_bwd']['loop'] / r['fwd_bwd'][n]:>12.2f}x")

    peak = matmul_peak_gflops()
    achieved = {n: chunked_forward_flops(**SHAPE, C=VARIANTS[n]) / (r["fwd"][n] / 1e3) / 1e9 for n in ("c32", "c64")}
    print(f"\nfloat32 matmul peak measured now (512x512x512): {peak:.1f} GFLOP/s; chunked forward achieves "
          + ", ".join(f"{n} {g:.1f} GFLOP/s ({g / peak:.1%} of peak)" for n, g in achieved.items())
          + " (analytic count of its matrix products)")

    w = bench_wake()
    print(f"\nwake latency, model.step (d_model=64, AFAF, L={w['window']}, B=1, float32, {w['params']} params): "
          f"median {w['step_ms_median']:.3f} ms/token, p90 {w['step_ms_p90']:.3f} ms; "
          f"model.sleep (N={w['passes']}) {w['sleep_ms_median']:.2f} ms/window")

    figures = {
        "threads": torch.get_num_threads(),
        "loadavg_1m_at_start": round(load, 2),
        "other_runnable_at_start": others,
        "loop_fwd_bwd_ms": round(r["fwd_bwd"]["loop"], 3),
        "c32_fwd_bwd_ms": round(r["fwd_bwd"]["c32"], 3),
        "c64_fwd_bwd_ms": round(r["fwd_bwd"]["c64"], 3),
        "fwd_bwd_speedup_c32": round(r["fwd_bwd"]["loop"] / r["fwd_bwd"]["c32"], 2),
        "fwd_bwd_speedup_c64": round(r["fwd_bwd"]["loop"] / r["fwd_bwd"]["c64"], 2),
        "fwd_speedup_c32": round(r["fwd"]["loop"] / r["fwd"]["c32"], 2),
        "fwd_speedup_c64": round(r["fwd"]["loop"] / r["fwd"]["c64"], 2),
        "matmul_peak_gflops": round(peak, 1),
        "c32_fwd_gflops": round(achieved["c32"], 2),
        "c64_fwd_gflops": round(achieved["c64"], 2),
        "wake_step_ms_median": round(w["step_ms_median"], 4),
        "sleep_window_ms_median": round(w["sleep_ms_median"], 3),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
