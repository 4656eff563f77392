"""What memory costs: wake latency and memory against context length, and the time of one sleep
against the number of passes N. Shared by `bench/bench_wake_latency.py`, `bench/bench_sleep_cost.py`
and the app's "Cost of memory" page (this module never imports streamlit).

Two models in one shape, both FRESHLY INITIALISED (latency depends on the tensors' shapes, not on the
trained values):
  hybrid       the given layers (e.g. "AF"), window L, N sleep passes, hard eviction: it sleeps
               (`model.sleep(mem, passes=N)`) whenever its window is full; those sleeps are timed
               apart from the wake steps.
  transformer  the same shape with every block attention and eviction "none": it never evicts and
               attends to its whole KV cache (for eviction "none" the model passes window=None to
               the attention; L then only sets the period of the in-window position embedding).

Memory is `mem.kv.nbytes() + mem.fast.nbytes()`: cached keys/values plus the fast weights S (the int64
position index and the window's hidden states are not counted).

Measurements alternate what they compare (rotating order, median of repeats) so that load drift on a
shared machine hits every cell alike; read ratios, not absolute times.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .config import ModelConfig, SleepConfig, from_dict
from .model import SleepingHybrid
from .state import Memory

__all__ = ["FILL_CHUNK", "MODELS", "SleepCurve", "WakeCurve", "bench_reference", "build_models", "build_sleeper",
           "curve_from_records", "curve_from_samples", "estimate_seconds", "fill", "fill_window", "linear_fit",
           "machine_load", "measure_sleep", "measure_wake", "memory_bytes", "new_record", "other_runnable",
           "run_block", "shape_from_config", "time_sleeps", "time_wake"]

FILL_CHUNK = 2048            # tokens per model.forward call while filling (forward splits them into windows)
MODELS = ("hybrid", "transformer")

Progress = Callable[[float, str], None]   # (fraction done in 0..1, what is happening now)


def _quiet(fraction: float, text: str) -> None:
    pass


# ---------------------------------------------------------------------------- the machine
def other_runnable(samples: int = 10, interval: float = 0.05) -> int | None:
    """Runnable tasks other than this one (Linux /proc/loadavg), the least of `samples` readings
    `interval` seconds apart (a single reading also counts short-lived processes); None off Linux."""
    counts = []
    for _ in range(samples):
        try:
            counts.append(int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]))
        except (OSError, ValueError, IndexError):
            return None
        time.sleep(interval)
    return max(min(counts) - 1, 0)


def machine_load(samples: int = 5, interval: float = 0.02) -> dict:
    """{"loadavg_1m", "other_runnable", "cores"}: how busy the machine is right now (a quick check)."""
    try:
        load = round(os.getloadavg()[0], 2)
    except OSError:
        load = None
    return {"loadavg_1m": load, "other_runnable": other_runnable(samples, interval), "cores": os.cpu_count()}


# ---------------------------------------------------------------------------- the two models
def shape_from_config(cfg: dict, window: int | None = None, passes: int | None = None
                      ) -> tuple[ModelConfig, int, int]:
    """(model config, L, N) from a checkpoint's config dict (its "model" and "sleep" parts).

    The position table is widened to L if a larger window is asked for.
    """
    mcfg = from_dict(ModelConfig, cfg["model"])
    scfg = from_dict(SleepConfig, cfg.get("sleep") or {})
    L = window or scfg.window
    N = passes or scfg.passes
    return dataclasses.replace(mcfg, max_window=max(mcfg.max_window, L)), L, N


def build_models(mcfg: ModelConfig, window: int, passes: int, seed: int = 0) -> dict[str, SleepingHybrid]:
    """{"hybrid", "transformer"}: fresh models (eval mode) in the shape of `mcfg` (see the module docstring)."""
    with torch.random.fork_rng(devices=[]):      # seeded init without touching the caller's random state
        torch.manual_seed(seed)
        hybrid = SleepingHybrid(mcfg, SleepConfig(window=window, passes=passes, eviction="hard")).eval()
        torch.manual_seed(seed)
        attn = SleepingHybrid(dataclasses.replace(mcfg, layers="A" * len(mcfg.layers)),
                              SleepConfig(window=window, passes=1, eviction="none")).eval()
    return {"hybrid": hybrid, "transformer": attn}


def build_sleeper(mcfg: ModelConfig, window: int, seed: int = 0) -> SleepingHybrid:
    """A fresh hybrid (eval mode, hard eviction) whose sleeps are timed by `time_sleeps`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SleepingHybrid(mcfg, SleepConfig(window=window, passes=1, eviction="hard")).eval()


def memory_bytes(mem: Memory) -> int:
    """Bytes of what the model remembers: cached keys/values + fast weights S."""
    return mem.kv.nbytes() + mem.fast.nbytes()


# ---------------------------------------------------------------------------- wake latency against context
@torch.no_grad()
def fill(model: SleepingHybrid, contexts: list[int], seed: int, progress: Progress = _quiet
         ) -> tuple[dict[int, Memory], float]:
    """Memories of the model at each context length (clones), built by one stream of random tokens.

    The tokens go through `model.forward` in chunks of FILL_CHUNK, which is what streaming computes:
    every full window of the hybrid is consolidated (N passes) and evicted.

    Returns:
        ({C: memory after C tokens}, seconds it took).
    """
    g = torch.Generator().manual_seed(seed)
    mem = model.new_memory(1)
    out, t0, last = {}, time.perf_counter(), max(contexts)
    for C in sorted(contexts):
        while mem.position < C:
            n = min(FILL_CHUNK, C - mem.position)
            toks = torch.randint(0, model.cfg.vocab_size, (1, n), generator=g)
            model(toks, memory=mem)
            progress(mem.position / last, f"{mem.position:,} of {last:,} tokens")
        out[C] = mem.clone()
    return out, time.perf_counter() - t0


def new_record(mem: Memory) -> dict:
    """What `run_block` accumulates for one (model, context): step and sleep seconds, peak bytes."""
    return {"step": [], "sleep": [], "peak": memory_bytes(mem)}


@torch.no_grad()
def run_block(model: SleepingHybrid, mem: Memory, n: int, passes: int, rng: torch.Generator, rec: dict) -> None:
    """Time `n` wake steps (`model.step`) on random tokens, sleeping (timed apart) whenever the window fills."""
    toks = torch.randint(0, model.cfg.vocab_size, (n,), generator=rng).tolist()
    for tok in toks:
        if mem.window_full and mem.kv.policy != "none":
            t0 = time.perf_counter()
            model.sleep(mem, passes=passes)
            rec["sleep"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.step(tok, mem)
        rec["step"].append(time.perf_counter() - t0)
        rec["peak"] = max(rec["peak"], memory_bytes(mem))


def time_wake(models: dict[str, SleepingHybrid], mems: dict[str, dict[int, Memory]], contexts: list[int],
              steps: int, block: int, passes: int, rng_seed: int = 2, progress: Progress = _quiet
              ) -> dict[tuple[str, int], dict]:
    """Time every (model, context) pair for about `steps` wake steps, in blocks of `block`.

    Each round visits all pairs in a rotating order, so load drift hits them alike; one block per model
    is run first on a throwaway clone (warm-up). The memories in `mems` advance (the context grows by
    the timed steps).

    Returns:
        {(model name, C): record} with "step" and "sleep" (seconds per call) and "peak" (bytes).
    """
    contexts = sorted(contexts)
    pairs = [(name, C) for C in contexts for name in models]
    recs = {p: new_record(mems[p[0]][p[1]]) for p in pairs}
    rng = torch.Generator().manual_seed(rng_seed)
    for name, m in models.items():  # warm-up on a throwaway copy
        warm = mems[name][contexts[0]].clone()
        run_block(m, warm, block, passes, rng, new_record(warm))
    rounds = -(-steps // block)
    for r in range(rounds):
        k = r % len(pairs)
        for name, C in pairs[k:] + pairs[:k]:
            run_block(models[name], mems[name][C], block, passes, rng, recs[(name, C)])
        progress((r + 1) / rounds, f"round {r + 1} of {rounds}")
    return recs


def _ms(xs: list[float], q: float = 0.5) -> float:
    if not xs:
        return float("nan")
    if q == 0.5:
        return statistics.median(xs) * 1e3
    s = sorted(xs)
    return s[int(q * (len(s) - 1))] * 1e3


@dataclass(frozen=True)
class WakeCurve:
    """Per-token wake latency and memory of both models at each context length (lists in `contexts` order).

    Attributes:
        contexts: context lengths C (tokens seen before the timed steps).
        hybrid_ms, transformer_ms: median `model.step` time (ms per token).
        hybrid_p90, transformer_p90: 90th percentile (ms).
        hybrid_bytes, transformer_bytes: peak KV + S bytes over the timed steps.
        sleep_ms: median `model.sleep` time of the hybrid during the timed steps (NaN if none happened).
        window, passes: the hybrid's L and N; layers: its block pattern; steps: timed steps per cell.
        fill_s: seconds each model took to reach the largest context (not timed).
    """

    contexts: list[int]
    hybrid_ms: list[float]
    transformer_ms: list[float]
    hybrid_p90: list[float]
    transformer_p90: list[float]
    hybrid_bytes: list[int]
    transformer_bytes: list[int]
    sleep_ms: float
    window: int
    passes: int
    layers: str
    steps: int
    fill_s: dict[str, float]

    @property
    def amortised_ms(self) -> list[float]:
        """Hybrid wake + its sleep spread over the window's tokens (ms per token)."""
        return [h + self.sleep_ms / self.window for h in self.hybrid_ms]


def curve_from_records(recs: dict[tuple[str, int], dict], contexts: list[int], window: int, passes: int,
                       layers: str, steps: int, fill_s: dict[str, float]) -> WakeCurve:
    contexts = sorted(contexts)
    sleeps = [s for C in contexts for s in recs[("hybrid", C)]["sleep"]]
    col = {f"{m}_{what}": [(_ms(recs[(m, C)]["step"]) if what == "ms" else _ms(recs[(m, C)]["step"], 0.9))
                           for C in contexts] for m in MODELS for what in ("ms", "p90")}
    return WakeCurve(contexts=contexts, **col,
                     hybrid_bytes=[recs[("hybrid", C)]["peak"] for C in contexts],
                     transformer_bytes=[recs[("transformer", C)]["peak"] for C in contexts],
                     sleep_ms=_ms(sleeps), window=window, passes=passes, layers=layers, steps=steps, fill_s=fill_s)


def measure_wake(mcfg: ModelConfig, window: int, passes: int, contexts: list[int], steps: int = 20,
                 block: int = 5, progress: Progress = _quiet) -> WakeCurve:
    """Build both models, fill them to every context and time their wake steps (one call, the page's)."""
    contexts = sorted(set(int(c) for c in contexts))
    models = build_models(mcfg, window, passes)
    share = {"hybrid": 0.3, "transformer": 0.3}     # rough split of the progress bar: fill, fill, then timing
    mems, fill_s, done = {}, {}, 0.0
    for name, m in models.items():
        mems[name], fill_s[name] = fill(
            m, contexts, seed=1,
            progress=lambda f, t, d=done, n=name: progress(d + share[n] * f, f"filling the {n}: {t}"))
        done += share[name]
    recs = time_wake(models, mems, contexts, steps, block, passes,
                     progress=lambda f, t: progress(done + (1 - done) * f, f"timing wake steps: {t}"))
    return curve_from_records(recs, contexts, window, passes, mcfg.layers, -(-steps // block) * block, fill_s)


def estimate_seconds(contexts: list[int], steps: int, max_passes: int, repeats: int) -> float:
    """A rough wall time of `measure_wake` + `measure_sleep` on a quiet 2-core CPU, one thread (from the
    benches: filling costs ~0.3 ms per token for the hybrid, ~(0.1 + C / 60k) ms for the transformer;
    a sleep pass over 17 tokens ~1 ms). A busy machine takes about twice as long."""
    C = max(contexts)
    fill_s = C * 0.3e-3 + C * (0.1 + C / 60_000) * 1e-3
    wake_s = steps * sum(0.7e-3 + 0.6e-3 + c * 0.3e-6 for c in contexts)
    sleep_s = repeats * max_passes * (max_passes - 1) / 2 * 1e-3
    return 0.5 + fill_s + wake_s + sleep_s


# ---------------------------------------------------------------------------- one sleep against N
@torch.no_grad()
def fill_window(model: SleepingHybrid, batch: int = 1, seed: int = 1) -> Memory:
    """A memory whose window is exactly full (L random tokens fed by `model.step`), ready to sleep."""
    g = torch.Generator().manual_seed(seed)
    full = model.new_memory(batch)
    for _ in range(model.sleep_cfg.window):
        model.step(torch.randint(0, model.cfg.vocab_size, (batch,), generator=g), full)
    assert full.window_full
    return full


def time_sleeps(model: SleepingHybrid, full: Memory, Ns: list[int], repeats: int, progress: Progress = _quiet
                ) -> dict[int, list[float]]:
    """Seconds of `model.sleep(clone of full, passes=N)` for each N, `repeats` times each.

    Every sleep consolidates the same window (the clone is not timed). One warm-up sleep per N; then
    each repeat visits the Ns in a rotating order.
    """
    def once(N: int) -> float:
        mem = full.clone()
        t0 = time.perf_counter()
        model.sleep(mem, passes=N)
        return time.perf_counter() - t0

    for N in Ns:  # warm-up
        once(N)
    samples: dict[int, list[float]] = {N: [] for N in Ns}
    for r in range(repeats):
        k = r % len(Ns)
        for N in Ns[k:] + Ns[:k]:
            samples[N].append(once(N))
        progress((r + 1) / repeats, f"repeat {r + 1} of {repeats}")
    return samples


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares line y = a + b x; returns (a, b)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


@dataclass(frozen=True)
class SleepCurve:
    """Time of one sleep against N, with the fitted line t(N) = intercept + per_pass * N.

    Attributes:
        passes: the Ns (1 = eviction only, no offline pass).
        median_ms, q25_ms, q75_ms: per N, over the repeats.
        intercept_ms, per_pass_ms: the least-squares line through the medians.
        max_rel_dev: max over N >= 2 of |median - fit| / fit (N = 1 is ~0 ms, where a ratio means nothing).
        window: L, the tokens each pass runs over; repeats: timed sleeps per N.
    """

    passes: list[int]
    median_ms: list[float]
    q25_ms: list[float]
    q75_ms: list[float]
    intercept_ms: float
    per_pass_ms: float
    max_rel_dev: float
    window: int
    repeats: int

    def fit(self, n: float) -> float:
        return self.intercept_ms + self.per_pass_ms * n


def curve_from_samples(samples: dict[int, list[float]], window: int) -> SleepCurve:
    Ns = sorted(samples)
    med = [_ms(samples[N]) for N in Ns]
    quart = [statistics.quantiles([s * 1e3 for s in samples[N]], n=4, method="inclusive")
             if len(samples[N]) > 1 else [med[i]] * 3 for i, N in enumerate(Ns)]
    a, b = linear_fit([float(N) for N in Ns], med) if len(Ns) > 1 else (med[0], 0.0)
    rel = [abs(m - (a + b * N)) / (a + b * N) for N, m in zip(Ns, med) if N > 1 and a + b * N > 0]
    return SleepCurve(passes=Ns, median_ms=med, q25_ms=[q[0] for q in quart], q75_ms=[q[2] for q in quart],
                      intercept_ms=a, per_pass_ms=b, max_rel_dev=max(rel, default=float("nan")), window=window,
                      repeats=len(samples[Ns[0]]))


def measure_sleep(mcfg: ModelConfig, window: int, max_passes: int = 8, repeats: int = 7,
                  progress: Progress = _quiet) -> SleepCurve:
    """Time one sleep of a fresh hybrid for N = 1..max_passes (one call, the page's)."""
    model = build_sleeper(mcfg, window)
    full = fill_window(model)
    samples = time_sleeps(model, full, list(range(1, max_passes + 1)), repeats, progress)
    return curve_from_samples(samples, window)


# ---------------------------------------------------------------------------- committed bench results
def bench_reference(markdown: str) -> dict:
    """The figures the two benches printed in a results document (docs/performance.md).

    Each bench ends its output with one JSON line; the first such line of the wake bench (it has
    "hybrid_step_ms") and of the sleep bench (it has "sleep_ms_median") are read, and the date from a
    table row "| when | YYYY-MM-DD ...".

    Returns:
        {"wake": WakeCurve or None, "sleep": SleepCurve or None, "date": str or None,
         "wake_load": 1-min load at its start or None, "sleep_load": likewise}.
    """
    out: dict = {"wake": None, "sleep": None, "date": None, "wake_load": None, "sleep_load": None}
    m = re.search(r"^\|\s*when\s*\|\s*(\d{4}-\d{2}-\d{2})", markdown, re.MULTILINE)
    out["date"] = m.group(1) if m else None
    for line in markdown.splitlines():
        if not line.startswith("{"):
            continue
        try:
            fig = json.loads(line)
        except ValueError:
            continue
        try:
            if out["wake"] is None and "hybrid_step_ms" in fig:
                nan = [math.nan] * len(fig["contexts"])
                out["wake"] = WakeCurve(
                    contexts=list(fig["contexts"]), hybrid_ms=list(fig["hybrid_step_ms"]),
                    transformer_ms=list(fig["transformer_step_ms"]), hybrid_p90=nan, transformer_p90=nan,
                    hybrid_bytes=list(fig["hybrid_bytes_peak"]), transformer_bytes=list(fig["transformer_bytes_peak"]),
                    sleep_ms=float(fig["hybrid_sleep_ms_median"]), window=int(fig["window"]),
                    passes=int(fig["passes"]), layers=str(fig["layers_hybrid"]), steps=0, fill_s={})
                out["wake_load"] = fig.get("loadavg_1m_at_start")
            elif out["sleep"] is None and "sleep_ms_median" in fig:
                med = {int(n): float(v) for n, v in fig["sleep_ms_median"].items()}
                Ns = sorted(med)
                out["sleep"] = SleepCurve(
                    passes=Ns, median_ms=[med[n] for n in Ns], q25_ms=[med[n] for n in Ns],
                    q75_ms=[med[n] for n in Ns], intercept_ms=float(fig["fit_intercept_ms"]),
                    per_pass_ms=float(fig["per_pass_ms"]), max_rel_dev=float(fig["max_rel_dev_from_fit"]),
                    window=int(fig["window"]), repeats=int(fig["repeats"]))
                out["sleep_load"] = fig.get("loadavg_1m_at_start")
        except (KeyError, TypeError, ValueError):     # a line of another shape: not one of these benches
            continue
    return out
