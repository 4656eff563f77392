"""Write a model card (README.md) into every shipped checkpoint folder from its config, log and evals.

    python experiments/cards.py

Reads checkpoints/NAME/{config.json, log.jsonl} and docs/results/eval/NAME*.json (written by
experiments/report.py); nothing in a card is typed by hand except the provenance table below.
"""

from __future__ import annotations

import json
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
CPU = "this project's 2-core CPU machine (Intel Xeon, torch 2.13.0+cpu), two runs side by side, 1 thread each"
# name -> (sweep spec, run name in the spec, where it trained)
PROVENANCE = {
    "rule110-n1": ("experiments/sweep_deep.json", "rule110-t8-n1", GPU),
    "rule110-n2": ("experiments/sweep_deep.json", "rule110-t8-n2", GPU),
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
    "rule110-n4": "the sleeping hybrid with N=4 passes per consolidation window",
    "rule110-n1-seed1": "second seed of the no-sleep hybrid (N=1)",
    "rule110-n4-seed1": "second seed of the sleeping hybrid with N=4",
    "rule110-nmix": "one sleeping hybrid trained with N drawn from {1, 2, 4} per batch, meant to run at any of them",
    "rule110-attn-evicted": "attention-only transformer of the same width, KV cache evicted every window (nothing can cross)",
    "rule110-attn-kept": "attention-only transformer of the same width with its cache kept (an upper bound that is not memory-bounded)",
}


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
             "They were launched (with `--device`/`--threads` added per run) by:", "",
             "```", *(SWEEP_GPU if where == GPU else SWEEP_CPU), "```", "",
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
