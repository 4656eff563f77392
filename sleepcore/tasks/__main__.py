"""Print task samples: `python -m sleepcore.tasks sample --task rule110 --n 5 --seed 0 [--jsonl]`.

    python -m sleepcore.tasks list                                   tasks and their parameters
    python -m sleepcore.tasks sample --task khop --param max_hops=8 --param nodes=[8,16] --jsonl
    python -m sleepcore.tasks sample --task eca --param rule=30 --param steps=0,8 --split held_out

--param values are read as JSON where they parse (8, [0,8], true, "zero"), as a list of ints for
"0,8", and as text otherwise (boundary=zero). With --jsonl each line is one sample: "tokens" (text
tokens), "answer", "depth", "targets" ({position: token}) and the task's raw inputs (automaton:
"states", "steps", "labels"). Otherwise samples are printed with windows separated by " | ".
Errors in flags or parameters print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, NoReturn

from . import make_task, task_names, task_params
from .base import IGNORE


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def parse_value(text: str) -> Any:
    """'8' -> 8, '[0,8]' or '0,8' -> [0, 8], 'true' -> True, 'zero' -> 'zero'."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if re.fullmatch(r"\s*-?\d+\s*(,\s*-?\d+\s*)+", text):
            return [int(v) for v in text.split(",")]
        return text


def parse_params(items: list[str]) -> dict[str, Any]:
    params = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"--param expects key=value (e.g. --param steps=8); got {item!r}")
        params[key.strip()] = parse_value(value)
    return params


def _sample_record(task, batch, i: int) -> dict[str, Any]:
    tokens = task.decode(batch.tokens[i])
    targets = {int(p): task.vocab[int(batch.targets[i, p])] for p in (batch.targets[i] != IGNORE).nonzero().flatten()}
    return {"task": task.name, "index": i, "tokens": tokens, "answer": batch.answers[i],
            "depth": int(batch.depth[i]), "targets": targets, **batch.raw[i]}


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(prog="python -m sleepcore.tasks", description="Print samples of the Sleep Lab tasks.")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="task names and their parameters with defaults")
    sp = sub.add_parser("sample", help="print samples of one task")
    sp.add_argument("--task", required=True, help=f"one of: {', '.join(task_names())}")
    sp.add_argument("--n", type=int, default=5, help="how many samples (default 5)")
    sp.add_argument("--seed", type=int, default=0, help="seed; the same seed gives the same samples (default 0)")
    sp.add_argument("--split", choices=("train", "held_out", "any"), default="train",
                    help="inputs outside the held-out set, inside it, or either (default train)")
    sp.add_argument("--depth", type=int, default=None, help="only this depth (t, k or ops)")
    sp.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="task parameter, repeatable")
    sp.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    args = ap.parse_args(argv)

    if args.command == "list":
        for name in task_names():
            params = ", ".join(f"{k}={v!r}" for k, v in task_params(name).items())
            print(f"{name}: {params}")
        return 0
    for flag in ("n", "seed", "depth"):  # argparse turns `--n=--` into [] instead of refusing it
        value = getattr(args, flag)
        if value is not None and not isinstance(value, int):
            ap.error(f"--{flag} expects a whole number; got {value!r}")
    if not 1 <= args.n <= 100_000:
        ap.error(f"--n must be in 1..100000; got {args.n}")
    try:
        task = make_task(args.task, **parse_params(args.param))
        batch = task.sample(args.n, seed=args.seed, split=args.split, depth=args.depth)
    except ValueError as e:
        ap.error(str(e))
    for i in range(len(batch)):
        if args.jsonl:
            print(json.dumps(_sample_record(task, batch, i)))
        else:
            print(f"[{i}] depth={int(batch.depth[i])} answer={batch.answers[i]}")
            print(f"    {task.render(batch.tokens[i])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
