"""How a run drew its training samples over its phases: the "recipe" that sets two runs of one task apart.

A run can change how its task draws the depth t between phases (`--init-from` keeps the weights and lets the task's
`depth_weights` change), so a checkpoint's own task config says only how its last phase drew samples. Two runs that
end with the same weights may have started differently: the standard whole-row Rule 110 recipe draws every t alike
for 7,500 steps and only then t in proportion to t², the curriculum recipe does so from step 0. Training writes the
phases behind a run into its config (`history`), and the app reads the recipe from there:

    history = phase_history(Path("runs/phase1"))        # when starting phase 2 from it
    training_recipe(config)                              # "uniform", "t2", "t2-from-7500", ...
    recipe_label("t2-from-7500")                         # "t² weighting from step 7,500"

`python -m sleepcore.recipe checkpoints/*` prints each checkpoint's recipe; `--write` also records the history of
a checkpoint written before configs kept one (found by following its `init_from` chain), in its config.json only.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from .checkpoint import CONFIG_FILE, atomic_write_text

__all__ = ["depth_recipe", "phase_history", "training_recipe", "recipe_label", "RECIPE_PATTERN", "HISTORY_KEY"]

HISTORY_KEY = "history"
MAX_PHASES = 64                                  # a longer init_from chain than any run has: a loop, or junk
RECIPE_PATTERN = re.compile(r"(uniform|t2|weighted|unknown)(-from-\d{1,9})?")
_WORDS = {"uniform": "every t alike", "t2": "t² weighting", "weighted": "custom t weights",
          "unknown": "unknown draw of t"}


def depth_recipe(task: dict[str, Any], weights: Any = "task") -> str:
    """How a task config draws the depth t of its samples: "uniform" (every t alike, the default), "t2" (in
    proportion to t squared) or "weighted" (any other weights). `weights` overrides the task's own depth_weights
    (a phase's, from the history)."""
    w, steps = task.get("depth_weights") if weights == "task" else weights, task.get("steps")
    try:
        w = [float(x) for x in w or ()]
        if not w or len(set(w)) == 1:
            return "uniform"
        lo, hi = (int(x) for x in steps)
        sq = [t * t for t in range(lo, hi + 1)]
        scale = sum(w) / sum(sq)
        if len(w) == len(sq) and all(math.isclose(a, b * scale, rel_tol=1e-6) for a, b in zip(w, sq)):
            return "t2"
    except (TypeError, ValueError, ZeroDivisionError):     # a hand-edited config: not a recipe we name
        pass
    return "weighted"


def _read(folder: Path) -> dict[str, Any] | None:
    try:
        cfg = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    return cfg if isinstance(cfg, dict) else None


def phase_history(src: str | Path) -> list[dict[str, Any]]:
    """The phases behind a run continued from the run folder `src`, oldest first, each {"until_step": the step it
    ended at, "depth_weights": how its task drew t (None: every t alike)}: `src`'s own last phase and, before it,
    its recorded history, or, for a run written before configs kept one, the phases found by following its
    `init_from` chain while the folders exist. Where the chain leaves this machine the first entry says so
    ({"unknown": folder})."""
    phases: list[dict[str, Any]] = []
    folder, seen = Path(src), {str(src)}
    while len(phases) < MAX_PHASES:
        cfg = _read(folder)
        if cfg is None:
            if phases:                                       # the earlier phases' folders are gone
                phases.insert(0, {"unknown": str(folder)})
            break
        task = cfg.get("task") if isinstance(cfg.get("task"), dict) else {}
        phases.insert(0, {"until_step": int(cfg.get("trained_steps") or 0), "depth_weights": task.get("depth_weights")})
        if isinstance(cfg.get(HISTORY_KEY), list):
            return cfg[HISTORY_KEY] + phases
        nxt = (cfg.get("train") or {}).get("init_from") if isinstance(cfg.get("train"), dict) else None
        if not nxt or str(nxt) in seen:
            break
        seen.add(str(nxt))
        folder = Path(nxt)
    return phases


def training_recipe(config: dict[str, Any]) -> str:
    """A run's recipe, from its config: how its last phase drew t ("uniform", "t2", "weighted"), followed by
    "-from-STEP" when earlier phases drew t another way (the standard whole-row recipe is "t2-from-7500"); "unknown"
    for a malformed history."""
    task = config.get("task") if isinstance(config.get("task"), dict) else {}
    history = config.get(HISTORY_KEY)
    phases = [p for p in history if isinstance(p, dict)] if isinstance(history, list) else []
    kinds = ["unknown" if "unknown" in p else depth_recipe(task, p.get("depth_weights")) for p in phases]
    last = depth_recipe(task)
    i = len(kinds)
    while i > 0 and kinds[i - 1] == last:
        i -= 1
    if i == 0:
        return last
    try:
        return f"{last}-from-{int(phases[i - 1]['until_step'])}"
    except (KeyError, TypeError, ValueError):
        return "unknown"


def recipe_label(key: str) -> str:
    """Words for a recipe key: "t2-from-7500" -> "t² weighting from step 7,500"."""
    m = RECIPE_PATTERN.fullmatch(key or "")
    if not m:
        return str(key)
    word = _WORDS[m.group(1)]
    if m.group(2):
        return f"{word} from step {int(m.group(2).removeprefix('-from-')):,}"
    return word + (" from step 0" if m.group(1) in ("t2", "weighted") else "")


def backfill(folder: str | Path) -> list[dict[str, Any]] | None:
    """Write into `folder`'s config.json the history of a run continued from another (train.init_from) that
    predates configs keeping one; -> the history written, or None when there was nothing to do or to find."""
    folder = Path(folder)
    cfg = _read(folder)
    src = (cfg or {}).get("train", {}).get("init_from") if isinstance((cfg or {}).get("train"), dict) else None
    if not cfg or not src or isinstance(cfg.get(HISTORY_KEY), list):
        return None
    history = phase_history(src)
    if not history:
        return None
    cfg[HISTORY_KEY] = history
    atomic_write_text(folder / CONFIG_FILE, json.dumps(cfg, indent=2) + "\n")
    return history


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="Print each checkpoint's training recipe (how it drew t over its "
                                             "phases); --write records a missing history in its config.json.")
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--write", action="store_true", help="record the phase history of runs continued from another")
    args = ap.parse_args(argv)
    for f in args.folders:
        if args.write:
            backfill(f)
        cfg = _read(Path(f))
        print(f"{f}: " + (recipe_label(training_recipe(cfg)) if cfg else "no readable config.json"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
