"""Probes of the memory: what the fast weights give back, and what is lost when the cache goes.

Two experiments the explorer shows, written without Streamlit so they can be tested and scripted.

Memory probe (`memory_probe`). Pass n over a consolidated window writes every token i into the
fast weights S with a key k_i and a value v_i (both recorded in the trace, `blocks.{i}.fast.k/v`).
Reading S after that pass with the same key gives back

    r_i = S_n^T k_i                        (V,)   what the memory returns for token i
    recall_i = cos(r_i, v_i)                      1 = it returns what was written (up to scale)
    residual_i = || v_i - S_n^T k_i ||            what the delta rule would still write

The delta rule writes exactly the error v_i - alpha S^T k_i, so a residual that shrinks over the
passes is sleep finishing the writing that one wake pass left undone.

Amnesia test (`amnesia_diagrams`). For the Rule 110 models, the whole space-time diagram a model
predicts (cell j after step s, one question per (j, s), as `pages/lab.diagram_predictions` builds
it) under three memories, with the same weights:

    KEPT     N passes over the state window, then the attention cache is *not* evicted: the
             question still attends to the window (a memory the hard-eviction model never had
             in training, so not an upper bound: it can do worse than SLEPT).
    SLEPT    N passes, then the cache is evicted: normal operation (Algorithm 1).
    NO_SLEEP the cache is evicted after the wake pass only (N = 1).

How KEPT is run: `eviction="none"` in `sleepcore.model` keeps the cache but also turns sleep off
(a model that never evicts never reaches a boundary to sleep at), so it would not be "N passes,
cache kept". `three_ways_logits` streams the state window into a memory with eviction "none"
(attention unbounded, nothing evicted), runs passes 2..N with the model's own sleep routine
(`SleepingHybrid.sleep(..., evict=False)`: the passes `sleep` runs before evicting), and then asks the question
of a copy with the cache kept (it holds the keys and values of the last pass, as sliding eviction
would) and of a copy with the cache cleared. Streaming equals `forward` up to float rounding
(tests/test_probe.py checks it), so SLEPT and NO_SLEEP are the normal model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .model import IGNORE, SleepingHybrid
from .tasks import CellularAutomaton, evolve
from .trace import Trace

__all__ = ["KEPT", "SLEPT", "NO_SLEEP", "WAYS", "MemoryProbe", "Amnesia", "consolidated_windows", "probe_trace",
           "memory_probe", "diagram_tokens", "three_ways_logits", "cell_p1", "diagram_p1", "amnesia_diagrams",
           "error_rates", "PassProbe", "hidden_after_each_pass", "linear_probe_accuracy", "linear_probe_accuracies",
           "pass_probe_unsupported", "pass_probe"]

KEPT, SLEPT, NO_SLEEP = "kept", "slept", "no_sleep"
WAYS = (KEPT, SLEPT, NO_SLEEP)


# ============================================================================ memory probe
@dataclass
class MemoryProbe:
    """What S returns for the keys of one consolidated window, pass by pass (one sample).

    Attributes:
        layer: block index of the fast-weight block probed.
        window: window index (0-based).
        tokens: the window's C tokens, as text.
        passes: N, the number of passes run over the window.
        recall: (N, C, H) cos(S_n^T k_i, v_i) for pass n (row n-1) and position i.
        residual: (N, C, H) ||v_i - S_n^T k_i||.
        value_norm: (N, C, H) ||v_i||, to read the residual against.
        retrieved: (N, C, H, V) S_n^T k_i.
        values: (N, C, H, V) v_i as written in pass n.
    """

    layer: int
    window: int
    tokens: list[str]
    passes: int
    recall: np.ndarray
    residual: np.ndarray
    value_norm: np.ndarray
    retrieved: np.ndarray
    values: np.ndarray

    @property
    def heads(self) -> int:
        return self.recall.shape[-1]

    def mean_recall(self) -> np.ndarray:
        """(N, H) recall averaged over the window's positions."""
        return self.recall.mean(1)

    def mean_residual(self) -> np.ndarray:
        """(N, H) residual averaged over the window's positions."""
        return self.residual.mean(1)


def consolidated_windows(targets: Tensor, window: int) -> list[int]:
    """Indices of the full windows of a sample with no supervised position (the ones that sleep).

    Args:
        targets: (T,) or (1, T) targets, IGNORE where there is no answer.
        window: L.
    """
    t = targets.reshape(-1)
    full = t.numel() // window
    return [w for w in range(full) if bool((t[w * window:(w + 1) * window] == IGNORE).all())]


def memory_probe(trace: Trace, layer: int, window: int, vocab: list[str] | None = None,
                 sample: int = 0) -> MemoryProbe:
    """Query S after each pass over `window` with that pass's keys (see the module docstring).

    Args:
        trace: a `forward` trace (one frame per pass over each window).
        layer: index of a fast-weight block.
        window: which window to probe (it should be a consolidated one).
        vocab: token texts, to label positions (ids are shown otherwise).
        sample: which row of the batch.
    Raises:
        ValueError: the trace holds no pass of that window or no keys for that layer.
    """
    frames = sorted(trace.passes(window=window), key=lambda f: f.pass_index)
    name = f"blocks.{layer}.fast"
    if not frames:
        raise ValueError(f"the trace has no pass over window {window}")
    if f"{name}.k" not in frames[0].tensors:
        raise ValueError(f"the trace has no fast-weight keys for block {layer} (is it a fast-weight block?)")
    rec, res, vnorm, got, want = [], [], [], [], []
    for f in frames:
        S = f[f"{name}.S"][sample].double()                       # (H, K, V) after this pass
        k = f[f"{name}.k"][sample].double()                       # (C, H, K)
        v = f[f"{name}.v"][sample].double()                       # (C, H, V)
        r = torch.einsum("hkv,chk->chv", S, k)                    # (C, H, V) S^T k_i
        rec.append(torch.nn.functional.cosine_similarity(r, v, dim=-1, eps=1e-12))
        res.append((v - r).norm(dim=-1))
        vnorm.append(v.norm(dim=-1))
        got.append(r)
        want.append(v)
    ids = frames[0]["tokens"][sample].tolist() if "tokens" in frames[0].tensors else []
    tokens = [vocab[i] if vocab is not None else str(i) for i in ids]

    def stack(xs):
        return torch.stack(xs).float().numpy()

    return MemoryProbe(layer, window, tokens, len(frames), stack(rec), stack(res), stack(vnorm), stack(got),
                       stack(want))


@torch.inference_mode()
def probe_trace(model: SleepingHybrid, tokens: Tensor, targets: Tensor, passes: int) -> Trace:
    """One traced forward pass of a one-sample batch (the model is only read)."""
    trace = Trace()
    dev = model.head.weight.device
    model(tokens.to(dev), targets.to(dev), passes=int(passes), trace=trace)
    return trace


# ============================================================================ amnesia test
def diagram_tokens(task, states: Tensor, t: int) -> Tensor:
    """Questions for whole space-time diagrams: cell j after step s, for every state, s and j.

    On a ring, cell j after s steps is cell 0 of the state rotated by j, so every cell of every row
    is one ordinary question. Rows are ordered (state m, step s = 1..t, cell j).

    Args:
        task: the automaton task (its vocabulary).
        states: (M, W) initial cells, 0/1.
        t: the last step.
    Returns:
        tokens (M * t * W, L + 1): "t=s", the rotated state, "?".
    """
    M, W = states.shape
    rotated = torch.stack([states.roll(-j, dims=1) for j in range(W)], 1)          # (M, W, W)
    q = torch.full((M, W, 1), task.index["?"], dtype=torch.long)
    rows = []
    for s in range(1, t + 1):
        head = (torch.full((M, W, 1), task.index[f"t={s}"], dtype=torch.long) if task.show_steps
                else torch.empty(M, W, 0, dtype=torch.long))
        rows.append(torch.cat([head, rotated.long(), q], 2))                       # (M, W, L + 1)
    return torch.stack(rows, 1).reshape(M * t * W, -1)


@torch.no_grad()
def three_ways_logits(model: SleepingHybrid, tokens: Tensor, passes: int,
                      ways: tuple[str, ...] = WAYS) -> dict[str, Tensor]:
    """Logits of the last token under each way of remembering, from one shared run.

    The state window (the first L tokens) is streamed once into a memory that evicts nothing;
    the question (the tokens after it) is then asked of copies of that memory: right after the
    wake pass with the cache cleared (NO_SLEEP), after passes 2..N with the cache cleared (SLEPT)
    and after passes 2..N with the cache kept (KEPT). The three share every computation up to
    the point where they differ.

    Args:
        model: the model (only read).
        tokens: (B, T) with T > L: the state window, then the question tokens.
        passes: N.
        ways: which of KEPT, SLEPT, NO_SLEEP to return.
    Returns:
        way -> logits (B, |V|) at the last token.
    """
    L = model.sleep_cfg.window
    if tokens.shape[1] <= L:
        raise ValueError(f"tokens must hold a full window of L = {L} and a question; got {tokens.shape[1]}")
    unknown = set(ways) - set(WAYS)
    if unknown:
        raise ValueError(f"ways must be among {WAYS}; got {sorted(unknown)}")
    mem = model.new_memory(tokens.shape[0], eviction="none")     # nothing evicted, attention unbounded

    def ask(keep_cache: bool) -> Tensor:
        m = mem.clone() if keep_cache else mem.evicted_copy()    # hard eviction: only S crosses
        for i in range(L, tokens.shape[1]):
            out = model.step(tokens[:, i], m)
        return out

    for i in range(L):
        model.step(tokens[:, i], mem)                            # pass 1: wake
    out = {}
    if NO_SLEEP in ways:
        out[NO_SLEEP] = ask(keep_cache=False)
    if passes > 1:
        model.sleep(mem, int(passes), evict=False)                # passes 2..N, the cache kept
    if SLEPT in ways:
        out[SLEPT] = ask(keep_cache=False)
    if KEPT in ways:
        out[KEPT] = ask(keep_cache=True)
    return out


def cell_p1(task, logits: Tensor) -> Tensor:
    """p(1) among the two cell values, from logits (B, |V|)."""
    return logits[:, [task.index["0"], task.index["1"]]].float().softmax(-1)[:, 1]


@torch.inference_mode()
def diagram_p1(model: SleepingHybrid, task, tokens: Tensor, passes: int) -> Tensor:
    """p(1) for every question row of `diagram_tokens` (B,), by `forward` (normal operation)."""
    targets = torch.full_like(tokens, IGNORE)
    targets[:, -1] = 0                                           # marks the prediction window
    return cell_p1(task, model(tokens, targets, passes=int(passes)).logits[:, -1])


@dataclass
class Amnesia:
    """Predicted diagrams of M initial states under each way of remembering.

    Attributes:
        truth: (M, t + 1, W) the true diagrams (row 0 the initial state).
        p1: way -> (M, t + 1, W) predicted p(1), row 0 the given state.
        passes: N.
    """

    truth: np.ndarray
    p1: dict[str, np.ndarray]
    passes: int

    def wrong(self, way: str) -> np.ndarray:
        """(M, t + 1, W) bool: cells predicted on the wrong side of 1/2."""
        return (self.p1[way] >= 0.5) != (self.truth >= 0.5)

    def errors_per_step(self, way: str) -> np.ndarray:
        """(M, t) wrong cells per step s = 1..t."""
        return self.wrong(way)[:, 1:].sum(-1)

    def saved(self, better: str = SLEPT, worse: str = NO_SLEEP) -> np.ndarray:
        """(M, t + 1, W) cells `better` gets right and `worse` gets wrong (default: what sleep saved)."""
        return ~self.wrong(better) & self.wrong(worse)


def amnesia_diagrams(model: SleepingHybrid, task, states: Tensor, t: int, passes: int,
                     ways: tuple[str, ...] = WAYS) -> Amnesia:
    """Predict whole diagrams of `states` (M, W) up to step t under each way (same weights)."""
    states = states.long()
    M, W = states.shape
    logits = three_ways_logits(model, diagram_tokens(task, states, t), passes, ways)
    p1 = {}
    for way in ways:
        p = cell_p1(task, logits[way]).view(M, t, W).numpy()
        p1[way] = np.concatenate([states.float().numpy()[:, None], p], 1)
    truth = evolve(states, rule=task.rule, steps=t, boundary=task.boundary).numpy()
    return Amnesia(truth, p1, int(passes))


def error_rates(am: Amnesia) -> dict[str, np.ndarray]:
    """way -> (t,) fraction of wrong cells per step s = 1..t, over all states and cells."""
    W = am.truth.shape[-1]
    return {w: am.errors_per_step(w).mean(0) / W for w in am.p1}


# ============================================================================ pass-by-pass row probe
@dataclass
class PassProbe:
    """Which rows of the automaton a linear probe can read, pass by pass (a whole-row model, many inputs).

    For held-out inputs at depth t, a logistic-regression probe per (pass n, step s) reads cell j of the
    row after s steps (s = 0 is the input, s = t the answer) from a hidden state, the cells pooled, fitted
    on half of the inputs and scored on the other half.

    Attributes:
        depth: t of the probed inputs.
        samples: inputs probed (half fit, half score).
        memory: (N, t+1) from query j's hidden state in the prediction window, after the eviction, had the
            model slept n passes (passes 1..n of a longer sleep are the same computation): what S holds.
        tokens: (N, t+1) from cell j's token of the state window after pass n (top-of-stack hidden state).
        input: (t+1,) the same probe on the input row itself, rotated so cell j comes first: no computation.
        chance: (t+1,) majority rate of each row's cells on the scored half.
    """

    depth: int
    samples: int
    memory: np.ndarray
    tokens: np.ndarray
    input: np.ndarray
    chance: np.ndarray

    @property
    def passes(self) -> int:
        return self.memory.shape[0]


@torch.no_grad()
def hidden_after_each_pass(model: SleepingHybrid, tokens: Tensor, passes: int,
                           chunk: int = 250) -> tuple[list[Tensor], list[Tensor]]:
    """Top-of-stack hidden states after each pass n = 1..passes over the first window of `tokens` (B, T), and
    of the tokens after it asked after the eviction had the model slept n passes, from one run per chunk.

    The window is streamed into a memory that evicts nothing (as `three_ways_logits` does); after pass n the
    question is asked of a copy whose cache is cleared (hard eviction: only S crosses), then one more sleep pass
    runs on the original. Passes 1..n of a longer sleep are the same computation as a sleep of n passes, so this
    equals running the model n times with `passes=n`, in 1 + passes runs of the window instead of n(n+1)/2.
    Returns ([(B, L, D) per pass], [(B, T - L, D) per pass])."""
    L = model.sleep_cfg.window
    if tokens.shape[1] <= L:
        raise ValueError(f"tokens must hold a full window of L = {L} and a question; got {tokens.shape[1]}")
    window: list[list[Tensor]] = [[] for _ in range(passes)]
    asked: list[list[Tensor]] = [[] for _ in range(passes)]
    for a in range(0, tokens.shape[0], chunk):
        part = tokens[a:a + chunk]
        mem = model.new_memory(part.shape[0], eviction="none")            # nothing evicted, attention unbounded
        for i in range(L):
            model.step(part[:, i], mem)                                    # pass 1: wake
        for n in range(passes):
            if n:
                model.sleep(mem, 2, evict=False)                           # one more pass, the cache kept
            window[n].append(torch.cat(mem.window_hidden, 1))
            m = mem.evicted_copy()                                         # the eviction: only S crosses
            model(part[:, L:], memory=m)
            asked[n].append(torch.cat(m.window_hidden, 1))
    return [torch.cat(w) for w in window], [torch.cat(q) for q in asked]


def linear_probe_accuracy(x: Tensor, y: Tensor, split: int, l2: float = 1e-3) -> float:
    """Logistic regression of 0/1 labels y (R,) on features x (R, F), fitted on rows [:split] (standardised
    with their statistics), accuracy on rows [split:]."""
    return linear_probe_accuracies(x, y[:, None], split, l2)[0]


def linear_probe_accuracies(x: Tensor, Y: Tensor, split: int, l2: float = 1e-3) -> list[float]:
    """One logistic regression per column of the 0/1 labels Y (R, S) on the same features x (R, F), fitted
    together (the summed loss is separable, so each column gets its own optimum) on rows [:split], standardised
    with their statistics; the accuracy of each on rows [split:]."""
    mu, sd = x[:split].mean(0), x[:split].std(0) + 1e-6
    x = (x - mu) / sd
    w = torch.zeros(x.shape[1], Y.shape[1], requires_grad=True)
    b = torch.zeros(Y.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")
    xt, yt = x[:split], Y[:split].float()

    def closure():
        opt.zero_grad()
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt, reduction="none").mean(0).sum()
                + l2 * (w * w).sum())
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return (((x[split:] @ w + b) > 0).long() == Y[split:]).float().mean(0).tolist()


def pass_probe_unsupported(task) -> str | None:
    """Why `pass_probe` cannot read this task's model, or None if it can (a whole-row automaton)."""
    if not isinstance(task, CellularAutomaton):
        return f"the pass-by-pass probe reads automaton rows; this model's task is {task.name}"
    if task.states != 1 or task.cells != task.width:
        return ("the pass-by-pass probe needs a model asked for every cell of one state (task parameters "
                f"states=1, cells={task.width}); this one has states={task.states}, cells={task.cells}")
    return None


def pass_probe(model: SleepingHybrid, task, depth: int, samples: int, passes: int | None = None,
               seed: int = 0) -> PassProbe:
    """Probe a whole-row automaton model for every row s = 0..depth after each pass n = 1..passes (default:
    the model's N) on `samples` held-out inputs. Raises ValueError, saying what is accepted, on bad input."""
    reason = pass_probe_unsupported(task)
    if reason:
        raise ValueError(reason)
    lo, hi = task.steps_range
    if not lo <= depth <= hi:
        raise ValueError(f"depth must be a depth the model was trained on, {lo}..{hi}; got {depth}")
    if samples < 8:
        raise ValueError(f"samples must be at least 8 (half fit the probes, half score them); got {samples}")
    N = model.sleep_cfg.passes if passes is None else int(passes)
    if N < 1:
        raise ValueError(f"passes must be at least 1; got {passes}")
    batch = task.sample(samples, seed=seed, split="held_out", depth=depth)
    W, L = task.width, task.window
    states = torch.tensor([r["states"][0] for r in batch.raw])               # (B, W): one state per sample
    rows = evolve(states, task.rule, depth, task.boundary)                   # (B, depth + 1, W)
    split = samples // 2 * W                                                 # the first half of the inputs fits

    labels = rows.transpose(1, 2).reshape(-1, depth + 1)                     # (B * W, depth + 1): cell j, row s

    def probe(h: Tensor) -> list[float]:
        return linear_probe_accuracies(h.reshape(-1, h.shape[-1]).float(), labels, split)

    window, asked = hidden_after_each_pass(model, batch.tokens, N)
    tokens = [probe(h[:, L - W:L]) for h in window]                             # cell j's token after pass n
    memory = [probe(h[:, :W]) for h in asked]                                   # query j, had it slept n passes
    ring = torch.stack([states.roll(-j, -1) for j in range(W)], 1)               # (B, W, W): the row from cell j
    scored = rows[samples // 2:].float().mean((0, 2))                           # share of 1s per row, scored half
    return PassProbe(depth=depth, samples=samples, memory=np.array(memory), tokens=np.array(tokens),
                     input=np.array(probe(ring)), chance=np.maximum(scored, 1 - scored).numpy())
