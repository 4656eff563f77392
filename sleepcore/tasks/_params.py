"""Validation of task parameters: one readable line naming the task, the value and what is accepted."""

from __future__ import annotations

from typing import Any

from ..config import ConfigError

__all__ = ["ConfigError", "int_param", "range_param", "choice_param", "bool_param"]


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but `width=True` is a mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def int_param(task: str, name: str, value: Any, lo: int, hi: int) -> int:
    """`value` as an int in lo..hi, or ConfigError."""
    if not _is_int(value) or not lo <= value <= hi:
        raise ConfigError(f"{task}: {name} must be an int in {lo}..{hi}; got {value!r}")
    return int(value)


def range_param(task: str, name: str, value: Any, lo: int, hi: int) -> tuple[int, int]:
    """An int t (meaning t..t) or a pair (low, high) with lo <= low <= high <= hi -> (low, high)."""
    if _is_int(value):
        pair = (value, value)
    elif isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ConfigError(f"{task}: {name} must be an int or a pair [low, high] of ints; got {value!r}")
    if not lo <= pair[0] <= pair[1] <= hi:
        raise ConfigError(f"{task}: {name} must satisfy {lo} <= low <= high <= {hi}; got {value!r}")
    return pair


def choice_param(task: str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{task}: {name} must be one of {list(choices)}; got {value!r}")
    return value


def bool_param(task: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{task}: {name} must be true or false; got {value!r}")
    return value
