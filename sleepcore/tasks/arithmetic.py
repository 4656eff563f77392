"""Multi-step modular arithmetic with distractors: a self-generated stand-in for GSM-Infinite (§6.3).

GSM-Infinite problems are a graph of quantities defined from each other, padded with irrelevant
ones; difficulty is the number of operations on the path to the asked quantity, and the question
comes *before* the context (so consolidation can be query-aware). This task keeps that skeleton
in symbols: variables, values mod p, one-token answers, no chain of thought.

A problem asks for the value of a variable defined by a chain of `ops` operations,

    a = 3 ;   b = a + 4 ;   c = b * 2 ;      (ops = 2: ask "c", answer (3 + 4) * 2 mod 10 = 4)

hidden among distractor facts that define other variables (from constants or from any variable
defined before them, the chain's included, so the chain is not the only thing that gets used).
Each variable is defined exactly once, so the facts form a DAG.

Fact order: "shuffled" (default) states the facts in a uniformly random order, so a fact may use a
variable that is only defined later. That is a valid problem, since every fact is stated before
the question is answered, and it stops the position of a fact giving away its depth.
"topological" instead draws a random order in which every variable is defined before it is used.

Layout (defaults p = 10, L = 16, ops in 1..4, 4 distractors: 9 facts, C = 5, T = 82):

    window 1       ? c  a = 3 ;  b = a + 4 ;  _ _ _ _   the question first, then facts
    windows 2..C   facts, then "_" pads                  facts never straddle a window boundary
    prediction     ans ?                                 target at "?" = value of the asked variable

Every sample states the same number of facts, max_ops + 1 + distractors (a shorter chain gets more
distractors), and C is the number of windows the worst case (every fact 6 tokens) needs under
next-fit packing, so every consolidation window is exactly L tokens; unused windows are all "_".

Several questions (queries = Q > 1): the problem asks for Q variables, each with its own answer, as
k-hop does (five answers per problem is what made k-hop learnable at this project's budget). Then no
question comes first, since the facts cannot be consolidated for Q questions they have not seen;
the prediction window asks them all after every fact is evicted:

    windows 1..C   facts, then "_" pads
    prediction     ans c ? f ? a ? h ? e ?    target at each "?" = value of the variable before it

The first question is always the end of the chain (depth = ops); the others are Q - 1 further
variables of the problem, in random order. A variable's depth is the number of operations from a
constant to it; with Q > 1 a distractor only builds on variables of depth below ops, so no asked
variable is deeper than the chain and the sample's depth is ops, as with one question. Exact match
needs all Q answers right.
"""

from __future__ import annotations

import math
import string
from typing import Any, ClassVar

import torch

from ._params import ConfigError, choice_param, int_param
from .base import IGNORE, Batch, Task

__all__ = ["Arithmetic", "evaluate_facts"]

PAD, QUERY, ANSWER = "_", "?", "ans"
OPS = ("+", "-", "*")
ORDERS = ("shuffled", "topological")
FACT_TOKENS = 6  # the longest fact: var = src op const ;


def _apply(op: str, x: int, c: int, p: int) -> int:
    return (x + c) % p if op == "+" else (x - c) % p if op == "-" else (x * c) % p


def evaluate_facts(facts: list[tuple], p: int) -> dict[str, int]:
    """Values of every variable defined by `facts`, in any order.

    facts: (var, const) for "var = const", or (var, src, op, const) for "var = src op const".
    """
    values: dict[str, int] = {}
    pending = list(facts)
    while pending:
        rest = [f for f in pending if len(f) == 4 and f[1] not in values]
        for f in pending:
            if len(f) == 2:
                values[f[0]] = f[1] % p
            elif f[1] in values:
                values[f[0]] = _apply(f[2], values[f[1]], f[3], p)
        if len(rest) == len(pending):
            raise ValueError(f"facts use undefined variables: {rest}")
        pending = rest
    return values


class _Uniforms:
    """Reads pre-drawn uniforms in order: all randomness comes from the task's torch.Generator,
    drawn in one tensor for the whole batch, while the per-sample logic stays plain Python."""

    def __init__(self, values: list[float]):
        self.values, self.i = values, 0

    def uniform(self) -> float:
        self.i += 1
        return self.values[self.i - 1]

    def integer(self, lo: int, hi: int) -> int:
        """Uniform in lo..hi inclusive."""
        return lo + min(int(self.uniform() * (hi - lo + 1)), hi - lo)

    def permutation(self, k: int) -> list[int]:
        keys = [self.uniform() for _ in range(k)]
        return sorted(range(k), key=keys.__getitem__)


class Arithmetic(Task):
    """Value mod p of a variable at the end of a chain of operations, among distractor facts.

    Args:
        modulus: p, values live in 0..p-1 and are single tokens "0".."{p-1}" (default 10), 3..100.
        window: L, tokens per window (default 16), >= 8 so the question and one fact fit.
        max_ops: the longest chain (default 4); ops is uniform in min_ops..max_ops. depth = ops.
        min_ops: the shortest chain (default 1).
        distractors: distractor facts when ops = max_ops (default 4); shorter chains get more, so
            every sample states max_ops + 1 + distractors facts.
        variables: size of the variable vocabulary "a", "b", ... (default 16: "a".."p"), <= 26 and
            >= the number of facts, since each fact defines a fresh variable.
        order: "shuffled" (default) or "topological" (see the module docstring).
        queries: Q, variables asked per problem (default 1); Q > 1 asks them all after the facts
            (see the module docstring); 1 + 2Q <= L and Q <= the number of facts.

    Vocabulary: "_", "?", "ans", "=", ";", "+", "-", "*", the variables, then the values "0".."{p-1}".
    Defaults: |V| = 34, L = 16, C = 5 consolidation windows, T = 82.
    """

    name: ClassVar[str] = "arith"

    def __init__(self, modulus: int = 10, window: int = 16, max_ops: int = 4, min_ops: int = 1,
                 distractors: int = 4, variables: int = 16, order: str = "shuffled", queries: int = 1):
        task = self.name
        self.modulus = int_param(task, "modulus (p)", modulus, 3, 100)
        self.window = int_param(task, "window (L)", window, 8, 1_000_000)
        self.max_ops = int_param(task, "max_ops", max_ops, 1, 25)
        self.min_ops = int_param(task, "min_ops", min_ops, 1, self.max_ops)
        self.distractors = int_param(task, "distractors", distractors, 0, 25)
        self.variables = int_param(task, "variables", variables, 2, 26)
        self.order = choice_param(task, "order", order, ORDERS)
        self.queries = int_param(task, "queries (Q)", queries, 1, 100)
        self.facts = self.max_ops + 1 + self.distractors
        if self.facts > self.variables:
            raise ConfigError(f"{task}: {self.facts} facts (max_ops + 1 + distractors) each define a fresh "
                              f"variable but only variables={self.variables} exist; lower max_ops or "
                              f"distractors, or raise variables (at most 26)")
        if self.queries > self.facts:
            raise ConfigError(f"{task}: {self.queries} queries ask {self.queries} different variables but a problem "
                              f"defines only {self.facts} (max_ops + 1 + distractors); use queries <= {self.facts}")
        if 1 + 2 * self.queries > self.window:
            raise ConfigError(f"{task}: {self.queries} queries take {1 + 2 * self.queries} tokens but the prediction "
                              f"window holds L={self.window}; use queries <= {(self.window - 1) // 2} or a larger "
                              "window")

        self.var_names = list(string.ascii_lowercase[: self.variables])
        self.vocab = ([PAD, QUERY, ANSWER, "=", ";", *OPS] + self.var_names
                      + [str(v) for v in range(self.modulus)])
        self.depths = list(range(self.min_ops, self.max_ops + 1))
        # Next-fit packing of equal items is optimal and shrinking any item never adds a window, so
        # the all-6-token case bounds every sample. The first window also holds the 2-token question.
        lead = 2 if self.queries == 1 else 0          # "? x" opens the first window only with one question
        first, per = (self.window - lead) // FACT_TOKENS, self.window // FACT_TOKENS
        self.consolidation_windows = 1 + math.ceil(max(0, self.facts - first) / per)
        # prediction window: "ans ?" with one question, "ans x1 ? x2 ? ..." with several
        self.seq_len = self.consolidation_windows * self.window + (2 if self.queries == 1 else 1 + 2 * self.queries)

    def config(self) -> dict[str, Any]:
        cfg = {"name": self.name, "modulus": self.modulus, "window": self.window, "max_ops": self.max_ops,
               "min_ops": self.min_ops, "distractors": self.distractors, "variables": self.variables,
               "order": self.order}
        if self.queries > 1:    # one question is the original task, whose saved configs have no such key
            cfg["queries"] = self.queries
        return cfg

    # --------------------------------------------------------------------------------------
    def _problem(self, u: _Uniforms, ops: int) -> tuple[list[tuple], str, int, list[str]]:
        """One problem: (facts in stated order, asked variable, answer, chain variables)."""
        p = self.modulus
        names = [self.var_names[i] for i in u.permutation(self.variables)[: self.facts]]
        chain = names[: ops + 1]
        facts: list[tuple] = [(chain[0], u.integer(0, p - 1))]

        def operation(var: str, src: str) -> tuple:
            op = OPS[u.integer(0, 2)]
            # Adding 0 or multiplying by 0 or 1 would let the answer skip the source.
            return (var, src, op, u.integer(2 if op == "*" else 1, p - 1))

        facts += [operation(chain[i], chain[i - 1]) for i in range(1, ops + 1)]
        depth = {v: i for i, v in enumerate(chain)}
        for var in names[ops + 1:]:
            if u.uniform() < 1 / 3:
                facts.append((var, u.integer(0, p - 1)))
                depth[var] = 0
            else:
                # With several questions any variable may be asked, so none may be deeper than the chain.
                sources = facts if self.queries == 1 else [f for f in facts if depth[f[0]] < ops]
                src = sources[u.integer(0, len(sources) - 1)][0]
                facts.append(operation(var, src))
                depth[var] = depth[src] + 1

        if self.order == "shuffled":
            facts = [facts[i] for i in u.permutation(len(facts))]
        else:  # random topological order: repeatedly state a random fact whose source is known
            stated, known, pending = [], set(), list(facts)
            while pending:
                ready = [f for f in pending if len(f) == 2 or f[1] in known]
                f = ready[u.integer(0, len(ready) - 1)]
                stated.append(f)
                known.add(f[0])
                pending.remove(f)
            facts = stated
        answer = evaluate_facts(facts, p)[chain[-1]]
        return facts, chain[-1], answer, chain

    @staticmethod
    def fact_tokens(fact: tuple) -> list[str]:
        if len(fact) == 2:
            return [fact[0], "=", str(fact[1]), ";"]
        return [fact[0], "=", fact[1], fact[2], str(fact[3]), ";"]

    @staticmethod
    def chain_of(facts: list[tuple], var: str) -> list[str]:
        """The variables from a constant to `var`, in the order the values must be worked out."""
        source = {f[0]: f[1] for f in facts if len(f) == 4}
        out = [var]
        while out[-1] in source:
            out.append(source[out[-1]])
        return out[::-1]

    def _layout(self, facts: list[tuple], asked: list[str]) -> list[str]:
        """Facts packed next-fit into windows of L (no fact split), then the prediction window: with one
        question "? x" opens the first window and the prediction is "ans ?"; with several the
        prediction is "ans x1 ? x2 ? ..."."""
        L = self.window
        windows, current = [], [QUERY, asked[0]] if len(asked) == 1 else []
        for fact in facts:
            toks = self.fact_tokens(fact)
            if len(current) + len(toks) > L:
                windows.append(current + [PAD] * (L - len(current)))
                current = []
            current += toks
        windows.append(current + [PAD] * (L - len(current)))
        if len(windows) > self.consolidation_windows:  # cannot happen; see __init__
            raise AssertionError(f"arith layout needs {len(windows)} windows > {self.consolidation_windows}")
        windows += [[PAD] * L] * (self.consolidation_windows - len(windows))
        tail = [QUERY] if len(asked) == 1 else [t for v in asked for t in (v, QUERY)]
        return [t for w in windows for t in w] + [ANSWER, *tail]

    def _sample(self, n: int, gen: torch.Generator, split: str, depth: int | None) -> Batch:
        if depth is not None:
            ops = torch.full((n,), depth, dtype=torch.long)
        else:
            ops = torch.randint(self.min_ops, self.max_ops + 1, (n,), generator=gen)
        # Uniforms one problem reads, at most: names (variables), the chain's constant (1), 2 per
        # chain operation, 4 per distractor, 1 per fact for the order.
        # With several questions, one more per fact picks the other variables asked.
        budget = self.variables + 1 + 4 * self.facts + self.facts + (self.facts if self.queries > 1 else 0)
        draws = torch.rand(n, budget, generator=gen, dtype=torch.float64).tolist()
        Q = self.queries
        rows, raw, answers, values = [], [], [], []
        for i, d in enumerate(ops.tolist()):
            u = _Uniforms(draws[i])
            facts, asked, answer, chain = self._problem(u, d)
            questions = [asked]
            if Q > 1:
                others = [f[0] for f in facts if f[0] != asked]
                questions += [others[j] for j in u.permutation(len(others))[: Q - 1]]
            value = evaluate_facts(facts, self.modulus)
            rows.append(self.encode(self._layout(facts, questions)))
            rec = {"facts": [" ".join(self.fact_tokens(f)[:-1]) for f in facts], "query": asked,
                   "answer": answer, "chain": chain}
            if Q > 1:
                rec["queries"] = [{"var": v, "answer": value[v], "chain": self.chain_of(facts, v)} for v in questions]
            raw.append(rec)
            values.append([value[v] for v in questions])
            answers.append(" ".join(str(v) for v in values[-1]))
        tokens = torch.tensor(rows, dtype=torch.long)                       # (n, T)
        targets = torch.full_like(tokens, IGNORE)
        answer_pos = tokens.shape[1] - 2 * Q + 2 * torch.arange(Q) + 1 if Q > 1 else torch.tensor([-1])
        value0 = self.index["0"]
        targets[:, answer_pos] = torch.tensor(values, dtype=torch.long) + value0
        return Batch(tokens=tokens, targets=targets, depth=ops, answers=answers, raw=raw)
