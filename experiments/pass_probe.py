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
from sleepcore.tasks import task_from_config  # noqa: E402
from sleepcore.tasks.automaton import CellularAutomaton, evolve  # noqa: E402
from sleepcore.trace import Trace  # noqa: E402


def hidden_by_pass(model, tokens: torch.Tensor, passes: int, chunk: int = 250) -> dict[str, torch.Tensor]:
    """Hidden states (B, C, D) of the state window after each pass ("pass 1".."pass N") and of the
    prediction window ("read-out"), run with `passes` sleep passes, in chunks so the trace stays small."""
    parts: dict[str, list[torch.Tensor]] = {}
    with torch.no_grad():
        for a in range(0, tokens.shape[0], chunk):
            trace = Trace()
            model(tokens[a:a + chunk], passes=passes, trace=trace)
            for f in trace.passes():
                key = f"pass {f.pass_index}" if f.window == 0 else "read-out"
                parts.setdefault(key, []).append(f["hidden"])
    return {k: torch.cat(v) for k, v in parts.items()}


def probe_accuracy(x: torch.Tensor, y: torch.Tensor, split: int, l2: float = 1e-3) -> float:
    """Logistic regression y ~ x fitted on rows [:split], accuracy on rows [split:]."""
    mu, sd = x[:split].mean(0), x[:split].std(0) + 1e-6
    x = (x - mu) / sd
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")
    xt, yt = x[:split], y[:split].float()

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float((((x[split:] @ w + b) > 0).long() == y[split:]).float().mean())


def probe_model(folder: str, depth: int, samples: int, seed: int = 0) -> dict:
    model, cfg = load_checkpoint(ROOT / folder)                              # ROOT / an absolute path is that path
    task = task_from_config(cfg["task"])
    if not isinstance(task, CellularAutomaton):
        raise SystemExit(f"{folder}: not an automaton checkpoint (task {task.name})")
    if task.states != 1 or task.cells != task.width:
        raise SystemExit(f"{folder}: the probe needs one state per sample and every cell asked (cells=width)")
    lo, hi = task.steps_range
    if not lo <= depth <= hi:
        raise SystemExit(f"--depth must be a depth the model was trained on, {lo}..{hi}; got {depth}")
    if samples < 8:
        raise SystemExit(f"--samples must be at least 8 (half fit the probes, half score them); got {samples}")
    batch = task.sample(samples, seed=seed, split="held_out", depth=depth)
    W, L = task.width, task.window
    states = torch.tensor([r["states"][0] for r in batch.raw])               # (B, W): one state per sample
    rows = evolve(states, task.rule, depth, task.boundary)                   # (B, depth + 1, W)
    N = model.sleep_cfg.passes
    split = samples // 2 * W                                                 # first half of the samples fits
    out = {"checkpoint": folder, "depth": depth, "samples": samples, "passes": N, "tokens": {}, "memory": {}}

    def probe(h: torch.Tensor) -> list[float]:
        x = h.reshape(-1, h.shape[-1])
        return [probe_accuracy(x, rows[:, s].reshape(-1), split) for s in range(depth + 1)]

    hidden = hidden_by_pass(model, batch.tokens, N)
    for n in range(1, N + 1):                                                # cell j's token after pass n
        out["tokens"][n] = probe(hidden[f"pass {n}"][:, L - W:L])
    for n in range(1, N + 1):                   # query j after the eviction, had the model slept n passes:
        h = hidden if n == N else hidden_by_pass(model, batch.tokens, n)     # passes 1..n are the same passes
        out["memory"][n] = probe(h["read-out"][:, :W])
    ring = torch.stack([states.roll(-j, -1) for j in range(W)], 1).float()  # (B, W, W): the row seen from cell j
    out["input"] = probe(ring)                   # what a linear read of the input row alone gets: no computation
    out["chance"] = [float(max(m, 1 - m)) for m in (rows[samples // 2:, s].float().mean().item()
                                                     for s in range(depth + 1))]
    return out


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
                print(f"  {where} {n:<3d}" + " ".join(f"{a:.3f} " for a in accs))
        print(f"  {'input row':10s}" + " ".join(f"{a:.3f} " for a in r["input"]))
        print(f"  {'chance':10s}" + " ".join(f"{a:.3f} " for a in r["chance"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"command": "python experiments/pass_probe.py " + " ".join(
            (argv if argv is not None else sys.argv[1:])), "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
