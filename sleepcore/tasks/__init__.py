"""Seeded task generators: cellular automata, k-hop graph retrieval, multi-step arithmetic.

    task = make_task("rule110", width=24, states=4, steps=8)      # the paper's §6.1 layout
    batch = task.sample(2000, seed=0, split="train")               # Batch(tokens, targets, depth, ...)
    same = task_from_config(task.config())                         # configs round-trip (JSON-safe)

`python -m sleepcore.tasks sample --task rule110 --n 5` prints samples (see `__main__`).
"""

from __future__ import annotations

import inspect
from typing import Any

from ._params import ConfigError
from .arithmetic import Arithmetic
from .automaton import CellularAutomaton, evolve, is_held_out
from .base import IGNORE, Batch, Task
from .khop import KHopRetrieval

__all__ = ["TASKS", "ALIASES", "make_task", "task_from_config", "task_names", "task_params",
           "Task", "Batch", "IGNORE", "CellularAutomaton", "KHopRetrieval", "Arithmetic", "evolve",
           "is_held_out"]

TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (CellularAutomaton, KHopRetrieval, Arithmetic)}

# name -> (task it builds, parameters it fixes)
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {"rule110": ("eca", {"rule": 110})}


def task_names() -> list[str]:
    """Every accepted task name, aliases included."""
    return sorted([*TASKS, *ALIASES])


def task_params(name: str) -> dict[str, Any]:
    """Constructor parameters of a task and their defaults."""
    cls = TASKS[ALIASES[name][0] if isinstance(name, str) and name in ALIASES else _check_name(name)]
    return {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k != "self"}


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or (name not in TASKS and name not in ALIASES):
        raise ConfigError(f"unknown task {name!r}; accepted: {', '.join(task_names())}")
    return name


def make_task(name: str, **params: Any) -> Task:
    """Build a task by name, e.g. make_task("khop", max_hops=8). ConfigError (a ValueError) on a bad
    name, an unknown parameter or a bad value, listing what is accepted."""
    _check_name(name)
    if name in ALIASES:
        base, fixed = ALIASES[name]
        for k, v in fixed.items():
            if k in params and params[k] != v:
                raise ConfigError(f"task {name!r} fixes {k}={v!r}; got {k}={params[k]!r} "
                                  f"(use task {base!r} to choose {k})")
        name, params = base, {**params, **fixed}
    accepted = task_params(name)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ConfigError(f"task {name!r} has no parameter(s) {unknown}; accepted: "
                          + ", ".join(f"{k} (default {v!r})" for k, v in accepted.items()))
    return TASKS[name](**params)


def task_from_config(config: dict[str, Any]) -> Task:
    """Rebuild a task from `Task.config()` output: {"name": ..., **params}."""
    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError(f"a task config must be a dict with a 'name' ({', '.join(task_names())}) and the "
                          f"task's parameters; got {config!r}")
    params = dict(config)
    return make_task(params.pop("name"), **params)
