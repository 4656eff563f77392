"""A run's training log (`log.jsonl`, written by `sleepcore.train`), read into arrays for plotting.

Two kinds of line share the file: a training record every `log_every` steps (loss, exact match of the
batch, learning rate, speed, wall time) and an evaluation every `eval_every` steps (exact match on
`eval_samples` fresh inputs, overall and per depth). A run continued in a later phase (`--init-from`, or
the schedule recomputed over more steps) shows as a warm restart: the learning rate, falling, rises
again; `phase_starts` finds those steps.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["RunLog", "LogError", "read_log", "parse_log", "phase_starts"]

MAX_LOG_BYTES = 64 * 2**20    # a 10,000-step run logs ~1 MB; anything far larger is not a training log


class LogError(ValueError):
    """A training log that cannot be read; the message says what was wrong."""


@dataclass(frozen=True)
class RunLog:
    """Columns of one training log, each sorted by step.

    steps, loss, batch_acc, lr, wall: the training records. eval_steps: the evaluation records' steps;
    eval_acc: their overall exact match; eval_depth: depth (as the log writes it, "1".."8") -> exact match at
    each evaluation (NaN where an evaluation had no input of that depth); eval_answers: share of single
    answers right (NaN when the task has one answer per sample). skipped: lines that were not records.
    """

    steps: np.ndarray
    loss: np.ndarray
    batch_acc: np.ndarray
    lr: np.ndarray
    wall: np.ndarray
    eval_steps: np.ndarray
    eval_acc: np.ndarray
    eval_depth: dict[str, np.ndarray] = field(default_factory=dict)
    eval_answers: np.ndarray | None = None
    skipped: int = 0

    @property
    def depths(self) -> list[str]:
        return sorted(self.eval_depth, key=lambda d: (len(d), d))

    @property
    def last_step(self) -> int:
        return int(max(self.steps.max(initial=0), self.eval_steps.max(initial=0)))

    def phases(self) -> list[int]:
        return phase_starts(self.steps, self.lr)


def _float(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f if math.isfinite(f) else math.nan


def parse_log(text: str) -> RunLog:
    """Read the lines of a `log.jsonl`. A line that is not a JSON record with a step is skipped and counted;
    when a step is logged twice (a resumed run), the later line wins. Raises LogError when nothing is left."""
    train: dict[int, dict] = {}
    evals: dict[int, dict] = {}
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            step = int(rec["step"])
        except (ValueError, TypeError, KeyError):
            skipped += 1
            continue
        if not isinstance(rec, dict) or step < 0:
            skipped += 1
        elif isinstance(rec.get("eval"), dict):
            evals[step] = rec["eval"]
        elif "loss" in rec:
            train[step] = rec
        else:
            skipped += 1
    if not train and not evals:
        raise LogError("the training log holds no training or evaluation record (lines of JSON with a \"step\" "
                       "and a \"loss\" or an \"eval\")")
    ts = sorted(train)
    es = sorted(evals)
    depths = sorted({str(d) for e in evals.values() for d in (e.get("per_depth") or {})}, key=lambda d: (len(d), d))
    answers = np.array([_float(evals[s].get("answer_accuracy")) for s in es])
    return RunLog(
        steps=np.array(ts, dtype=np.int64),
        loss=np.array([_float(train[s].get("loss")) for s in ts]),
        batch_acc=np.array([_float(train[s].get("acc")) for s in ts]),
        lr=np.array([_float(train[s].get("lr")) for s in ts]),
        wall=np.array([_float(train[s].get("wall_seconds")) for s in ts]),
        eval_steps=np.array(es, dtype=np.int64),
        eval_acc=np.array([_float(evals[s].get("accuracy")) for s in es]),
        eval_depth={d: np.array([_float((evals[s].get("per_depth") or {}).get(d)) for s in es]) for d in depths},
        eval_answers=answers if np.isfinite(answers).any() else None,
        skipped=skipped)


def read_log(path: str | Path) -> RunLog:
    """`parse_log` of a file; LogError if it is missing, too large or not text."""
    path = Path(path)
    if not path.is_file():
        raise LogError(f"no training log at {path}")
    size = path.stat().st_size
    if size > MAX_LOG_BYTES:
        raise LogError(f"{path} is {size / 2**20:.0f} MB; a training log is at most {MAX_LOG_BYTES // 2**20} MB")
    try:
        return parse_log(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise LogError(f"{path} is not text (a training log is UTF-8 lines of JSON)") from None


def phase_starts(steps: np.ndarray, lr: np.ndarray) -> list[int]:
    """Steps at which a later training phase began: the last logged step before the learning rate, falling until
    then, rises (a warm restart of the cosine; a phase that ends at step 4,000 logs it, the next one starts from
    it). The warmup at the very start rises from the first record on and is not a phase."""
    lr = np.asarray(lr, dtype=float)
    out = []
    for i in range(2, len(lr)):
        if lr[i - 1] < lr[i - 2] and lr[i] > lr[i - 1] * 1.01:
            out.append(int(steps[i - 1]))
    return out
