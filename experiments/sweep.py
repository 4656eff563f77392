"""Run a sweep of training runs in parallel processes, each resumable, each with its own log.

    python experiments/sweep.py experiments/rule110.json --runs-dir runs --parallel 2
    python experiments/sweep.py experiments/rule110.json --device cuda --parallel 8   # on a GPU box

A spec is JSON: {"common": [flags], "groups": {GROUP: [flags]}, "runs": [{"name", "group", "args"}]}.
Every run is `python -m sleepcore.train --out RUNS/NAME <common> <group flags> <args>`; rerunning the
sweep resumes each run from its last checkpoint (finished runs return at once). stdout/stderr go
to RUNS/NAME.log.

Calibration (`--calibrate SECONDS --budget-minutes M`): all runs first train side by side for
SECONDS into a scratch folder; the slowest run of each group sets that group's step count so it
fits M minutes. Runs in a group therefore share steps, data and schedule (equal budgets).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", help="sweep spec (JSON)")
    ap.add_argument("--runs-dir", default=str(ROOT / "runs"))
    ap.add_argument("--parallel", type=int, default=2, help="processes at once")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--only", default="", help="comma-separated run names")
    ap.add_argument("--max-minutes", type=float, default=0.0, help="per-run wall cap (stops with a checkpoint)")
    ap.add_argument("--steps", type=int, default=0, help="steps for every run (overrides calibration)")
    ap.add_argument("--calibrate", type=float, default=0.0, help="seconds of side-by-side timing first")
    ap.add_argument("--budget-minutes", type=float, default=6.0, help="training wall budget per run")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="flags appended to every run")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())
    runs = spec["runs"]
    if args.only:
        keep = set(args.only.split(","))
        runs = [r for r in runs if r["name"] in keep]
    out = Path(args.runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps_for: dict[str, int] = {}
    if args.calibrate:
        scratch = out / "_calibration"
        launch(spec, runs, scratch, args, ["--steps", "1000000", "--eval-every", "1000000", "--ckpt-every", "1000000",
                                            "--log-every", "2", "--max-minutes", str(args.calibrate / 60)])
        for group in {r.get("group", "") for r in runs}:
            secs = [seconds_per_step(scratch / r["name"] / "log.jsonl") for r in runs if r.get("group", "") == group]
            slowest = max(secs)
            steps_for[group] = max(100, int(args.budget_minutes * 60 / slowest * 0.9) // 50 * 50)
            print(f"[sweep] group {group!r}: slowest {slowest:.3f} s/step -> {steps_for[group]} steps", flush=True)
        (out / "calibration.json").write_text(json.dumps(steps_for, indent=2))
    extra = ["--max-minutes", str(args.budget_minutes * 1.25)] if args.calibrate and not args.max_minutes else []
    status = launch(spec, runs, out, args, extra, steps_for)
    (out / "sweep_status.json").write_text(json.dumps(status, indent=2))
    return 0 if all(s["returncode"] == 0 for s in status.values()) else 1


def seconds_per_step(log: Path) -> float:
    """Mean seconds per step from a run's log, skipping the first record (start-up)."""
    recs = [json.loads(ln) for ln in log.read_text().splitlines() if ln.strip()] if log.is_file() else []
    recs = [r for r in recs if "loss" in r]
    if len(recs) < 3:
        return 60.0  # too slow to log three times: treat as very slow
    a, b = recs[1], recs[-1]
    return (b["wall_seconds"] - a["wall_seconds"]) / max(1, b["step"] - a["step"])


def launch(spec: dict, runs: list[dict], out: Path, args, extra: list[str], steps_for: dict | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    queue = list(runs)
    active: list[tuple[str, subprocess.Popen, float]] = []
    status = {}
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(args.threads)}
    while queue or active:
        while queue and len(active) < args.parallel:
            r = queue.pop(0)
            group = r.get("group", "")
            steps = args.steps or (steps_for or {}).get(group)
            cmd = [sys.executable, "-m", "sleepcore.train", "--out", str(out / r["name"]), "--no-progress",
                   "--threads", str(args.threads), "--device", args.device, *spec.get("common", []),
                   *spec.get("groups", {}).get(group, []), *r["args"], *(["--steps", str(steps)] if steps else []),
                   *(["--max-minutes", str(args.max_minutes)] if args.max_minutes else []), *extra, *args.extra]
            log = open(out / f"{r['name']}.log", "a")
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            active.append((r["name"], subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env),
                           time.time()))
            print(f"[sweep] started {r['name']}", flush=True)
        time.sleep(2)
        for item in list(active):
            name, proc, t0 = item
            if proc.poll() is not None:
                active.remove(item)
                status[name] = {"returncode": proc.returncode, "minutes": round((time.time() - t0) / 60, 2)}
                print(f"[sweep] {name} exited {proc.returncode} after {status[name]['minutes']} min", flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
