"""From one traced forward pass to a scrubbable timeline of wake tokens, sleep passes and evictions.

The explorer never re-runs the model while the user scrubs: it runs `model(tokens, targets,
passes=N, trace=Trace())` once for a sample (B = 1), then derives every step from the recorded
frames (see `trace.SCHEMA`). A window with N passes becomes

    wake token 1 .. wake token C      (pass 1, read token by token: S_tokens, attention rows, gates)
    sleep pass 2 .. sleep pass N      (the offline passes over the whole window)
    evict                             (the KV cache is cleared; only S crosses)

and the prediction window adds its own wake tokens, at which the answers are read off.

Everything here is numpy and plain dataclasses, so a `Timeline` pickles cheaply (the app caches it)
and tests can check it without Streamlit. The derivation assumes a `forward` trace (one wake frame
per window), which is what `trace_sample` records.

    tl = trace_sample(model, task, task.sample(1, seed=0, depth=6), passes=4)
    tl.steps[5].caption            # "window 1, wake token 6 of 17: '0'"
    tl.state_at(5, layer=1)        # (H, K, V) fast weights after that token
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .model import IGNORE
from .trace import Trace

__all__ = [
    "EVICT",
    "SCALE_QUANTILE",
    "SLEEP",
    "WAKE",
    "AttentionView",
    "FrameData",
    "GateView",
    "Prediction",
    "Step",
    "Timeline",
    "build_timeline",
    "trace_sample",
]

WAKE, SLEEP, EVICT = "wake", "sleep", "evict"
SCALE_QUANTILE = 99.0   # colour range of S / dS heatmaps: this percentile of |values| over the sample


@dataclass(frozen=True)
class Step:
    """One position of the scrubber.

    Attributes:
        index: position in `Timeline.steps`.
        kind: WAKE (one token of pass 1), SLEEP (offline pass n >= 2) or EVICT.
        window: window index, 0-based (captions say "window 1" for window 0).
        pass_index: 1 for wake steps, n for sleep pass n, 0 for evictions.
        passes: how many passes this window gets (N for consolidation windows, 1 for prediction).
        offset: token offset inside the window (wake steps), else None.
        position: global token position (wake steps), else None.
        token: the token's text (wake steps), else None.
        frame: index of the trace frame this step reads.
        window_length: tokens in this window (C).
        prediction: the window holds a supervised position (it is the prediction window).
    """

    index: int
    kind: str
    window: int
    pass_index: int
    passes: int
    offset: int | None
    position: int | None
    token: str | None
    frame: int
    window_length: int
    prediction: bool

    @property
    def short(self) -> str:
        """A few characters for the scrubber's thumb."""
        if self.kind == WAKE:
            return f"{'ask' if self.prediction else 'w' + str(self.window + 1)}·{self.offset + 1} '{self.token}'"
        if self.kind == SLEEP:
            return f"w{self.window + 1} sleep {self.pass_index}/{self.passes}"
        return f"w{self.window + 1} evict"


@dataclass
class FrameData:
    """The numpy view of one trace frame (only what the explorer shows).

    attention: block -> (pattern (H, C, P), key_positions (P,)).
    gates: block -> (alpha (C, H), beta (C, H), write (C, H)).
    dS: block -> (H, K, V), S at the end of the span minus S at its start.
    probs: (C, |V|) next-token probabilities after this pass (None for evictions).
    occupancy: KV entries after the frame; for evictions `occupancy_before` is the count before.
    """

    kind: str
    window: int
    pass_index: int
    start: int
    length: int
    attention: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    gates: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    dS: dict[int, np.ndarray] = field(default_factory=dict)
    probs: np.ndarray | None = None
    occupancy: int = 0
    occupancy_before: int = 0


@dataclass(frozen=True)
class Prediction:
    """The model's answer at one supervised position (read from the prediction window's pass).

    Attributes:
        position: global position of the query token.  step: the wake step that reads it.
        target / predicted: token texts.  confidence: p(predicted).  p_target: p(target).
    """

    position: int
    step: int
    target: str
    predicted: str
    confidence: float
    p_target: float

    @property
    def correct(self) -> bool:
        return self.predicted == self.target


@dataclass
class AttentionView:
    """Attention of one block at one step: pattern (H, C, P), NaN where not visible or not yet computed.

    query_positions (C,) and key_positions (P,) are global positions; the labels are token texts.
    """

    pattern: np.ndarray
    query_positions: np.ndarray
    key_positions: np.ndarray
    query_labels: list[str]
    key_labels: list[str]
    rows_done: int


@dataclass
class GateView:
    """Gates of one fast block over the current window: alpha, beta, write (C, H); NaN = not yet."""

    alpha: np.ndarray
    beta: np.ndarray
    write: np.ndarray
    labels: list[str]
    positions: np.ndarray


@dataclass
class Timeline:
    """Every step of one traced sample and the accessors the panels read.

    Attributes:
        steps: the scrubber's positions, in order.
        tokens: token text per global position.  targets: target text per position (None if none).
        window: L.  passes: N used for consolidation windows.  eviction: the cache policy.
        fast_layers / attention_layers: block indices.  heads: H.
        frames: numpy views of the trace frames.
        states: block -> (n_steps, H, K, V), S after each step.
        occupancy: (n_steps,) KV-cache entries after each step.
        predictions: one per supervised position.
        info: the sample's raw description (the task's `Batch.raw[0]`), e.g. states, steps, labels.
    """

    steps: list[Step]
    tokens: list[str]
    targets: list[str | None]
    window: int
    passes: int
    eviction: str
    fast_layers: list[int]
    attention_layers: list[int]
    heads: int
    frames: list[FrameData]
    states: dict[int, np.ndarray]
    occupancy: np.ndarray
    predictions: list[Prediction]
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.steps)

    # ------------------------------------------------------------------ captions
    def caption(self, i: int) -> str:
        """Where step i is, in words: "window 1, wake token 5 of 17: '1'", "window 1 asleep: pass 3 of 4"."""
        s = self.steps[i]
        if s.kind == WAKE:
            where = "prediction window" if s.prediction else f"window {s.window + 1}"
            return f"{where}, wake token {s.offset + 1} of {s.window_length}: '{s.token}'"
        if s.kind == SLEEP:
            return f"window {s.window + 1} asleep: pass {s.pass_index} of {s.passes}"
        f = self.frames[s.frame]
        where = "prediction window" if s.prediction else f"window {s.window + 1}"
        if f.occupancy == f.occupancy_before:
            return f"{where} ends: cache kept ({f.occupancy} entries), nothing is evicted"
        return f"{where} ends: KV cache evicted ({f.occupancy_before} → {f.occupancy} entries); only S crosses"

    # ------------------------------------------------------------------ fast weights
    def state_at(self, i: int, layer: int) -> np.ndarray:
        """S of a fast block after step i: (H, K, V)."""
        return self.states[layer][i]

    def dstate_at(self, i: int, layer: int) -> np.ndarray:
        """The change of S made by step i (a token's write, a whole sleep pass, or 0 at evictions): (H, K, V)."""
        prev = self.states[layer][i - 1] if i > 0 else np.zeros_like(self.states[layer][0])
        return self.states[layer][i] - prev

    def state_scale(self, layer: int, q: float = SCALE_QUANTILE) -> float:
        """The locked colour range of the S heatmaps: the q-th percentile of |S| over every step of the
        sample (q = 100 is the maximum). One number per sample, so frames never rescale; a percentile
        rather than the maximum because a few large entries would otherwise wash everything else out
        (stronger entries saturate the colour)."""
        return _positive(np.percentile(np.abs(self.states[layer]), q))

    def dstate_scale(self, layer: int, q: float = SCALE_QUANTILE) -> float:
        """The locked colour range of the dS heatmaps: the q-th percentile of |dS| over every step."""
        d = np.diff(self.states[layer], axis=0, prepend=np.zeros_like(self.states[layer][:1]))
        return _positive(np.percentile(np.abs(d), q))

    def state_norms(self, layer: int) -> np.ndarray:
        """(n_steps, H) Frobenius norm of S per head after each step."""
        s = self.states[layer]
        return np.sqrt((s.astype(np.float64) ** 2).sum(axis=(-1, -2)))

    def pass_norms(self, i: int, layer: int) -> tuple[list[int], np.ndarray, int | None]:
        """||dS|| per pass over the window of step i: does more sleep still change memory?

        Returns (pass numbers [1..n], norms (n, H), the pass step i is in or None at an eviction).
        Pass 1's dS is the whole wake pass over the window (its end minus its start).
        """
        s = self.steps[i]
        frames = [f for f in self.frames if f.kind != EVICT and f.window == s.window]
        norms = np.stack([np.sqrt((f.dS[layer].astype(np.float64) ** 2).sum(axis=(-1, -2))) for f in frames])
        return [f.pass_index for f in frames], norms, (None if s.kind == EVICT else s.pass_index)

    # ------------------------------------------------------------------ attention and gates
    def attention_at(self, i: int, layer: int) -> AttentionView | None:
        """Attention of a block at step i within the current window (None at an eviction).

        A wake step shows only the query rows computed so far (later rows NaN); a sleep pass shows
        the whole pass. Keys a query cannot see (the future, or beyond the window) are NaN.
        """
        s = self.steps[i]
        if s.kind == EVICT:
            return None
        f = self.frames[s.frame]
        pattern, key_pos = f.attention[layer]
        q_pos = np.arange(f.start, f.start + f.length)
        rel = q_pos[:, None] - key_pos[None, :]                                  # (C, P)
        visible = rel >= 0
        if self.eviction != "none":
            visible &= rel < self.window
        rows = s.offset + 1 if s.kind == WAKE else f.length
        shown = np.where(visible[None], pattern, np.nan).astype(np.float32)     # (H, C, P)
        shown[:, rows:] = np.nan
        return AttentionView(shown, q_pos, key_pos, [self.tokens[p] for p in q_pos],
                             [self.tokens[p] for p in key_pos], rows)

    def gates_at(self, i: int, layer: int) -> GateView | None:
        """Forget gate alpha, write strength beta and write size ||delta|| per token of the window."""
        s = self.steps[i]
        if s.kind == EVICT:
            return None
        f = self.frames[s.frame]
        alpha, beta, write = (g.astype(np.float32).copy() for g in f.gates[layer])
        rows = s.offset + 1 if s.kind == WAKE else f.length
        for g in (alpha, beta, write):
            g[rows:] = np.nan
        pos = np.arange(f.start, f.start + f.length)
        return GateView(alpha, beta, write, [self.tokens[p] for p in pos], pos)

    def window_frames(self, i: int) -> list[FrameData]:
        """The pass frames (wake and sleep) of step i's window."""
        w = self.steps[i].window
        return [f for f in self.frames if f.kind != EVICT and f.window == w]

    # ------------------------------------------------------------------ predictions and navigation
    def predictions_until(self, i: int) -> list[Prediction]:
        """The answers the model has given by step i."""
        return [p for p in self.predictions if p.step <= i]

    def closest_step(self, old: Step) -> int:
        """The step of this timeline that best matches a step of another one (e.g. after changing N).

        Same window and token for wake steps; the same or the last sleep pass for sleep steps (the
        last wake token of the window if this timeline does not sleep there); the same eviction.
        """
        same_window = [s for s in self.steps if s.window == old.window]
        if not same_window:
            return len(self.steps) - 1 if old.window > self.steps[-1].window else 0
        for s in same_window:
            if s.kind == old.kind and s.offset == old.offset and s.pass_index == old.pass_index:
                return s.index
        if old.kind == SLEEP:
            sleeps = [s for s in same_window if s.kind == SLEEP and s.pass_index <= old.pass_index]
            wakes = [s for s in same_window if s.kind == WAKE]
            return (sleeps or wakes or same_window)[-1].index
        return same_window[-1].index if old.kind == EVICT else same_window[0].index


def _positive(x: float) -> float:
    x = float(x)
    return x if x > 0 and np.isfinite(x) else 1.0


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).numpy()


def _frame_data(frame, fast_layers: list[int], attention_layers: list[int]) -> FrameData:
    fd = FrameData(frame.kind, frame.window, frame.pass_index, frame.start, frame.length)
    t = frame.tensors
    if frame.kind == EVICT:
        fd.occupancy_before = int(t["kv.occupancy_before"])
        fd.occupancy = int(t["kv.occupancy_after"])
        return fd
    for i in attention_layers:
        fd.attention[i] = (_np(t[f"blocks.{i}.attn.pattern"][0]), t[f"blocks.{i}.attn.key_positions"].numpy())
    for i in fast_layers:
        fd.gates[i] = (_np(t[f"blocks.{i}.fast.alpha"][0]), _np(t[f"blocks.{i}.fast.beta"][0]),
                       _np(t[f"blocks.{i}.fast.write"][0]))
        fd.dS[i] = _np(t[f"blocks.{i}.fast.dS"][0])
    fd.probs = _np(t["head.probs"][0])
    fd.occupancy = int(t["kv.occupancy"])
    return fd


def build_timeline(trace: Trace, task, sample, window: int, eviction: str = "hard", passes: int = 1) -> Timeline:
    """Derive the scrubbable steps of one traced sample.

    Args:
        trace: the trace of `model(sample.tokens, sample.targets, passes=passes, trace=trace)`, B = 1.
        task: the sample's task (for token texts).
        sample: a `Batch` of one sample.
        window: L, the model's window.  eviction: its cache policy.  passes: N used for the trace.
    Returns:
        A `Timeline`.
    """
    if sample.tokens.shape[0] != 1:
        raise ValueError(f"build_timeline takes one sample (B = 1); got B = {sample.tokens.shape[0]}")
    ids = sample.tokens[0].tolist()
    tokens = task.decode(ids)
    targets = [None if int(t) == IGNORE else task.vocab[int(t)] for t in sample.targets[0].tolist()]
    names = trace.names()
    fast_layers = sorted({int(n.split(".")[1]) for n in names if n.endswith(".fast.S")})
    attention_layers = sorted({int(n.split(".")[1]) for n in names if n.endswith(".attn.pattern")})
    frames = [_frame_data(f, fast_layers, attention_layers) for f in trace.frames]
    heads = next((f.attention[i][0].shape[0] for f in frames for i in f.attention), 0)
    heads = heads or next((f.dS[i].shape[0] for f in frames for i in f.dS), 0)

    window_passes: dict[int, int] = {}
    for f in frames:
        if f.kind != EVICT:
            window_passes[f.window] = max(window_passes.get(f.window, 0), f.pass_index)
    supervised = {p // window for p, t in enumerate(targets) if t is not None}

    steps: list[Step] = []
    states: dict[int, list[np.ndarray]] = {i: [] for i in fast_layers}
    occupancy: list[int] = []
    predictions: list[Prediction] = []
    zero = next((f.dS for f in frames if f.dS), {})
    S_now = {i: np.zeros_like(zero[i]) for i in fast_layers}
    for fi, (raw, f) in enumerate(zip(trace.frames, frames)):
        common = dict(window=f.window, passes=window_passes.get(f.window, 1), frame=fi,
                      prediction=f.window in supervised)
        if f.kind == WAKE:
            S_tok = {i: _np(raw.tensors[f"blocks.{i}.fast.S_tokens"][0]) for i in fast_layers}  # (C, H, K, V)
            for c in range(f.length):
                p = f.start + c
                steps.append(Step(len(steps), WAKE, pass_index=1, offset=p - f.window * window, position=p,
                                  token=tokens[p], window_length=f.length, **common))
                for i in fast_layers:
                    # the span's last token carries the frame's S: the exact state the model passes on
                    # (S_tokens comes from the reference loop and may differ from it in the last bits)
                    last = c == f.length - 1
                    S_now[i] = _np(raw.tensors[f"blocks.{i}.fast.S"][0]) if last else S_tok[i][c]
                    states[i].append(S_now[i])
                occupancy.append(max(0, f.occupancy - f.length + c + 1))
                if targets[p] is not None:
                    probs = f.probs[c]
                    best = int(probs.argmax())
                    predictions.append(Prediction(p, len(steps) - 1, targets[p], task.vocab[best],
                                                  float(probs[best]), float(probs[task.index[targets[p]]])))
        else:
            length = next((g.length for g in frames if g.kind == WAKE and g.window == f.window), 0)
            steps.append(Step(len(steps), f.kind, pass_index=f.pass_index, offset=None, position=None, token=None,
                              window_length=length, **common))
            for i in fast_layers:
                if f.kind == SLEEP:
                    S_now[i] = _np(raw.tensors[f"blocks.{i}.fast.S"][0])
                states[i].append(S_now[i])
            occupancy.append(f.occupancy)
    return Timeline(
        steps=steps, tokens=tokens, targets=targets, window=window, passes=passes, eviction=eviction,
        fast_layers=fast_layers, attention_layers=attention_layers, heads=heads, frames=frames,
        states={i: np.stack(v).astype(np.float32) for i, v in states.items()},
        occupancy=np.asarray(occupancy, dtype=np.int64), predictions=predictions,
        info=dict(sample.raw[0]) if sample.raw else {},
    )


@torch.inference_mode()
def trace_sample(model, task, sample, passes: int | None = None) -> Timeline:
    """Run one traced forward pass of `model` over a one-sample `Batch` and build its timeline.

    The model is only read (fresh memory, no gradients), so one loaded model can serve many users.
    """
    trace = Trace()
    n = model.sleep_cfg.passes if passes is None else int(passes)
    dev = model.head.weight.device
    model(sample.tokens.to(dev), sample.targets.to(dev), passes=n, trace=trace)
    return build_timeline(trace, task, sample, window=model.sleep_cfg.window,
                          eviction=model.sleep_cfg.eviction, passes=n)
