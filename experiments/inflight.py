"""Training that spans sessions: sets of runs whose state is committed so the next session resumes them.

A session here is three hours on two cores and starts from a fresh clone, so a run that needs more
than that carries on only if its state is committed. A set keeps its run folders in `runs_dir`; git
holds just what a resume reads (`train_state.safetensors`: weights, optimiser state and step in one
file) plus `config.json`, `train_state.json` and `log.jsonl` (model.safetensors and logs are ignored;
a resume that finds a run already at its last step writes model.safetensors back). Rerunning a set's
`command` resumes every run from its last checkpoint; `--max-minutes` stops each run cleanly with a
checkpoint before a session ends, and finished runs return at once.

    python experiments/inflight.py        # where each run of each unfinished set stands (--all: every set)

CELLS_LONG, the all-cells Rule 110 second phase (4,000 -> 6,000 steps), was carried over three
sessions and finished on 2026-11-28; its runs were copied into `checkpoints/rule110-cells-*` and its
folder deleted. It stays here as the record of how that phase was launched (model cards and
docs/results.md quote its command). CELLS_SEED2, a third all-cells N=4 seed, finished the same way
on 2026-11-29 and shipped as checkpoints/rule110-cells-n4-seed2, and so did CELLS_N2_SEED1, a second
all-cells N=2 seed (checkpoints/rule110-cells-n2-seed1). The third to fifth phases of all seven
whole-row runs (CELLS_P3, CELLS_P4, CELLS_P5) finished the same way; the fifth shipped the 10,000-step
models on 2026-11-29. Their run folders stay committed: a later phase starts from them (--init-from).
CELLS_ATTN, the whole-row attention-only baselines through the same five phases, finished on 2026-11-29
and shipped as checkpoints/rule110-cells-attn-*; their folders stay committed too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RunSet:
    about: str
    spec: str               # the sweep spec (experiments/sweep_*.json)
    runs_dir: str           # where the run folders live (committed while the set is in flight)
    steps: int              # the schedule's end, the same for every run of the set
    runs: dict[str, str] = field(default_factory=dict)   # name it ships under in checkpoints/ -> run in the spec
    parallel: int = 2
    max_minutes: int = 120
    threads: int = 1        # torch threads per process

    @property
    def command(self) -> str:
        every = [r["name"] for r in json.loads((ROOT / self.spec).read_text())["runs"]]
        threads = f" --threads {self.threads}" if self.threads != 1 else ""
        only = "" if sorted(every) == sorted(self.runs.values()) else f" --only {','.join(self.runs.values())}"
        return (f"python experiments/sweep.py {self.spec} --runs-dir {self.runs_dir} --steps {self.steps} "
                f"--parallel {self.parallel}{threads}{only} --max-minutes {self.max_minutes}")

    def progress(self, run: str) -> dict | None:
        """{"step", "wall_seconds", "last_eval"} of a run of this set, or None if its folder holds no state."""
        folder = ROOT / self.runs_dir / run
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

    def unfinished(self) -> dict[str, dict]:
        """Checkpoint name -> progress, for the runs whose state is committed but not yet at `steps`."""
        out = {}
        for name, run in self.runs.items():
            p = self.progress(run)
            if p is not None and p["step"] < self.steps:
                out[name] = p
        return out


CELLS_LONG = RunSet(
    about="Rule 110 asking all 16 cells, second phase: five runs continued from 4,000 to 6,000 steps (finished)",
    spec="experiments/sweep_rule110_cells_long.json", runs_dir="experiments/resume/r110cells_long", steps=6000,
    runs={"rule110-cells-n1": "r110cells-n1", "rule110-cells-n1-seed1": "r110cells-n1-seed1",
          "rule110-cells-n2": "r110cells-n2", "rule110-cells-n4": "r110cells-n4",
          "rule110-cells-n4-seed1": "r110cells-n4-seed1"},
    parallel=5, max_minutes=120)

ARITH5 = RunSet(
    about="Arithmetic with five questions per problem, N=1 and N=4, seed 0 (the spec's second seeds come next)",
    spec="experiments/sweep_arith_q5.json", runs_dir="experiments/resume/arith5", steps=2000,
    runs={"arith5-n1": "arith5-n1", "arith5-n4": "arith5-n4"}, parallel=2, max_minutes=150)

CELLS_SEED2 = RunSet(
    about="Rule 110 asking all 16 cells, a third N=4 seed: 4,000 steps, then --steps 6000 in the same folder, as the "
          "first seeds were continued (finished on 2026-11-29 and shipped as checkpoints/rule110-cells-n4-seed2; its "
          "folder was then deleted, git keeps it: at step 4,000 in commit ca36bb1)",
    spec="experiments/sweep_rule110_cells_seed2.json", runs_dir="experiments/resume/r110cells_seed2", steps=6000,
    runs={"rule110-cells-n4-seed2": "r110cells-n4-seed2"}, parallel=1, max_minutes=150)

CELLS_N2_SEED1 = RunSet(
    about="Rule 110 asking all 16 cells, a second N=2 seed: 4,000 steps, then --steps 6000 in the same folder, as "
          "the first seeds were continued (finished on 2026-11-29 and shipped as checkpoints/rule110-cells-n2-seed1; "
          "its folder was then deleted, git keeps it: at step 4,000 in commit f16ed72)",
    spec="experiments/sweep_rule110_cells_n2_seed1.json", runs_dir="experiments/resume/r110cells_n2_seed1",
    steps=6000, runs={"rule110-cells-n2-seed1": "r110cells-n2-seed1"}, parallel=1, max_minutes=150)

AT6000_COMMIT = "4b0f656"   # the commit whose checkpoints/rule110-cells-* are the 6,000-step models CELLS_P3 started from

CELLS_P3 = RunSet(
    about="Rule 110 asking all 16 cells, third phase: all seven whole-row runs continued from 6,000 to 7,500 steps, "
          "one after another on 2 threads (the shipped 6,000-step models are in commit " + AT6000_COMMIT + ")",
    spec="experiments/sweep_rule110_cells_p3.json", runs_dir="experiments/resume/r110cells_p3", steps=7500,
    runs={"rule110-cells-n4": "r110cells-n4", "rule110-cells-n1": "r110cells-n1", "rule110-cells-n2": "r110cells-n2",
          "rule110-cells-n4-seed2": "r110cells-n4-seed2", "rule110-cells-n1-seed1": "r110cells-n1-seed1",
          "rule110-cells-n2-seed1": "r110cells-n2-seed1", "rule110-cells-n4-seed1": "r110cells-n4-seed1"},
    parallel=1, max_minutes=45, threads=2)

AT7500_COMMIT = "9bfae1d"   # the commit whose checkpoints/rule110-cells-* are the 7,500-step models CELLS_P4 started from

CELLS_P4 = RunSet(
    about="Rule 110 asking all 16 cells, fourth phase, a curriculum towards the deep end: all seven whole-row runs "
          "continued from 7,500 to 8,500 steps with t drawn in proportion to t^2 (task parameter depth_weights), one "
          "after another on 2 threads; each starts (--init-from) from its third-phase folder in "
          "experiments/resume/r110cells_p3/ (the shipped 7,500-step models are in commit " + AT7500_COMMIT + ")",
    spec="experiments/sweep_rule110_cells_p4.json", runs_dir="experiments/resume/r110cells_p4", steps=8500,
    runs={"rule110-cells-n4": "r110cells-n4", "rule110-cells-n4-seed2": "r110cells-n4-seed2",
          "rule110-cells-n1": "r110cells-n1", "rule110-cells-n1-seed1": "r110cells-n1-seed1",
          "rule110-cells-n2": "r110cells-n2", "rule110-cells-n2-seed1": "r110cells-n2-seed1",
          "rule110-cells-n4-seed1": "r110cells-n4-seed1"},
    parallel=1, max_minutes=45, threads=2)

AT8500_COMMIT = "dec3623"   # the commit whose checkpoints/rule110-cells-* are the 8,500-step models CELLS_P5 starts from

CELLS_P5 = replace(   # the same seven runs, launched the same way, one phase on
    CELLS_P4,
    about="Rule 110 asking all 16 cells, fifth phase: the fourth phase's curriculum (t drawn in proportion to t^2) goes "
          "on, all seven whole-row runs continued from 8,500 to 10,000 steps, one after another on 2 threads; each "
          "starts (--init-from) from its fourth-phase folder in experiments/resume/r110cells_p4/ (the shipped "
          "8,500-step models are in commit " + AT8500_COMMIT + ")",
    spec="experiments/sweep_rule110_cells_p5.json", runs_dir="experiments/resume/r110cells_p5", steps=10000)

CELLS_SEEDS34 = RunSet(
    about="Rule 110 asking all 16 cells, N=4 seeds 3 and 4, a screen of how often N=4 finds the deep computation "
          "(only seed 1 of seeds 0-2 did): the first phase, 4,000 steps from scratch, two runs side by side on one "
          "thread each; to join the comparison each then needs the later phases of the others (6,000 in the same "
          "folder, then the third to fifth phases)",
    spec="experiments/sweep_rule110_cells_seeds34.json", runs_dir="experiments/resume/r110cells_seeds34", steps=4000,
    runs={"rule110-cells-n4-seed3": "r110cells-n4-seed3", "rule110-cells-n4-seed4": "r110cells-n4-seed4"},
    parallel=2, max_minutes=150)

_ATTN_RUNS = {"rule110-cells-attn-evicted": "r110cells-attn-evicted", "rule110-cells-attn-kept": "r110cells-attn-kept",
              "rule110-cells-attn-evicted-seed1": "r110cells-attn-evicted-seed1",
              "rule110-cells-attn-kept-seed1": "r110cells-attn-kept-seed1"}
_ATTN_ABOUT = ("Rule 110 asking all 16 cells, the attention-only baselines (layers AA; cache evicted every window, "
               "and cache kept), two seeds each, put through the hybrids' five phases: ")
CELLS_ATTN = [   # one RunSet per phase, in order; phases 1-3 share a folder, so do phases 4-5
    RunSet(about=_ATTN_ABOUT + f"phase {i + 1}, to {steps:,} steps" + (" (in the same folder)" if i else " from scratch"),
           spec="experiments/sweep_rule110_cells_attn.json", runs_dir="experiments/resume/r110cells_attn",
           steps=steps, runs=_ATTN_RUNS, parallel=2, max_minutes=150)
    for i, steps in enumerate((4000, 6000, 7500))] + [
    RunSet(about=_ATTN_ABOUT + f"phase {i + 4}, to {steps:,} steps with t drawn in proportion to t^2, "
           + ("starting (--init-from) from the phase-3 folder" if i == 0 else "in the same folder"),
           spec="experiments/sweep_rule110_cells_attn_curr.json", runs_dir="experiments/resume/r110cells_attn_curr",
           steps=steps, runs=_ATTN_RUNS, parallel=2, max_minutes=150)
    for i, steps in enumerate((8500, 10000))]


def attn_phase() -> RunSet:
    """The phase of the attention-only baselines now under way: the first not finished by every run (the last
    when all are)."""
    for rs in CELLS_ATTN:
        if any((p := rs.progress(run)) is None or p["step"] < rs.steps for run in rs.runs.values()):
            return rs
    return CELLS_ATTN[-1]


def _pilot(kind: str, change: str) -> RunSet:
    """A one-seed pilot of a recipe change for the whole-row N=4 model: seed 0 (slow under the standard recipe),
    the 4,000-step first phase from scratch, in experiments/sweep_rule110_cells_<kind>_pilot.json."""
    return RunSet(about=f"Rule 110 asking all 16 cells, a pilot of a recipe change: N=4 seed 0 from scratch with "
                        f"{change}, the 4,000-step first phase, read at equal steps against the standard first phase",
                  spec=f"experiments/sweep_rule110_cells_{kind}_pilot.json",
                  runs_dir=f"experiments/resume/r110cells_{kind}_pilot", steps=4000,
                  runs={f"rule110-cells-{kind}-n4": f"r110cells-{kind}-n4"}, parallel=1, max_minutes=150)


CELLS_CURR_PILOT = _pilot("curr", "the curriculum towards the deep end (t drawn in proportion to t^2) from step 0")
CELLS_BETA_PILOT = _pilot("beta", "the write strength started low (--beta-bias -2)")

CELLS_CURR_SCREEN = RunSet(
    about="Rule 110 asking all 16 cells, the curriculum pilot's recipe (t drawn in proportion to t^2 from step 0) on "
          "fresh seeds, with a test fixed before they trained (report.CURR_T8): N=4 seeds 2 and 3, and N=1 seed 0, "
          "the 4,000-step first phase from scratch, one run per thread",
    spec="experiments/sweep_rule110_cells_curr_screen.json", runs_dir="experiments/resume/r110cells_curr_screen",
    steps=4000, runs={"rule110-cells-curr-n4-seed2": "r110cells-curr-n4-seed2",
                      "rule110-cells-curr-n4-seed3": "r110cells-curr-n4-seed3",
                      "rule110-cells-curr-n1": "r110cells-curr-n1"}, parallel=2, max_minutes=150)

# The curriculum recipe's runs, pairs first: N=4 seed 0 with its no-sleep partner, N=4 seeds 3 and 2, then (added
# later to complete the comparison) N=1 seed 2, the partner of N=4 seed 2, N=2 seeds 0 and 2, and last the two
# attention-only baselines trained the same way (seed 0).
CURR_RUNS = ("n4", "n1", "n4-seed3", "n4-seed2", "n1-seed2", "n2", "n2-seed2", "attn-evicted", "attn-kept")
CELLS_CURR_MORE = RunSet(
    about="Rule 110 asking all 16 cells, the curriculum recipe's first phase (4,000 steps from scratch) for the runs "
          "that complete its comparison: N=1 seed 2 and N=2 seeds 0 and 2",
    spec="experiments/sweep_rule110_cells_curr_more.json", runs_dir="experiments/resume/r110cells_curr_more",
    steps=4000, runs={f"rule110-cells-curr-{r}": f"r110cells-curr-{r}" for r in CURR_RUNS[4:7]}, parallel=2,
    max_minutes=150)
CELLS_CURR_ATTN = RunSet(
    about="Rule 110 asking all 16 cells, the curriculum recipe's first phase (4,000 steps from scratch) for its "
          "attention-only baselines: cache evicted and cache kept, seed 0",
    spec="experiments/sweep_rule110_cells_curr_attn.json", runs_dir="experiments/resume/r110cells_curr_attn",
    steps=4000, runs={f"rule110-cells-curr-{r}": f"r110cells-curr-{r}" for r in CURR_RUNS[7:]}, parallel=2,
    max_minutes=150)


def _curr_phase(phase: int, start: int, steps: int) -> RunSet:
    """A later phase of the curriculum recipe: its runs (CURR_RUNS) continued from `start`
    to `steps` through --init-from, on the standard recipe's phase schedule, in
    experiments/sweep_rule110_cells_curr_p<phase>.json. `python experiments/phases.py curr` walks every run through
    the phases in order (a phase starts only from a finished one)."""
    return RunSet(about=f"Rule 110 asking all 16 cells, the curriculum recipe (t drawn in proportion to t^2 from step "
                        f"0), phase {phase}: {start:,} to {steps:,} steps through --init-from",
                  spec=f"experiments/sweep_rule110_cells_curr_p{phase}.json",
                  runs_dir=f"experiments/resume/r110cells_curr_p{phase}", steps=steps,
                  runs={f"rule110-cells-curr-{r}": f"r110cells-curr-{r}" for r in CURR_RUNS},
                  parallel=2, max_minutes=150)


CELLS_CURR_P2 = _curr_phase(2, 4000, 6000)
CELLS_CURR_P3 = _curr_phase(3, 6000, 7500)
CELLS_CURR_P4 = _curr_phase(4, 7500, 8500)
CELLS_CURR_P5 = _curr_phase(5, 8500, 10000)
# Every phase of the curriculum recipe in order; the first phase of N=4 seed 0 is the pilot, of N=1 seed 0 and N=4
# seeds 2 and 3 the screen, of the hybrids added later CELLS_CURR_MORE, of the attention baselines CELLS_CURR_ATTN.
CURR_PHASES = [CELLS_CURR_PILOT, CELLS_CURR_SCREEN, CELLS_CURR_MORE, CELLS_CURR_ATTN, CELLS_CURR_P2, CELLS_CURR_P3,
               CELLS_CURR_P4, CELLS_CURR_P5]

CURR_CHAIN_COMMAND = "python experiments/phases.py curr --parallel 2 --max-minutes 150"

IN_FLIGHT = [CELLS_CURR_P5, CELLS_CURR_P4, CELLS_CURR_P3, CELLS_CURR_P2, CELLS_CURR_ATTN, CELLS_CURR_MORE,
             CELLS_CURR_SCREEN, CELLS_BETA_PILOT, CELLS_CURR_PILOT, CELLS_SEEDS34, CELLS_P5, CELLS_P4, CELLS_P3,
             ARITH5]


def describe(rs: RunSet) -> list[str]:
    lines = [f"{rs.about}:"]
    for name, run in rs.runs.items():
        p = rs.progress(run)
        if p is None:
            lines.append(f"  {run}: no checkpoint yet in {rs.runs_dir}/{run}")
            continue
        ev, seen = p["last_eval"], ""
        if ev:
            depth = max(ev["eval"]["per_depth"], key=int)
            seen = f"; at step {ev['step']:,}, depth {depth} fresh exact match {ev['eval']['per_depth'][depth]:.3f}"
            if "answer_accuracy" in ev["eval"]:
                seen += f", single answers right (all depths) {ev['eval']['answer_accuracy']:.3f}"
        lines.append(f"  {run}: step {p['step']:,} of {rs.steps:,}, {p['wall_seconds']:,.0f} s of training in all{seen}")
    lines.append(f"  resume: {rs.command}")
    if rs in CURR_PHASES:
        lines.append(f"  or every phase in order, each run on as soon as its phase ends: {CURR_CHAIN_COMMAND}")
    return lines


def unfinished_anywhere(rs: RunSet) -> bool:
    """Whether a run of the set still has steps to go: not started, or started and short of `steps`."""
    return any(p is None or p["step"] < rs.steps for p in map(rs.progress, rs.runs.values()))


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="Where each run of each set carried between sessions stands.")
    ap.add_argument("--all", action="store_true", help="also the sets whose runs have all finished")
    args = ap.parse_args(argv)
    sets = [rs for rs in [attn_phase()] + IN_FLIGHT if args.all or unfinished_anywhere(rs)]
    for rs in sets:
        print("\n".join(describe(rs)))
    if not args.all:
        print(f"({len([attn_phase()] + IN_FLIGHT) - len(sets)} finished sets not shown; --all shows them)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
