"""The Guide page's classroom lessons: curated held-out Rule 110 inputs with what each model answered.

A lesson is one held-out input (the timeline's sample for a seed and a depth t), the true answer
(cell 0 after t steps), and the answers of the N = 1, 2, 4 checkpoints with their confidence, as
written by `experiments/classroom.py` into `pages/classroom.json`. This module reads and validates
that file (`load_lessons`) and recomputes one model's answer the way the Timeline page reads it off
(`model_answer`: argmax of the prediction window's next-token distribution, confidence = its
probability), so a test can hold the stored answers equal to what the shipped checkpoints say now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from .tasks.automaton import first_cell_after

__all__ = ["FORMAT", "QUESTIONS", "Answer", "Lesson", "LessonError", "load_lessons", "parse_lessons",
           "model_answer"]

FORMAT = "sleeplab-classroom/1"
QUESTIONS = ("cell", "models")   # "what is cell 0 after t steps?" / "which models get it right?"
WIDTH, MAX_T = 16, 8


class LessonError(ValueError):
    """The lessons file is missing or malformed; the message says what and how to regenerate it."""


@dataclass(frozen=True)
class Answer:
    """What one checkpoint answered for a lesson."""

    checkpoint: str      # folder name in checkpoints/, e.g. "rule110-n4"
    passes: int          # N it was run (and trained) with
    answer: int          # 0 or 1
    confidence: float    # p(answer) in the prediction window, 0..1

    def right(self, truth: int) -> bool:
        return self.answer == truth


@dataclass(frozen=True)
class Lesson:
    """One classroom step: a held-out input, its truth, the models' answers and what to say about them."""

    title: str
    seed: int                    # the timeline's sample seed (held-out split)
    t: int                       # automaton steps, 1..8
    cells: tuple[int, ...]       # the initial row, W = 16 cells
    truth: int                   # cell 0 after t steps
    question: str                # one of QUESTIONS
    answers: tuple[Answer, ...]  # ordered by N
    explanation: str

    def by_passes(self, n: int) -> Answer | None:
        return next((a for a in self.answers if a.passes == n), None)


def _need(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise LessonError(f"{where}: {what}. Regenerate the file with `python experiments/classroom.py`.")


def _answer(d, where: str) -> Answer:
    _need(isinstance(d, dict), where, f"expected an object, got {type(d).__name__}")
    _need(isinstance(d.get("checkpoint"), str) and d["checkpoint"], where, "needs a checkpoint name")
    _need(isinstance(d.get("passes"), int) and 1 <= d["passes"] <= 16, where, f"passes {d.get('passes')!r} not 1..16")
    _need(d.get("answer") in (0, 1) and isinstance(d.get("answer"), int), where,
          f"answer {d.get('answer')!r} is not 0 or 1")
    conf = d.get("confidence")
    _need(isinstance(conf, (int, float)) and 0.0 <= conf <= 1.0, where, f"confidence {conf!r} is not in 0..1")
    return Answer(d["checkpoint"], d["passes"], d["answer"], float(conf))


def _lesson(d, i: int, rule: int) -> Lesson:
    where = f"lesson {i + 1}"
    _need(isinstance(d, dict), where, f"expected an object, got {type(d).__name__}")
    for key, kind in (("title", str), ("explanation", str), ("question", str)):
        _need(isinstance(d.get(key), kind) and d[key].strip(), where, f"needs a non-empty {key!r}")
    _need(d["question"] in QUESTIONS, where, f"question {d['question']!r} is not one of {QUESTIONS}")
    _need(isinstance(d.get("seed"), int) and d["seed"] >= 0, where, f"seed {d.get('seed')!r} is not a whole number")
    _need(isinstance(d.get("t"), int) and 1 <= d["t"] <= MAX_T, where, f"t {d.get('t')!r} is not 1..{MAX_T}")
    cells = d.get("cells")
    _need(isinstance(cells, list) and len(cells) == WIDTH and all(c in (0, 1) and isinstance(c, int) for c in cells),
          where, f"cells must be {WIDTH} zeros and ones, got {cells!r}")
    truth = int(first_cell_after(torch.tensor([cells]), torch.tensor([d["t"]]), rule)[0])
    _need(d.get("truth") == truth, where, f"truth {d.get('truth')!r} is wrong: Rule {rule} gives {truth}")
    answers = d.get("answers")
    _need(isinstance(answers, list) and answers, where, "needs a non-empty list of answers")
    parsed = tuple(_answer(a, f"{where}, answer {j + 1}") for j, a in enumerate(answers))
    _need(len({a.passes for a in parsed}) == len(parsed), where, "two answers for the same N")
    return Lesson(d["title"], d["seed"], d["t"], tuple(cells), truth, d["question"],
                  tuple(sorted(parsed, key=lambda a: a.passes)), d["explanation"])


def parse_lessons(data) -> tuple[dict, list[Lesson]]:
    """Validate a decoded lessons file; returns (header, lessons). Raises LessonError saying what is wrong."""
    _need(isinstance(data, dict), "the file", f"expected a JSON object, got {type(data).__name__}")
    _need(data.get("format") == FORMAT, "the file", f"format {data.get('format')!r} is not {FORMAT!r}")
    rule = data.get("rule")
    _need(isinstance(rule, int) and 0 <= rule <= 255, "the file", f"rule {rule!r} is not 0..255")
    items = data.get("lessons")
    _need(isinstance(items, list) and items, "the file", "needs a non-empty list 'lessons'")
    header = {k: v for k, v in data.items() if k != "lessons"}
    return header, [_lesson(d, i, rule) for i, d in enumerate(items)]


def load_lessons(path: str | Path) -> tuple[dict, list[Lesson]]:
    """Read and validate `pages/classroom.json` (or another lessons file)."""
    path = Path(path)
    if not path.is_file():
        raise LessonError(f"No lessons file at `{path}`. Create it with `python experiments/classroom.py`.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LessonError(f"`{path}` is not readable JSON ({e}). Regenerate it with "
                          f"`python experiments/classroom.py`.") from None
    return parse_lessons(data)


@torch.inference_mode()
def model_answer(model, task, tokens: torch.Tensor, targets: torch.Tensor, passes: int) -> list[tuple[int, float]]:
    """(answer, confidence) per sample, read as the Timeline page reads it.

    Args:
        tokens, targets: (B, T) a batch whose last position is the only supervised one (cell 0).
        passes: N, sleep passes per consolidation window.
    Returns:
        One (vocab argmax as a cell value, its probability over the whole vocabulary) per sample;
        an argmax that is not "0" or "1" comes back as -1.
    """
    probs = model(tokens, targets, passes=passes).logits[:, -1].float().softmax(-1)   # (B, |V|)
    best = probs.argmax(-1)
    cell = {task.index["0"]: 0, task.index["1"]: 1}
    return [(cell.get(int(b), -1), float(p[b])) for b, p in zip(best, probs)]
