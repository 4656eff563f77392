"""Evaluate the shipped checkpoints and write docs/results.md (tables + SVG plots) from the JSON.

    python experiments/report.py                 # evaluate what is missing, then write the report
    python experiments/report.py --reevaluate    # evaluate everything again
    python experiments/report.py --only-write    # just rebuild docs/results.md from docs/results/*.json
    python experiments/report.py --only-write --cells-probe   # also evaluate the Rule 110 all-cells probe runs

Every evaluation is `python -m sleepcore.evaluate --checkpoint DIR --samples 2000 --per-depth --json
[--passes N]` run in this process (same code path); the JSON lands in docs/results/eval/ and the
report quotes the command next to every table.
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
from sleepcore.evaluate import evaluate_model  # noqa: E402
from sleepcore.tasks import task_from_config  # noqa: E402
from sleepcore.train import TrainConfig, lr_factor  # noqa: E402

sys.path.insert(0, str(ROOT / "experiments"))
import inflight  # noqa: E402
from task_evals import AT_CHANCE_MARGIN  # noqa: E402

CKPT = ROOT / "checkpoints"
OUT = ROOT / "docs" / "results"
SAMPLES = 2000

# (checkpoint, test-time N values; None = the N it was trained with)
PLAN = [
    ("rule110-n1", [None]), ("rule110-n1-seed1", [None]),
    ("rule110-n2", [None]), ("rule110-n2-seed1", [None]),
    ("rule110-n4", [None, 1, 2, 8]), ("rule110-n4-seed1", [None]),
    ("rule110-nmix", [1, 2, 4, 8]),
    ("rule110-attn-evicted", [None]), ("rule110-attn-evicted-seed1", [None]),
    ("rule110-attn-kept", [None]), ("rule110-attn-kept-seed1", [None]),
]
MAIN = [n for n, _ in PLAN if n != "rule110-nmix"]   # one model per N: the accuracy-by-depth table
OTHER_N = [("khop-n4", [1, 2, 8]),                   # the k-hop model trained at N=4, run at other N
           ("rule110-cells-n4", [1, 2, 8]), ("rule110-cells-n4-seed1", [1, 2, 8]),   # and the all-cells ones
           ("rule110-cells-n4-seed2", [1, 2, 8])]
# Rule 110 asking all 16 cells (experiments/sweep_rule110_cells_full.json): exact match = the whole row right.
# The later seeds (rule110-cells-n4-seed2, rule110-cells-n2-seed1) are listed here and show wherever their
# checkpoint has shipped (experiments/inflight.py carries them until then).
CELLS = {"N=1 (no sleep)": ["rule110-cells-n1", "rule110-cells-n1-seed1"],
         "N=2": ["rule110-cells-n2", "rule110-cells-n2-seed1"],
         "N=4": ["rule110-cells-n4", "rule110-cells-n4-seed1", "rule110-cells-n4-seed2"]}
# The attention-only baselines of the whole-row comparison, trained through the same five phases (inflight.CELLS_ATTN);
# they show wherever their checkpoints have shipped.
CELLS_ATTN = {"attention only, cache evicted": ["rule110-cells-attn-evicted", "rule110-cells-attn-evicted-seed1"],
              "attention only, cache kept": ["rule110-cells-attn-kept", "rule110-cells-attn-kept-seed1"]}
# The curriculum recipe's runs (t drawn in proportion to t² from step 0, inflight.CURR_PHASES) that have shipped, each
# a copy of its 10,000-step run folder; evaluated like every shipped checkpoint, never pooled with the standard recipe.
CURR_KINDS = {"n1": "N=1 (no sleep)", "n2": "N=2", "n4": "N=4", "attn-evicted": "attention only, cache evicted",
              "attn-kept": "attention only, cache kept"}
CURR_SHIPPED = {label: [f"rule110-cells-curr-{r}" for r in inflight.CURR_RUNS if r.partition("-seed")[0] == kind]
                for kind, label in CURR_KINDS.items()}
CELLS_LATER = [inflight.CELLS_SEED2, inflight.CELLS_N2_SEED1]   # run after the first five, same recipe
CELLS_SPEC = "experiments/sweep_rule110_cells_full.json"
CELLS_LONG_SPEC = "experiments/sweep_rule110_cells_long.json"   # the same runs continued from 4,000 steps
CELLS_FIRST = 4000
CELLS_AT4000 = OUT / "cells-at4000"   # evaluations of the 4,000-step all-cells checkpoints (git: 9f06585)
CELLS_SECOND = inflight.CELLS_LONG.steps   # where the second phase ended (6,000 steps)
CELLS_AT6000 = OUT / "cells-at6000"   # evaluations of the 6,000-step all-cells checkpoints, shipped until the third phase
AT6000_COMMIT = inflight.AT6000_COMMIT
CELLS_THIRD = inflight.CELLS_P3.steps      # where the third phase ended (7,500 steps)
CELLS_AT7500 = OUT / "cells-at7500"   # evaluations of the 7,500-step all-cells checkpoints, shipped until the fourth phase
AT7500_COMMIT = inflight.AT7500_COMMIT
CELLS_FOURTH = inflight.CELLS_P4.steps     # where the fourth phase ended (8,500 steps)
CELLS_AT8500 = OUT / "cells-at8500"   # evaluations of the 8,500-step all-cells checkpoints, shipped until the fifth phase
AT8500_COMMIT = inflight.AT8500_COMMIT
CELLS_PHASES = [inflight.CELLS_LONG, inflight.CELLS_P3, inflight.CELLS_P4,   # continuations every whole-row run went
                inflight.CELLS_P5]                                             # through (or is going through), in order
AT4000_STATE = {   # the later seeds: the commit that holds the run folder at step 4,000, and that folder
    "rule110-cells-n4-seed2": ("ca36bb1", "experiments/resume/r110cells_seed2/r110cells-n4-seed2"),
    "rule110-cells-n2-seed1": ("f16ed72", "experiments/resume/r110cells_n2_seed1/r110cells-n2-seed1")}
COLOURS = {"rule110-n1": "#999999", "rule110-n1-seed1": "#bbbbbb", "rule110-n2": "#e69f00",
           "rule110-n2-seed1": "#f0c060", "rule110-n4": "#0072b2",
           "rule110-n4-seed1": "#56b4e9", "rule110-nmix": "#009e73", "rule110-attn-evicted": "#d55e00",
           "rule110-attn-evicted-seed1": "#e8956a", "rule110-attn-kept": "#cc79a7", "rule110-attn-kept-seed1": "#e2b3d0"}
# The models by kind, for the seed-averaged tables and plots.
GROUPS = {"N=1 (no sleep)": ["rule110-n1", "rule110-n1-seed1"], "N=2": ["rule110-n2", "rule110-n2-seed1"],
          "N=4": ["rule110-n4", "rule110-n4-seed1"],
          "attention only, cache evicted": ["rule110-attn-evicted", "rule110-attn-evicted-seed1"],
          "attention only, cache kept": ["rule110-attn-kept", "rule110-attn-kept-seed1"]}
GROUP_COLOURS = {"N=1 (no sleep)": "#999999", "N=2": "#e69f00", "N=4": "#0072b2",
                 "attention only, cache evicted": "#d55e00", "attention only, cache kept": "#cc79a7"}
# Evaluations of the 3,600-step checkpoints that shipped before the 6,000-step ones (git: 99485f1:checkpoints/).
AT3600 = OUT / "at3600"
BEFORE = "99485f1"


def eval_path(name: str, passes: int | None) -> Path:
    return OUT / "eval" / f"{name}{'' if passes is None else f'__N{passes}'}.json"


def seed_of(name: str) -> int:
    """The training seed of a shipped checkpoint (its config.json)."""
    return int(json.loads((CKPT / name / "config.json").read_text())["train"]["seed"])


def command(name: str, passes: int | None) -> str:
    return (f"python -m sleepcore.evaluate --checkpoint checkpoints/{name} --samples {SAMPLES} --per-depth --json"
            + ("" if passes is None else f" --passes {passes}"))


def evaluate_all(reevaluate: bool) -> None:
    (OUT / "eval").mkdir(parents=True, exist_ok=True)
    for name, passes_list in PLAN + OTHER_N + [(n, [None]) for g in (CELLS, CELLS_ATTN, CURR_SHIPPED)
                                               for names in g.values() for n in names]:
        if not (CKPT / name).is_dir():
            print(f"[report] {name}: no checkpoint, skipped", flush=True)
            continue
        model, cfg = load_checkpoint(CKPT / name)
        task = task_from_config(cfg["task"])
        for passes in passes_list:
            path = eval_path(name, passes)
            if path.exists() and not reevaluate:
                continue
            res = evaluate_model(model, task, SAMPLES, seed=0, passes=passes, per_depth=True)
            res.update({"checkpoint": f"checkpoints/{name}", "command": command(name, passes),
                        "trained_passes": cfg["sleep"]["passes"], "trained_steps": cfg.get("trained_steps"),
                        "train_passes": cfg["train"].get("passes") or [cfg["sleep"]["passes"]]})
            path.write_text(json.dumps(res, indent=1) + "\n")
            split = res.get("held_out", res)
            print(f"[report] {name} N={res['passes']}: {'held-out' if 'held_out' in res else 'fresh'} "
                  f"{split['accuracy']:.3f}", flush=True)


def load(name: str, passes: int | None = None) -> dict | None:
    p = eval_path(name, passes)
    return json.loads(p.read_text()) if p.exists() else None


# --------------------------------------------------------------------------- tiny SVG line plot
def svg_plot(series: list[tuple[str, str, list[float], list[float], list[tuple[float, float]] | None]],
             xlabel: str, ylabel: str, xticks: list[float], chance: list[float] | None = None,
             width: int = 760, height: int = 360, ymin: float = 0.4, ymax: float = 1.0) -> str:
    """series: (label, colour, xs, ys, ci or None). Returns an SVG document."""
    left, right, top, bottom = 56, 250, 16, 44
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = min(xticks), max(xticks)

    def X(x): return left + (x - x0) / max(1e-9, x1 - x0) * pw
    def Y(y): return top + (1 - (y - ymin) / (ymax - ymin)) * ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="12"><rect width="100%" height="100%" fill="white"/>']
    for k in range(int(ymin * 10), int(ymax * 10) + 1):
        y = k / 10
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#eee"/>'
                   f'<text x="{left - 6}" y="{Y(y) + 4:.1f}" text-anchor="end">{y:.1f}</text>')
    for x in xticks:
        out.append(f'<text x="{X(x):.1f}" y="{top + ph + 16}" text-anchor="middle">{x:g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">{xlabel}</text>')
    out.append(f'<text transform="translate(14,{top + ph / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>')
    if chance:
        pts = " ".join(f"{X(x):.1f},{Y(c):.1f}" for x, c in zip(xticks, chance))
        out.append(f'<polyline points="{pts}" fill="none" stroke="#444" stroke-dasharray="4 3"/>')
        series = series + [("chance (majority)", "#444", [], [], None)]
    for i, (label, colour, xs, ys, ci) in enumerate(series):
        if ci:
            band = [f"{X(x):.1f},{Y(lo):.1f}" for x, (lo, _) in zip(xs, ci)]
            band += [f"{X(x):.1f},{Y(hi):.1f}" for x, (_, hi) in reversed(list(zip(xs, ci)))]
            out.append(f'<polygon points="{" ".join(band)}" fill="{colour}" opacity="0.15"/>')
        if xs:
            pts = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in zip(xs, ys))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
            out += [f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="{colour}"/>' for x, y in zip(xs, ys)]
        ly = top + 10 + 18 * i
        dash = ' stroke-dasharray="4 3"' if label.startswith("chance") else ""
        out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 32}" y1="{ly}" y2="{ly}" stroke="{colour}" '
                   f'stroke-width="2"{dash}/><text x="{left + pw + 36}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out)


def depth_table(rows: list[tuple[str, dict]], split: str = "held_out") -> list[str]:
    depths = list(rows[0][1][split]["per_depth"])
    lines = ["| model | N | " + " | ".join(f"t={d}" for d in depths) + " | all |",
             "|---|---|" + "---|" * (len(depths) + 1)]
    for label, r in rows:
        pd = r[split]["per_depth"]
        lines.append(f"| {label} | {r['passes']} | " + " | ".join(f"{pd[d]['accuracy']:.3f}" for d in depths)
                     + f" | {r[split]['accuracy']:.3f} |")
    ch = rows[0][1][split]["per_depth"]
    lines.append("| chance (majority) | | " + " | ".join(f"{ch[d]['chance']:.3f}" for d in depths) + " | |")
    return lines


def _evals(log: Path) -> list[dict]:
    recs = [json.loads(ln) for ln in log.read_text().splitlines() if ln.strip()]
    return [r for r in recs if "eval" in r]


def curves_section() -> list[str]:
    """Accuracy at t=7 and t=8 every 250 steps, from each checkpoint's training log, as a plot and a table."""
    names = [n for n, _ in PLAN if (CKPT / n / "log.jsonl").exists()]
    if not names:
        return []
    logs = {n: {r["step"]: r["eval"] for r in _evals(CKPT / n / "log.jsonl")} for n in names}
    steps = sorted(set().union(*(set(v) for v in logs.values())))
    series = []
    for g, members in GROUPS.items():
        members = [m for m in members if m in logs]
        if members:
            common = [st for st in steps if all(st in logs[m] for m in members)]
            ys = [sum(logs[m][st]["per_depth"].get("8", float("nan")) for m in members) / len(members) for st in common]
            short = g.replace(" (no sleep)", "").replace("attention only, cache", "transformer,")
            series.append((f"{short} (mean of {len(members)})", GROUP_COLOURS[g], common, ys, None))
    if series:
        last = max(max(x) for _, _, x, _, _ in series)
        ticks = sorted({steps[0], last, *(st for st in steps if st % 1000 == 0 and st <= last)})
        chance = json.loads((OUT / "eval" / f"{names[0]}.json").read_text())["held_out"]["per_depth"]["8"]["chance"] \
            if (OUT / "eval" / f"{names[0]}.json").exists() else None
        (OUT / "t8_by_step.svg").write_text(svg_plot(series, "training step (batch 512)", "accuracy at t=8 (fresh)",
                                                     ticks, [chance] * len(ticks) if chance else None,
                                                     width=860, ymin=0.4, ymax=1.0))
    out = ["## Curves at equal steps (from the training logs)", "",
           "Accuracy on 1,000 fresh samples (all depths mixed, ~125 per depth, so +-0.05 per depth and model) logged",
           "every 250 steps during training (`log.jsonl` in each checkpoint). The schedule, the same for every model:",
           "a cosine over 2,100 steps; resumed with `--steps 3600` (the cosine restarts at its 2,100/3,600 point);",
           "resumed again with `--steps 6000` (at its 3,600/6,000 point). The plot averages the seeds of each model",
           "at t=8, the deepest depth.", "",
           "![accuracy at t=8 by training step](results/t8_by_step.svg)", "",
           "| step | " + " | ".join(f"{n} t=7 / t=8" for n in names) + " |", "|---|" + "---|" * len(names)]
    for st in steps:
        cells = []
        for n in names:
            pd = logs[n][st]["per_depth"] if st in logs[n] else {}
            cells.append(f"{pd['7']:.2f} / {pd['8']:.2f}" if "7" in pd and "8" in pd else "")
        out.append(f"| {st} | " + " | ".join(cells) + " |")
    return out + [""]


KHOP = ["khop-n1", "khop-n1-seed1", "khop-n2", "khop-n2-seed1", "khop-n4", "khop-n4-seed1"]
KHOP_COLOURS = {"khop-n1": "#999999", "khop-n1-seed1": "#bbbbbb", "khop-n2": "#e69f00", "khop-n2-seed1": "#f0c060",
                "khop-n4": "#0072b2",
                "khop-n4-seed1": "#56b4e9"}


def khop_section() -> list[str]:
    """k-hop with five questions per problem: accuracy by k from accuracy.json, and the curves from the logs."""
    accs = {n: json.loads((CKPT / n / "accuracy.json").read_text()) for n in KHOP
            if (CKPT / n / "accuracy.json").exists()}
    if not accs:
        return []
    first = next(iter(accs.values()))
    ks = list(first["per_depth"])
    out = ["## k-hop retrieval: five questions per problem (CPU)", "",
           "Spec `experiments/sweep_khop_q5.json`: one window of L=16 tokens states a shuffled directed cycle of 6..8",
           "nodes as its edges; it is consolidated (N passes) and evicted; then five questions \"k=<k> s ?\" (the node",
           "k hops after s) share the prediction window, so they must be answered from S alone. Every model: the same",
           "data, 2,000 steps of batch 256, same recipe, trained on this project's 2-core CPU",
           "(`python experiments/sweep.py experiments/sweep_khop_q5.json --runs-dir runs_cpu/khop5 --parallel 1 --steps 2000`).",
           f"Measured on {first['per_depth'][ks[0]]['count']:,} fresh problems per k, every question of a problem at "
           "that k (`python experiments/task_evals.py`, which runs `python -m sleepcore.evaluate --checkpoint "
           "checkpoints/NAME --samples 1000 --per-depth --json`). The earlier k-hop specs (below) never left chance. "
           "They differ from this one in three ways at once: one question per problem instead of five (a fifth of "
           "the training signal), edges over two or three windows instead of one, and 5..12 nodes. The ablation "
           "below changes only the first (one question per problem) and stays at chance.", "",
           "Exact match (all five answers right) and, in brackets, the share of single answers right:", "",
           "| model | N | seed | " + " | ".join(f"k={k}" for k in ks) + " | all |", "|---|---|---|" + "---|" * (len(ks) + 1)]
    for n, a in accs.items():
        cells = [f"{a['per_depth'][k]['accuracy']:.3f} ({a['per_depth'][k].get('answer_accuracy', float('nan')):.3f})"
                 for k in ks]
        seed = 1 if n.endswith("seed1") else 0
        out.append(f"| {n} | {a['passes']} | {seed} | " + " | ".join(cells)
                   + f" | {a['accuracy']:.3f} ({a.get('answer_accuracy', float('nan')):.3f}) |")
    g = first.get("answer_guess", {}).get("per_depth", {})
    out.append("| blind guess | | | " + " | ".join(
        f"{first['guess']['per_depth'][k]:.4f} ({g.get(k, float('nan')):.3f})" for k in ks) + " | |")
    override = [(p, load("khop-n4", p)) for p in (1, 2, 8)]
    override = [(p, r) for p, r in override if r]
    if override and "khop-n4" in accs:
        out += ["", "The model trained with N=4 run at other N (`--passes`; 2,000 fresh problems per k, "
                "`python -m sleepcore.evaluate --checkpoint checkpoints/khop-n4 --samples 2000 --per-depth --json "
                "--passes N`), exact match (single answers right):", "",
                "| N | " + " | ".join(f"k={k}" for k in ks) + " | all |", "|---|" + "---|" * (len(ks) + 1)]
        rows = sorted([(accs["khop-n4"]["passes"], accs["khop-n4"])] + override, key=lambda x: x[0])
        for p, r in rows:
            out.append(f"| {p}{' (trained)' if r is accs['khop-n4'] else ''} | " + " | ".join(
                f"{r['per_depth'][k]['accuracy']:.3f} ({r['per_depth'][k]['answer_accuracy']:.3f})" for k in ks)
                + f" | {r['accuracy']:.3f} ({r['answer_accuracy']:.3f}) |")
        out += [""] + khop_hops_section()
    logs = {n: {r["step"]: r["eval"]["accuracy"] for r in _evals(CKPT / n / "log.jsonl")} for n in accs
            if (CKPT / n / "log.jsonl").exists()}
    if logs:
        steps = sorted(set.intersection(*(set(v) for v in logs.values())))
        series = [(f"{n} (N={accs[n]['passes']})", KHOP_COLOURS.get(n, "#000"), steps, [logs[n][st] for st in steps],
                   None) for n in logs]
        ticks = [st for st in steps if st % 500 == 0 or st == steps[0]]
        (OUT / "khop_by_step.svg").write_text(svg_plot(series, "training step (batch 256)",
                                                      "exact match, k in 1..4 mixed", ticks, None, ymin=0.0, ymax=1.0))
        out += ["", "Exact match on 1,000 fresh problems (k mixed) every 100 steps, from each checkpoint's `log.jsonl`:",
                "", "![k-hop accuracy by training step](results/khop_by_step.svg)", "",
                "| step | " + " | ".join(logs) + " |", "|---|" + "---|" * len(logs)]
        for st in [x for x in steps if x % 200 == 0 or x == steps[0]]:
            out.append(f"| {st} | " + " | ".join(f"{logs[n][st]:.3f}" for n in logs) + " |")
    return out + [""]


def khop_hops_section() -> list[str]:
    """Where khop-n4's answers land when it runs at other N (experiments/khop_hops.py)."""
    path = OUT / "khop-hops.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    out = ["### Where the wrong answers land (k-hop, N=4 models run at N = 2, 4, 8)", "",
           "Each answer of khop-n4 and khop-n4-seed1 classified by its hop distance j from the start node on the "
           f"problem's cycle ({data['samples']:,} fresh problems per k, every question at that k; "
           f"`{data['command']}`, JSON in `docs/results/khop-hops.json`). Cells: right (j = k) / one hop off "
           "(j = k ± 1) / elsewhere on the cycle / not a node of the cycle.", "",
           "| model | N | " + " | ".join(f"k={k}" for k in next(iter(next(iter(data['models'].values())).values())))
           + " |", "|---|---|" + "---|" * 4]
    for name, by_n in data["models"].items():
        for n, by_k in by_n.items():
            cells = []
            for k, hist in by_k.items():
                right = hist.get(k, 0.0)
                near = sum(v for j, v in hist.items() if j != "off" and abs(int(j) - int(k)) == 1)
                off = hist.get("off", 0.0)
                cells.append(f"{right:.2f} / {near:.2f} / {max(0.0, 1 - right - near - off):.2f} / {off:.2f}")
            out.append(f"| {name} | {n}{' (trained)' if n == '4' else ''} | " + " | ".join(cells) + " |")
    out += ["", "Run at N=8, more passes than it was trained with, the model still answers with a node of the "
            "cycle (at most 2% off it) near the right one on the path: seed 0 one hop off (k=2 one hop short, k=4 one "
            "hop long), seed 1 two hops short (at k=3 and k=4). Which k suffers differs between the seeds, which is "
            "why exact match at N=8 is not monotone in k. At N=2, fewer passes than trained, the answers fall short "
            "more grossly: seed 0 answers most k=2 questions with the node one hop away, seed 1 answers most k=3 "
            "questions with the start node itself (79%), and at k=4 a quarter of seed 0's answers are not on the "
            "cycle at all."]
    return out + [""]


def _below_n2(res: dict, d: str) -> str:
    """How many N=4 seeds score below every N=2 seed at depth d, in words, or '' if none does."""
    n2 = [r["held_out"]["per_depth"][d]["accuracy"] for _, r in res.get("N=2", [])]
    n4 = [r["held_out"]["per_depth"][d]["accuracy"] for _, r in res.get("N=4", [])]
    low = [a for a in n4 if n2 and a < min(n2)]
    if not low:
        return ""
    return (f"{_count(len(low))} of the {_count(len(n4))} N=4 seeds ({', '.join(f'{a:.3f}' for a in low)}) "
            f"{'is' if len(low) == 1 else 'are'} below every N=2 seed ({', '.join(f'{a:.3f}' for a in n2)})")


def _depth_sentence(res: dict, d: str, chance: float) -> str:
    """Exact match at depth d per kind and seed, with the seed means, in words; every claim is checked here."""
    parts, means = [], {}
    for g, rs in res.items():
        accs = [r["held_out"]["per_depth"][d]["accuracy"] for _, r in rs]
        means[g] = sum(accs) / len(accs)
        parts.append(f"{g.replace(' (no sleep)', '')} {', '.join(f'{a:.3f}' for a in accs)}"
                     + (f" (mean {means[g]:.3f})" if len(accs) > 1 else " (one seed)"))
    n1 = [r["held_out"]["per_depth"][d]["accuracy"] for _, r in res.get("N=1 (no sleep)", [])]
    n4 = [r["held_out"]["per_depth"][d]["accuracy"] for _, r in res.get("N=4", [])]
    order = [g for g in ("N=1 (no sleep)", "N=2", "N=4") if g in means]
    ordered = all(means[a] < means[b] for a, b in zip(order, order[1:]))
    said = []
    if n1 and max(n1) - chance < 0.1:
        said.append("the no-sleep models are near chance")
    if n1 and n4 and min(n4) > max(n1):
        said.append(f"every N=4 seed is {100 * (min(n4) - max(n1)):.1f} or more points above every N=1 seed")
    below = _below_n2(res, d)
    if ordered and len(order) == 3:
        said.append("the order is N=1 < N=2 < N=4 in seed means, the paper's picture"
                    + (f", but only in the means: {below}" if below else ""))
    else:
        if not ordered:
            said.append("the seed means are not ordered by N (" + " / ".join(f"{means[g]:.3f}" for g in order) + ")")
        if below:
            said.append(below)
    spread = ""
    if len(n4) > 1 and max(n4) > 2 * max(min(n4), 1e-9):
        spread = (f"; the {_count(len(n4))} N=4 seeds differ by up to a factor of {max(n4) / max(min(n4), 1e-9):.1f}, "
                  f"so the size of the gain is not pinned down by {_count(len(n4))} seeds")
    return (f"One step shallower, at t={d}: " + "; ".join(parts) + f"; chance {chance:.3f}."
            + (" Here " + (", ".join(said[:-1]) + " and " if len(said) > 1 else "") + said[-1] + spread + "." if said else (" " + spread[2:].capitalize() + "." if spread else "")))


def cells_section() -> list[str]:
    """Rule 110 asking all 16 cells: exact match (whole row) and single cells, by depth, N=1 vs N=4, two seeds."""
    res = {g: [(n, load(n)) for n in names if load(n)] for g, names in CELLS.items()}
    res = {g: rs for g, rs in res.items() if rs}
    if "N=1 (no sleep)" not in res or "N=4" not in res:
        return []
    first = res["N=1 (no sleep)"][0][1]["held_out"]
    depths = list(first["per_depth"])
    steps = sorted({r.get("trained_steps") for rs in res.values() for _, r in rs})

    def mean(rs, d, key="accuracy"):
        return sum(r["held_out"]["per_depth"][d][key] for _, r in rs) / len(rs)

    out = ["## Rule 110 asking all 16 cells: exact match on the whole row", "",
           f"Spec `{CELLS_SPEC}`: the Rule 110 task above with task parameter `cells=16`, so the prediction window "
           "asks every cell of the ring after t steps (16 answers per sample, the change that made k-hop learnable; "
           "the paper's metric is likewise exact match over several labels). "
           + ", ".join(f"{g.replace(' (no sleep)', '')} {_count(len(rs))} seed{'s' if len(rs) > 1 else ''}"
                       for g, rs in res.items()) + ", the same "
           f"data, recipe and budget ({CELLS_FIRST:,} steps of batch 512, one cosine, every run "
           "from scratch) on this project's 2-core CPU: `python experiments/sweep.py "
           f"{CELLS_SPEC} --runs-dir runs_cpu/r110cells_full --steps {CELLS_FIRST} --parallel 2 --only "
           "r110cells-n4,r110cells-n4-seed1` (and likewise `--only r110cells-n2`, `--only r110cells-n1,"
           "r110cells-n1-seed1`; the three sweeps ran side by side). "
           + (f"Then every run was continued from its {CELLS_FIRST:,}-step checkpoint to {CELLS_SECOND:,} steps, five "
              f"side by side, with the cosine recomputed over {CELLS_SECOND:,} steps (a warm restart: the learning rate "
              f"rises from 10% to {lr_factor(CELLS_FIRST, TrainConfig(steps=CELLS_SECOND)):.0%} of its peak at step "
              f"{CELLS_FIRST:,}, then decays to 10% again): `{inflight.CELLS_LONG.command}` (after copying the five run "
              f"folders into `{inflight.CELLS_LONG.runs_dir}/`; over several sessions). The same second phase for every N "
              "keeps the budget equal. "
              if steps[-1] > CELLS_FIRST else "")
           + _cells_later_sentence()
           + _cells_third_sentence(steps[-1])
           + _cells_fourth_sentence(steps[-1])
           + _cells_fifth_sentence(steps[-1])
           + 
           f"Held-out inputs only ({SAMPLES:,} initial states per t never drawn in training), "
           "`python -m sleepcore.evaluate --checkpoint checkpoints/NAME --samples 2000 --per-depth --json`.", "",
           *_cells_in_progress(),
           "![exact match by depth](results/cells_by_depth.svg)", "",
           "Exact match, all 16 cells right (chance: always answering the most common row):", "",
           "| model | N | seed | " + " | ".join(f"t={d}" for d in depths) + " |", "|---|---|---|" + "---|" * len(depths)]
    for g, rs in res.items():
        for n, r in rs:
            pd = r["held_out"]["per_depth"]
            out.append(f"| {n} | {r['passes']} | {seed_of(n)} | "
                       + " | ".join(f"{pd[d]['accuracy']:.3f}" for d in depths) + " |")
    base = {d: mean(res["N=1 (no sleep)"], d) for d in depths}
    for g, rs in res.items():
        out.append(f"| **{g}, mean of {len(rs)}** | | | " + " | ".join(
            f"**{mean(rs, d):.3f}**" + ("" if g.startswith("N=1") else f" ({100 * (mean(rs, d) - base[d]):+.1f})")
            for d in depths) + " |")
    attn = {g: [(n, load(n)) for n in names if load(n)] for g, names in CELLS_ATTN.items()}
    attn = {g: rs for g, rs in attn.items() if rs}
    for g, rs in attn.items():
        for n, r in rs:
            pd = r["held_out"]["per_depth"]
            out.append(f"| {n} | - | {seed_of(n)} | " + " | ".join(f"{pd[d]['accuracy']:.3f}" for d in depths) + " |")
        out.append(f"| **{g}, mean of {len(rs)}** | | | " + " | ".join(f"**{mean(rs, d):.3f}**" for d in depths)
                   + " |")
    out.append("| chance (most common row) | | | " + " | ".join(
        f"{first['per_depth'][d]['chance']:.3f}" for d in depths) + " |")
    deepest = depths[-1]
    n4 = [r["held_out"]["per_depth"][deepest]["accuracy"] for _, r in res["N=4"]]
    n1 = [r["held_out"]["per_depth"][deepest]["accuracy"] for _, r in res["N=1 (no sleep)"]]
    chance = first["per_depth"][deepest]["chance"]
    met = min(n4) - max(n1) >= 0.2 and max(n1) - chance < 0.05
    below = _below_n2(res, deepest)
    out += ["", f"At the deepest depth (t={deepest}) N=4 gets the whole row right on "
            f"{', '.join(f'{a:.3f}' for a in n4)} of held-out inputs (seeds), N=1 on {', '.join(f'{a:.3f}' for a in n1)}"
            f", chance {chance:.3f}: a gain of {100 * (min(n4) - max(n1)):+.1f} to {100 * (max(n4) - min(n1)):+.1f} "
            f"points across seed pairs (mean {100 * (sum(n4) / len(n4) - sum(n1) / len(n1)):+.1f}). The issue's aim "
            "(N=1 near chance, N=4 at least 20 points above, at the deepest depth) is "
            + ("**met** on this metric." if met else "**not met** on this metric.")
            + (f" With {_count(len(n4))} N=4 seeds the median at t={deepest} is {sorted(n4)[len(n4) // 2]:.3f}, "
               f"{100 * (sorted(n4)[len(n4) // 2] - sum(n1) / len(n1)):+.1f} points above the N=1 mean; "
               f"{_count(sum(a - max(n1) >= 0.2 for a in n4))} of the {_count(len(n4))} N=4 seeds "
               f"{'is' if sum(a - max(n1) >= 0.2 for a in n4) == 1 else 'are'} 20 or more points above every N=1 seed"
               + (f", and {below}." if below else ".")
               if len(n4) >= 3 else "") + _later_seeds_status()
            + (" How often an N=4 seed finds the deep computation, and the recipes tried to make it reliable, are in *Making N=4 "
               "reliable* below." if _recipe_rows() else ""), "",
            _depth_sentence(res, depths[-2], first["per_depth"][depths[-2]]["chance"]), "",
            *_cells_attn_sentence(attn, res, deepest, chance),
            "Share of single cells right (one cell's chance, the majority rate, is the one-cell task's, by symmetry):",
            "", "| model | " + " | ".join(f"t={d}" for d in depths) + " |", "|---|" + "---|" * len(depths)]
    for g, rs in res.items():
        out.append(f"| {g}, mean of {len(rs)} | " + " | ".join(f"{mean(rs, d, 'answer_accuracy'):.3f}"
                                                            for d in depths) + " |")
    one = load("rule110-n1")
    if one:
        out.append("| chance (one cell) | " + " | ".join(
            f"{one['held_out']['per_depth'][d]['chance']:.3f}" for d in depths) + " |")
    palette = {"N=1 (no sleep)": ("#999999", "#bbbbbb", "#666666"), "N=2": ("#e69f00", "#f0c060", "#a06d00"),
               "N=4": ("#0072b2", "#56b4e9", "#003f63")}   # one shade per seed
    palette.update({"attention only, cache evicted": ("#d55e00", "#e8956a"),
                    "attention only, cache kept": ("#cc79a7", "#e2b3d0")})
    xs = [int(d) for d in depths]
    series = []
    for g, rs in list(res.items()) + list(attn.items()):
        for i, (n, r) in enumerate(rs):
            pd = r["held_out"]["per_depth"]
            series.append((f"{n}" + ("" if g in attn else f" (N={r['passes']})"), palette[g][seed_of(n) % 3], xs, [pd[d]["accuracy"] for d in depths],
                           [tuple(pd[d]["ci95"]) for d in depths]))
    (OUT / "cells_by_depth.svg").write_text(svg_plot(series, "rollout depth t", "held-out exact match (16 cells)", xs,
                                                     [first["per_depth"][d]["chance"] for d in depths],
                                                     ymin=0.0, ymax=1.0))
    out += _cells_budget(res, depths)
    out += _cells_other_n(res, depths)
    logs = {n: {r["step"]: r["eval"]["per_depth"] for r in _evals(CKPT / n / "log.jsonl")}
            for rs in res.values() for n, _ in rs if (CKPT / n / "log.jsonl").exists()}
    if logs:
        at = [d for d in depths[-3:]]
        steps_ = sorted(set.intersection(*(set(v) for v in logs.values())))
        group_of = {n: g for g, names in CELLS.items() for n in names}
        curves = [(f"{n} t={deepest}", palette[group_of[n]][seed_of(n) % 3],
                   steps_, [logs[n][st].get(deepest, float("nan")) for st in steps_], None) for n in logs]
        (OUT / "cells_by_step.svg").write_text(svg_plot(curves, "training step (batch 512)",
                                                        f"exact match at t={deepest} (fresh)",
                                                        [st for st in steps_ if st % 1000 == 0 or st == steps_[0]],
                                                        ymin=0.0, ymax=1.0, width=860))
        weighted = any(json.loads((CKPT / n / "config.json").read_text())["task"].get("depth_weights") for n in logs)
        out += ["", "Curves at equal steps: exact match on 1,000 fresh samples (all depths mixed, ~125 per depth"
                + (f"; after step {CELLS_THIRD:,} they follow the fourth phase's depth weights, "
                   f"~{1000 * _p4_weights()[1][-1] / sum(_p4_weights()[1]):.0f} at t={deepest} and "
                   f"~{1000 * _p4_weights()[1][-2] / sum(_p4_weights()[1]):.0f} at t={int(deepest) - 1}, and fresh samples can repeat training strings, so these curves run above the held-out "
                   "evaluation" if weighted else "") + ") "
                "logged every 250 steps (`log.jsonl` in each checkpoint).", "",
                "![exact match at the deepest depth by training step](results/cells_by_step.svg)", "",
                "| step | " + " | ".join(f"{n} " + " / ".join(f"t={d}" for d in at) for n in logs) + " |",
                "|---|" + "---|" * len(logs)]
        for st in steps_:
            out.append(f"| {st} | " + " | ".join(" / ".join(f"{logs[n][st].get(d, float('nan')):.2f}" for d in at)
                                                 for n in logs) + " |")
    return out + [""] + _recipe_section(res["N=4"])


# What each recipe trial changes from the standard recipe, by the word its run names carry.
RECIPES = {"curr": "t ∝ t² from step 0", "beta": "β started low"}


def _recipe_rows() -> list[tuple[str, str, int, dict, dict | None]]:
    """(name, recipe, steps, held-out per_depth, the standard recipe's per_depth for the same N, seed and step or
    None) for every evaluated recipe trial (PILOTS_AT4000, then CURR_AT phase by phase), in the order they were run."""
    rows = []
    for folder, std_dir in [(PILOTS_AT4000, CELLS_AT4000)] + [(CURR_AT[st], STD_AT[st]) for st in sorted(CURR_AT)]:
        for f in sorted(folder.glob("*.json"), key=lambda f: (f.stem.count("seed"), f.stem)):
            r = json.loads(f.read_text())
            kind = f.stem.split("-")[2]
            std = std_dir / f"{f.stem.replace(f'-{kind}', '', 1)}.json"
            rows.append((f.stem, RECIPES.get(kind, kind), int(r["trained_steps"]), r["held_out"]["per_depth"],
                         json.loads(std.read_text())["held_out"]["per_depth"] if std.exists() else None))
    return rows


def _recipe_section(n4: list[tuple[str, dict]]) -> list[str]:
    """### Making N=4 reliable: the held-out table of every recipe trial beside the standard recipe at the same seed
    and step, then the seed screen and the trials' tests (each fixed in advance) in words; or []."""
    rows = _recipe_rows()
    if not rows:
        return []
    at = ("1", "6", "7", "8")
    screened = [json.loads(f.read_text())["held_out"]["per_depth"][SCREEN_DEPTH]["accuracy"]
                for f in CELLS_AT4000.glob("rule110-cells-n4*.json")]
    found = sum(a > SCREEN_T7 for a in screened)
    out = ["### Making N=4 reliable: a seed screen and recipe trials", "",
           f"Under the standard recipe {_count(found)} N=4 seed{'' if found == 1 else 's'} in {_count(len(screened))} "
           f"found the deep computation by {CELLS_FIRST:,} steps (held-out t={SCREEN_DEPTH} above {SCREEN_T7}; the "
           "screen below). The trials change one thing in the recipe and are read held-out (2,000 inputs per t) at the end "
           "of a phase, beside the standard recipe's run of the same N and seed at the same step (— where that run "
           "was never trained). `python experiments/report.py --only-write --pilots` (4,000 steps) and `--curr` "
           "(6,000 to 10,000 steps) evaluate finished trials; the training state is in `experiments/resume/`.", "",
           "| run | change from the standard recipe | N | seed | steps | " + " | ".join(f"t={d}" for d in at)
           + " | standard recipe, t=8 |", "|---|---|---|---|---|" + "---|" * len(at) + "---|"]
    for name, recipe, steps, pd, std in rows:
        seed = name.rsplit("-seed", 1)[1] if "-seed" in name else "0"
        n = ("attention, cache kept" if "attn-kept" in name else "attention, cache evicted" if "attn-" in name
             else name.split("-n", 1)[1][0])
        out.append(f"| {name} | {recipe} | {n} | {seed} | {steps:,} | "
                   + " | ".join(f"{pd[d]['accuracy']:.3f}" for d in at)
                   + f" | {std['8']['accuracy']:.3f} |" if std else
                   f"| {name} | {recipe} | {n} | {seed} | {steps:,} | "
                   + " | ".join(f"{pd[d]['accuracy']:.3f}" for d in at) + " | — |")
    paras = [t.strip() for t in (_seed_screen_status(n4), _pilots_status(), _curr_screen_status(), _curr_phases_status())
             if t.strip()]
    return out + [line for t in paras for line in ("", t)] + [""]


def _cells_attn_sentence(attn: dict, res: dict, deepest: str, chance: float) -> list[str]:
    """What the attention-only baselines of the whole-row comparison get at the deepest depth, against the hybrids."""
    if not attn:
        return []
    def at(rs):
        return [r["held_out"]["per_depth"][deepest]["accuracy"] for _, r in rs]
    steps = sorted({r.get("trained_steps") for rs in attn.values() for _, r in rs})
    hybrid_steps = sorted({r.get("trained_steps") for rs in res.values() for _, r in rs})
    when = (f"{_and([f'{s:,}' for s in steps])} steps" + ("" if steps == hybrid_steps else
            f", where the hybrids above have had {_and([f'{s:,}' for s in hybrid_steps])}: not yet an equal budget"))
    parts = []
    ev, kept = attn.get("attention only, cache evicted"), attn.get("attention only, cache kept")
    if ev:
        a = at(ev)
        parts.append(f"With its KV cache evicted every window nothing of the row can reach the question, and it gets "
                     f"the whole row right at t={deepest} on {', '.join(f'{x:.3f}' for x in a)} of held-out inputs "
                     f"(seeds; chance {chance:.3f}): "
                     + ("at chance, as it must be." if max(a) - chance < 0.05 else
                        "**above chance, which should be impossible**: a leak to look for."))
    if kept:
        a, n1 = at(kept), at(res.get("N=1 (no sleep)", []))
        mean = sum(a) / len(a)
        means = {g: sum(at(rs)) / len(rs) for g, rs in res.items() if rs}
        above = [f"{g.replace(' (no sleep)', '')} ({100 * (m - mean):+.1f})" for g, m in means.items() if m > mean]
        below = [f"{g.replace(' (no sleep)', '')} ({100 * (m - mean):+.1f})" for g, m in means.items() if m <= mean]
        beaten = [n for n, r in res.get("N=4", []) if r["held_out"]["per_depth"][deepest]["accuracy"] > max(a)]
        parts.append(f"With its cache kept (not memory-bounded: the question attends to the row itself) it gets "
                     f"{', '.join(f'{x:.3f}' for x in a)} at t={deepest} (mean {mean:.3f})"
                     + (f", {100 * (mean - sum(n1) / len(n1)):+.1f} points from the N=1 mean" if n1 else "")
                     + ". Seed means above it, in points: " + (_and(above) if above else "none")
                     + "; at or below it: " + (_and(below) if below else "none")
                     + (f". {_count(len(beaten)).capitalize()} N=4 seed{'s' if len(beaten) != 1 else ''} beat{'s' if len(beaten) == 1 else ''} "
                        "both of its seeds" if beaten else "")
                     + (". Keeping every token is not an upper bound here: the question needs t steps of computation, "
                        "and one pass through two layers is what this transformer has." if above else "."))
    return [f"The attention-only transformer of the same width (layers `AA`), two seeds of each kind, trained exactly "
            f"as the hybrids, phase for phase (`{inflight.CELLS_ATTN[0].spec}`, then `{inflight.CELLS_ATTN[-1].spec}`; "
            f"{when}), gives the floor (cache evicted) and a reference with no memory limit (cache kept). "
            + " ".join(parts), ""]


def _cells_other_n(res: dict, depths: list[str]) -> list[str]:
    """The all-cells N=4 models run at other N with --passes: does more sleep at test time help?"""
    at = depths
    rows = []
    for name, r4 in res.get("N=4", []):
        runs = sorted([(p, load(name, p)) for p in (1, 2, 8) if load(name, p)] + [(4, r4)], key=lambda x: x[0])
        if len(runs) > 1:
            rows.append((name, runs))
    if not rows:
        return []
    out = ["", "### The N=4 models run at other N", "",
           "The same checkpoints evaluated with `--passes N` (held-out, 2,000 inputs per t; `python -m "
           "sleepcore.evaluate --checkpoint checkpoints/NAME --samples 2000 --per-depth --json --passes N`), exact "
           "match:", "", "| model | N | " + " | ".join(f"t={d}" for d in at) + " |", "|---|---|" + "---|" * len(at)]
    for name, runs in rows:
        for p, r in runs:
            pd = r["held_out"]["per_depth"]
            out.append(f"| {name} | {p}{' (trained)' if p == 4 else ''} | "
                       + " | ".join(f"{pd[d]['accuracy']:.3f}" for d in at) + " |")
    best = {}   # for each N other than 4: the best exact match any depth gets, over both models
    for name, runs in rows:
        for p, r in runs:
            if p != 4:
                top = max(r["held_out"]["per_depth"][d]["accuracy"] for d in depths)
                best[p] = max(best.get(p, 0.0), top)
    trained = ", ".join(f"{r4['held_out']['per_depth'][at[-1]]['accuracy']:.3f}" for _, runs in rows
                        for p, r4 in runs if p == 4)
    collapse = all(v < 0.5 for v in best.values())
    return out + ["", ("Run at any other N, fewer passes or more, " + ("both" if len(rows) == 2 else f"all {_count(len(rows))}")
                       + " models collapse: the best exact match at "
                       "any depth is " + ", ".join(f"{v:.3f} at N={p}" for p, v in sorted(best.items()))
                       + f" (at N=4, t={at[-1]}: {trained}). Each has learned to use exactly the number of passes it "
                       "was trained with, not a procedure that improves with more of them; `rule110-nmix` (above) "
                       "is the one-cell attempt at a model that runs at any N."
                       if collapse else
                       "Best exact match at any depth, at the other N: "
                       + ", ".join(f"{v:.3f} at N={p}" for p, v in sorted(best.items())) + ".")]


def _cells_in_progress() -> list[str]:
    """Where a committed continuation of the all-cells runs stands, while it is not finished."""
    out = []
    for start, rs in zip([CELLS_FIRST] + [p.steps for p in CELLS_PHASES], CELLS_PHASES):
        progress = {run: rs.progress(run) for run in rs.runs.values()}
        if all(p is None for p in progress.values()) or all(p and p["step"] >= rs.steps for p in progress.values()):
            continue                    # not started, or finished (and shipped)
        where = ", ".join(f"{run} {p['step']:,}" if p else f"{run} not started" for run, p in progress.items())
        change = (" with t drawn in proportion to t² (a curriculum towards the deep end)"
                  if rs in (inflight.CELLS_P4, inflight.CELLS_P5) else "")
        out += [f"**A continuation is under way** (`{rs.spec}`: every run continued from its {start:,}-step "
                f"checkpoint to {rs.steps:,} steps{change}, the same for every N). The runs' state is committed in "
                f"`{rs.runs_dir}/`, so a three-hour session that ends first leaves it for the next, which resumes "
                f"it with `{rs.command}`. Steps reached so far: {where}. The shipped checkpoints, and every number "
                f"below, stay at {start:,} steps until all {_count(len(rs.runs))} runs reach {rs.steps:,}; "
                "`python experiments/inflight.py` prints where each run stands.", ""]
    return out


def _cells_third_sentence(last: int) -> str:
    """How the third phase (6,000 -> 7,500 steps, every run one after another) was run, once it has shipped."""
    rs = inflight.CELLS_P3
    if last <= CELLS_SECOND:
        return ""
    end = min(last, CELLS_THIRD)
    return (f"Then all {_count(len(rs.runs))} runs were continued again, from {CELLS_SECOND:,} to {end:,} steps, one "
            f"after another on two threads, with the cosine recomputed over {end:,} steps (the learning rate rises "
            f"from 10% to {lr_factor(CELLS_SECOND, TrainConfig(steps=end)):.0%} of its peak at step {CELLS_SECOND:,}): "
            f"`{rs.command}` (after copying the {CELLS_SECOND:,}-step checkpoint folders, from commit {AT6000_COMMIT}, "
            f"into `{rs.runs_dir}/`; spec `{rs.spec}`). ")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _p4_weights() -> tuple[str, list[float]]:
    """The fourth phase's depth_weights, as written in its spec and as numbers (t_min first)."""
    flags = json.loads((ROOT / inflight.CELLS_P4.spec).read_text())["groups"]["rule110"]
    text = next(f.split("=", 1)[1] for f in flags if f.startswith("depth_weights="))
    return text, json.loads(text)


def _cells_fourth_sentence(last: int) -> str:
    """The fourth phase (7,500 -> 8,500 steps): the same continuation for every run, but with the training
    samples drawn towards the deep end (task parameter depth_weights), once it has shipped."""
    rs = inflight.CELLS_P4
    if last <= CELLS_THIRD:
        return ""
    last = min(last, CELLS_FOURTH)
    weights, w = _p4_weights()
    share = [f"{x / sum(w):.{1 if x / sum(w) < 0.1 else 0}%}" for x in w]
    return (f"Then all {_count(len(rs.runs))} runs were continued a fourth time, from {CELLS_THIRD:,} to {last:,} "
            f"steps, with one change to the data for every N, a curriculum towards the deep end: t drawn in proportion "
            f"to t² instead of uniformly (task parameter `depth_weights={weights}`, so the deepest t is {share[-1]} of "
            f"the training samples instead of {1 / len(w):.1%} and t=1 {share[0]}; the held-out split, the model and the optimiser state are carried "
            f"over, and the cosine is recomputed over {last:,} steps, rising from 10% to "
            f"{lr_factor(CELLS_THIRD, TrainConfig(steps=last)):.0%} of its peak at step {CELLS_THIRD:,}): `{rs.command}` "
            f"(each run starts with `--init-from` from its {CELLS_THIRD:,}-step folder in "
            f"`{inflight.CELLS_P3.runs_dir}/`; the {CELLS_THIRD:,}-step checkpoints shipped until then are at commit "
            f"{AT7500_COMMIT}). ")


def _cells_fifth_sentence(last: int) -> str:
    """The fifth phase (8,500 -> 10,000 steps): the fourth phase's curriculum for longer, once it has shipped."""
    rs = inflight.CELLS_P5
    if last <= CELLS_FOURTH:
        return ""
    return (f"Then all {_count(len(rs.runs))} runs were continued a fifth time with the same curriculum, from "
            f"{CELLS_FOURTH:,} to {last:,} steps (the cosine recomputed over {last:,} steps, rising from 10% to "
            f"{lr_factor(CELLS_FOURTH, TrainConfig(steps=last)):.0%} of its peak at step {CELLS_FOURTH:,}): "
            f"`{rs.command}` (each run starts with `--init-from` from its {CELLS_FOURTH:,}-step folder in "
            f"`{inflight.CELLS_P4.runs_dir}/`; the {CELLS_FOURTH:,}-step checkpoints shipped until then are at commit "
            f"{AT8500_COMMIT}). ")


def _cells_budget(res: dict, depths: list[str]) -> list[str]:
    """Held-out exact match of the all-cells models at their earlier phase ends (kept JSON) next to now."""
    kept = [(CELLS_FIRST, CELLS_AT4000), (CELLS_SECOND, CELLS_AT6000), (CELLS_THIRD, CELLS_AT7500),
            (CELLS_FOURTH, CELLS_AT8500)]
    rows = []
    for rs in res.values():
        for n, r in rs:
            now = r.get("trained_steps", 0)
            before = [json.loads((d / f"{n}.json").read_text()) for at, d in kept
                      if at < now and (d / f"{n}.json").exists()]
            if before:
                rows.append((n, before, r))
    if not rows:
        return []
    at = depths[-3:]
    stages = [r["trained_steps"] for r in rows[0][1]] + [rows[0][2]["trained_steps"]]
    out = ["", "The budget, " + " -> ".join(f"{s:,}" for s in stages) + " steps: held-out exact match of the same runs "
           f"at their earlier checkpoints (same command and seed; kept in "
           + _and([f"`docs/results/{d.name}/`" for at, d in kept if at < stages[-1]]) + "; the first five runs' "
           f"{CELLS_FIRST:,}-step checkpoints are `git show 9f06585:checkpoints/NAME/model.safetensors`"
           + "".join(f"; {n}'s {CELLS_FIRST:,}-step state is `{AT4000_STATE[n][1]}` at commit {AT4000_STATE[n][0]}, "
                     f"evaluated by `python experiments/report.py --only-write --at4000 {n} FOLDER` (see `evaluate_at4000`)"
                     for n, _, _ in rows if n in AT4000_STATE)
           + "".join(f"; every run's {at:,}-step checkpoint is `git show {commit}:checkpoints/NAME/model.safetensors`, "
                     "evaluated by the command above" for at, commit in ((CELLS_SECOND, AT6000_COMMIT),
                                                                         (CELLS_THIRD, AT7500_COMMIT),
                                                                         (CELLS_FOURTH, AT8500_COMMIT))
                     if at < stages[-1]) + ") and now:", "",
           "| model | N | seed | " + " | ".join(f"t={d}" for d in at) + " |", "|---|---|---|" + "---|" * len(at)]
    for n, before, now in rows:
        out.append(f"| {n} | {now['passes']} | {seed_of(n)} | " + " | ".join(
            " -> ".join(f"{r['held_out']['per_depth'][d]['accuracy']:.3f}" for r in before + [now]) for d in at) + " |")
    return out


PILOTS_AT4000 = OUT / "pilots-at4000"   # held-out evaluations of the one-seed recipe pilots at 4,000 steps


def _pilots() -> tuple:
    """The recipe pilots (read from inflight at call time) and what each changes."""
    return ((inflight.CELLS_CURR_PILOT, "the depth curriculum (t drawn in proportion to t²) from step 0"),
            (inflight.CELLS_BETA_PILOT, "the write strength started low (`--beta-bias -2`)"))


def _rel(path: Path) -> str:
    """path relative to the repo when it is inside it (as results.md quotes it), else as it is."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def evaluate_pilots() -> None:
    """Every recipe pilot that has finished its 4,000 steps and has no evaluation yet, held-out like the seed
    screen (SAMPLES inputs per t), into PILOTS_AT4000/<name>.json: `python experiments/report.py --pilots`."""
    PILOTS_AT4000.mkdir(parents=True, exist_ok=True)
    firsts = [inflight.CELLS_CURR_SCREEN, inflight.CELLS_CURR_MORE, inflight.CELLS_CURR_ATTN]
    for rs in [rs for rs, _ in _pilots()] + firsts:
        for name, run in rs.runs.items():
            p = rs.progress(run)
            if not p or p["step"] < rs.steps or (PILOTS_AT4000 / f"{name}.json").exists():
                continue
            res = evaluate_folder(f"{rs.runs_dir}/{run}", SAMPLES, PILOTS_AT4000)
            assert res["trained_steps"] == CELLS_FIRST, f"{run} holds a {res['trained_steps']}-step model"
            (PILOTS_AT4000 / f"{run}.json").rename(PILOTS_AT4000 / f"{name}.json")
            print(f"[report] pilot {name}: held-out {res['held_out']['accuracy']:.3f}", flush=True)


def evaluate_at4000(name: str, folder: str) -> None:
    """A later all-cells seed at 4,000 steps, for the budget table. Its run folder went on training, so the
    4,000-step state lives in git (the commit that says so); to rerun: `git checkout SHA -- RUNS_DIR/RUN`, then
    `python experiments/sweep.py SPEC --runs-dir RUNS_DIR --steps 4000` writes its model.safetensors back, then
    `python experiments/report.py --only-write --at4000 NAME RUNS_DIR/RUN`."""
    CELLS_AT4000.mkdir(parents=True, exist_ok=True)
    res = evaluate_folder(folder, SAMPLES, CELLS_AT4000)
    assert res["trained_steps"] == CELLS_FIRST, f"{folder} holds a {res['trained_steps']}-step model, not {CELLS_FIRST}"
    (CELLS_AT4000 / f"{Path(folder).name}.json").rename(CELLS_AT4000 / f"{name}.json")
    print(f"[report] {name} at {CELLS_FIRST:,} steps: held-out {res['held_out']['accuracy']:.3f}", flush=True)


CELLS_PROBE = OUT / "rule110-cells"       # evaluate --json of the two probe runs (not shipped)


def json_dir(folder: Path) -> dict[str, dict]:
    """File stem -> parsed JSON for every *.json in a folder, sorted by name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def evaluate_folder(rel: str, samples: int, out_dir: Path) -> dict:
    """`python -m sleepcore.evaluate --checkpoint REL --samples SAMPLES --per-depth --json` on a run folder
    (relative to the repo), with its command, steps and training time, written to out_dir/<folder name>.json."""
    model, cfg = load_checkpoint(ROOT / rel)
    res = evaluate_model(model, task_from_config(cfg["task"]), samples, seed=0, per_depth=True)
    res.update({"checkpoint": rel, "trained_steps": cfg.get("trained_steps"), "wall_seconds": cfg.get("wall_seconds"),
                "command": f"python -m sleepcore.evaluate --checkpoint {rel} --samples {samples} --per-depth --json"})
    (out_dir / f"{Path(rel).name}.json").write_text(json.dumps(res, indent=1) + "\n")
    return res


def evaluate_cells_probe() -> None:
    """Evaluate the probe runs in runs_cpu/r110cells/ (held-out, 2,000 states per t) into CELLS_PROBE."""
    CELLS_PROBE.mkdir(parents=True, exist_ok=True)
    for folder in sorted((ROOT / "runs_cpu" / "r110cells").glob("r110cells-*")):
        if not (folder / "config.json").exists():
            continue
        res = evaluate_folder(f"runs_cpu/r110cells/{folder.name}", SAMPLES, CELLS_PROBE)
        print(f"[report] probe {folder.name}: held-out single cells {res['held_out']['answer_accuracy']:.3f}", flush=True)


PASS_PROBE = OUT / "pass_probe.json"   # experiments/pass_probe.py on the shipped whole-row models


GATES = OUT / "gates.json"   # experiments/gates.py on the whole-row N=4 seeds (and N=2)


def gates_section() -> list[str]:
    """How hard each pass writes into S (experiments/gates.py), against whether the seed found the deep computation."""
    if not GATES.exists():
        return []
    data = json.loads(GATES.read_text())
    res = data["results"]
    out = ["## How hard each pass writes into the memory (gate statistics, whole-row models)", "",
           f"For {data['samples']:,} held-out inputs at t={data['depth']}, `experiments/gates.py` averages, per pass, "
           "the fast-weight block's write strength β (the delta rule's step: 1 overwrites what is stored under a key, "
           "a small β nudges it) and its forget gate α (1 keeps S), over the state window. "
           f"`{data['command']}`", "",
           "| model | steps | β by pass | α by pass | t=7 held-out at 4,000 steps |", "|---|---|---|---|---|"]

    def screen(r):
        path = CELLS_AT4000 / f"rule110-cells-n4-seed{r['seed']}.json" if r["seed"] else CELLS_AT4000 / "rule110-cells-n4.json"
        if r["passes"] != 4 or not path.exists():
            return None
        return json.loads(path.read_text())["held_out"]["per_depth"][SCREEN_DEPTH]["accuracy"]

    sleep_beta = {}
    for r in res:
        b = next(iter(r["blocks"].values()))
        t7 = screen(r)
        out.append(f"| {Path(r['checkpoint']).name} (N={r['passes']}, seed {r['seed']}) | {r['trained_steps']:,} | "
                   + " / ".join(f"{x:.2f}" for x in b["beta"]) + " | " + " / ".join(f"{x:.2f}" for x in b["alpha"])
                   + f" | {'' if t7 is None else f'{t7:.3f}'} |")
        if t7 is not None:
            sleep_beta[r["seed"]] = (sum(b["beta"][1:]) / len(b["beta"][1:]), t7)
    if len(sleep_beta) >= 3:
        ranked = sorted(sleep_beta.items(), key=lambda kv: kv[1][0])
        passed = [sd for sd, (_, t7) in sleep_beta.items() if t7 > SCREEN_T7]
        lowest = ranked[0][0]
        out += ["", f"Mean β over the sleep passes, N=4 seeds from lowest to highest: "
                + ", ".join(f"seed {sd} {b:.2f}" for sd, (b, _) in ranked) + ". "
                + (f"The one seed that passed the seed screen (seed {passed[0]}) writes the most gently in its sleep "
                   f"passes; the other {_count(len(ranked) - 1)} write harder ({ranked[1][1][0]:.2f} to "
                   f"{ranked[-1][1][0]:.2f}). This is a correlation over {_count(len(sleep_beta))} seeds, at mixed "
                   "steps, not a cause, but it names a recipe to test: start β lower "
                   "(`ModelConfig.beta_bias`) or cap it, and see whether more seeds find the deep computation."
                   if passed == [lowest] else
                   "Whether a seed passed the seed screen does not line up with how hard it writes: "
                   + (_and([f"seed {sd}" for sd in passed]) if passed else "no seed") + " passed.")]
    return out + _gates_pilots() + [""]


GATES_PILOTS = OUT / "gates-pilots.json"   # experiments/gates.py on the recipe pilots at 4,000 steps


def _gates_pilots() -> list[str]:
    """The lead above put to a test: the low-β pilot's own gates at 4,000 steps against its held-out verdict."""
    if not GATES_PILOTS.exists():
        return []
    data = json.loads(GATES_PILOTS.read_text())
    out = ["", f"The lead, tested: the recipe pilots' gates at the end of their first phase (`{data['command']}`):", "",
           "| pilot | steps | β by pass | α by pass | held-out t=7 / t=8 at 4,000 steps |", "|---|---|---|---|---|"]
    for r in data["results"]:
        b = next(iter(r["blocks"].values()))
        name = "rule110-cells-" + Path(r["checkpoint"]).name.removeprefix("r110cells-")
        ev = PILOTS_AT4000 / f"{name}.json"
        pd = json.loads(ev.read_text())["held_out"]["per_depth"] if ev.exists() else None
        out.append(f"| {name} | {r['trained_steps']:,} | " + " / ".join(f"{x:.2f}" for x in b["beta"]) + " | "
                   + " / ".join(f"{x:.2f}" for x in b["alpha"]) + " | "
                   + (f"{pd['7']['accuracy']:.3f} / {pd['8']['accuracy']:.3f}" if pd else "") + " |")
    beta = next((r for r in data["results"] if "beta" in Path(r["checkpoint"]).name), None)
    ev = PILOTS_AT4000 / "rule110-cells-beta-n4.json"
    if beta and ev.exists():
        b = next(iter(beta["blocks"].values()))["beta"]
        t7 = json.loads(ev.read_text())["held_out"]["per_depth"][SCREEN_DEPTH]["accuracy"]
        s1 = next(r for r in json.loads(GATES.read_text())["results"] if r["passes"] == 4 and r["seed"] == 1)
        b1 = next(iter(s1["blocks"].values()))["beta"][1:]
        out += ["", f"Started with a low write strength (`--beta-bias -2`), seed 0 writes in its sleep passes with mean "
                f"β {sum(b[1:]) / len(b[1:]):.2f} at 4,000 steps (seed 1: {sum(b1) / len(b1):.2f} at "
                f"{s1['trained_steps']:,}), and still "
                + (f"fails the seed screen (held-out t=7 {t7:.3f}). Gentle writing alone does not make a seed find the "
                   "deep computation; the lead was a correlation, and this pilot does not support it as a cause."
                   if t7 <= SCREEN_T7 else f"passes the seed screen (held-out t=7 {t7:.3f})." )]
    return out


def pass_probe_section() -> list[str]:
    """Linear probes of what the whole-row models hold after each pass (experiments/pass_probe.py)."""
    if not PASS_PROBE.exists():
        return []
    data = json.loads(PASS_PROBE.read_text())
    res = data["results"]
    first = res[0]
    t, S = first["depth"], range(first["depth"] + 1)
    mid = range(1, first["depth"])                                     # the intermediate rows, 0 < s < t
    inp = first["input"]
    assert all(r["input"] == inp for r in res), "the models were probed on different samples"
    out = ["## What the memory holds after each sleep pass (linear probes, whole-row models)", "",
           f"Which rows of the automaton can be read, and where, after each pass? For {first['samples']:,} held-out "
           f"inputs at t={t}, `experiments/pass_probe.py` fits a logistic-regression probe (on half of the inputs, "
           "scored on the other half, the 16 cells pooled) that reads cell j of the row after s steps from a hidden "
           "state, for every s from 0 (the input) to t (the answer). *Memory after pass n*: the hidden state at "
           "query j of the prediction window, after the eviction, had the model slept n passes (passes 1..n of a "
           "longer sleep are the same computation; at n = N it is the model's own read-out, and at n < N it is what S "
           "holds at that point, read by the same query). *Cell tokens after pass n*: the hidden state at cell j's token "
           "of the state window. The reference row is the same probe reading the input row itself, rotated so cell j "
           f"comes first: what a linear read gets with no computation. `{data['command']}`", "",
           "| model | N | read from | " + " | ".join(f"s={s}" for s in S) + " |", "|---|---|---|" + "---|" * len(S)]
    for r in res:
        name = Path(r["checkpoint"]).name
        for n, accs in r["memory"].items():
            out.append(f"| {name} | {r['passes']} | memory after pass {n} | " + " | ".join(f"{a:.3f}" for a in accs)
                       + " |")
    out += ["| input row (no computation) | | | " + " | ".join(f"{a:.3f}" for a in inp) + " |",
            "| chance (majority) | | | " + " | ".join(f"{a:.3f}" for a in first["chance"]) + " |", ""]

    def best_mid(accs: list[float]) -> tuple[int, float]:
        s = max(mid, key=lambda s: accs[s] - inp[s])
        return s, 100 * (accs[s] - inp[s])

    lines = []
    for r in res:
        N, mem = r["passes"], r["memory"]
        steps = "; ".join(f"after pass {n} s={best_mid(a)[0]}, {best_mid(a)[1]:+.1f}" for n, a in mem.items())
        lines.append(f"- {Path(r['checkpoint']).name} (N={N}): the answer row (s={t}) read from memory "
                     + (" -> ".join(f"{a[t]:.3f}" for a in mem.values()) + f" after passes 1..{N}" if N > 1 else
                        f"{mem['1'][t]:.3f}") + f"; the intermediate row read best above the reference: {steps} points.")
    deep = range(t // 2, t)                                            # the later half of the rollout, short of t
    most = max(((100 * (a[s] - inp[s]), s, Path(r["checkpoint"]).name, n) for r in res for n, a in r["memory"].items()
                for s in deep))
    slept = [r for r in res if r["passes"] > 1]
    jump = [100 * (r["memory"][str(r["passes"])][t] - r["memory"][str(r["passes"] - 1)][t]) for r in slept]
    before = max((100 * (r["memory"][str(r["passes"] - 1)][t] - inp[t]) for r in slept), default=0.0)
    lines += ["", f"Rows s={deep[0]}..{deep[-1]}, the later half of the rollout short of the answer, read at most "
              f"{most[0]:+.1f} points above the reference from any model's memory after any pass (s={most[1]}, "
              f"{most[2]} after pass {most[3]})"
              + (f"; in every model that sleeps, most of the answer row appears at the last pass (its probe gains "
                 f"{min(jump):+.1f} to {max(jump):+.1f} points there, after at most {before:+.1f} over the reference "
                 "one pass before)" if slept else "")
              + (". No model holds the rollout as a sequence of linearly readable rows, one more per pass."
                 if most[0] < 15 and slept and min(jump) > before else ".")]
    tok = max(best_mid(a)[1] for r in res for a in r["tokens"].values())
    lines += ["", f"From the cell tokens of the state window (the top-of-stack hidden state after any pass, in any "
              f"model) no intermediate row reads more than {tok:+.1f} points above the reference"
              + (": what the passes compute is not laid out row by row in those hidden states; it can be read, as "
                 "far as it can be read at all, only from what S gives back to the queries." if tok < 5 else ".")]
    return out + lines + [""]


def cells_probe_section() -> list[str]:
    """The probe that asks all 16 cells of Rule 110: held-out single-cell accuracy by t after a short run."""
    runs = json_dir(CELLS_PROBE)
    if not runs:
        return []
    first = next(iter(runs.values()))
    depths = list(first["held_out"]["per_depth"])
    out = ["## Probe: Rule 110 asking all 16 cells (not shipped)", "",
           "Spec `experiments/sweep_rule110_cells.json`: the Rule 110 task above with task parameter `cells=16`, so",
           "the prediction window asks every cell of the ring after t steps (16 answers per sample instead of one, the",
           "change that made k-hop learnable). N=1 and N=4, seed 0, the same recipe for a short budget, on the 2-core",
           "CPU: `python experiments/sweep.py experiments/sweep_rule110_cells.json --runs-dir runs_cpu/r110cells",
           "--parallel 2 --steps 1000`. Held-out share of single cells right (2,000 initial states per t, every cell",
           "of each; by symmetry of the ring it is directly comparable with the one-cell task's accuracy), from",
           "`python -m sleepcore.evaluate --checkpoint runs_cpu/r110cells/NAME --samples 2000 --per-depth --json`",
           "(run by `python experiments/report.py --only-write --cells-probe`; JSON in `docs/results/rule110-cells/`):",
           "",
           "| run | N | steps | " + " | ".join(f"t={d}" for d in depths) + " |", "|---|---|---|" + "---|" * len(depths)]
    for name, r in runs.items():
        pd = r["held_out"]["per_depth"]
        out.append(f"| {name} | {r['passes']} | {r.get('trained_steps', '')} | "
                   + " | ".join(f"{pd[d]['answer_accuracy']:.3f}" for d in depths) + " |")
    base = load("rule110-n1")
    if base:        # one cell's majority rate per t: the one-cell task's chance (the same by symmetry)
        out.append("| chance (majority, one cell) | | | " + " | ".join(
            f"{base['held_out']['per_depth'][d]['chance']:.3f}" for d in depths) + " |")
    ref = {g: [load(n) for n in GROUPS[g] if load(n)] for g in ("N=1 (no sleep)", "N=4")}
    if all(ref.values()):
        out.append("| for reference: the shipped one-cell models, 6,000 steps (seed means) | 1, 4 | 6000 | " + " | ".join(
            f"{_mean(ref['N=1 (no sleep)'], d):.3f}, {_mean(ref['N=4'], d):.3f}" for d in depths) + " |")
    out += ["", "A first look only: after 1,000 steps (a sixth of the shipped budget, one seed) both runs were still "
            "climbing, N=4 led from t=4 to t=7, and at t=8 both were within a few points of chance. Whether 16 "
            "answers per sample lets N=4 learn the deepest case while N=1 does not, as on k-hop, needs the full "
            "budget and two seeds; it is not concluded here."]
    return out + [""]


LOG_SECTIONS = [
    ("khop-q1", "Ablation: the same k-hop task with one question per problem", [
        "Spec `experiments/sweep_khop_q1.json`: the five-question k-hop task above with `queries=1` and nothing else",
        "changed (model, recipe, 2,000 steps of batch 256, the same distribution of cycles), N=1 and N=4, one seed each,",
        "on the 2-core CPU: `python experiments/sweep.py experiments/sweep_khop_q1.json --runs-dir runs_cpu/khopq1",
        "--parallel 1 --steps 2000` (one run per free core). Last evaluation in each training log (1,000 fresh",
        "problems, k mixed; logs in `docs/results/khop-q1/`; one answer per problem, so exact match = single answers;",
        "a blind guess gets about 0.17). Not shipped. Both stay at chance: with the windows, the cycles and the",
        "budget fixed, one question per problem is learned by neither N within 2,000 steps, while with five every",
        "model above left its plateau between steps 300 and 1,300. So at this budget the number of answers per",
        "problem is what mattered (one seed each: a longer run might still leave the plateau)."]),
    ("first-sweep", "First sweep: Rule 110 with t in 1..12, k-hop retrieval, arithmetic", [
        "Spec `experiments/sweep_main.json`, run on one H200 shared by 12 processes with a step budget fixed by",
        "calibration per task (Rule 110: 1,450 steps; k-hop: 550; arithmetic: 300; batch 512). The numbers are",
        "the last evaluation in each run's training log (1,000 fresh samples; logs in `docs/results/first-sweep/`).",
        "The k-hop and arithmetic models are at chance. `arith-n4` ships anyway (checkpoints/arith-n4, its",
        "card says first that it has not learned the task) so the explorer can show how the problem is laid",
        "out over windows; the others are not shipped, and the Rule 110 runs were superseded by the t in 1..8 sweep above."]),
    ("khop-small", "Earlier: a smaller k-hop task with one question per problem (CPU)", [
        "Spec `experiments/sweep_khop_small.json` (cycles of 5..8 nodes over 2 windows, k in 1..4, batch 256,",
        "2,000 steps), run on this project's 2-core CPU next to other work: "
        "`python experiments/sweep.py experiments/sweep_khop_small.json --runs-dir runs_cpu/khop --parallel 2 --steps 2000`.",
        "Last evaluation in each training log (1,000 fresh samples; chance is about 1/6.5, one of the 5..8 nodes;",
        "logs in `docs/results/khop-small/`). Both N stay near chance: even one hop is not learned at this budget.",
        "(`khop-n4` of this spec shipped as a layout demo at chance until the five-question models above replaced it.)"]),
]


ARITH5_EVAL = OUT / "arith5"      # evaluate --json of the finished arithmetic q5 runs (experiments/resume/arith5)
ARITH5_SAMPLES = 1000


def evaluate_arith5() -> None:
    """Evaluate the finished runs of inflight.ARITH5 (1,000 fresh problems per depth) into ARITH5_EVAL."""
    rs = inflight.ARITH5
    ARITH5_EVAL.mkdir(parents=True, exist_ok=True)
    for run in rs.runs.values():
        folder = ROOT / rs.runs_dir / run
        p = rs.progress(run)
        if p is None or p["step"] < rs.steps or not (folder / "model.safetensors").exists():
            print(f"[report] {run}: not finished or no model.safetensors (resume: {rs.command}); skipped", flush=True)
            continue
        res = evaluate_folder(f"{rs.runs_dir}/{run}", ARITH5_SAMPLES, ARITH5_EVAL)
        print(f"[report] {run}: exact match {res['accuracy']:.3f}, single answers {res['answer_accuracy']:.3f}", flush=True)


def _arith5_table() -> list[str]:
    """Accuracy by depth of the finished arithmetic q5 runs, from ARITH5_EVAL."""
    runs = json_dir(ARITH5_EVAL)
    if not runs:
        return []
    depths = list(next(iter(runs.values()))["per_depth"])
    out = ["Evaluated on 1,000 fresh problems per depth (`python experiments/report.py --only-write --arith5` runs "
           "`python -m sleepcore.evaluate --checkpoint experiments/resume/arith5/NAME --samples 1000 --per-depth --json`"
           " on each finished run; JSON in `docs/results/arith5/`; a run whose folder has only its training state "
           f"gets model.safetensors back from `{inflight.ARITH5.command}`). Exact match (all five answers right) "
           "and, after the slash, the share of single answers right; the chance rows are the majority class "
           "(the commonest answer, or answer token, at that depth):", "",
           "| run | N | steps | training time | " + " | ".join(f"{d} ops" for d in depths) + " |",
           "|---|---|---|---|" + "---|" * len(depths)]
    for name, r in runs.items():
        pd = r["per_depth"]
        out.append(f"| {name} | {r['passes']} | {r['trained_steps']:,} | {r['wall_seconds'] / 3600:.1f} h | "
                   + " | ".join(f"{pd[d]['accuracy']:.3f} / {pd[d]['answer_accuracy']:.3f}" for d in depths) + " |")
    first = next(iter(runs.values()))["per_depth"]
    out.append("| chance | | | | " + " | ".join(
        f"{first[d]['chance']:.3f} / {first[d]['answer_chance']:.3f}" for d in depths) + " |")
    return out + [""]


def _count(n: int) -> str:
    return {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}.get(n, str(n))


def _later_shipped(rs: inflight.RunSet) -> bool:
    return all((CKPT / name / "config.json").exists() for name in rs.runs)


def _cells_later_sentence() -> str:
    """How the later seeds that have shipped were trained (the same two phases, resumed across sessions)."""
    done = [rs for rs in CELLS_LATER if _later_shipped(rs)]
    if not done:
        return ""
    return ("Later seeds, the same two phases with the same flags: " + "; ".join(
        f"`{', '.join(rs.runs)}` (spec `{rs.spec}`): `python experiments/sweep.py {rs.spec} --runs-dir {rs.runs_dir} "
        "--steps 4000`, then the same with `--steps 6000`" for rs in done)
        + " (carried between sessions as `experiments/inflight.py` records). ")


def _later_seeds_status() -> str:
    """Where the later all-cells seeds that have not shipped stand (experiments/inflight.py), or ''."""
    out = []
    for rs in CELLS_LATER:
        if _later_shipped(rs):
            continue
        for name, run in rs.runs.items():
            p = rs.progress(run)
            if p is None:
                continue
            ev = p["last_eval"]
            d = None if not ev else max(ev["eval"]["per_depth"], key=int)
            seen = "" if not ev else (
                f"; its training log's last evaluation (step {ev['step']:,}, 1,000 fresh inputs, not the held-out "
                f"set) has t={d} exact match {ev['eval']['per_depth'][d]:.3f}")
            out.append(f" A further seed, `{run}` (spec `{rs.spec}`), is at step {p['step']:,} of its phase to "
                       f"{rs.steps:,}, then continues to 6,000 as the others did{seen}. Its state is committed in "
                       f"`{rs.runs_dir}/` and `{rs.command}` resumes it.")
    return "".join(out)


# The seed screen's test, fixed (commit bb0cac1, 2026-11-29 14:3x UTC) before seeds 3 and 4 reached 4,000 steps: a
# seed "finds the deep computation" if its held-out exact match at t=7 after the 4,000-step first phase is above this.
# The shipped N=4 seeds at 4,000 steps (docs/results/cells-at4000/): held-out seed 1 0.612, seeds 0 and 2 0.125 and
# 0.213. (The commit that fixed the test quoted 0.659, 0.138 and 0.230: the same files' fresh-input split, read by
# mistake; the threshold separates the seeds the same way on either split.)
SCREEN_DEPTH, SCREEN_T7 = "7", 0.5
# The recipe pilots (seed 0 only) are read by the same test at 4,000 steps (`--pilots`). What follows, fixed
# (2026-11-29 17:40 UTC) before either pilot reached 4,000 steps: a pilot that passes is one seed, not a recipe; its
# recipe next goes through the same screen on seeds 2 and 3 (both failed under the standard recipe), and only a
# recipe that passes on most screened seeds is worth N=1, N=2 and N=4 through every phase. A pilot that fails ends
# that recipe here.
# Result: the curriculum pilot failed that test (held-out t=7 0.318) but reached t=8 0.129 at 4,000 steps, against
# 0.015-0.046 for the four slow seeds under the standard recipe. Carrying the recipe on departs from the rule just
# above (a failed pilot ends its recipe), on a number (t=8) that rule did not look at. That is an observation made
# after the fact, so it is tested afresh (fixed 2026-11-29 18:08 UTC, before any of these runs started): under the curriculum recipe, N=4 seeds
# 2 and 3 "lift t=8" if their held-out t=8 exact match at 4,000 steps is above CURR_T8 (twice the best slow seed's
# 0.046 under the standard recipe). The same-recipe N=1 seed 0 is in the same spec; the issue's aim at this
# budget would need each N=4 seed 20 points above it at t=8, which the pilot (0.129) does not reach at 4,000 steps;
# the runs ask whether the recipe is worth carrying through the full budget for N=1, 2 and 4.
CURR_T8 = 0.10


def _seed_screen_status(n4: list[tuple[str, dict]]) -> str:
    """Where the screen of further N=4 seeds (inflight.CELLS_SEEDS34) stands: once every screened seed has its
    4,000-step held-out evaluation, the verdict by the criterion above, over all N=4 seeds; before that, the
    in-training evaluations at the same step of every seed's first phase (the only ones all have); or ''."""
    rs = inflight.CELLS_SEEDS34
    at4000 = {n: json.loads((CELLS_AT4000 / f"{n}.json").read_text()) for n in [m for m, _ in n4] + list(rs.runs)
              if (CELLS_AT4000 / f"{n}.json").exists()}
    if all(n in at4000 for n in rs.runs):
        def t(n, d):
            return at4000[n]["held_out"]["per_depth"][d]["accuracy"]
        found = [n for n in at4000 if t(n, SCREEN_DEPTH) > SCREEN_T7]
        return (f" A screen of {_count(len(rs.runs))} more N=4 seeds asked how often N=4 finds the deep computation: "
                f"{_and([n.rsplit('-', 1)[-1] for n in rs.runs])} trained from scratch through the "
                f"{CELLS_FIRST:,}-step first phase (`{rs.spec}`, state committed in `{rs.runs_dir}/`), then evaluated "
                f"like the others (held-out, {SAMPLES:,} inputs per t; `python experiments/report.py --only-write "
                f"--at4000 NAME {rs.runs_dir}/RUN`). The test, fixed before these evaluations: held-out exact match at "
                f"t={SCREEN_DEPTH} above {SCREEN_T7} after {CELLS_FIRST:,} steps (the seed that went on to lead passed "
                f"it with {t('rule110-cells-n4-seed1', SCREEN_DEPTH):.3f}). At {CELLS_FIRST:,} steps, t=6 / t=7 / "
                f"t=8: " + _and([f"{n} " + " / ".join(f"{t(n, d):.3f}" for d in ("6", "7", "8")) for n in at4000])
                + f". **{_count(len(found)).capitalize()} of {_count(len(at4000))} N=4 seeds "
                f"pass{'es' if len(found) == 1 else ''}**"
                + (f" ({_and(found)})" if found else "") + ".")
    new = {run: rs.progress(run) for run in rs.runs.values()}
    new = {run: p for run, p in new.items() if p and p["last_eval"]}
    if not new:
        return ""
    step = min(p["last_eval"]["step"] for p in new.values())
    curves = {run: {r["step"]: r["eval"]["per_depth"] for r in _evals(ROOT / rs.runs_dir / run / "log.jsonl")}
              for run in new}
    curves.update({n: {r["step"]: r["eval"]["per_depth"] for r in _evals(CKPT / n / "log.jsonl")} for n, _ in n4
                   if (CKPT / n / "log.jsonl").exists()})
    at = [(n, c[step]) for n, c in curves.items() if step in c]
    where = _and([f"{run} at step {p['step']:,}" for run, p in new.items()])
    return (f" {_count(len(rs.runs)).capitalize()} more N=4 seeds are in training from scratch as a screen of how often N=4 finds the deep "
            f"computation (`{rs.spec}`, state committed in `{rs.runs_dir}/`, resumed by `{rs.command}`; "
            f"{where}). "
            f"At step {step:,} of the first phase, the training logs' t=5 / t=6 / t=7 exact match (1,000 fresh "
            f"inputs mixed over t, about 125 per t) reads: "
            + _and([f"{n} " + " / ".join(f"{pd.get(d, float('nan')):.2f}" for d in ("5", "6", "7")) for n, pd in at])
            + ". These seeds are not in the tables until they have had every phase the others had.")


def _pilots_status() -> str:
    """Where the one-seed pilots of recipe changes stand (inflight.CELLS_CURR_PILOT, CELLS_BETA_PILOT), against the
    standard first phase of seeds 0 and 1 at the same step (in-training evaluations), or ''."""
    parts = []
    ref = {n: {r["step"]: r["eval"]["per_depth"] for r in _evals(CKPT / n / "log.jsonl")}
           for n in ("rule110-cells-n4", "rule110-cells-n4-seed1") if (CKPT / n / "log.jsonl").exists()}
    for rs, what in _pilots():
        for name, run in rs.runs.items():
            p = rs.progress(run)
            if not p or not p["last_eval"]:
                continue
            if (PILOTS_AT4000 / f"{name}.json").exists():
                pd = json.loads((PILOTS_AT4000 / f"{name}.json").read_text())["held_out"]["per_depth"]
                t7 = pd[SCREEN_DEPTH]["accuracy"]
                base = json.loads((CELLS_AT4000 / "rule110-cells-n4.json").read_text())["held_out"][
                    "per_depth"]   # seed 0, standard recipe, same step
                parts.append(f"{what}, seed 0 (`{rs.spec}`): finished its {rs.steps:,} steps; held-out t=6 / t=7 / t=8 "
                             + " / ".join(f"{pd[d]['accuracy']:.3f}" for d in ("6", "7", "8"))
                             + f" (`python experiments/report.py --pilots`, `{_rel(PILOTS_AT4000)}/`), so "
                             + ("it **passes** the seed screen's test (held-out t=7 above "
                                if t7 > SCREEN_T7 else "it **fails** the seed screen's test (held-out t=7 above ")
                             + f"{SCREEN_T7}); under the standard recipe the same seed had "
                             + " / ".join(f"{base[d]['accuracy']:.3f}" for d in ("6", "7", "8")))
                continue
            st, pd = p["last_eval"]["step"], p["last_eval"]["eval"]["per_depth"]
            at = [(n, c[st]) for n, c in ref.items() if st in c]
            parts.append(f"{what}, seed 0 (`{rs.spec}`): step {p['step']:,} of {rs.steps:,}; at step {st:,} its "
                         "in-training t=5 / t=6 / t=7 exact match (1,000 fresh inputs mixed over t) read " + " / ".join(f"{pd.get(d, float('nan')):.2f}" for d in ("5", "6", "7"))
                         + (", against " + _and([f"{n} " + " / ".join(f"{c.get(d, float('nan')):.2f}"
                                                                     for d in ("5", "6", "7")) for n, c in at])
                            + " under the standard recipe" if at else ""))
    if not parts:
        return ""
    return (" Pilots of recipe changes for the slowest N=4 seed, one seed each: " + "; ".join(parts)
            + ". Pilots, not claims; their state is committed, and `python experiments/inflight.py` prints where each "
            "stands.")


def _slow_t8() -> str:
    """'A to B': the range of held-out t=8 at 4,000 steps over the N=4 seeds that failed the seed screen under the
    standard recipe (CELLS_AT4000), as the curriculum screen's sentence quotes it."""
    runs = [json.loads(f.read_text())["held_out"]["per_depth"] for f in sorted(CELLS_AT4000.glob("rule110-cells-n4*.json"))]
    t8 = sorted(pd["8"]["accuracy"] for pd in runs if pd[SCREEN_DEPTH]["accuracy"] <= SCREEN_T7)
    return f"{t8[0]:.3f} to {t8[-1]:.3f}" if t8 else "no evaluated seed"


def _curr_later() -> list:
    """The curriculum recipe's phases after the first (read from inflight at call time), in order."""
    return [inflight.CELLS_CURR_P2, inflight.CELLS_CURR_P3, inflight.CELLS_CURR_P4, inflight.CELLS_CURR_P5]


# Held-out evaluations of the curriculum recipe's runs at the end of each later phase, by the phase's last step, and
# the standard recipe's evaluations at the same step (the shipped 10,000-step checkpoints' are in docs/results/eval/).
CURR_AT = {rs.steps: OUT / f"curr-at{rs.steps}" for rs in _curr_later()}
STD_AT = {CELLS_FIRST: CELLS_AT4000, CELLS_SECOND: CELLS_AT6000, CELLS_THIRD: CELLS_AT7500, CELLS_FOURTH: CELLS_AT8500,
          inflight.CELLS_P5.steps: OUT / "eval"}


def evaluate_curr() -> None:
    """Every run of the curriculum recipe's later phases (inflight.CELLS_CURR_P2 .. P5) that has finished a phase and
    has no evaluation of it yet, held-out like every other phase (SAMPLES inputs per t), into
    CURR_AT[steps]/<name>.json: `python experiments/report.py --only-write --curr`."""
    for rs in _curr_later():
        folder = CURR_AT[rs.steps]
        for name, run in rs.runs.items():
            p = rs.progress(run)
            if not p or p["step"] < rs.steps or (folder / f"{name}.json").exists():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            res = evaluate_folder(f"{rs.runs_dir}/{run}", SAMPLES, folder)
            assert res["trained_steps"] == rs.steps, f"{run} holds a {res['trained_steps']}-step model"
            (folder / f"{run}.json").rename(folder / f"{name}.json")
            print(f"[report] curriculum {name} at {rs.steps:,}: held-out {res['held_out']['accuracy']:.3f}", flush=True)


AIM_GAP = 0.20   # issue 4: N=4 at least 20 points above N=1 at the deepest t, held-out, seed for seed


def _curr_phase_status(rs, start: int) -> str:
    """One later phase of the curriculum recipe (`rs`, from `start` steps): each evaluated run's held-out t=6 / t=7 /
    t=8 beside the standard recipe's same N and seed at the same step (STD_AT), the N=4 minus N=1 gap at t=8 for each
    seed that has both, and where runs in training stand; or ''."""
    folder = CURR_AT[rs.steps]
    done, going = {}, []
    for name, run in rs.runs.items():
        if (folder / f"{name}.json").exists():
            done[name] = json.loads((folder / f"{name}.json").read_text())["held_out"]["per_depth"]
        elif (p := rs.progress(run)) and start < p["step"] < rs.steps:
            ev = p["last_eval"]
            going.append(f"{name} at step {p['step']:,}" + (f" (t=8 {ev['eval']['per_depth'].get('8', float('nan')):.2f}"
                                                             f" on 1,000 fresh inputs in training at step {ev['step']:,})"
                                                             if ev and ev["step"] > start else ""))
    if not done and not going:
        return ""
    text = f"Phase {start:,} -> {rs.steps:,} steps (`{rs.spec}`)."

    def triple(pd: dict) -> str:
        return " / ".join(f"{pd[d]['accuracy']:.3f}" for d in ("6", "7", "8"))

    if done:
        parts = []
        for name, pd in done.items():
            std = STD_AT[rs.steps] / f"{name.replace('-curr', '')}.json"
            was = (f" (standard recipe {triple(json.loads(std.read_text())['held_out']['per_depth'])})"
                   if std.exists() else f" (no standard-recipe run of this N and seed reached {rs.steps:,} steps)")
            parts.append(f"{name} {triple(pd)}{was}")
        text += f" Held-out t=6 / t=7 / t=8 at {rs.steps:,} steps: " + _and(parts) + "."
        gaps = {}
        for name, pd in done.items():
            n1 = name.replace("-n4", "-n1")
            if "-n4" in name and n1 in done:
                seed = name.rsplit("-seed", 1)[1] if "-seed" in name else "0"
                gaps[seed] = pd['8']['accuracy'] - done[n1]['8']['accuracy']
        if gaps:
            text += (" N=4 minus N=1 at t=8 (the aim asks for +0.20 at 10,000 steps): "
                     + _and([f"seed {k} {g:+.3f}" for k, g in gaps.items()]) + ".")
        if gaps and rs is _curr_later()[-1]:          # the end of the budget: the aim's verdict, seed for seed
            above = sum(g >= AIM_GAP for g in gaps.values())
            text += (f" **{_count(above).capitalize()} of {_count(len(gaps))} seed pair{'s' if len(gaps) != 1 else ''} "
                     f"{'is' if above == 1 else 'are'} {AIM_GAP:.2f} or more apart: the aim "
                     + ("is met.**" if above == len(gaps) >= 2 else
                        "needs a second seed pair.**" if above == len(gaps) else "is not met.**"))
    if going:
        text += " In training (state committed; `python experiments/inflight.py` says where): " + _and(going) + "."
    return text


def _curr_phases_status() -> str:
    """Where the curriculum recipe's later phases stand, one paragraph each (see _curr_phase_status); or ''."""
    later = _curr_later()
    starts = [CELLS_FIRST] + [rs.steps for rs in later[:-1]]
    paras = [t for rs, start in zip(later, starts) if (t := _curr_phase_status(rs, start))]
    if not paras:
        return ""
    return ("The curriculum recipe's runs go on through the standard recipe's phases, each continued from the last "
            f"(`{inflight.CURR_CHAIN_COMMAND}`); the aim is read at {later[-1].steps:,} steps, seed for seed. "
            + " ".join(paras))


def _curr_screen_status() -> str:
    """The curriculum recipe on fresh seeds (inflight.CELLS_CURR_SCREEN), read by its own test fixed in advance
    (CURR_T8): the held-out t=8 at 4,000 steps of each evaluated run, the verdict once both N=4 seeds have one, and
    where the others stand; or ''."""
    rs = inflight.CELLS_CURR_SCREEN
    done, going = {}, []
    for name, run in rs.runs.items():
        if (PILOTS_AT4000 / f"{name}.json").exists():
            done[name] = json.loads((PILOTS_AT4000 / f"{name}.json").read_text())["held_out"]["per_depth"]["8"]["accuracy"]
        elif (p := rs.progress(run)):
            ev = p["last_eval"]
            going.append(f"{name} at step {p['step']:,}" + (f" (t=8 {ev['eval']['per_depth'].get('8', float('nan')):.2f}"
                                                             f" in training at step {ev['step']:,})" if ev else ""))
    if not done and not going:
        return ""
    n4 = [n for n in rs.runs if "-n4-" in n]
    text = (f" The curriculum's t=8 lift was seen after the fact, so it is tested on fresh seeds with a test fixed "
            f"before they trained (`{rs.spec}`): N=4 seeds 2 and 3 pass if their held-out t=8 exact match at "
            f"{rs.steps:,} steps is above {CURR_T8:.2f} (under the standard recipe the slow seeds had {_slow_t8()}); "
            f"the same-recipe N=1 seed 0 " + ("was trained beside them." if any(n not in n4 and n in done
                                                                              for n in rs.runs)
                                              else "trains beside them." if any(n not in n4 and rs.progress(r)
                                                                                for n, r in rs.runs.items())
                                              else "comes next (not started)."))
    if done:
        text += " Held-out t=8 at 4,000 steps: " + _and([f"{n} {a:.3f}" for n, a in done.items()]) + "."
    if all(n in done for n in n4):
        passed = [n for n in n4 if done[n] > CURR_T8]
        text += f" **{_count(len(passed)).capitalize()} of {_count(len(n4))} pass{'es' if len(passed) == 1 else ''}.**"
    n1 = next((n for n in rs.runs if n not in n4 and n in done), None)
    pilot = PILOTS_AT4000 / "rule110-cells-curr-n4.json"     # N=4 seed 0 under the same recipe (the pilot)
    std = [CELLS_AT4000 / f"rule110-cells-n{n}.json" for n in (4, 1)]
    if n1 and pilot.exists() and all(f.exists() for f in std):
        def t8(f):
            return json.loads(f.read_text())["held_out"]["per_depth"]["8"]["accuracy"]
        text += (f" The recipe lifts N=1 too (seed 0 at t=8: {done[n1]:.3f}, against {t8(std[1]):.3f} under the "
                 f"standard recipe), so at {rs.steps:,} steps N=4 minus N=1 for seed 0 is "
                 f"{t8(pilot) - done[n1]:+.3f} under the curriculum, against {t8(std[0]) - t8(std[1]):+.3f} under the "
                 "standard recipe; the aim asks for +0.20 at the end of the budget.")
    if going:
        text += " In training (state committed; `python experiments/inflight.py` resumes): " + _and(going) + "."
    return text


def _arith_status() -> str:
    """Where the arithmetic runs stand: not started, or carried between sessions (experiments/inflight.py)."""
    rs = inflight.ARITH5
    seen = {run: rs.progress(run) for run in rs.runs.values()}
    seen = {run: p for run, p in seen.items() if p}
    if not seen:
        return ("is ready but has **not been run yet**: the CPU time went to the Rule 110 continuation above "
                "first.")
    where = "; ".join(
        f"`{run}` step {p['step']:,}" + (f" (exact match on 1,000 fresh problems, depths mixed, at step "
                                        f"{p['last_eval']['step']:,}: {p['last_eval']['eval']['accuracy']:.3f})"
                                        if p["last_eval"] else "") for run, p in seen.items())
    if all(p["step"] >= rs.steps for p in seen.values()) and len(seen) == len(rs.runs):
        evals = json_dir(ARITH5_EVAL)
        learned = [n for n, r in evals.items() if r["accuracy"] >= r["chance"] + AT_CHANCE_MARGIN]
        verdict = ("their evaluation is below" if not evals or learned else
                   "neither learned the task (below), and `arith-n4` already shows the problem's layout in the explorer")
        return (f"ran to {rs.steps:,} steps for seed 0 of each N (the spec's second seeds were not run). The runs' "
                f"training state is committed in `{rs.runs_dir}/`; no arithmetic checkpoint ships from them: {verdict}.")
    return (f"is **under way**, seed 0 of each N first. An N=4 run needs more than one three-hour session, so the "
            f"runs' state is committed in `{rs.runs_dir}/` and each session resumes them with `{rs.command}` "
            f"(`python experiments/inflight.py` prints where each run stands). So far: {where}. No arithmetic "
            "checkpoint ships until a pair of runs has finished.")


def arith_section() -> list[str]:
    """Arithmetic: why nothing is learned yet, the variant built from the k-hop lesson, and its measured cost."""
    path = OUT / "task_cost.json"
    if not path.exists():
        return []
    bench = json.loads(path.read_text())
    cost = bench["setups"]
    khop1 = json.loads((ROOT / "checkpoints" / "khop-n1" / "config.json").read_text())
    n4, n1 = (cost[f"arithmetic, 5 questions N={n}"]["projected_2000_steps_s"] / 3600 for n in (4, 1))
    sweep = 2 * (n4 + n1)   # two seeds of each
    return ["## Arithmetic: not learned yet, and what it would take", "",
            "The one arithmetic run pair (300 steps of batch 512 on the GPU, in the first sweep below) stayed at "
            "chance for N=1 and N=4. k-hop was at chance too until each problem asked five questions instead of one "
            "(`experiments/sweep_khop_q1.json`, the one-question ablation, still sits at chance after the same 2,000 "
            "steps). The arithmetic task now has the same option, task parameter `queries=5`: five of the nine "
            "variables are asked after every fact was evicted, the chain's end first, and no asked variable is deeper "
            "than the chain (`sleepcore/tasks/arithmetic.py`). The sweep `experiments/sweep_arith_q5.json` (N=1 and "
            "N=4, two seeds, 2,000 steps of batch 256, as k-hop) " + _arith_status(), ""] + _arith5_table() + [
            "What it would take, measured by timing one training step of each setup against a `khop-n4` step in the "
            "same process (`python bench/bench_task_cost.py --repeats 3`, output in `docs/results/task_cost.json`; "
            f"measured with {bench['other_runnable_at_start']} other processes running, so only the ratios are used) "
            "and scaling `khop-n4`'s recorded training time (2,000 steps, one thread, next to other runs) by the "
            "ratio:", "",
            "| setup | N | step cost vs khop-n4 | projected 2,000 steps |", "|---|---|---|---|"] + [
            f"| {k.rsplit(' N=', 1)[0]} | {k.rsplit(' N=', 1)[1]} | {v['ratio']:.2f}x | "
            f"{v['projected_2000_steps_s'] / 3600:.1f} h |" for k, v in cost.items()] + [
            "", f"The method checks out on k-hop N=1: projected {cost['khop, 5 questions N=1']['projected_2000_steps_s']:,} s, "
            f"recorded {khop1['wall_seconds']:,.0f} s. An arithmetic step costs about "
            f"{cost['arithmetic, 5 questions N=4']['ratio']:.1f} times a k-hop step at N=4 (five windows of 16 tokens "
            f"to sleep on instead of one), so the four-run sweep needs about {sweep:.1f} core-hours: "
            f"{sweep / 2:.1f} h on the two cores with nothing else running, or {max(n4, n1):.1f} h for one seed per N "
            "side by side (the N=4 run is the long pole). Whether 2,000 steps are enough is open: k-hop's models "
            "left their plateau between step 300 and 1,300.", ""]


def first_sweep_section() -> list[str]:
    """Runs reported from their training logs only: final evaluation of each."""
    out: list[str] = []
    for folder_name, title, text in LOG_SECTIONS:
        out += _log_section(OUT / folder_name, title, text)
    return out


def _log_section(folder: Path, title: str, text: list[str]) -> list[str]:
    logs = sorted(folder.glob("*.log.jsonl"))
    if not logs:
        return []
    out = [f"## {title}", "", *text, "",
           "| run | step | all | per depth (t or k or ops) |", "|---|---|---|---|"]
    for log in logs:
        ev = _evals(log)
        if not ev:
            continue
        last = ev[-1]
        pd = ", ".join(f"{d}: {a:.2f}" for d, a in last["eval"]["per_depth"].items())
        out.append(f"| {log.name.replace('.log.jsonl', '')} | {last['step']} | {last['eval']['accuracy']:.3f} | {pd} |")
    return out + [""]


def _mean(rs: list[dict], d: str) -> float:
    return sum(r["held_out"]["per_depth"][d]["accuracy"] for r in rs) / len(rs)


def _gain_sentence(n4: list[float], n1: list[float], chance: float, depth: str) -> str:
    """The deepest-depth claim in words: N=4 per seed, N=1 per seed, the gain range and mean, and the aim."""
    gain_lo, gain_hi = 100 * (min(n4) - max(n1)), 100 * (max(n4) - min(n1))
    gain_mean = 100 * (sum(n4) / len(n4) - sum(n1) / len(n1))
    met = min(n4) - max(n1) >= 0.2 and max(n1) - chance < 0.05
    return (f"At the deepest depth (t={depth}) N=4 scores {', '.join(f'{a:.3f}' for a in n4)} (seeds) against N=1's "
            f"{', '.join(f'{a:.3f}' for a in n1)} and chance {chance:.3f}: a gain of {gain_lo:+.1f} to {gain_hi:+.1f} "
            f"points across seed pairs (mean {gain_mean:+.1f}). The issue's aim (N=1 near chance, N=4 at least 20 "
            "points above) is " + ("met." if met else "**not met** at this budget: N=1 is well above chance, and the "
                                    "gain reaches 20 points only for some seed pairs."))


def summary_section() -> list[str]:
    """Seed-averaged held-out accuracy per N and depth, and the gain over N=1 (the headline table)."""
    res = {g: [load(n) for n in names if load(n)] for g, names in GROUPS.items()}
    res = {g: r for g, r in res.items() if r}
    if "N=1 (no sleep)" not in res:
        return []
    depths = list(res["N=1 (no sleep)"][0]["held_out"]["per_depth"])
    steps = sorted({r.get("trained_steps") for rs in res.values() for r in rs})
    base = {d: _mean(res["N=1 (no sleep)"], d) for d in depths}
    seeds = sorted({len(r) for r in res.values()})
    out = ["## Summary", "",
           f"Every model below was trained with the same data, recipe and budget ({', '.join(f'{s:,}' for s in steps)} "
           "steps of 512 samples). Held-out accuracy per depth, averaged over "
           + ("the two seeds shipped of each model" if seeds == [2] else "the seeds shipped (column `seeds`)")
           + "; in brackets the difference from N=1 in percentage points.", "",
           "| model | seeds | " + " | ".join(f"t={d}" for d in depths) + " |", "|---|---|" + "---|" * len(depths)]
    for g, rs in res.items():
        cells = []
        for d in depths:
            m = _mean(rs, d)
            cells.append(f"{m:.3f}" + ("" if g.startswith("N=1") else f" ({100 * (m - base[d]):+.1f})"))
        out.append(f"| {g} | {len(rs)} | " + " | ".join(cells) + " |")
    chance = res["N=1 (no sleep)"][0]["held_out"]["per_depth"]
    out.append("| chance (majority) | | " + " | ".join(f"{chance[d]['chance']:.3f}" for d in depths) + " |")
    deepest = depths[-1]
    if "N=4" in res:
        n4 = [r["held_out"]["per_depth"][deepest]["accuracy"] for r in res["N=4"]]
        n1 = [r["held_out"]["per_depth"][deepest]["accuracy"] for r in res["N=1 (no sleep)"]]
        out += ["", _gain_sentence(n4, n1, chance[deepest]["chance"], deepest)]
        if "N=2" in res:
            m1, m2, m4 = (_mean(res[g], deepest) for g in ("N=1 (no sleep)", "N=2", "N=4"))
            order = "N=1 < N=2 < N=4" if m1 < m2 < m4 else "not monotone in N"
            out += ["", f"Seed-averaged at t={deepest}: N=1 {m1:.3f}, N=2 {m2:.3f}, N=4 {m4:.3f} ({order})."]
    return out + [""]


# --------------------------------------------------------------------------- the budget: 3,600 vs 6,000 steps
def budget_section() -> list[str]:
    """The same models at 3,600 steps (the set shipped until BEFORE) and now: does the gap grow with training?"""
    rows = [(n, json.loads((AT3600 / f"{n}.json").read_text()), load(n))
            for n in MAIN if (AT3600 / f"{n}.json").exists() and load(n)]
    if not rows:
        return []
    depths = ["6", "7", "8"]
    out = ["## The budget: 3,600 -> 6,000 steps", "",
           "Does the gap grow with training? Until commit `" + BEFORE + "` the shipped set was trained for 3,600 steps; "
           "every model was then continued for 2,400 more steps of the same recipe on this project's 2-core CPU "
           "(`bash experiments/longer.sh NAME N SEED [flags]`; the cosine restarts from its 3,600/6,000 point). The "
           "3,600-step evaluations are kept in `docs/results/at3600/` (same command and seed; the checkpoints are "
           f"`git show {BEFORE}:checkpoints/NAME/model.safetensors`). Held-out accuracy at the three deepest depths, "
           "3,600 steps -> 6,000 steps:", "",
           "| model | N | seed | " + " | ".join(f"t={d}" for d in depths) + " |", "|---|---|---|" + "---|" * len(depths)]
    for name, short, long_ in rows:
        cells = [f"{short['held_out']['per_depth'][d]['accuracy']:.3f} -> "
                 f"{long_['held_out']['per_depth'][d]['accuracy']:.3f}" for d in depths]
        seed = 1 if name.endswith("seed1") else 0
        n = "-" if "attn" in name else long_["passes"]
        out.append(f"| {name} | {n} | {seed} | " + " | ".join(cells) + " |")
    before = {n: r for n, r, _ in rows}
    n1 = [before[n]["held_out"]["per_depth"]["8"]["accuracy"] for n in GROUPS["N=1 (no sleep)"] if n in before]
    n4 = [before[n]["held_out"]["per_depth"]["8"]["accuracy"] for n in GROUPS["N=4"] if n in before]
    if n1 and n4:
        out += ["", "At 3,600 steps N=4's gain over N=1 at t=8 was "
                f"{100 * (min(n4) - max(n1)):+.1f} to {100 * (max(n4) - min(n1)):+.1f} points across seed pairs "
                f"(mean {100 * (sum(n4) / len(n4) - sum(n1) / len(n1)):+.1f}); the summary above gives it at 6,000. "
                "Both N keep improving; N=4 improves faster."]
    return out + [""]


def write_report() -> None:
    main = [(n, load(n)) for n in MAIN]
    main = [(n, r) for n, r in main if r]
    mix = [("rule110-nmix", load("rule110-nmix", p)) for p in (1, 2, 4, 8)]
    mix = [(n, r) for n, r in mix if r]
    override = [("rule110-n4", load("rule110-n4", p)) for p in (1, 2, None, 8)]
    override = [(n, r) for n, r in override if r]
    lines = ["# Results: does more sleep give deeper reasoning on a small model?", "",
             "Generated by `python experiments/report.py` from the JSON in `docs/results/eval/` (each file holds",
             "the exact `python -m sleepcore.evaluate ...` command that produced it). Accuracy is exact-match on the",
             f"label, measured on {SAMPLES:,} samples **per depth** whose initial states are in the held-out set",
             "(never drawn in training); 95% Wilson intervals are in the JSON. Chance is the majority-class rate.", ""]
    lines += summary_section()
    if main:
        depths = [int(d) for d in main[0][1]["held_out"]["per_depth"]]
        series = []
        for n, r in main:
            pd = r["held_out"]["per_depth"]
            series.append((f"{n} (N={r['passes']})", COLOURS.get(n, "#000"), depths,
                           [pd[str(d)]["accuracy"] for d in depths], [tuple(pd[str(d)]["ci95"]) for d in depths]))
        chance = [main[0][1]["held_out"]["per_depth"][str(d)]["chance"] for d in depths]
        (OUT / "accuracy_by_depth.svg").write_text(svg_plot(series, "rollout depth t", "held-out accuracy", depths, chance))
        lines += ["## Accuracy by depth, one model per N (Rule 110, W=16, t in 1..8)", "",
                  "![accuracy by depth](results/accuracy_by_depth.svg)", ""]
        lines += depth_table(main)
        lines += ["", "Commands: " + "; ".join(f"`{r['command']}`" for _, r in main), ""]
    if override:
        lines += ["## One model at several N (trained with N=4, run with `--passes`)", ""]
        lines += depth_table(override)
        lines += [""]
    if mix:
        depths = [int(d) for d in mix[0][1]["held_out"]["per_depth"]]
        palette = ["#bbbbbb", "#e69f00", "#0072b2", "#009e73"]
        series = [(f"N={r['passes']}", palette[i], depths,
                   [r["held_out"]["per_depth"][str(d)]["accuracy"] for d in depths],
                   [tuple(r["held_out"]["per_depth"][str(d)]["ci95"]) for d in depths]) for i, (_, r) in enumerate(mix)]
        chance = [mix[0][1]["held_out"]["per_depth"][str(d)]["chance"] for d in depths]
        (OUT / "nmix_by_depth.svg").write_text(svg_plot(series, "rollout depth t", "held-out accuracy", depths, chance))
        lines += ["## One checkpoint trained with N drawn from {1, 2, 4} per batch, run at N = 1, 2, 4, 8", "",
                  "![nmix](results/nmix_by_depth.svg)", ""]
        lines += depth_table(mix)
        lines += [""]
    lines += budget_section() + curves_section() + khop_section() + cells_section() + pass_probe_section() + gates_section()
    lines += cells_probe_section() + arith_section()
    lines += first_sweep_section()
    (ROOT / "docs" / "results.md").write_text("\n".join(lines) + "\n")
    print(f"[report] wrote {ROOT / 'docs' / 'results.md'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reevaluate", action="store_true")
    ap.add_argument("--only-write", action="store_true")
    ap.add_argument("--cells-probe", action="store_true",
                    help="also evaluate the probe runs of experiments/sweep_rule110_cells.json in runs_cpu/r110cells/")
    ap.add_argument("--arith5", action="store_true",
                    help="also evaluate the finished arithmetic q5 runs in experiments/resume/arith5/")
    ap.add_argument("--pilots", action="store_true",
                    help="evaluate the recipe pilots that have finished 4,000 steps (see PILOTS_AT4000)")
    ap.add_argument("--curr", action="store_true",
                    help="evaluate the curriculum recipe's runs that have finished a later phase (6,000 to 10,000 steps)")
    ap.add_argument("--at4000", nargs=2, metavar=("NAME", "FOLDER"),
                    help="evaluate a run folder holding a later seed's 4,000-step model (see CELLS_AT4000) as NAME")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # robust on a shared 2-core machine (the thread pool thrashes under load)
    if not args.only_write:
        evaluate_all(args.reevaluate)
    if args.cells_probe:
        evaluate_cells_probe()
    if args.arith5:
        evaluate_arith5()
    if args.pilots:
        evaluate_pilots()
    if args.curr:
        evaluate_curr()
    if args.at4000:
        evaluate_at4000(*args.at4000)
    write_report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
