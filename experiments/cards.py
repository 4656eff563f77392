"""Write a model card (README.md) into every shipped checkpoint folder from its config, log and evals.

    python experiments/cards.py

Reads checkpoints/NAME/{config.json, log.jsonl} and docs/results/eval/NAME*.json (written by
experiments/report.py), or for the k-hop and arithmetic checkpoints checkpoints/NAME/accuracy.json
(written by experiments/task_evals.py); nothing in a card is typed by hand except the provenance tables.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sleepcore.recipe import training_recipe  # noqa: E402
from sleepcore.train import TrainConfig, lr_factor  # noqa: E402

sys.path.insert(0, str(ROOT / "experiments"))
import inflight  # noqa: E402
CKPT, EVAL = ROOT / "checkpoints", ROOT / "docs" / "results" / "eval"

SWEEP_GPU = ["python experiments/sweep.py experiments/sweep_deep.json --runs-dir runs2 --device cuda --parallel 6 "
             "--threads 2 --calibrate 30 --budget-minutes 4.3     # calibration chose 2100 steps",
             "python experiments/sweep.py experiments/sweep_deep.json --runs-dir runs2 --device cuda --parallel 6 "
             "--threads 2 --steps 3600 --max-minutes 2.6"]
SWEEP_CPU = ["python experiments/sweep.py experiments/sweep_deep.json --runs-dir runs_cpu --parallel 2 --threads 1 "
             "--steps 2100 --only rule110-t8-attn-evicted,rule110-t8-attn-kept",
             "python experiments/sweep.py experiments/sweep_deep.json --runs-dir runs_cpu --parallel 2 --threads 1 "
             "--steps 3600 --only rule110-t8-attn-evicted,rule110-t8-attn-kept"]
GPU = "one NVIDIA H200 (shared by 6 training processes at once), PyTorch 2.11 + CUDA 13, via the project's device tool"
CPU_ALONE = ("this project's 2-core CPU machine (Intel Xeon, torch 2.13.0+cpu), 1 thread, next to other training "
             "runs and the app's tests")
# runs launched by hand rather than by sweep.py: the exact commands
LAUNCHED = {"rule110-n2-seed1": [
    "C=\"--out runs_cpu/rule110-t8-n2-seed1 --d-model 64 --n-heads 2 --head-dim 32 --batch-size 512 --eval-every 250 "
    "--eval-samples 1000 --ckpt-every 250 --task rule110 --task-param width=16 --task-param steps=[1,8] --layers AF "
    "--passes 2 --seed 1 --threads 1 --device cpu --no-progress\"",
    "python -m sleepcore.train $C --steps 2100 && python -m sleepcore.train $C --steps 3600"]}
for _name, _extra in (("attn-kept", " --eviction none"), ("attn-evicted", "")):
    LAUNCHED[f"rule110-{_name}-seed1"] = [
        f"C=\"--out runs_cpu/rule110-t8-{_name}-seed1 --d-model 64 --n-heads 2 --head-dim 32 --batch-size 512 "
        "--eval-every 250 --eval-samples 1000 --ckpt-every 250 --task rule110 --task-param width=16 --task-param "
        f"steps=[1,8] --layers AA --passes 1 --seed 1 --threads 1 --device cpu --no-progress{_extra}\"",
        "python -m sleepcore.train $C --steps 2100 && python -m sleepcore.train $C --steps 3600"]
# The continuation from 3,600 to 6,000 steps (CPU, experiments/longer.sh): name -> its arguments
CONTINUED = {"rule110-n1": "1 0", "rule110-n1-seed1": "1 1", "rule110-n2": "2 0", "rule110-n2-seed1": "2 1",
             "rule110-n4": "4 0", "rule110-n4-seed1": "4 1", "rule110-nmix": "1 0 --passes 1 2 4",
             "rule110-attn-evicted": "1 0 --layers AA", "rule110-attn-kept": "1 0 --layers AA --eviction none",
             "rule110-attn-evicted-seed1": "1 1 --layers AA",
             "rule110-attn-kept-seed1": "1 1 --layers AA --eviction none"}
CPU = "this project's 2-core CPU machine (Intel Xeon, torch 2.13.0+cpu), two runs side by side, 1 thread each"
# name -> (sweep spec, run name in the spec, where it trained)
PROVENANCE = {
    "rule110-n1": ("experiments/sweep_deep.json", "rule110-t8-n1", GPU),
    "rule110-n2": ("experiments/sweep_deep.json", "rule110-t8-n2", GPU),
    "rule110-n2-seed1": ("experiments/sweep_deep.json", "rule110-t8-n2-seed1", CPU_ALONE),
    "rule110-n4": ("experiments/sweep_deep.json", "rule110-t8-n4", GPU),
    "rule110-n1-seed1": ("experiments/sweep_deep.json", "rule110-t8-n1-seed1", GPU),
    "rule110-n4-seed1": ("experiments/sweep_deep.json", "rule110-t8-n4-seed1", GPU),
    "rule110-nmix": ("experiments/sweep_deep.json", "rule110-t8-nmix", GPU),
    "rule110-attn-evicted": ("experiments/sweep_deep.json", "rule110-t8-attn-evicted", CPU),
    "rule110-attn-kept": ("experiments/sweep_deep.json", "rule110-t8-attn-kept", CPU),
    "rule110-attn-evicted-seed1": ("experiments/sweep_deep.json", "rule110-t8-attn-evicted-seed1", CPU),
    "rule110-attn-kept-seed1": ("experiments/sweep_deep.json", "rule110-t8-attn-kept-seed1", CPU),
}
# Rule 110 asking all 16 cells: 4,000 steps from scratch (experiments/sweep_rule110_cells_full.json), then continued
CELLS_SPEC = "experiments/sweep_rule110_cells_full.json"
CELLS_STEPS = 4000
CELLS_LONG_SPEC = inflight.CELLS_LONG.spec   # the second phase, 4,000 -> 6,000 steps, over several sessions
CELLS_SECOND = inflight.CELLS_LONG.steps      # where the second phase ended
P3 = inflight.CELLS_P3                        # the third phase, 6,000 -> 7,500 steps, every whole-row run in turn
P3_WHERE = "this project's 2-core CPU machine (AMD EPYC, torch 2.13.0+cpu), one run at a time on 2 threads"
AT6000_COMMIT = inflight.AT6000_COMMIT
CELLS_THIRD = P3.steps                         # where the third phase ended
P4 = inflight.CELLS_P4                        # the fourth phase, 7,500 -> 8,500 steps, t drawn towards the deep end
AT7500_COMMIT = inflight.AT7500_COMMIT
P5 = inflight.CELLS_P5                        # the fifth phase, 8,500 -> 10,000 steps, the same curriculum
CELLS_PHASES = [(CELLS_STEPS, inflight.CELLS_LONG), (CELLS_SECOND, P3), (CELLS_THIRD, P4),
                (P4.steps, P5)]                # (from step, continuation)
CELLS_WHERE = ("this project's 2-core CPU machine (Intel Xeon, torch 2.13.0+cpu), 1 thread, two to five runs side by "
               "side next to the app's tests")
for _n, _run in inflight.CELLS_LONG.runs.items():
    PROVENANCE[_n] = (CELLS_SPEC, _run, CELLS_WHERE)
# Later all-cells seeds, each in its own spec and run folder, the same two phases resumed across sessions
LATER = {name: rs for rs in (inflight.CELLS_SEED2, inflight.CELLS_N2_SEED1) for name in rs.runs}
LATER_WHERE = {   # where each later seed trained
    "rule110-cells-n4-seed2": "this project's 2-core CPU machines (Intel Xeon or AMD EPYC, whichever a session got; torch "
                              "2.13.0+cpu), one run at a time with 1 or 2 threads, resumed from its last checkpoint in "
                              "each new three-hour session",
    "rule110-cells-n2-seed1": "this project's 2-core CPU machine (AMD EPYC, torch 2.13.0+cpu), 2 threads (T=2), next to "
                              "this session's evaluations and tests, both phases in one session"}
for _n, _rs in LATER.items():
    PROVENANCE[_n] = (_rs.spec, _rs.runs[_n], LATER_WHERE[_n])
# The whole-row attention-only baselines: the hybrids' five phases, in two folders (inflight.CELLS_ATTN)
ATTN = inflight.CELLS_ATTN
ATTN_WHERE = ("this project's 2-core CPU machine (AMD EPYC, torch 2.13.0+cpu), one thread per run, side by side with "
              "up to four other training runs in the first phase (its wall times include that contention)")
for _n, _run in ATTN[0].runs.items():
    PROVENANCE[_n] = (ATTN[0].spec, _run, ATTN_WHERE)
# The curriculum recipe (t drawn in proportion to t² from step 0) through the standard recipe's phase ends, shipped
# runs only: name -> its phases in order (inflight.CURR_PHASES lists each run's first phase in the pilot, the screen
# or CURR_MORE, then the four continuations)
CURR = {name: [rs for rs in inflight.CURR_PHASES if name in rs.runs] for name in inflight.CELLS_CURR_P5.runs}
CURR_WHERE = ("this project's 2-core CPU machines (Intel Xeon or AMD EPYC, whichever a session got; torch 2.13.0+cpu), "
              "one or two threads per run, two runs side by side, resumed from the last checkpoint in each new "
              "three-hour session")
for _n, _phases in CURR.items():
    PROVENANCE[_n] = (_phases[0].spec, _phases[0].runs[_n], CURR_WHERE)


def _curr_description(name: str) -> str:
    """What a curriculum run is, from its name (rule110-cells-curr-<kind>[-seedS])."""
    kind, _, seed = name.removeprefix("rule110-cells-curr-").partition("-seed")
    seed = int(seed or 0)
    what = {"n1": "the no-sleep hybrid (N=1)", "n2": "the sleeping hybrid with N=2 passes",
            "n4": "the sleeping hybrid with N=4 passes",
            "attn-evicted": "the attention-only transformer of the same width, its KV cache evicted every window,",
            "attn-kept": "the attention-only transformer of the same width, its cache kept,"}[kind]
    partner = {"n4": f"rule110-cells-curr-n1{f'-seed{seed}' if seed else ''}",
               "n1": f"rule110-cells-curr-n4{f'-seed{seed}' if seed else ''}"}.get(kind)
    return (f"{what} asked for all 16 cells, trained with the curriculum recipe: deep questions drawn far more often "
            f"from step 0 (seed {seed}" + (f"; compared seed for seed with {partner})" if partner else ")"))


DESCRIPTION = {**{name: _curr_description(name) for name in CURR},
    "rule110-cells-attn-evicted": "attention-only transformer of the same width asked for all 16 cells, its KV cache "
                                  "evicted every window (nothing can cross: the floor)",
    "rule110-cells-attn-kept": "attention-only transformer of the same width asked for all 16 cells, its cache kept "
                               "(an upper bound that is not memory-bounded)",
    "rule110-cells-attn-evicted-seed1": "second seed of the whole-row attention-only transformer with its KV cache "
                                        "evicted every window",
    "rule110-cells-attn-kept-seed1": "second seed of the whole-row attention-only transformer with its cache kept",
    "rule110-cells-n1": "the no-sleep hybrid (N=1) asked for all 16 cells of the ring after t steps",
    "rule110-cells-n1-seed1": "second seed of the no-sleep hybrid (N=1) asked for all 16 cells",
    "rule110-cells-n2": "the sleeping hybrid with N=2 passes asked for all 16 cells of the ring after t steps",
    "rule110-cells-n4": "the sleeping hybrid with N=4 passes asked for all 16 cells of the ring after t steps",
    "rule110-cells-n4-seed1": "second seed of the sleeping hybrid with N=4 asked for all 16 cells",
    "rule110-cells-n4-seed2": "third seed of the sleeping hybrid with N=4 asked for all 16 cells, trained later to tell "
                              "which of the first two is typical",
    "rule110-cells-n2-seed1": "second seed of the sleeping hybrid with N=2 asked for all 16 cells, trained later",
    "rule110-n1": "the no-sleep hybrid (N=1: one online pass per window, then eviction)",
    "rule110-n2": "the sleeping hybrid with N=2 passes per consolidation window",
    "rule110-n2-seed1": "second seed of the sleeping hybrid with N=2",
    "rule110-n4": "the sleeping hybrid with N=4 passes per consolidation window",
    "rule110-n1-seed1": "second seed of the no-sleep hybrid (N=1)",
    "rule110-n4-seed1": "second seed of the sleeping hybrid with N=4",
    "rule110-nmix": "one sleeping hybrid trained with N drawn from {1, 2, 4} per batch, meant to run at any of them",
    "rule110-attn-evicted": "attention-only transformer of the same width, KV cache evicted every window (nothing can cross)",
    "rule110-attn-kept": "attention-only transformer of the same width with its cache kept (an upper bound that is not memory-bounded)",
    "rule110-attn-evicted-seed1": "second seed of the attention-only transformer with its KV cache evicted every window",
    "rule110-attn-kept-seed1": "second seed of the attention-only transformer with its cache kept",
}


# The k-hop and arithmetic checkpoints (arith-n4 ships although it did not learn its task, so the explorer can
# show how that problem is laid out over windows). name -> (what it is, where it trained, the exact training
# command, how that run was launched). Their accuracy comes from accuracy.json in the
# folder, written by experiments/task_evals.py.
TASK_CARDS = {
    "arith-n4": (
        "the sleeping hybrid (N=4) on multi-step modular arithmetic with distractors (1..4 operations, mod 10)",
        "one NVIDIA H200 shared by the 12 runs of the first sweep, via the project's device tool",
        "python -m sleepcore.train --out runs/arith-n4 --no-progress --threads 1 --device cuda --d-model 64 --n-heads 2 "
        "--head-dim 32 --batch-size 512 --eval-every 250 --eval-samples 1000 --ckpt-every 250 --task arith --layers AF "
        "--passes 4 --steps 300 --max-minutes 6.875",
        "python experiments/sweep.py experiments/sweep_main.json ...     # run arith-n4 of the first sweep; a short "
        "calibration fixed the step budget per task (arithmetic: 300 steps)",
    ),
}
KHOP_SPEC = "experiments/sweep_khop_q5.json"
KHOP_WHERE = ("this project's 2-core CPU machine (Intel Xeon, torch 2.13.0+cpu), 1 thread, next to other training "
              "runs")


def spec_flags(spec_path: str, run: str) -> str:
    """The training flags a sweep spec gives one of its runs, quoted for a shell."""
    spec = json.loads((ROOT / spec_path).read_text())
    r = next(x for x in spec["runs"] if x["name"] == run)
    return " ".join(f"'{f}'" if any(c in f for c in "[]") else f
                    for f in spec["common"] + spec["groups"][r["group"]] + r["args"])


def _khop_card(name: str, passes: int, seed: int) -> tuple[str, str, str, str]:
    run = f"khop5-n{passes}" + ("-seed1" if seed else "")
    command = f"python -m sleepcore.train --out runs_cpu/khop5/{run} {spec_flags(KHOP_SPEC, run)} --steps 2000 --threads 1 --device cpu"
    what = (f"the {'no-sleep hybrid (N=1)' if passes == 1 else f'sleeping hybrid (N={passes})'} on k-hop retrieval "
            f"with five questions per problem (cycles of 6..8 nodes, k in 1..4)" + (", second seed" if seed else ""))
    launched = (f"python experiments/sweep.py {KHOP_SPEC} --runs-dir runs_cpu/khop5 --parallel 1 --steps 2000 "
                f"--only {run}")
    return what, KHOP_WHERE, command, launched


for _n, _p, _s in (("khop-n1", 1, 0), ("khop-n2", 2, 0), ("khop-n4", 4, 0), ("khop-n1-seed1", 1, 1),
                   ("khop-n2-seed1", 2, 1), ("khop-n4-seed1", 4, 1)):
    TASK_CARDS[_n] = _khop_card(_n, _p, _s)

TASK_LAYOUT = {
    "khop": lambda t, s: (
        f"k-hop retrieval on a shuffled directed cycle (`sleepcore/tasks/khop.py`): a random cycle of "
        f"{t['nodes'][0]}..{t['nodes'][1]} nodes (names drawn from {t['max_nodes']}) is stated as its edges in random "
        f"order over {math.ceil(2 * t['nodes'][1] / t['window'])} window(s) of L={s['window']} tokens (two tokens per "
        f"edge); each window is consolidated, then evicted. The prediction window then asks "
        + (f"{t['queries']} questions " if t.get("queries", 1) > 1 else "")
        + f"\"k={{k}} s ?\": the node k hops after s, k in {t['min_hops']}..{t['max_hops']} (the depth"
        + ("; a sample's depth is its largest k, and evaluation at depth k asks every question at that k)."
           if t.get("queries", 1) > 1 else ").")),
    "arith": lambda t, s: (
        f"Multi-step arithmetic mod {t['modulus']} (`sleepcore/tasks/arithmetic.py`): the question (\"? x\") comes "
        f"first, then {t['max_ops'] + 1 + t['distractors']} facts such as `b = a + 4`, shuffled, packed into windows of "
        f"L={s['window']} tokens; the answer needs a chain of {t['min_ops']}..{t['max_ops']} operations (the depth) "
        f"among distractor facts. Every window is consolidated, then evicted; the prediction window is \"ans ?\"."),
}


def task_card(name: str) -> str:
    """The card of a k-hop or arithmetic checkpoint; it says first whether the model learned its task."""
    folder = CKPT / name
    cfg = json.loads((folder / "config.json").read_text())
    acc = json.loads((folder / "accuracy.json").read_text())
    log = [json.loads(ln) for ln in (folder / "log.jsonl").read_text().splitlines() if ln.strip()]
    curve = [r for r in log if "eval" in r]
    what, where, command, launched = TASK_CARDS[name]
    from safetensors.torch import load_file
    n_params = sum(v.numel() for v in load_file(str(folder / "model.safetensors")).values())
    m, s, t, tr = cfg["model"], cfg["sleep"], cfg["task"], cfg["train"]
    lo, hi = acc["ci95"]
    several = "answer_accuracy" in acc
    depth = "k" if t["name"] == "khop" else "ops"
    per = acc["per_depth"]
    numbers = (f"{acc['accuracy']:.3f} [{lo:.3f}, {hi:.3f}] of {acc['samples']:,} fresh problems"
               + (f" with all {t.get('queries')} questions right" if several else "")
               + f", where guessing {acc['guess']['rule']} gets {acc['guess']['accuracy']:.3f} and always giving the "
               f"most common answer gets {acc['chance']:.3f}")
    if several:
        numbers += (f"; {acc['answer_accuracy']:.3f} of single answers right, where the guess gets "
                    f"{acc['answer_guess']['accuracy']:.3f}")
    if acc["at_chance"]:
        top = (f"**This model has NOT learned the task: its accuracy is at chance** ({numbers}). It ships so the "
               "explorer can show how the problem is laid out over windows.")
    else:
        top = f"Measured accuracy: {numbers}."
    lines = [f"# {name}", "", top, "",
             f"{what[0].upper() + what[1:]}. Fresh problems are the held-out set here: the input space is too large "
             "to memorise, so training and evaluation draw from disjoint seeds.", "",
             "## Task", "", TASK_LAYOUT[t["name"]](t, s) + f" Task config: `{json.dumps(t)}`.", "",
             "## Model", "",
             f"Layers `{m['layers']}` (A attention, F fast weights / gated {m['fast_rule']} rule), d={m['d_model']}, "
             f"{m['n_heads']} heads of {m['head_dim']}, MLP x{m['mlp_ratio']}, {n_params:,} parameters. Sleep: window "
             f"L={s['window']}, N={s['passes']} passes, eviction `{s['eviction']}`.", "",
             "## Training", "",
             f"Trained on {where}; {cfg.get('trained_steps')} steps of batch {tr['batch_size']} (Muon lr {tr['lr']} + "
             f"AdamW lr {tr['adam_lr']}, warmup {tr['warmup']}, cosine to {tr['min_lr_ratio']:.0%}, clip {tr['clip']}, "
             f"seed {tr['seed']}); training wall time {cfg.get('wall_seconds')} s. Command (from the run's log):", "",
             "```", command, "```", "", "Launched by:", "", "```", launched, "```", "",
             "The folder holds `train_state.*` (optimiser state), so rerunning the command with a larger `--steps` "
             "continues training." if (folder / "train_state.json").exists() else
             "Only `config.json`, `model.safetensors` and `log.jsonl` ship (no optimiser state).", "",
             "## Measured accuracy", "",
             f"Accuracy on {per[next(iter(per))]['count']:,} fresh problems per depth"
             + (f" (every question of a problem at that k; exact match = all {t.get('queries')} answers right)"
                if several else "") + ", 95% Wilson intervals in brackets; written to `accuracy.json` by "
             "`python experiments/task_evals.py`, which runs exactly:", "",
             f"`{acc['command']}`", "",
             "| | N | " + " | ".join(f"{depth}={d}" for d in per) + " |", "|---|---|" + "---|" * len(per),
             f"| exact match | {acc['passes']} | " + " | ".join(
                 f"{v['accuracy']:.3f} [{v['ci95'][0]:.2f}, {v['ci95'][1]:.2f}]" for v in per.values()) + " |",
             "| blind guess | | " + " | ".join(f"{acc['guess']['per_depth'][d]:.3f}" for d in per) + " |",
             "| most common answer | | " + " | ".join(f"{v['chance']:.3f}" for v in per.values()) + " |"]
    if several:
        lines += [f"| single answers right | {acc['passes']} | " + " | ".join(
                      f"{v['answer_accuracy']:.3f} [{v['answer_ci95'][0]:.2f}, {v['answer_ci95'][1]:.2f}]"
                      for v in per.values()) + " |",
                  "| blind guess, one answer | | " + " | ".join(
                      f"{acc['answer_guess']['per_depth'][d]:.3f}" for d in per) + " |"]
    lines += ["", f"Blind guess: {acc['guess']['rule']}, which uses none of the stated edges or facts. The model "
              f"counts as at chance when its accuracy is within {acc['at_chance_margin']:.2f} of the better of the "
              "two baselines.", ""]
    if curve:
        lines += ["## Training curve (1,000 fresh samples every " + str(tr.get("eval_every")) + " steps, from "
                  "`log.jsonl`; exact match, depths mixed)", "", "| step | fresh |", "|---|---|"]
        lines += [f"| {r['step']} | {r['eval']['accuracy']:.3f} |" for r in curve]
        lines.append("")
    return "\n".join(lines)


def train_commands(spec_path: str, run: str, out: str, continued: bool = False) -> list[str]:
    base = "python -m sleepcore.train --out " + out + " " + spec_flags(spec_path, run)
    return [base + " --steps 2100", base + " --steps 3600"] + ([base + " --steps 6000"] if continued else [])


def _wall_at(log: list[dict], step: int) -> float | None:
    return next((r["wall_seconds"] for r in log if r.get("step") == step and "wall_seconds" in r), None)


def _second_phase(cfg: dict, log: list[dict], schedule: int) -> tuple[TrainConfig, float | None, float | None]:
    """The warm-restarted schedule of an all-cells run's second phase, the wall time at its start, and at its end
    (the log's, when the run went on past it; else the checkpoint's)."""
    tr = cfg["train"]
    end = _wall_at(log, CELLS_SECOND) if cfg.get("trained_steps", 0) > CELLS_SECOND else cfg.get("wall_seconds")
    return (TrainConfig(steps=schedule, warmup=tr["warmup"], min_lr_ratio=tr["min_lr_ratio"]),
            _wall_at(log, CELLS_STEPS), end)


def _cells_continued(cfg: dict, log: list[dict], run: str, steps: int) -> list[str]:
    """Second phase of an all-cells run: resumed from its 4,000-step checkpoint with a longer cosine."""
    tr = cfg["train"]
    steps = min(steps, CELLS_SECOND)
    total_steps = min(tr["steps"], CELLS_SECOND)   # the schedule's length (the same as `steps` once it finished)
    tc, w0, total = _second_phase(cfg, log, total_steps)
    return [f"Then continued from that {CELLS_STEPS:,}-step checkpoint to {steps:,} steps with the same flags but "
            f"`--out {inflight.CELLS_LONG.runs_dir}/{run} --steps {total_steps}`: the cosine is recomputed over "
            f"{total_steps:,} steps, so at step {CELLS_STEPS:,} the learning "
            f"rate rises from {lr_factor(CELLS_STEPS - 1, TrainConfig(steps=CELLS_STEPS, warmup=tr['warmup'], min_lr_ratio=tr['min_lr_ratio'])):.0%} "
            f"to {lr_factor(CELLS_STEPS, tc):.0%} of its peak (a warm restart) and decays to "
            f"{tr['min_lr_ratio']:.0%} again at {total_steps:,}. Every N of the set got exactly this second phase, on "
            "this project's 2-core CPU machines (Intel Xeon or AMD EPYC, whichever a session got; one thread per run, "
            f"two to five runs side by side); training wall time {total - w0:,.0f} s for steps "
            f"{CELLS_STEPS:,}-{steps:,} ({w0:,.0f} s before). Launched, over several three-hour sessions (each choosing `--only`, "
            f"`--parallel` and `--max-minutes` to fit its time), by (`{CELLS_LONG_SPEC}`, "
            f"after copying the five run folders of the first phase into `{inflight.CELLS_LONG.runs_dir}/`):", "", "```",
            inflight.CELLS_LONG.command, "```", "", f"{_copy_of(cfg)} a copy of `{inflight.CELLS_LONG.runs_dir}/{run}` "
            "(that folder was deleted once all five runs had finished; git history keeps it).", ""]


def _copy_of(cfg: dict) -> str:
    """How to say which checkpoint a phase's run folder became: this one, or the one the third phase started from."""
    if cfg.get("trained_steps", 0) > CELLS_SECOND:
        return f"The {CELLS_SECOND:,}-step checkpoint (`git show {AT6000_COMMIT}:checkpoints/NAME/...`) was"
    return "The checkpoint is"


def _third_phase(cfg: dict, log: list[dict], run: str) -> list[str]:
    """The third phase of an all-cells run (6,000 -> 7,500 steps, every run of the comparison in turn), once run."""
    steps, tr = cfg.get("trained_steps", 0), cfg["train"]
    if steps <= CELLS_SECOND:
        return []
    later = steps > CELLS_THIRD                     # the fourth phase went on from this phase's end
    end = min(steps, CELLS_THIRD)
    schedule = min(tr["steps"], CELLS_THIRD)
    w0, total = _wall_at(log, CELLS_SECOND), (_wall_at(log, CELLS_THIRD) if later else cfg.get("wall_seconds"))
    tc = TrainConfig(steps=schedule, warmup=tr["warmup"], min_lr_ratio=tr["min_lr_ratio"])
    return [f"Third phase: continued from the {CELLS_SECOND:,}-step checkpoint to {end:,} steps with the same flags "
            f"but `--out {P3.runs_dir}/{run} --steps {schedule}`; the cosine is recomputed over {schedule:,} "
            f"steps, so at step {CELLS_SECOND:,} the learning rate rises from {tr['min_lr_ratio']:.0%} to "
            f"{lr_factor(CELLS_SECOND, tc):.0%} of its peak (a warm restart) and decays to {tr['min_lr_ratio']:.0%} "
            f"again. Every run of the whole-row comparison (N=1, 2 and 4, all seeds) got exactly this phase, on "
            f"{P3_WHERE}; training wall time "
            + (f"{total - w0:,.0f} s for steps {CELLS_SECOND:,}-{end:,}." if w0 and total else "not recorded.")
            + f" Launched by (spec `{P3.spec}`, after copying the {CELLS_SECOND:,}-step checkpoint folders into "
            f"`{P3.runs_dir}/`):", "", "```", P3.command, "```", "",
            (f"The {CELLS_THIRD:,}-step checkpoint (`git show {AT7500_COMMIT}:checkpoints/NAME/...`) was a copy of "
             f"`{P3.runs_dir}/{run}`, which stays committed: the fourth phase starts from it." if later else
             f"The checkpoint is a copy of `{P3.runs_dir}/{run}`."), "", *_fourth_phase(cfg, log, run)]


CURRICULUM = [   # the phases with t drawn towards the deep end:
    # (title, the phase before, its continuation, this phase, the commit that shipped this phase's end)
    ("Fourth phase, a curriculum towards the deep end", "third", P3, P4, inflight.AT8500_COMMIT),
    ("Fifth phase, the same curriculum for longer", "fourth", P4, P5, None)]


def _fourth_phase(cfg: dict, log: list[dict], run: str) -> list[str]:
    """The phases after the third (7,500 -> 8,500 -> 10,000 steps): every run continued with t drawn towards the
    deep end (task parameter depth_weights), each told once the checkpoint has reached it."""
    steps, tr, t = cfg.get("trained_steps", 0), cfg["train"], cfg["task"]
    w = t.get("depth_weights") or []
    weights, share = _weights(t)
    out = []
    for i, (title, before, prev, rs, shipped) in enumerate(CURRICULUM):
        start = prev.steps
        if steps <= start:
            break
        later = steps > rs.steps                    # the next phase went on from this one's end
        end = min(steps, rs.steps)
        w0, total = _wall_at(log, start), (_wall_at(log, rs.steps) if later else cfg.get("wall_seconds"))
        tc = TrainConfig(steps=rs.steps, warmup=tr["warmup"], min_lr_ratio=tr["min_lr_ratio"])
        data = (f"the same flags plus the task parameter `depth_weights={weights}` (t drawn in proportion to t²: "
                f"{share}; before, t was uniform, {1 / max(1, len(w)):.1%} each)" if i == 0 else
                f"the same flags and curriculum (`depth_weights={weights}`)")
        out += [f"{title}: continued from the {start:,}-step state to {end:,} steps with {data} and `--init-from "
                f"{prev.runs_dir}/{run} --out {rs.runs_dir}/{run} --steps {rs.steps}` (weights, optimiser state, step "
                f"and log taken over from the {before} phase). The cosine is recomputed over {rs.steps:,} steps, so "
                f"at step {start:,} the learning rate rises from {tr['min_lr_ratio']:.0%} to {lr_factor(start, tc):.0%} "
                f"of its peak and decays to {tr['min_lr_ratio']:.0%} again. Every run of the whole-row comparison (N=1, "
                f"2 and 4, all seeds) got exactly this phase, on {P3_WHERE}; training wall time "
                + (f"{total - w0:,.0f} s for steps {start:,}-{end:,}." if w0 and total else "not recorded.")
                + f" Launched by (spec `{rs.spec}`):", "", "```", rs.command, "```", "",
                (f"The {end:,}-step checkpoint (`git show {shipped}:checkpoints/NAME/...`) was a copy of "
                 f"`{rs.runs_dir}/{run}`, which stays committed: the next phase starts from it." if later else
                 f"The checkpoint is a copy of `{rs.runs_dir}/{run}`."), ""]
    return out


def _in_progress(name: str) -> list[str]:
    """A paragraph on a continuation of this run when it is under way (state committed, not finished)."""
    for start, rs in CELLS_PHASES:
        p = rs.unfinished().get(name)
        if p is None:
            continue
        run = rs.runs[name]
        ev = p["last_eval"]
        seen = ""
        if ev and ev["step"] > start:
            d = max(ev["eval"]["per_depth"], key=int)
            seen = (f" At step {ev['step']:,} its training log measured t={d} exact match "
                    f"{ev['eval']['per_depth'][d]:.3f} on 1,000 fresh samples (a noisy in-training check, not the "
                    "evaluation below).")
        how = ("the same phase, with t drawn in proportion to t² (a curriculum towards the deep end) and a warm "
               "restart of the cosine" if rs in (P4, P5) else "the same phase, a warm restart of the cosine")
        return [f"**Continuation under way.** This run is being continued from {start:,} to {rs.steps:,} steps "
                f"(`{rs.spec}`: every N of the set gets {how}). Its state is "
                f"committed, so a session that ends first leaves it for the next: it stands at step {p['step']:,} in "
                f"`{rs.runs_dir}/{run}/`, and a session resumes all {len(rs.runs)} runs with", "", "```", rs.command,
                "```", "", f"This checkpoint stays the {start:,}-step model, and the numbers below are its own, until "
                f"every run of the set has reached {rs.steps:,} steps.{seen}", ""]
    return []


def _later_text(name: str, cfg: dict, log: list[dict], where: str, spec: str, run: str) -> list[str]:
    """A later all-cells seed: the two phases of the first five runs, in its own run folder, across sessions."""
    rs, tr, steps = LATER[name], cfg["train"], min(cfg.get("trained_steps"), CELLS_SECOND)
    flags = spec_flags(spec, run)
    tc, w0, total = _second_phase(cfg, log, steps)
    return [f"The recipe of the first five all-cells runs (`{CELLS_SPEC}`, then `{CELLS_LONG_SPEC}`), seed "
            f"{tr['seed']}: {CELLS_STEPS:,} steps of batch {tr['batch_size']} from scratch (Muon lr {tr['lr']} + AdamW "
            f"lr {tr['adam_lr']}, warmup {tr['warmup']}, one cosine over the {CELLS_STEPS:,} steps to "
            f"{tr['min_lr_ratio']:.0%}, clip {tr['clip']}), then continued in the same folder to {steps:,} steps with the "
            f"cosine recomputed over {steps:,} (at step {CELLS_STEPS:,} the learning rate rises to "
            f"{lr_factor(CELLS_STEPS, tc):.0%} of its peak, a warm restart, and decays to {tr['min_lr_ratio']:.0%} again). "
            f"Trained on {where}; training wall time "
            + (f"{w0:,.0f} s for the first {CELLS_STEPS:,} steps and {total - w0:,.0f} s for the rest." if w0 and total
               else f"{total:,.0f} s." if total else "not recorded."), "",
            f"Commands (sweep: `{spec}`, run `{run}`):", "", "```",
            f"python -m sleepcore.train --out {rs.runs_dir}/{run} --no-progress --threads T --device cpu {flags} --steps {CELLS_STEPS}",
            f"python -m sleepcore.train --out {rs.runs_dir}/{run} --no-progress --threads T --device cpu {flags} --steps {steps}",
            "```", "", "launched (and, where a session ended first, resumed with the same command; `--max-minutes` "
            "chosen to fit the session, `--threads` 1 or 2) by:", "", "```",
            f"python experiments/sweep.py {spec} --runs-dir {rs.runs_dir} --steps {CELLS_STEPS} --parallel 1 --threads T --max-minutes M",
            f"python experiments/sweep.py {spec} --runs-dir {rs.runs_dir} --steps {steps} --parallel 1 --threads T --max-minutes M",
            "```", "", f"{_copy_of(cfg)} a copy of `{rs.runs_dir}/{run}` (that folder was then deleted; git history "
            "keeps it, including its state at step 4,000).", "", *_third_phase(cfg, log, run)]


def _phases_run(phases: list, cfg: dict, log: list[dict]):
    """For each phase (run sets in order, each ending at its .steps) the checkpoint has entered: (index, run set,
    first step, last step reached, its training wall time as words, from the log)."""
    steps, start = cfg.get("trained_steps", 0), 0
    for i, rs in enumerate(phases):
        if steps <= start:
            return
        w0 = _wall_at(log, start) if start else 0.0
        w1 = _wall_at(log, rs.steps) if steps > rs.steps else cfg.get("wall_seconds")
        yield i, rs, start, min(steps, rs.steps), (f"{w1 - w0:,.0f} s." if w0 is not None and w1 else "not recorded.")
        start = rs.steps


def _attn_text(cfg: dict, log: list[dict], where: str, run: str) -> list[str]:
    """A whole-row attention-only baseline: the hybrids' phases, one line each, as far as this checkpoint went."""
    tr, steps = cfg["train"], cfg.get("trained_steps", 0)
    w = _weights(cfg["task"])[0]       # present once the checkpoint has reached phase 4
    out = [f"Trained exactly as the whole-row hybrids (`rule110-cells-n1`, `-n2`, `-n4`), phase for phase: the same "
           f"data, batch {tr['batch_size']}, optimiser (Muon lr {tr['lr']} + AdamW lr {tr['adam_lr']}, warmup "
           f"{tr['warmup']}, clip {tr['clip']}, seed {tr['seed']}) and schedules, on {where}. Each phase recomputes the "
           f"cosine over its own end (a warm restart; it decays to {tr['min_lr_ratio']:.0%} at every phase end):", ""]
    for i, rs, start, end, took in _phases_run(ATTN, cfg, log):
        what = ("from scratch" if i == 0 else "in the same folder" if i != 3 else
                f"from the phase-3 state (`--init-from {ATTN[2].runs_dir}/{run}`), t drawn in proportion to t² "
                f"(`depth_weights={w}`)")
        if i == 4:
            what += ", the same curriculum"
        out.append(f"- Phase {i + 1}, steps {start:,}-{end:,}, {what}; training wall time {took}")
    out += ["", f"Commands (sweeps `{ATTN[0].spec}` and `{ATTN[-1].spec}`, run `{run}`):", "", "```"]
    start = 0
    for rs in ATTN:
        if steps <= start:
            break
        out.append(f"python -m sleepcore.train --out {rs.runs_dir}/{run} --no-progress --threads 1 --device cpu "
                   f"{spec_flags(rs.spec, run)} --steps {rs.steps}")
        start = rs.steps
    out += ["```", "", "launched by `bash experiments/attn_phases.sh RUN,RUN` (two of these side by side, one per seed, "
            "each running its two runs in turn through the phases; rerunning it resumes), which is the same as "
            "running these sweeps one after another:", "", "```"]
    start = 0
    for rs in ATTN:
        if steps <= start:
            break
        out.append(rs.command)
        start = rs.steps
    last = next(rs for rs in ATTN if steps <= rs.steps)
    out += ["```", "", f"The checkpoint is a copy of `{last.runs_dir}/{run}`.", ""]
    return out


def _weights(t: dict) -> tuple[str, str]:
    """The task's depth_weights as typed on the command line, and the share of samples each t gets."""
    w = t.get("depth_weights") or []
    lo = t["steps"][0]
    return (json.dumps([int(x) if x == int(x) else x for x in w], separators=(",", ":")),
            ", ".join(f"t={lo + i} {x / sum(w):.1%}" for i, x in enumerate(w)) if w else "uniform")


def _curr_text(name: str, cfg: dict, log: list[dict], where: str, run: str) -> list[str]:
    """A run of the curriculum recipe: t drawn in proportion to t² from step 0, through the standard recipe's phase
    ends, each phase continued from the last (inflight.CURR_PHASES)."""
    tr, steps = cfg["train"], cfg.get("trained_steps", 0)
    weights, share = _weights(cfg["task"])
    phases = CURR[name]
    ends = ", ".join(f"{rs.steps:,}" for rs in phases)
    out = [f"The curriculum recipe: the whole-row task with t drawn in proportion to t² from step 0 (task parameter "
           f"`depth_weights={weights}`: {share}), where the standard whole-row recipe (`rule110-cells-n1`, `-n2`, "
           f"`-n4`) draws every t alike for its first {CELLS_THIRD:,} steps. Everything else is the standard recipe's: "
           f"batch {tr['batch_size']}, Muon lr {tr['lr']} + AdamW lr {tr['adam_lr']}, warmup {tr['warmup']}, clip "
           f"{tr['clip']}, seed {tr['seed']}, and the same phase ends ({ends} steps), each phase continued from the "
           f"last with `--init-from` (weights, optimiser state, step and log) and its cosine recomputed over the new "
           f"end (a warm restart; it decays to {tr['min_lr_ratio']:.0%} at every phase end). Trained on {where}. The "
           f"config's `history` records each phase and its depth weights (`python -m sleepcore.recipe "
           f"checkpoints/{name}`).", ""]
    for i, rs, start, end, took in _phases_run(phases, cfg, log):
        how = "from scratch" if i == 0 else f"from `{phases[i - 1].runs_dir}/{run}`"
        out.append(f"- Phase {i + 1}, steps {start:,}-{end:,}, {how} (`{rs.spec}`); training wall time {took}")
    out += ["", f"Commands (run `{run}`; `--threads` 1 or 2 as the session allowed):", "", "```"]
    out += [f"python -m sleepcore.train --out {rs.runs_dir}/{run} --no-progress --threads T --device cpu "
            f"{spec_flags(rs.spec, run)} --steps {rs.steps}" for rs in phases if rs.steps <= steps or rs is phases[0]]
    out += ["```", "", "launched by (the first phase; rerunning the same command resumes):", "", "```",
            phases[0].command, "```", "", "then every later phase, each run going on to its next phase as soon as one "
            "ended (rerun in each new session; `--max-minutes` chosen to fit it, `--only` to put a seed pair first):",
            "", "```", inflight.CURR_CHAIN_COMMAND, "```", ""]
    last = next((rs for rs in phases if steps <= rs.steps), phases[-1])
    out += [f"The checkpoint is a copy of `{last.runs_dir}/{run}` (its `model.safetensors`, which git does not keep "
            f"there, written from the run's training state by `python experiments/ship.py {name}`). How this recipe compares with the standard one, "
            "seed for seed and phase by phase, is in docs/results.md (*Making N=4 reliable*).", ""]
    return out


def _task_draw(cfg: dict) -> str:
    """How the card's task paragraph says t was drawn, from the run's recipe (sleepcore.recipe)."""
    t, recipe = cfg["task"], training_recipe(cfg)
    if not t.get("depth_weights"):
        return f"uniformly from {t.get('steps')}"
    if recipe == "t2":
        return (f"from {t.get('steps')} in proportion to the task parameter `depth_weights` from step 0 (the "
                "curriculum recipe, see Training)")
    start = recipe.rpartition("-from-")[2]
    return (f"from {t.get('steps')} (uniformly for the first {int(start):,} steps, then in proportion to the task "
            "parameter `depth_weights`, see Training)" if start.isdigit() else
            f"from {t.get('steps')} in proportion to the task parameter `depth_weights` (see Training)")


def training_text(name: str, cfg: dict, log: list[dict], where: str, spec: str, run: str) -> list[str]:
    """How the model was trained: where, the schedule in its three phases, wall times, the exact commands."""
    tr, steps = cfg["train"], cfg.get("trained_steps")
    if name in CURR:
        return _curr_text(name, cfg, log, where, run)
    if name in LATER:
        return _later_text(name, cfg, log, where, spec, run)
    if spec == ATTN[0].spec:
        return _attn_text(cfg, log, where, run)
    if spec == CELLS_SPEC:      # one phase, from scratch
        command = (f"python -m sleepcore.train --out runs_cpu/r110cells_full/{run} {spec_flags(spec, run)} "
                   f"--steps {CELLS_STEPS} --threads 1 --device cpu")
        first = _wall_at(log, CELLS_STEPS) if steps > CELLS_STEPS else cfg.get("wall_seconds")
        where1 = "first-phase" if steps > CELLS_STEPS else "training"
        return ([f"{CELLS_STEPS:,} steps of batch {tr['batch_size']} (Muon lr {tr['lr']} + AdamW lr {tr['adam_lr']}, "
                 f"warmup {tr['warmup']}, one cosine over the {CELLS_STEPS:,} steps to {tr['min_lr_ratio']:.0%}, clip "
                 f"{tr['clip']}, seed {tr['seed']}), from scratch, on {where}; {where1} wall time {first:,.0f} s.",
                 "", f"Command (sweep: `{spec}`, run `{run}`):", "", "```", command, "```", "",
                 "Launched by (three sweeps over the same spec, side by side on the two cores: the two N=4 runs, "
                 "the N=2 run, then the two N=1 runs):", "", "```",
                 f"python experiments/sweep.py {spec} --runs-dir runs_cpu/r110cells_full --steps {CELLS_STEPS} "
                 + {"r110cells-n2": "--parallel 1 --only r110cells-n2",
                    "r110cells-n1": "--parallel 2 --only r110cells-n1,r110cells-n1-seed1",
                    "r110cells-n1-seed1": "--parallel 2 --only r110cells-n1,r110cells-n1-seed1"}.get(
                     run, "--parallel 2 --only r110cells-n4,r110cells-n4-seed1"), "```", ""]
                + ([f"The checkpoint is a copy of that run folder (`runs_cpu/r110cells_full/{run}`).", ""]
                   if steps <= CELLS_STEPS else _cells_continued(cfg, log, run, steps) + _third_phase(cfg, log, run)))
    w3600, total = _wall_at(log, 3600), cfg.get("wall_seconds")
    continued = name in CONTINUED and steps == 6000
    out = [f"{steps:,} steps of batch {tr['batch_size']} (Muon lr {tr['lr']} + AdamW lr {tr['adam_lr']}, warmup "
           f"{tr['warmup']}, cosine to {tr['min_lr_ratio']:.0%}, clip {tr['clip']}, seed {tr['seed']}), in "
           + ("three" if continued else "two") + " phases, exactly as every model of the sweep: 2,100 steps (cosine "
           "over 2,100), then resumed with `--steps 3600` (the cosine restarts from its 2,100/3,600 point)"
           + (", then resumed with `--steps 6000` (from its 3,600/6,000 point)." if continued else "."), "",
           f"- Steps 0-3,600: on {where}"
           + (f"; training wall time {w3600:,.0f} s." if w3600 else ".")]
    if continued:
        out.append(f"- Steps 3,600-6,000: on {CPU}; training wall time {total - w3600:,.0f} s."
                   if w3600 and total else f"- Steps 3,600-6,000: on {CPU}.")
    out += ["", f"Commands (sweep: `{spec}`, run `{run}`):", "", "```",
            *train_commands(spec, run, f"runs/{run}", continued), "```", ""]
    out += (["The first two were run as:", "", "```", *LAUNCHED[name], "```", ""] if name in LAUNCHED else
            ["The first two were launched (with `--device`/`--threads` added per run) by:", "",
             "```", *(SWEEP_GPU if where == GPU else SWEEP_CPU), "```", ""])
    if continued:
        out += ["The third, from a copy of the 3,600-step folder in `runs_cpu/ext/` (one thread, CPU), by:", "",
                "```", f"bash experiments/longer.sh {name} {CONTINUED[name]}", "```", ""]
    return out


def _window_fate(layers: str, eviction: str) -> str:
    """What happens to the state window at its boundary, for this kind of model."""
    if "F" in layers:
        return "is consolidated, then evicted" if eviction != "none" else "is consolidated; its cache is kept"
    return ("has no fast weights to be consolidated into, and its KV cache is evicted, so nothing of it reaches the "
            "question" if eviction != "none" else "stays in the KV cache (nothing is evicted), so the question "
            "attends to it directly")


def card(name: str) -> str:
    folder = CKPT / name
    cfg = json.loads((folder / "config.json").read_text())
    spec, run, where = PROVENANCE[name]
    evals = sorted(EVAL.glob(f"{name}.json")) + sorted(EVAL.glob(f"{name}__N*.json"))
    log = [json.loads(ln) for ln in (folder / "log.jsonl").read_text().splitlines() if ln.strip()]
    curve = [r for r in log if "eval" in r]
    from safetensors.torch import load_file
    n_params = sum(v.numel() for v in load_file(str(folder / "model.safetensors")).values())
    m, s, t, tr = cfg["model"], cfg["sleep"], cfg["task"], cfg["train"]
    lines = [f"# {name}", "", f"{DESCRIPTION[name][0].upper() + DESCRIPTION[name][1:]}.", "",
             "## Task", "",
             f"Elementary cellular automaton, rule {t.get('rule')}, a ring of W={t.get('width')} cells "
             f"({t.get('boundary')} boundary), {t.get('states')} initial state per sample, rollout depth t drawn "
             + _task_draw(cfg) + " and stated as a token at the start of the state window. The state "
             f"window (L={s['window']} tokens) " + _window_fate(m["layers"], s["eviction"]) + "; the prediction window asks for "
             + (f"cells 0..{t['cells'] - 1} of the state after t steps, one `?` each ({t['cells']} answers; exact "
                "match = all of them right)" if t.get("cells", 1) > 1 else "cell 0 after t steps")
             + f". Task config: `{json.dumps(t)}`.", "",
             "## Model", "",
             f"Layers `{m['layers']}` (A attention, F fast weights / gated {m['fast_rule']} rule), d={m['d_model']}, "
             f"{m['n_heads']} heads of {m['head_dim']}, MLP x{m['mlp_ratio']}"
             + (f", {n_params:,} parameters" if n_params else "") + f". Sleep: window L={s['window']}, "
             f"N={s['passes']} passes, eviction `{s['eviction']}`"
             + (f"; trained with N drawn per batch from {tr['passes']}" if tr.get("passes") else "") + ".", "",
             "## Training", "", *training_text(name, cfg, log, where, spec, run)]
    lines += ["The folder holds `train_state.*` (optimiser state), so rerunning the command with a larger "
             "`--steps` and `--out` pointing at a copy of this folder continues training.", ""]
    lines += _in_progress(name)
    if evals:
        lines += ["## Measured accuracy", "",
                  "Exact-match accuracy on 2,000 samples per depth; held-out = initial states never drawn in "
                  "training (12.5% of all 2^16 strings, chosen by a hash). 95% Wilson intervals in brackets.", ""]
        for path in evals:
            r = json.loads(path.read_text())
            depths = list(r["held_out"]["per_depth"])
            lines += [f"`{r['command']}`", "",
                      "| split | N | " + " | ".join(f"t={d}" for d in depths) + " |",
                      "|---|---|" + "---|" * len(depths)]
            for split, res in (("held-out", r["held_out"]), ("fresh", r)):
                lines.append(f"| {split} | {r['passes']} | " + " | ".join(
                    f"{v['accuracy']:.3f} [{v['ci95'][0]:.2f}, {v['ci95'][1]:.2f}]" for v in res["per_depth"].values()) + " |")
            lines.append("| chance | | " + " | ".join(f"{v['chance']:.3f}" for v in r["held_out"]["per_depth"].values()) + " |")
            if "answer_accuracy" in r["held_out"]:
                lines.append(f"| held-out, single cells right | {r['passes']} | " + " | ".join(
                    f"{v['answer_accuracy']:.3f}" for v in r["held_out"]["per_depth"].values()) + " |")
            lines.append("")
    if curve:
        lines += ["## Training curve (1,000 fresh samples every 250 steps, from `log.jsonl`)", ""]
        if t.get("depth_weights") and training_recipe(cfg) == "t2":
            lines += ["These samples follow the curriculum's depth weights from step 0, so the aggregate below leans "
                      "to the deep end; the evaluation above, by depth, is the comparable measure.", ""]
        elif t.get("depth_weights"):
            lines += [f"After step {CELLS_THIRD:,} these samples follow the fourth phase's depth weights, so the "
                      "aggregate below leans to the deep end and drops for that reason alone; the evaluation above, "
                      "by depth, is the comparable measure.", ""]
        lines += ["| step | fresh | held-out |", "|---|---|---|"]
        lines += [f"| {r['step']} | {r['eval']['accuracy']:.3f} | {r['eval'].get('held_out', float('nan')):.3f} |"
                  for r in curve]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    for name in PROVENANCE:
        if (CKPT / name / "config.json").exists():
            (CKPT / name / "README.md").write_text(card(name) + "\n")
            print(f"[cards] wrote checkpoints/{name}/README.md")
    for name in TASK_CARDS:
        if (CKPT / name / "accuracy.json").exists():
            (CKPT / name / "README.md").write_text(task_card(name) + "\n")
            print(f"[cards] wrote checkpoints/{name}/README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
