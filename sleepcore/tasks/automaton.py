"""Elementary cellular automata: predict cell 0 of each state after t steps (paper §3.2, §4, §6.1).

A sample holds M independent random initial states of W cells (not successive states: the strings
are unrelated). Each state fills one consolidation window; the prediction window then asks for one
label per state: cell 0 of that state after t steps of the rule. With Rule 110 this is P-complete,
so no parallel shortcut is known and the depth t has to be computed.

Layout (one sample, `show_steps` on; without it the "t=<t>" token is absent and L = W):

    window 1      t=<t> c_0 c_1 ... c_{W-1}      state 1, L = W + 1 tokens
    ...
    window M      t=<t> c_0 c_1 ... c_{W-1}      state M
    prediction    ? ? ... ?                      M query tokens; target at query i = label i

So T = M * L + M. The paper's setting (§5.1 of the notes) is rule 110, W = 24, M = 4, t fixed, no
step token: T = 24 * 4 + 4 = 100 with L = 24.

Rule numbering is Wolfram's: the new cell is bit (4 * left + 2 * centre + right) of `rule`.
Boundary (the paper does not say which; it matters once t > W / 2):
    "periodic"  the W cells form a ring: cell 0's left neighbour is cell W-1 (default).
    "zero"      the row is embedded in an infinite row of 0s that stay 0 forever.

Held-out inputs: the initial strings whose hash falls in one bucket of 8 (`is_held_out`; a fixed
hash of the bit string, so it needs no enumeration and works for any W) never appear in "train"
samples, so accuracy on "held_out" samples measures computation on strings the model cannot have
memorised. That is 12.5% of the strings up to noise: 8,216 of the 65,536 at W = 16, but tiny
widths stray (W = 6 holds out 14 of 64). Each of a sample's M states is drawn from the split.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor

from ._params import ConfigError, bool_param, choice_param, int_param, range_param
from .base import IGNORE, Batch, Task

__all__ = ["CellularAutomaton", "evolve", "step", "first_cell_after", "is_held_out", "string_hash", "BOUNDARIES",
           "HELD_OUT_BUCKETS"]

BOUNDARIES = ("periodic", "zero")
HELD_OUT_BUCKETS = 8  # one bucket of 8 is held out: 12.5% of the strings
MAX_WIDTH = 1024
MAX_STEPS = 4096


# ----------------------------------------------------------------------------- the automaton
def check_rule(rule: int) -> int:
    if isinstance(rule, bool) or not isinstance(rule, int) or not 0 <= rule <= 255:
        raise ConfigError(f"rule must be an int in 0..255 (Wolfram numbering); got {rule!r}")
    return rule


def step(x: Tensor, rule: int, boundary: str = "periodic") -> Tensor:
    """One synchronous update of every cell: x (..., W) integer tensor of 0/1 -> same shape and dtype."""
    if boundary == "periodic":
        left, right = x.roll(1, -1), x.roll(-1, -1)  # left[j] = x[j-1], right[j] = x[j+1], wrapping
    else:  # "zero": the cells outside 0..W-1 are 0
        zero = torch.zeros_like(x[..., :1])
        left = torch.cat([zero, x[..., :-1]], -1)
        right = torch.cat([x[..., 1:], zero], -1)
    return (rule >> ((left << 2) | (x << 1) | right)) & 1  # bit (4l + 2c + r) of the rule


def by_rows(fn, x: Tensor, *more: Tensor) -> Tensor:
    """fn applied to row blocks of x (and of `more`) small enough that torch runs each elementwise
    op on one thread. On a busy 2-core machine the intra-op thread pool made the automaton 20x
    slower than a single thread; below ATen's grain size (32768 elements) no pool is used."""
    rows = max(1, 16384 // max(1, math.prod(x.shape[1:])))
    if x.shape[0] <= rows:
        return fn(x, *more)
    return torch.cat([fn(*parts) for parts in zip(x.split(rows), *(m.split(rows) for m in more))])


def evolve(states: Tensor, rule: int = 110, steps: int = 1, boundary: str = "periodic") -> Tensor:
    """Run the automaton and keep every row (for space-time diagrams).

    Args:
        states: (B, W) initial rows of 0/1 (any integer or bool dtype).
        rule: Wolfram rule number, 0..255.
        steps: t >= 0, number of updates.
        boundary: "periodic" or "zero" (see the module docstring).
    Returns:
        (B, steps + 1, W) long history; [:, 0] is `states`, [:, s] the row after s updates.
    """
    check_rule(rule)
    choice_param("evolve", "boundary", boundary, BOUNDARIES)
    int_param("evolve", "steps", steps, 0, MAX_STEPS)
    if states.dim() != 2:
        raise ValueError(f"states must be (B, W); got shape {tuple(states.shape)}")
    if states.numel() and not bool(((states == 0) | (states == 1)).all()):
        raise ValueError("states must hold only 0 and 1")

    def run(x: Tensor) -> Tensor:
        rows = [x]
        for _ in range(steps):
            rows.append(step(rows[-1], rule, boundary))
        return torch.stack(rows, 1)                                        # (b, steps + 1, W)

    return by_rows(run, states.to(torch.uint8)).long()


def first_cell_after(states: Tensor, steps: Tensor, rule: int, boundary: str = "periodic") -> Tensor:
    """Cell 0 of each state after its own number of steps: states (B, W), steps (B,) -> (B,) long.

    Steps everything to the largest t and latches cell 0 as each state reaches its own t, so no
    history is kept.
    """
    def run(x: Tensor, t: Tensor) -> Tensor:
        label = x[:, 0].clone()                                            # right for t = 0
        for s in range(1, int(t.max()) + 1):
            x = step(x, rule, boundary)
            label = torch.where(t == s, x[:, 0], label)
        return label

    return by_rows(run, states.to(torch.uint8), steps).long()


# ----------------------------------------------------------------------------- held-out split
def _mul32(x: Tensor, m: int) -> Tensor:
    """(x * m) mod 2^32 for int64 x < 2^32, split in 16-bit halves so nothing overflows int64."""
    lo, hi = x & 0xFFFF, x >> 16
    return (lo * m + (((hi * m) & 0xFFFF) << 16)) & 0xFFFFFFFF


def _fmix32(h: Tensor) -> Tensor:
    """MurmurHash3's 32-bit finaliser: a bijection of 0..2^32-1 that mixes every bit into every bit."""
    h = h ^ (h >> 16)
    h = _mul32(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = _mul32(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def string_hash(states: Tensor) -> Tensor:
    """(..., W) of 0/1 -> (...,) int64 32-bit hash of the bit string.

    The string is read as an integer with cell i as bit i, in chunks of 31 bits (so any W works);
    h starts at W and absorbs each chunk as h = fmix32(h xor chunk).
    """
    W = states.shape[-1]
    bits = states.long()
    h = torch.full(states.shape[:-1], W, dtype=torch.long)
    for start in range(0, W, 31):
        chunk = bits[..., start:start + 31]
        weights = 2 ** torch.arange(chunk.shape[-1], dtype=torch.long)
        h = _fmix32(h ^ (chunk * weights).sum(-1))
    return h


def is_held_out(states: Tensor) -> Tensor:
    """(..., W) -> (...,) bool: whether each initial string is in the held-out eighth (hash % 8 == 0)."""
    flat = states.reshape(-1, states.shape[-1])
    return by_rows(string_hash, flat).view(states.shape[:-1]) % HELD_OUT_BUCKETS == 0


# ----------------------------------------------------------------------------- the task
class CellularAutomaton(Task):
    """Predict cell 0 of each of M random W-cell states after t steps of an elementary CA.

    Args:
        rule: Wolfram rule number 0..255 (default 110).
        width: W, cells per state, 3..1024 (default 16).
        states: M, independent states per sample, 1..W (default 1); one window each.
        steps: t, an int, or a pair [t_min, t_max] drawn uniformly per sample (default 4). All M
            states of a sample share t. depth = t.
        boundary: "periodic" (default) or "zero".
        show_steps: put the token "t=<t>" first in each state window (L = W + 1). Default: on iff
            `steps` is a range, since the model cannot know t otherwise.
        cells: Q, how many cells of the (single) state are asked after t steps: cells 0..Q-1, one "?"
            each, in order (default 1, the paper's task). Q > 1 gives Q answers per sample (more
            training signal, as k-hop needed) and needs states = 1.
        depth_weights: relative weight of each t in the steps range when drawing training and
            fresh samples, one non-negative number per t from t_min to t_max (default: uniform).
            Evaluation by depth is unaffected; the vocabulary and layout do not change, so a run can
            change its weights mid-training (a curriculum) and keep its weights file.

    Vocabulary: "0", "1" (ids 0 and 1, so a cell's id is its value), "?", then "t=<t>" for every t
    in the steps range when `show_steps` is on. Defaults: |V| = 3, L = 16, T = 17.
    """

    name: ClassVar[str] = "eca"
    has_held_out: ClassVar[bool] = True

    def __init__(self, rule: int = 110, width: int = 16, states: int = 1, steps: int | tuple[int, int] = 4,
                 boundary: str = "periodic", show_steps: bool | None = None, cells: int = 1,
                 depth_weights: list[float] | None = None):
        task = self.name
        self.rule = check_rule(rule)
        self.width = int_param(task, "width (W)", width, 3, MAX_WIDTH)
        self.states = int_param(task, "states (M)", states, 1, self.width)
        self.steps_range = range_param(task, "steps (t)", steps, 0, MAX_STEPS)
        self._steps_is_range = not isinstance(steps, int)
        self.boundary = choice_param(task, "boundary", boundary, BOUNDARIES)
        self.show_steps = self._steps_is_range if show_steps is None else bool_param(task, "show_steps", show_steps)
        self.cells = int_param(task, "cells (Q)", cells, 1, self.width)
        if self.cells > 1 and self.states > 1:
            raise ConfigError(f"{task}: cells (Q) = {self.cells} asks several cells of one state; it needs states (M) "
                              f"= 1, got {self.states}")

        lo, hi = self.steps_range
        self.depths = list(range(lo, hi + 1))
        self.depth_weights = None if depth_weights is None else self._check_weights(depth_weights)
        self.vocab = ["0", "1", "?"] + ([f"t={t}" for t in self.depths] if self.show_steps else [])
        self.window = self.width + int(self.show_steps)
        self.consolidation_windows = self.states
        self.seq_len = self.states * self.window + self.states * self.cells

    def config(self) -> dict[str, Any]:
        lo, hi = self.steps_range
        out = {"name": self.name, "rule": self.rule, "width": self.width, "states": self.states,
               "steps": [lo, hi] if self._steps_is_range else lo, "boundary": self.boundary,
               "show_steps": self.show_steps}
        if self.cells > 1:            # only then: configs of one-cell checkpoints stay as they were
            out["cells"] = self.cells
        if self.depth_weights is not None:
            out["depth_weights"] = self.depth_weights
        return out

    def _check_weights(self, weights: Any) -> list[float]:
        n = len(self.depths)
        ok = (isinstance(weights, (list, tuple)) and len(weights) == n
              and all(isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w) and w >= 0
                      for w in weights) and sum(weights) > 0)
        if not ok:
            lo, hi = self.steps_range
            raise ConfigError(f"{self.name}: depth_weights must be a list of {n} non-negative numbers, one per t in "
                              f"{lo}..{hi}, not all zero; got {weights!r:.80}")
        return [float(w) for w in weights]

    # --------------------------------------------------------------------------------------
    def _draw_states(self, count: int, gen: torch.Generator, split: str) -> Tensor:
        """(count, W) random initial strings from the split, by vectorised rejection sampling."""
        W = self.width
        if split == "any":
            return torch.randint(0, 2, (count, W), generator=gen)
        want_held_out = split == "held_out"
        # Expected acceptance is 1/8 (held out) or 7/8 (train); oversample so one round nearly always does.
        factor = 2 * HELD_OUT_BUCKETS if want_held_out else 2
        kept, have = [], 0
        for _ in range(32):
            cand = torch.randint(0, 2, (max(64, factor * (count - have)), W), generator=gen)
            cand = cand[is_held_out(cand) == want_held_out][: count - have]
            kept.append(cand)
            have += cand.shape[0]
            if have == count:
                return torch.cat(kept)
        raise ValueError(f"eca: could not draw {split!r} strings of width W={W}: for tiny widths the "
                         f"held-out eighth of the 2^{W} strings can be empty or everything; use split='any' "
                         f"or a larger width")

    def _sample(self, n: int, gen: torch.Generator, split: str, depth: int | None) -> Batch:
        W, M, L = self.width, self.states, self.window
        states = self._draw_states(n * M, gen, split)                      # (n*M, W)
        lo, hi = self.steps_range
        if depth is not None:
            t = torch.full((n,), depth, dtype=torch.long)
        elif self.depth_weights is not None:
            t = lo + torch.multinomial(torch.tensor(self.depth_weights, dtype=torch.float64), n, replacement=True,
                                       generator=gen)
        else:
            t = torch.randint(lo, hi + 1, (n,), generator=gen)             # (n,)
        Q = self.cells                  # cells asked per state: 0..Q-1 (cell j = cell 0 of the state rolled by j)
        asked = torch.stack([states.roll(-j, -1) for j in range(Q)], 1).reshape(n * M * Q, W)
        labels = first_cell_after(asked, t.repeat_interleave(M * Q), self.rule, self.boundary).view(n, M * Q)

        cells = states.view(n, M, W)                                       # ids of "0"/"1" are 0/1
        if self.show_steps:
            t_ids = torch.tensor([self.index[f"t={d}"] for d in range(lo, hi + 1)])[t - lo]
            cells = torch.cat([t_ids.view(n, 1, 1).expand(n, M, 1), cells], -1)  # (n, M, L)
        query = torch.full((n, M * Q), self.index["?"], dtype=torch.long)
        tokens = torch.cat([cells.reshape(n, M * L), query], 1)            # (n, T)
        targets = torch.full_like(tokens, IGNORE)
        targets[:, M * L:] = labels                                        # label ids = label values

        states_l, labels_l, t_l = cells[..., -W:].tolist(), labels.tolist(), t.tolist()
        raw = [{"states": states_l[i], "steps": t_l[i], "labels": labels_l[i], "rule": self.rule,
                "boundary": self.boundary} for i in range(n)]
        answers = ["".join(map(str, row)) for row in labels_l]
        return Batch(tokens=tokens, targets=targets, depth=t, answers=answers, raw=raw)
