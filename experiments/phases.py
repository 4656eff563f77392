"""Walk each run of a recipe through its training phases in order, each phase continued from the last.

    python experiments/phases.py curr --parallel 2 --max-minutes 150     # the curriculum recipe, 4,000 -> 10,000

A chain is a list of run sets (experiments/inflight.py), one per phase, each a sweep spec whose runs start with
`--init-from` from the previous phase's folder. Every run goes through the phases on its own: a worker takes a run,
skips the phases it has finished, resumes or starts the next one with `experiments/sweep.py ... --only RUN`, and
goes on to the following phase as soon as that one ends, so no core waits for the slowest run of a phase. A phase
starts only from a finished one (sleepcore.train refuses `--init-from` a run stopped part-way). `--max-minutes` is a
wall deadline for the whole walk: each training process gets what is left of it and stops at a checkpoint, so
rerunning the same command later resumes where it stopped. Each run's output goes to its phase folder's RUN.log, as
with the sweep.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inflight  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHAINS = {"curr": inflight.CURR_PHASES}
MIN_MINUTES = 3.0   # less time than this left: do not start another training process


def run_names(chain: list[inflight.RunSet]) -> list[str]:
    """Every run of a chain once, in the order the last phase lists them (the runs of an N=1 / N=4 pair first)."""
    names: list[str] = []
    for rs in reversed(chain):
        names += [r for r in rs.runs.values() if r not in names]
    return names


def pick_runs(chain: list[inflight.RunSet], only: str) -> list[str]:
    """The runs to walk: every run of the chain, or those `only` names (comma-separated) in the order it names them,
    so the runs that complete a comparison can go first. Raises ValueError naming any run the chain lacks."""
    runs = run_names(chain)
    if not only:
        return runs
    asked = list(dict.fromkeys(r for r in only.split(",") if r))
    unknown = [r for r in asked if r not in runs]
    if unknown:
        raise ValueError(f"no run {', '.join(unknown)}")
    return asked


def phases_of(chain: list[inflight.RunSet], run: str) -> list[inflight.RunSet]:
    """The phases a run goes through, in order (a run's first phase may live in one of several run sets)."""
    return [rs for rs in chain if run in rs.runs.values()]


def walk(run: str, chain: list[inflight.RunSet], deadline: float, threads: int, say) -> str:
    """Train `run` through its phases until all are finished, one stops short, or the deadline; -> where it stands."""
    for rs in phases_of(chain, run):
        p = rs.progress(run)
        if p is not None and p["step"] >= rs.steps:
            continue
        left = (deadline - time.time()) / 60
        if left < MIN_MINUTES:
            return f"{run}: out of time before {rs.spec} (step {p['step'] if p else 0:,} of {rs.steps:,})"
        cmd = [sys.executable, str(ROOT / "experiments" / "sweep.py"), rs.spec, "--runs-dir", rs.runs_dir,
               "--steps", str(rs.steps), "--parallel", "1", "--threads", str(threads), "--only", run,
               "--max-minutes", f"{left:.1f}"]
        say(f"{run}: {rs.spec} to {rs.steps:,} steps ({left:.0f} min left)")
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
        p = rs.progress(run)
        if p is None or p["step"] < rs.steps:
            return (f"{run}: stopped in {rs.spec} at step {p['step'] if p else 0:,} of {rs.steps:,} "
                    f"(see {rs.runs_dir}/{run}.log)")
        say(f"{run}: finished {rs.spec} ({rs.steps:,} steps)")
    return f"{run}: every phase finished"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chain", choices=sorted(CHAINS))
    ap.add_argument("--parallel", type=int, default=2, help="runs trained at once, one process each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--only", default="",
                    help="comma-separated run names, taken in the order given (default: every run of the chain)")
    ap.add_argument("--max-minutes", type=float, default=150.0, help="wall deadline for the whole walk")
    args = ap.parse_args(argv)
    chain = CHAINS[args.chain]
    try:
        runs = pick_runs(chain, args.only)
    except ValueError as e:
        ap.error(f"--only: {e} in chain {args.chain}; its runs: {', '.join(run_names(chain))}")
    deadline = time.time() + 60 * args.max_minutes

    def say(msg: str) -> None:
        print(f"[phases {time.strftime('%H:%M:%S')}] {msg}", flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        ends = list(pool.map(lambda r: walk(r, chain, deadline, args.threads, say), runs))
    for line in ends:
        say(line)
    return 0 if all(line.endswith("every phase finished") for line in ends) else 1


if __name__ == "__main__":
    raise SystemExit(main())
