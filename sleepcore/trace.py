"""The opt-in recorder that lets the explorer see inside the model.

A `Trace` is passed explicitly into `SleepingHybrid.forward`, `.step` and `.sleep`; nothing is
recorded through global hooks. With no trace, nothing is computed for recording; with one, the
model's outputs are bit-identical (recording only reads tensors, detached, on the CPU).

The trace is a list of frames. A *pass* frame is one run of the whole block stack over a span of
tokens: a single token when streaming, a whole window in `forward`. Pass 1 over a window is the
online ("wake") pass; passes 2..N are the offline sleep passes. An *evict* frame marks a window
boundary. A fast-weight block also records the key k_t (L2-normalised) and value v_t of every
token exactly as its gated delta rule wrote them in that pass, so a reader can query S with them
(`sleepcore.probe`). Tensor names and shapes (B batch, C span length, P visible key slots,
H heads, K = V head dim, D width, |V| vocabulary) are the contract below; `check_frame` enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

__all__ = ["Frame", "Trace", "SCHEMA", "check_frame"]

# name pattern -> shape, as symbols; "{i}" is a block index.
SCHEMA: dict[str, tuple[str, ...]] = {
    "positions": ("C",),                                   # global token positions of the span
    "tokens": ("B", "C"),                                  # token ids of the span
    "blocks.{i}.attn.pattern": ("B", "H", "C", "P"),       # softmax probabilities over visible keys
    "blocks.{i}.attn.key_positions": ("P",),               # global position of each key slot
    "blocks.{i}.fast.alpha": ("B", "C", "H"),              # forget gate alpha_t = exp(g_t)
    "blocks.{i}.fast.beta": ("B", "C", "H"),               # write strength beta_t
    "blocks.{i}.fast.write": ("B", "C", "H"),              # ||delta_t||: size of the token's write
    "blocks.{i}.fast.k": ("B", "C", "H", "K"),             # key k_t the rule writes with (unit length)
    "blocks.{i}.fast.v": ("B", "C", "H", "V"),             # value v_t the rule writes (S^T k_t should recall it)
    "blocks.{i}.fast.S": ("B", "H", "K", "V"),             # S at the end of the span
    "blocks.{i}.fast.S_tokens": ("B", "C", "H", "K", "V"), # S after each token of the span
    "blocks.{i}.fast.dS": ("B", "H", "K", "V"),            # S(end of span) - S(start of span)
    "hidden": ("B", "C", "D"),                             # top-of-stack hidden states
    "head.probs": ("B", "C", "|V|"),                       # next-token probabilities after this pass
    "kv.occupancy": (),                                    # cached positions after the span
}
EVICT_SCHEMA: dict[str, tuple[str, ...]] = {
    "kv.occupancy_before": (),
    "kv.occupancy_after": (),
}


@dataclass
class Frame:
    """One recorded event.

    Attributes:
        kind: "wake" (pass 1 over tokens), "sleep" (offline pass n >= 2) or "evict".
        window: index of the window (0-based).
        pass_index: 1..N for pass frames, 0 for evict frames.
        start: global position of the first token of the span.
        length: number of tokens in the span (0 for evict frames).
        tensors: dotted name -> tensor (see SCHEMA), detached, on the CPU.
    """

    kind: str
    window: int
    pass_index: int
    start: int
    length: int
    tensors: dict[str, Tensor] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Tensor:
        return self.tensors[name]


class Trace:
    """Collects frames. Pass `Trace()` to a model call to record it."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self._open: Frame | None = None

    # --- used by the model -------------------------------------------------------------
    def begin(self, kind: str, window: int, pass_index: int, start: int, length: int) -> None:
        self._open = Frame(kind, window, pass_index, start, length)
        self.frames.append(self._open)

    def record(self, name: str, value: Tensor) -> None:
        if self._open is None:
            raise RuntimeError("Trace.record called outside a frame")
        self._open.tensors[name] = value.detach().to("cpu").clone()

    def end(self) -> None:
        self._open = None

    # --- used by readers -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self):
        return iter(self.frames)

    def passes(self, window: int | None = None) -> list[Frame]:
        return [f for f in self.frames if f.kind != "evict" and (window is None or f.window == window)]

    def names(self) -> set[str]:
        return {n for f in self.frames for n in f.tensors}


def _pattern_for(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] == "blocks" and parts[1].isdigit():
        return ".".join(["blocks", "{i}", *parts[2:]])
    return name


def check_frame(frame: Frame, dims: dict[str, int]) -> None:
    """Raise AssertionError unless every tensor of the frame matches SCHEMA for these dims.

    dims maps symbols to sizes, e.g. {"B": 1, "H": 2, "K": 32, "V": 32, "D": 64, "|V|": 16};
    "C" and "P" are taken from the frame itself.
    """
    schema = EVICT_SCHEMA if frame.kind == "evict" else SCHEMA
    for name, t in frame.tensors.items():
        pattern = _pattern_for(name)
        assert pattern in schema, f"trace name {name!r} is not in the documented schema"
        sym = schema[pattern]
        assert t.dim() == len(sym), f"{name}: expected dims {sym}, got shape {tuple(t.shape)}"
        local = {"C": frame.length, **dims}
        for s, n in zip(sym, t.shape):
            if s == "P":
                continue
            assert local[s] == n, f"{name}: dim {s} should be {local[s]}, got {n} (shape {tuple(t.shape)})"

