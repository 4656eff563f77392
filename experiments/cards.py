"""Write a model card (README.md) into every shipped checkpoint folder from its config, log and evals.

    python experiments/cards.py

Reads checkpoints/NAME/{config.json, log.jsonl} and docs/results/eval/NAME*.json (written by
experiments/report.py), or for the k-hop and arithmetic checkpoints checkpoints/NAME/accuracy.json
(written by experiments/task_evals.py); nothing in a card is typed by hand except the provenance tables.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
}
DESCRIPTION = {
    "rule110-n1": "the no-sleep hybrid (N=1: one online pass per window, then eviction)",
    "rule110-n2": "the sleeping hybrid with N=2 passes per consolidation window",
    "rule110-n2-seed1": "second seed of the sleeping hybrid with N=2",
    "rule110-n4": "the sleeping hybrid with N=4 passes per consolidation window",
    "rule110-n1-seed1": "second seed of the no-sleep hybrid (N=1)",
    "rule110-n4-seed1": "second seed of the sleeping hybrid with N=4",
    "rule110-nmix": "one sleeping hybrid trained with N drawn from {1, 2, 4} per batch, meant to run at any of them",
    "rule110-attn-evicted": "attention-only transformer of the same width, KV cache evicted every window (nothing can cross)",
    "rule110-attn-kept": "attention-only transformer of the same width with its cache kept (an upper bound that is not memory-bounded)",
}


# The k-hop and arithmetic checkpoints: shipped although they did not learn their task, so the explorer can
# show how those problems are laid out over windows. name -> (what it is, where it trained, the exact training
# command from the run's log, how that run was launched). Their accuracy comes from accuracy.json in the
# folder, written by experiments/task_evals.py.
TASK_CARDS = {
    "khop-n4": (
        "the sleeping hybrid (N=4) on the smaller k-hop task (cycles of 5..8 nodes, k in 1..4)",
        "this project's 2-core CPU machine (Intel Xeon, torch 2.13.0+cpu), next to other work, 1 thread",
        "python -m sleepcore.train --out runs_cpu/khop/khop-n4 --no-progress --threads 1 --device cpu --d-model 64 "
        "--n-heads 2 --head-dim 32 --batch-size 256 --eval-every 250 --eval-samples 1000 --ckpt-every 250 --task khop "
        "--task-param 'nodes=[5,8]' --task-param max_nodes=8 --task-param max_hops=4 --layers AF --passes 4 --steps 2000",
        "python experiments/sweep.py experiments/sweep_khop_small.json --runs-dir runs_cpu/khop --parallel 2 "
        "--steps 2000     # run khop-n4 of the spec",
    ),
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
TASK_LAYOUT = {
    "khop": lambda t, s: (
        f"k-hop retrieval on a shuffled directed cycle (`sleepcore/tasks/khop.py`): a random cycle of "
        f"{t['nodes'][0]}..{t['nodes'][1]} nodes (names drawn from {t['max_nodes']}) is stated as its edges in random "
        f"order over {math.ceil(2 * t['nodes'][1] / t['window'])} windows of L={s['window']} tokens (two tokens per "
        f"edge); each window is consolidated, then evicted. The prediction window asks \"k={{k}} s ?\": the node k "
        f"hops after s, k in {t['min_hops']}..{t['max_hops']} (the depth)."),
    "arith": lambda t, s: (
        f"Multi-step arithmetic mod {t['modulus']} (`sleepcore/tasks/arithmetic.py`): the question (\"? x\") comes "
        f"first, then {t['max_ops'] + 1 + t['distractors']} facts such as `b = a + 4`, shuffled, packed into windows of "
        f"L={s['window']} tokens; the answer needs a chain of {t['min_ops']}..{t['max_ops']} operations (the depth) "
        f"among distractor facts. Every window is consolidated, then evicted; the prediction window is \"ans ?\"."),
}


def task_card(name: str) -> str:
    """The card of a k-hop or arithmetic checkpoint; it says first that the model did not learn its task."""
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
    learned = ("**This model has NOT learned the task: its held-out accuracy is at chance** "
               if acc["at_chance"] else "Measured accuracy: ")
    depth = "k" if t["name"] == "khop" else "ops"
    per = acc["per_depth"]
    lines = [f"# {name}", "",
             learned + f"({acc['accuracy']:.3f} [{lo:.3f}, {hi:.3f}] on {acc['samples']:,} fresh problems, "
             f"where guessing {acc['guess']['rule']} gets {acc['guess']['accuracy']:.3f} and always giving the most "
             f"common answer gets {acc['chance']:.3f}). It ships so the explorer can show how the problem is laid out "
             "over windows.", "",
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
             "Only `config.json`, `model.safetensors` and `log.jsonl` ship (no optimiser state).", "",
             "## Measured accuracy", "",
             f"Exact-match accuracy on {per[next(iter(per))]['count']:,} fresh problems per depth, 95% Wilson intervals "
             f"in brackets; written to `accuracy.json` by `python experiments/task_evals.py`, which runs exactly:", "",
             f"`{acc['command']}`", "",
             "| | N | " + " | ".join(f"{depth}={d}" for d in per) + " |", "|---|---|" + "---|" * len(per),
             f"| accuracy | {acc['passes']} | " + " | ".join(
                 f"{v['accuracy']:.3f} [{v['ci95'][0]:.2f}, {v['ci95'][1]:.2f}]" for v in per.values()) + " |",
             "| blind guess | | " + " | ".join(f"{acc['guess']['per_depth'][d]:.3f}" for d in per) + " |",
             "| most common answer | | " + " | ".join(f"{v['chance']:.3f}" for v in per.values()) + " |", "",
             f"Blind guess: {acc['guess']['rule']}, which uses none of the stated edges or facts. The model "
             f"counts as at chance when its accuracy is within {acc['at_chance_margin']:.2f} of the better of the "
             "two baselines.", ""]
    if curve:
        lines += ["## Training curve (1,000 fresh samples every 250 steps, from `log.jsonl`)", "",
                  "| step | fresh |", "|---|---|"]
        lines += [f"| {r['step']} | {r['eval']['accuracy']:.3f} |" for r in curve]
        lines.append("")
    return "\n".join(lines)


def train_commands(spec_path: str, run: str, out: str) -> list[str]:
    spec = json.loads((ROOT / spec_path).read_text())
    r = next(x for x in spec["runs"] if x["name"] == run)
    flags = spec["common"] + spec["groups"][r["group"]] + r["args"]
    base = "python -m sleepcore.train --out " + out + " " + " ".join(
        f"'{f}'" if any(c in f for c in "[]") else f for f in flags)
    return [base + " --steps 2100", base + " --steps 3600"]


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
    lines = [f"# {name}", "", f"{DESCRIPTION[name].capitalize()}.", "",
             "## Task", "",
             f"Elementary cellular automaton, rule {t.get('rule')}, a ring of W={t.get('width')} cells "
             f"({t.get('boundary')} boundary), {t.get('states')} initial state per sample, rollout depth t drawn "
             f"uniformly from {t.get('steps')} and stated as a token at the start of the state window. The state "
             f"window (L={s['window']} tokens) is consolidated, then evicted; the prediction window asks for cell 0 "
             f"after t steps. Task config: `{json.dumps(t)}`.", "",
             "## Model", "",
             f"Layers `{m['layers']}` (A attention, F fast weights / gated {m['fast_rule']} rule), d={m['d_model']}, "
             f"{m['n_heads']} heads of {m['head_dim']}, MLP x{m['mlp_ratio']}"
             + (f", {n_params:,} parameters" if n_params else "") + f". Sleep: window L={s['window']}, "
             f"N={s['passes']} passes, eviction `{s['eviction']}`"
             + (f"; trained with N drawn per batch from {tr['passes']}" if tr.get("passes") else "") + ".", "",
             "## Training", "",
             f"Trained on {where}; {cfg.get('trained_steps')} steps of batch {tr['batch_size']} "
             f"(Muon lr {tr['lr']} + AdamW lr {tr['adam_lr']}, warmup {tr['warmup']}, cosine to "
             f"{tr['min_lr_ratio']:.0%}, clip {tr['clip']}, seed {tr['seed']}); training wall time "
             f"{cfg.get('wall_seconds')} s. The run went to 2,100 steps (cosine schedule over 2,100), then was "
             f"resumed with `--steps 3600`, which restarts the cosine from its 2,100/3,600 point; every model "
             f"of the sweep got exactly this schedule. Commands (sweep: `{spec}`, run `{run}`):", "",
             "```", *train_commands(spec, run, f"runs/{run}"), "```", "",
             *(["They were run as:", "", "```", *LAUNCHED[name], "```", ""] if name in LAUNCHED else
               ["They were launched (with `--device`/`--threads` added per run) by:", "",
                "```", *(SWEEP_GPU if where == GPU else SWEEP_CPU), "```", ""]),
             "The folder holds `train_state.*` (optimiser state), so rerunning the command with a larger "
             "`--steps` and `--out` pointing at a copy of this folder continues training.", ""]
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
            lines.append("")
    if curve:
        lines += ["## Training curve (1,000 fresh samples every 250 steps, from `log.jsonl`)", "",
                  "| step | fresh | held-out |", "|---|---|---|"]
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
