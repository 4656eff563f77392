"""k-hop retrieval on a shuffled directed cycle: the paper's Depo task (§3.2, §6.2; Allen-Zhu,
"Physics of Language Models Part 4.1").

A sample is a random directed cycle over n nodes written as its n edges in random order, then Q
queries "where do you land after k hops from node s?". The edges are evicted from the KV cache
before the queries arrive, so the answer has to come from what the fast weights S consolidated,
and since k and s are random the consolidation cannot know the question.

Layout (defaults: n in 8..12, L = 8, Q = 1, k in 1..4):

    windows 1..C   _ _ ... _  s_1 d_1  s_2 d_2 ... s_n d_n      the edges (s_i -> d_i), shuffled,
                                                                left-padded with "_" to C * L tokens
    prediction     k=<k> s ?  [k=<k> s ?] ... _ _               Q queries of 3 tokens, padded to L;
                                                                target at "?" = node k hops after s

C = ceil(2 * n_max / L), the same for every sample, so every consolidation window is exactly L
tokens whatever n is; L must be even so no edge is split across an eviction boundary. Defaults:
C = 3, T = 32. With Q > 1 each query has its own k and the sample's depth is the largest.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from ._params import ConfigError, int_param, range_param
from .base import IGNORE, Batch, Task

__all__ = ["KHopRetrieval"]

PAD, QUERY = "_", "?"


class KHopRetrieval(Task):
    """Follow k edges of a shuffled directed cycle, after the edge list has been evicted.

    Args:
        nodes: n, cycle length: an int or a pair [n_min, n_max] drawn uniformly per sample
            (default [8, 12]). 2 <= n <= max_nodes.
        max_nodes: size of the node vocabulary "n0".."n{max_nodes-1}" (default 16); each sample
            uses a random subset of n of them.
        window: L, tokens per window (default 8, i.e. 4 edges); even, and >= 3 * queries.
        queries: Q, queries per sample (default 1).
        max_hops: the largest k (default 4); tokens "k=1".."k={max_hops}" are in the vocabulary.
        min_hops: the smallest k drawn (default 1); k is uniform in min_hops..max_hops. depth = k.

    Vocabulary: "_" (pad), "?", "n0".."n{max_nodes-1}", "k=1".."k={max_hops}".
    Defaults: |V| = 22, L = 8, C = 3 consolidation windows, T = 32.
    """

    name: ClassVar[str] = "khop"

    def __init__(self, nodes: int | tuple[int, int] = (8, 12), max_nodes: int = 16, window: int = 8,
                 queries: int = 1, max_hops: int = 4, min_hops: int = 1):
        task = self.name
        self.max_nodes = int_param(task, "max_nodes", max_nodes, 2, 10_000)
        self.nodes = range_param(task, "nodes (n)", nodes, 2, self.max_nodes)
        self._nodes_is_range = not isinstance(nodes, int)
        self.queries = int_param(task, "queries (Q)", queries, 1, 10_000)
        self.window = int_param(task, "window (L)", window, 2, 1_000_000)
        if self.window % 2:
            raise ConfigError(f"{task}: window (L) must be even so that no edge (2 tokens) straddles a window "
                              f"boundary; got {window}")
        if 3 * self.queries > self.window:
            raise ConfigError(f"{task}: {self.queries} queries take {3 * self.queries} tokens but the prediction "
                              f"window holds L={self.window}; use queries <= {self.window // 3} or a larger window")
        self.max_hops = int_param(task, "max_hops", max_hops, 1, 10_000)
        self.min_hops = int_param(task, "min_hops", min_hops, 1, self.max_hops)

        self.vocab = ([PAD, QUERY] + [f"n{i}" for i in range(self.max_nodes)]
                      + [f"k={k}" for k in range(1, self.max_hops + 1)])
        self.depths = list(range(self.min_hops, self.max_hops + 1))
        self.consolidation_windows = math.ceil(2 * self.nodes[1] / self.window)
        self.seq_len = (self.consolidation_windows + 1) * self.window

    def config(self) -> dict[str, Any]:
        lo, hi = self.nodes
        return {"name": self.name, "nodes": [lo, hi] if self._nodes_is_range else lo,
                "max_nodes": self.max_nodes, "window": self.window, "queries": self.queries,
                "max_hops": self.max_hops, "min_hops": self.min_hops}

    def _sample(self, n: int, gen: torch.Generator, split: str, depth: int | None) -> Batch:
        lo, hi = self.nodes
        Q, L, C = self.queries, self.window, self.consolidation_windows
        node0, pad, query, k0 = self.index["n0"], self.index[PAD], self.index[QUERY], self.index["k=1"]

        # The cycle visits cyc[:, 0], cyc[:, 1], ..., cyc[:, size-1], then back to cyc[:, 0]; only the
        # first `size` columns of each row are real. A random permutation makes the names random too.
        size = torch.randint(lo, hi + 1, (n, 1), generator=gen)                       # (n, 1)
        cyc = torch.rand(n, self.max_nodes, generator=gen).argsort(-1)[:, :hi]        # (n, hi) node numbers
        j = torch.arange(hi)
        real = j < size                                                               # (n, hi)
        succ = cyc.gather(1, (j + 1) % size)                                          # (n, hi) cyc[j] -> succ[j]

        # Shuffle the real edges and move the unused slots to the front, where they become left padding.
        key = torch.where(real, torch.rand(n, hi, generator=gen), torch.full((n, hi), -1.0))
        order = key.argsort(-1)
        src, dst, keep = cyc.gather(1, order), succ.gather(1, order), real.gather(1, order)
        edge_ids = torch.stack([src, dst], -1) + node0                                # (n, hi, 2)
        edge_ids = torch.where(keep.unsqueeze(-1), edge_ids, pad).view(n, 2 * hi)
        lead = torch.full((n, C * L - 2 * hi), pad, dtype=torch.long)

        start = (torch.rand(n, Q, generator=gen) * size).long()                      # (n, Q) index in cycle
        if depth is not None:
            k = torch.full((n, Q), depth, dtype=torch.long)
        else:
            k = torch.randint(self.min_hops, self.max_hops + 1, (n, Q), generator=gen)  # (n, Q)
        answer = cyc.gather(1, (start + k) % size)                                    # (n, Q) node numbers
        start_node = cyc.gather(1, start)
        q_ids = torch.stack([k - 1 + k0, start_node + node0, torch.full_like(k, query)], -1).view(n, 3 * Q)
        tail = torch.full((n, L - 3 * Q), pad, dtype=torch.long)

        tokens = torch.cat([lead, edge_ids, q_ids, tail], 1)                          # (n, T)
        targets = torch.full_like(tokens, IGNORE)
        answer_pos = C * L + 3 * torch.arange(Q) + 2                                  # the "?" of each query
        targets[:, answer_pos] = answer + node0

        names = self.vocab[node0:node0 + self.max_nodes]
        size_l, cyc_l, src_l, dst_l, keep_l = (size.flatten().tolist(), cyc.tolist(), src.tolist(),
                                                dst.tolist(), keep.tolist())
        start_l, k_l, ans_l = start_node.tolist(), k.tolist(), answer.tolist()
        raw, answers = [], []
        for i in range(n):
            raw.append({
                "edges": [(names[s], names[d]) for s, d, r in zip(src_l[i], dst_l[i], keep_l[i]) if r],
                "queries": [(names[s], kk, names[a]) for s, kk, a in zip(start_l[i], k_l[i], ans_l[i])],
                "nodes": [names[c] for c in cyc_l[i][:size_l[i]]],  # in cycle order
            })
            answers.append(" ".join(names[a] for a in ans_l[i]))
        return Batch(tokens=tokens, targets=targets, depth=k.max(1).values, answers=answers, raw=raw)
