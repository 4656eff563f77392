"""The sleeping hybrid: Embed -> (blocks)^N during sleep -> OutProj (the paper's Eq. 6).

Glossary (paper symbol -> code name):

    L   window, the attention window and eviction period      SleepConfig.window, Memory.window
    N   sleep passes over a consolidation window                SleepConfig.passes, `passes=` args
    S   fast weights of a fast-weight block, (B, H, K, V)       Memory.fast[i]
    alpha_t, beta_t   forget gate and write strength            FastWeightMixer.project -> g=log alpha, beta
    x -> h   embedding, then hidden states carried pass to pass  `embed`, `_pass`
    D   number of blocks                                         len(ModelConfig.layers)

Algorithm 1 (hard eviction), as `forward` implements it:

    S := 0;  for each window c of L tokens:  h := embed(c)
        if c has no supervised token:  repeat N times: h, S := blocks(h, S)    (pass 1 online, 2..N sleep)
        else:                          h, S := blocks(h, S); loss += CE(head(h), targets)
        drop h; evict the KV cache (hard: all; sliding: keep last L-1)

Choices the paper leaves open, made here:
* Sleep happens at window boundaries only (when L tokens have arrived since the last one), in
  `forward` as in streaming. A trailing window that is not full at the end of a call is not
  consolidated; the next call (or `sleep`) completes it. Algorithm 1 would consolidate such a
  partial last chunk, but after it nothing is predicted, so only the returned S differs.
* Positions: a learned embedding of the offset inside the window (position mod L), added once at
  the input. The attention never sees more than L positions, every window starts at offset 0
  under hard eviction, and the model runs on sequences of any length. Optionally a learned
  window-index embedding (for tasks with several independent states per sample).
* Pass 1 over a window is the online (wake) pass; `sleep` adds passes 2..N. So N=1 is exactly the
  plain hybrid, and streaming a window token by token and then sleeping equals `forward`.
* Sliding eviction keeps the keys/values of the *last* pass for the retained L-1 tokens.
* Targets are per position (ignore = -100); a task puts a query token before each answer so the
  first answer token is predicted inside the prediction window (no shift across a boundary).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ConfigError, ModelConfig, SleepConfig
from .layers import Block, FastWeightMixer, RMSNorm, WindowAttention
from .ops import fast_weight_trajectory
from .state import FastWeights, KVCache, Memory
from .trace import Trace

__all__ = ["SleepingHybrid", "ForwardOutput", "IGNORE"]

IGNORE = -100


@dataclass
class ForwardOutput:
    """Result of `SleepingHybrid.forward`.

    Attributes:
        logits: (B, T, |V|); for each window, the logits after its last pass.
        loss: mean cross-entropy over supervised positions (None without targets).
        memory: the memory after the last window (S, cache after eviction).
    """

    logits: Tensor
    loss: Tensor | None
    memory: Memory


class SleepingHybrid(nn.Module):
    """Hybrid attention / fast-weight language model that sleeps at every window boundary."""

    def __init__(self, cfg: ModelConfig, sleep: SleepConfig | None = None):
        super().__init__()
        sleep = sleep or SleepConfig()
        if sleep.window > cfg.max_window:
            raise ConfigError(f"window L={sleep.window} exceeds the model's max_window={cfg.max_window}; "
                              f"raise max_window or shrink the window")
        self.cfg, self.sleep_cfg = cfg, sleep
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_window, cfg.d_model)
        self.win = nn.Embedding(cfg.window_index_embedding, cfg.d_model) if cfg.window_index_embedding else None
        self.blocks = nn.ModuleList(Block(cfg, kind) for kind in cfg.layers)
        self.norm = RMSNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self._init_weights()
        if cfg.tie_embeddings:
            self.head.weight = self.tok.weight

    @torch.no_grad()
    def _init_weights(self) -> None:
        residual_std = 0.02 / math.sqrt(2 * len(self.cfg.layers))
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.dim() >= 2:
                is_residual_out = name.endswith("mixer.out.weight") or name.endswith("mlp.proj.weight")
                p.normal_(0.0, residual_std if is_residual_out else 0.02)
        for b in self.blocks:
            if isinstance(b.mixer, FastWeightMixer):
                b.mixer.reset_gates(self.cfg)

    # ------------------------------------------------------------------ memory
    def new_memory(self, batch: int = 1, eviction: str | None = None) -> Memory:
        """Fresh memories for `batch` sequences: S = 0, empty KV cache."""
        p = next(self.parameters())
        fast = FastWeights(self.cfg.fast_layers, batch, self.cfg.n_heads, self.cfg.head_dim, self.cfg.head_dim,
                           p.dtype, p.device)
        kv = KVCache(self.cfg.attention_layers, self.sleep_cfg.window, eviction or self.sleep_cfg.eviction)
        return Memory(fast, kv)

    def _passes(self, passes: int | None) -> int:
        n = self.sleep_cfg.passes if passes is None else int(passes)
        if not 1 <= n <= 64:
            raise ValueError(f"passes (N) must be in 1..64; got {passes!r}")
        return n

    # ------------------------------------------------------------------ one pass
    def embed(self, tokens: Tensor, pos: Tensor) -> Tensor:
        """tokens (B, C), pos (C,) global positions -> h (B, C, D)."""
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.cfg.vocab_size):
            raise ValueError(f"token ids must be in 0..{self.cfg.vocab_size - 1}; "
                             f"got range {int(tokens.min())}..{int(tokens.max())}")
        L = self.sleep_cfg.window
        h = self.tok(tokens) + self.pos(pos % L)
        if self.win is not None:
            h = h + self.win((pos // L).clamp(max=self.win.num_embeddings - 1))
        return h

    def _pass(self, h: Tensor, pos: Tensor, mem: Memory, trace: Trace | None,
              tokens: Tensor | None = None) -> Tensor:
        """Run the whole block stack once over a span, updating S and the KV cache in `mem`.

        The span's attention sees cached entries before pos[0]; its own keys/values replace any
        cached entries at or after pos[0] (so a sleep pass overwrites the window's previous pass).
        """
        window = None if mem.kv.policy == "none" else mem.kv.window
        if trace is not None:
            trace.record("positions", pos)
            if tokens is not None:
                trace.record("tokens", tokens)
        for i, block in enumerate(self.blocks):
            x = block.norm1(h)
            if isinstance(block.mixer, WindowAttention):
                out, k, v, probs, key_pos = block.mixer(x, pos, mem.kv.entries(i, before=int(pos[0])), window)
                mem.kv.write(i, k, v, pos)
                if trace is not None:
                    trace.record(f"blocks.{i}.attn.pattern", probs)
                    trace.record(f"blocks.{i}.attn.key_positions", key_pos)
            else:
                S0 = mem.fast[i]
                out, S1, (q, k, v, g, beta) = block.mixer(x, S0)
                mem.fast[i] = S1
                if trace is not None:
                    states, write = fast_weight_trajectory(k, v, g, beta, S0, rule=block.mixer.rule)
                    trace.record(f"blocks.{i}.fast.alpha", g.exp())
                    trace.record(f"blocks.{i}.fast.beta", beta)
                    trace.record(f"blocks.{i}.fast.write", write)
                    trace.record(f"blocks.{i}.fast.k", k)
                    trace.record(f"blocks.{i}.fast.v", v)
                    trace.record(f"blocks.{i}.fast.S", S1)
                    trace.record(f"blocks.{i}.fast.S_tokens", states)
                    trace.record(f"blocks.{i}.fast.dS", S1 - S0)
            h = block.mlp_residual(h + out)
        if trace is not None:
            trace.record("hidden", h)
            trace.record("head.probs", self.head(self.norm(h)).softmax(-1))
            trace.record("kv.occupancy", torch.tensor(mem.kv.occupancy))
        return h

    def logits(self, h: Tensor) -> Tensor:
        return self.head(self.norm(h))

    # ------------------------------------------------------------------ Algorithm 1
    def forward(self, tokens: Tensor, targets: Tensor | None = None, passes: int | None = None,
                trace: Trace | None = None, memory: Memory | None = None) -> ForwardOutput:
        """Process whole sequences window by window, sleeping N passes on unsupervised windows.

        Args:
            tokens: (B, T) token ids.
            targets: (B, T) target id per position, IGNORE (-100) where there is no loss. A window
                with no target anywhere in the batch is a consolidation window (N passes); any other
                window is a prediction window (one pass). Without targets every window is
                consolidated.
            passes: N, overriding the configured number of sleep passes.
            trace: optional recorder.
            memory: optional memory to continue from (default: fresh, S = 0).
        Returns:
            ForwardOutput(logits (B, T, |V|), loss, memory).
        """
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (B, T); got shape {tuple(tokens.shape)}")
        if targets is not None and targets.shape != tokens.shape:
            raise ValueError(f"targets must match tokens {tuple(tokens.shape)}; got {tuple(targets.shape)}")
        N = self._passes(passes)
        B, T = tokens.shape
        if T == 0:
            raise ValueError("tokens must hold at least one position; got T = 0")
        mem = memory if memory is not None else self.new_memory(B)
        if mem.window_full and mem.kv.policy != "none":
            raise RuntimeError("the memory's window is full: call sleep(memory, passes) before feeding more tokens")
        L, sleeps = mem.window, mem.kv.policy != "none"
        logits = []
        total, count = None, 0
        start = mem.position
        # Windows are aligned to global positions: the first span may complete a partly filled window.
        spans, p = [], 0
        first = L - mem.tokens_in_window if mem.tokens_in_window < L else L
        while p < T:
            n = min(first if p == 0 else L, T - p)
            spans.append((p, p + n))
            p += n
        for a, b in spans:
            chunk = tokens[:, a:b]
            pos = torch.arange(start + a, start + b, device=tokens.device)
            if targets is not None and bool((targets[:, a:b] != IGNORE).any()):
                mem.window_supervised = True
            window_index = int(pos[0]) // L
            if trace is not None:
                trace.begin("wake", window_index, 1, int(pos[0]), len(pos))
            h = self._pass(self.embed(chunk, pos), pos, mem, trace, chunk)   # pass 1: online
            if trace is not None:
                trace.end()
            mem.position = start + b
            mem.window_hidden.append(h)
            # Sleep happens at a window boundary, exactly as in streaming: a window that is not full
            # yet (the end of a call) is consolidated when a later call completes it.
            n_pass = 1 if (mem.window_supervised or not sleeps or not mem.window_full) else N
            if n_pass > 1:  # passes 2..N cover the whole window (earlier tokens of it too)
                h = self._sleep_passes(mem, n_pass, trace)
            out = self.logits(h[:, -(b - a):])
            logits.append(out)
            if targets is not None:
                tgt = targets[:, a:b]
                ce = F.cross_entropy(out.reshape(-1, out.shape[-1]), tgt.reshape(-1), ignore_index=IGNORE,
                                     reduction="sum") if bool((tgt != IGNORE).any()) else out.sum() * 0.0
                total = ce if total is None else total + ce
                count += int((tgt != IGNORE).sum())
            if mem.window_full:
                self._end_window(mem, trace)
        loss = (total / max(count, 1)) if targets is not None else None  # a tensor even if nothing is supervised
        return ForwardOutput(torch.cat(logits, 1), loss, mem)

    def _sleep_passes(self, mem: Memory, N: int, trace: Trace | None) -> Tensor:
        """Passes 2..N over the current window, starting from its last hidden states and S."""
        h = torch.cat(mem.window_hidden, 1)                                  # (B, C, D)
        pos = torch.arange(mem.window_start, mem.position, device=h.device)
        for n in range(2, N + 1):
            if trace is not None:
                trace.begin("sleep", mem.window_start // mem.window, n, mem.window_start, len(pos))
            h = self._pass(h, pos, mem, trace)
            if trace is not None:
                trace.end()
        mem.window_hidden = [h]
        return h

    def _end_window(self, mem: Memory, trace: Trace | None) -> None:
        before = mem.kv.occupancy
        if mem.kv.policy != "none":
            mem.end_window()
        else:
            mem.window_hidden, mem.window_start = [], mem.position
        if trace is not None:
            trace.begin("evict", (mem.position - 1) // mem.window, 0, mem.position, 0)
            trace.record("kv.occupancy_before", torch.tensor(before))
            trace.record("kv.occupancy_after", torch.tensor(mem.kv.occupancy))
            trace.end()

    # ------------------------------------------------------------------ streaming
    @torch.no_grad()
    def step(self, token: Tensor | int, mem: Memory, trace: Trace | None = None) -> Tensor:
        """Feed one wake token (B,) (or an int for B=1); return next-token logits (B, |V|).

        The token's single pass updates S and the KV cache. It does not sleep: when
        `mem.window_full` is True the caller must call `sleep` (or `sleep(passes=1)` to evict
        without extra passes) before the next step.
        """
        if mem.window_full and mem.kv.policy != "none":
            raise RuntimeError("the window is full: call sleep(memory, passes) before the next step")
        if mem.window_full:  # eviction "none": a new window starts, nothing is evicted
            self._end_window(mem, trace)
        if isinstance(token, int):
            token = torch.tensor([token])
        token = token.reshape(-1, 1).to(self.head.weight.device)
        pos = torch.tensor([mem.position], device=token.device)
        if trace is not None:
            trace.begin("wake", mem.position // mem.window, 1, mem.position, 1)
        h = self._pass(self.embed(token, pos), pos, mem, trace, token)
        if trace is not None:
            trace.end()
        mem.window_hidden.append(h)
        mem.position += 1
        return self.logits(h)[:, -1]

    @torch.no_grad()
    def sleep(self, mem: Memory, passes: int | None = None, trace: Trace | None = None,
              evict: bool = True) -> None:
        """Consolidate the current window with passes 2..N, then evict (only S crosses).

        passes=1 evicts without any offline pass (the plain hybrid). evict=False runs the passes and
        keeps the cache (an experiment, e.g. the explorer's amnesia test, not the paper's algorithm);
        a memory with eviction "none" sleeps only when asked this way.
        """
        N = self._passes(passes)
        if mem.window_hidden and N > 1 and (mem.kv.policy != "none" or not evict):
            self._sleep_passes(mem, N, trace)
        if evict:
            self._end_window(mem, trace)

    @torch.no_grad()
    def feed(self, tokens: Tensor, mem: Memory, passes: int | None = None, supervised: Tensor | None = None,
             trace: Trace | None = None) -> Tensor:
        """Stream tokens (B, T) one at a time, sleeping whenever the window fills.

        A window holding any position where `supervised` (B, T) is True gets no extra passes, as in
        Algorithm 1. Returns the wake logits (B, T, |V|).
        """
        out = []
        for t in range(tokens.shape[1]):
            if mem.window_full:
                self.sleep(mem, 1 if mem.window_supervised else passes, trace)
            if supervised is not None and bool(supervised[:, t].any()):
                mem.window_supervised = True
            out.append(self.step(tokens[:, t], mem, trace))
        if mem.window_full:
            self.sleep(mem, 1 if mem.window_supervised else passes, trace)
        return torch.stack(out, 1)
