"""Training that spans sessions: the committed state of runs still in progress.

A session here is three hours on two cores and starts from a fresh clone, so a run that needs more
than that carries on only if its state is committed. The all-cells Rule 110 continuation
(`experiments/sweep_rule110_cells_long.json`, 4,000 -> 6,000 steps for five runs) keeps its run
folders in RESUME_DIR; git holds just what a resume reads (`train_state.safetensors`: weights,
optimiser state and step in one file) plus `config.json`, `train_state.json` and `log.jsonl`.
Rerunning RESUME_COMMAND resumes every run from its last 250-step checkpoint; `--max-minutes` stops
each run cleanly with a checkpoint before a session ends. When every run has reached the end of its
schedule, copy the folders over `checkpoints/rule110-cells-*` and rerun `experiments/report.py` and
`experiments/cards.py`.

    python experiments/inflight.py        # where each run stands
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESUME_DIR = "experiments/resume/r110cells_long"
LONG_SPEC = "experiments/sweep_rule110_cells_long.json"
LONG_STEPS = 6000
RESUME_COMMAND = (f"python experiments/sweep.py {LONG_SPEC} --runs-dir {RESUME_DIR} --steps {LONG_STEPS} "
                  "--parallel 5 --max-minutes 120")
RUNS = {"rule110-cells-n1": "r110cells-n1", "rule110-cells-n1-seed1": "r110cells-n1-seed1",
        "rule110-cells-n2": "r110cells-n2", "rule110-cells-n4": "r110cells-n4",
        "rule110-cells-n4-seed1": "r110cells-n4-seed1"}


def progress(run: str) -> dict | None:
    """{"step", "wall_seconds", "last_eval"} of a run in RESUME_DIR, or None if it holds no state."""
    folder = ROOT / RESUME_DIR / run
    if not (folder / "train_state.json").is_file():
        return None
    meta = json.loads((folder / "train_state.json").read_text())
    step = int(meta["step"])
    evals = []
    if (folder / "log.jsonl").is_file():
        evals = [r for r in map(json.loads, (folder / "log.jsonl").read_text().splitlines())
                 if "eval" in r and r["step"] <= step]
    return {"step": step, "wall_seconds": float(meta.get("wall_seconds", 0.0)),
            "last_eval": evals[-1] if evals else None}


def unfinished() -> dict[str, dict]:
    """Checkpoint name -> progress, for the runs whose state is committed but not yet at LONG_STEPS."""
    out = {}
    for name, run in RUNS.items():
        p = progress(run)
        if p is not None and p["step"] < LONG_STEPS:
            out[name] = p
    return out


def main() -> int:
    for name, run in RUNS.items():
        p = progress(run)
        if p is None:
            print(f"{run}: no state in {RESUME_DIR}")
            continue
        ev = p["last_eval"]
        deepest = ""
        if ev:
            depth = max(ev["eval"]["per_depth"], key=int)
            deepest = f"; at step {ev['step']}, t={depth} fresh exact match {ev['eval']['per_depth'][depth]:.3f}"
        print(f"{run}: step {p['step']:,} of {LONG_STEPS:,}, {p['wall_seconds']:,.0f} s of training in all{deepest}")
    print(f"resume: {RESUME_COMMAND}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
