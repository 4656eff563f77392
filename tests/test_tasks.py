"""Task generators checked against independent reference solvers written here in plain Python.

The references read the *tokens* (not the generator's raw dicts) and solve the task from scratch:
an elementary CA stepped cell by cell from the rule's 8-entry table, the cycle followed by dict
lookup, the facts evaluated by a small interpreter. The generator is never checked against itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sleepcore.tasks import (
    IGNORE,
    Arithmetic,
    CellularAutomaton,
    KHopRetrieval,
    evolve,
    is_held_out,
    make_task,
    task_from_config,
)
from sleepcore.tasks.__main__ import main as cli_main

ROOT = Path(__file__).resolve().parents[1]

# A spread of configurations, defaults first; every layout test runs on all of them.
CONFIGS = [
    ("rule110", {}),
    ("rule110", {"width": 24, "states": 4, "steps": 8}),                   # the paper's §6.1 layout
    ("eca", {"rule": 30, "width": 9, "states": 3, "steps": [0, 12], "boundary": "zero"}),
    ("khop", {}),
    ("khop", {"nodes": [3, 9], "max_nodes": 12, "window": 6, "queries": 2, "max_hops": 11}),
    ("arith", {}),
    ("arith", {"modulus": 7, "window": 12, "max_ops": 6, "distractors": 2, "order": "topological"}),
    ("arith", {"queries": 5}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]


# ----------------------------------------------------------------------------- reference solvers
# Rule 110 written out as Wolfram's picture: neighbourhood (left, centre, right) -> new cell.
RULE_110 = {(1, 1, 1): 0, (1, 1, 0): 1, (1, 0, 1): 1, (1, 0, 0): 0,
            (0, 1, 1): 1, (0, 1, 0): 1, (0, 0, 1): 1, (0, 0, 0): 0}


def ca_table(rule: int) -> dict[tuple[int, int, int], int]:
    """The rule number's binary digits, most significant first, are the new cells for 111..000."""
    digits = format(rule, "08b")
    patterns = [(a, b, c) for a in (1, 0) for b in (1, 0) for c in (1, 0)]  # 111, 110, ..., 000
    return {pat: int(d) for pat, d in zip(patterns, digits)}


def ca_step(cells: list[int], table: dict, boundary: str) -> list[int]:
    W = len(cells)

    def cell(j: int) -> int:
        if 0 <= j < W:
            return cells[j]
        return cells[j % W] if boundary == "periodic" else 0

    return [table[(cell(j - 1), cell(j), cell(j + 1))] for j in range(W)]


def ca_first_cell(cells: list[int], rule: int, steps: int, boundary: str) -> int:
    table = RULE_110 if rule == 110 else ca_table(rule)
    for _ in range(steps):
        cells = ca_step(cells, table, boundary)
    return cells[0]


def fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def ref_held_out(cells: list[int]) -> bool:
    """The documented split: the string as an integer (cell i = bit i) absorbed 31 bits at a time."""
    h = len(cells)
    for start in range(0, len(cells), 31):
        chunk = sum(bit << i for i, bit in enumerate(cells[start:start + 31]))
        h = fmix32(h ^ chunk)
    return h % 8 == 0


def interpret(tokens: list[str], p: int) -> tuple[str, dict[str, int], list[list[str]]]:
    """Read "? var" and the facts "x = ... ;" from the consolidation tokens; evaluate to a fixpoint.

    Returns (asked variable, or None where no question comes first, values of every variable, the
    facts as token lists)."""
    asked, body = (tokens[1], tokens[2:]) if tokens[0] == "?" else (None, tokens)
    body = [t for t in body if t != "_"]
    facts, cur = [], []
    for t in body:
        if t == ";":
            facts.append(cur)
            cur = []
        else:
            cur.append(t)
    assert not cur, "a fact without its ';'"
    defined = [f[0] for f in facts]
    assert len(defined) == len(set(defined)), "a variable is defined twice"
    values: dict[str, int] = {}
    while len(values) < len(facts):
        before = len(values)
        for f in facts:
            if f[0] in values:
                continue
            if len(f) == 3:                                   # x = c
                values[f[0]] = int(f[2])
            elif f[2] in values:                              # x = y op c
                y, c = values[f[2]], int(f[4])
                values[f[0]] = {"+": y + c, "-": y - c, "*": y * c}[f[3]] % p
        assert len(values) > before, "facts depend on undefined variables"
    return asked, values, facts


def chain_length(facts: list[list[str]], var: str) -> int:
    """Operations on the path from `var` back to a constant."""
    by_var = {f[0]: f for f in facts}
    n = 0
    while len(by_var[var]) == 5:
        var, n = by_var[var][2], n + 1
    return n


# ----------------------------------------------------------------------------- automaton
@pytest.mark.parametrize("rule,boundary", [(110, "periodic"), (110, "zero"), (30, "periodic"), (90, "zero")])
def test_automaton_labels_match_reference(rule, boundary):
    task = make_task("eca", rule=rule, width=7, states=3, steps=[0, 10], boundary=boundary)
    batch = task.sample(150, seed=rule)
    L, M = task.window, task.states
    for i in range(len(batch)):
        toks = task.decode(batch.tokens[i])
        t = int(batch.depth[i])
        for m in range(M):
            window = toks[m * L:(m + 1) * L]
            assert window[0] == f"t={t}"                       # show_steps defaults on for a range
            cells = [int(c) for c in window[1:]]
            assert batch.raw[i]["states"][m] == cells
            want = ca_first_cell(cells, rule, t, boundary)
            pos = M * L + m
            assert toks[pos] == "?" and task.vocab[int(batch.targets[i, pos])] == str(want)
        assert batch.answers[i] == "".join(task.vocab[int(x)] for x in batch.targets[i, M * L:])


def test_paper_layout_rule110():
    """W = 24, M = 4, t = 8, no step token: T = 24 * 4 + 4 = 100 with L = 24 (notes §5.1)."""
    task = make_task("rule110", width=24, states=4, steps=8)
    assert (task.window, task.seq_len, task.consolidation_windows, task.vocab) == (24, 100, 4, ["0", "1", "?"])
    batch = task.sample(40, seed=3)
    for i in range(len(batch)):
        toks = task.decode(batch.tokens[i])
        for m in range(4):
            cells = [int(c) for c in toks[24 * m:24 * (m + 1)]]
            assert batch.raw[i]["labels"][m] == ca_first_cell(cells, 110, 8, "periodic")


def test_evolve_matches_reference():
    states = torch.randint(0, 2, (6, 11), generator=torch.Generator().manual_seed(0))
    for rule, boundary in [(110, "periodic"), (54, "zero")]:
        hist = evolve(states, rule, 9, boundary)
        assert hist.shape == (6, 10, 11)
        table = ca_table(rule)
        for b in range(6):
            row = states[b].tolist()
            for s in range(10):
                assert hist[b, s].tolist() == row
                row = ca_step(row, table, boundary)
    assert ca_table(110) == RULE_110                           # the two references agree


def test_held_out_split():
    task = make_task("rule110", width=12, states=2)
    train = task.sample(300, seed=1, split="train")
    held = task.sample(300, seed=1, split="held_out")
    train_states = {tuple(s) for r in train.raw for s in r["states"]}
    held_states = {tuple(s) for r in held.raw for s in r["states"]}
    assert train_states.isdisjoint(held_states)
    assert not any(ref_held_out(list(s)) for s in train_states)
    assert all(ref_held_out(list(s)) for s in held_states)
    # About one string in eight, for every width (all 2^16 strings here; chunked hashing at W = 70).
    everything = (torch.arange(2 ** 16).unsqueeze(1) >> torch.arange(16)) & 1
    assert 0.12 < is_held_out(everything).float().mean().item() < 0.13
    wide = torch.randint(0, 2, (300, 70), generator=torch.Generator().manual_seed(2))
    assert is_held_out(wide).tolist() == [ref_held_out(r) for r in wide.tolist()]
    mixed = task.sample(400, seed=2, split="any")
    assert 0 < sum(ref_held_out(s) for r in mixed.raw for s in r["states"]) < 200


# ----------------------------------------------------------------------------- k-hop
def test_khop_answers_match_reference():
    task = make_task("khop", nodes=[3, 10], max_nodes=12, window=6, queries=2, max_hops=13)
    batch = task.sample(200, seed=5)
    C, L = task.consolidation_windows, task.window
    for i in range(len(batch)):
        toks = task.decode(batch.tokens[i])
        edge_toks = toks[:C * L]
        first = next(j for j, t in enumerate(edge_toks) if t != "_")
        assert first % 2 == 0 and "_" not in edge_toks[first:]  # left padding only, pairs aligned
        pairs = list(zip(edge_toks[first::2], edge_toks[first + 1::2]))
        succ = dict(pairs)
        assert len(succ) == len(pairs) and sorted(succ) == sorted(succ.values())  # a permutation...
        node, seen = pairs[0][0], set()
        while node not in seen:                                # ...that is one cycle
            seen.add(node)
            node = succ[node]
        assert len(seen) == len(pairs) and 3 <= len(pairs) <= 10
        for q in range(task.queries):
            k_tok, start, mark = toks[C * L + 3 * q:C * L + 3 * q + 3]
            node = start
            for _ in range(int(k_tok[2:])):
                node = succ[node]
            assert mark == "?" and task.vocab[int(batch.targets[i, C * L + 3 * q + 2])] == node
        assert int(batch.depth[i]) == max(k for _, k, _ in batch.raw[i]["queries"])
        assert sorted(batch.raw[i]["nodes"]) == sorted(seen)


# ----------------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize("order", ["shuffled", "topological"])
def test_arith_answers_match_reference(order):
    task = make_task("arith", modulus=7, max_ops=5, distractors=3, order=order)
    batch = task.sample(200, seed=11)
    C, L = task.consolidation_windows, task.window
    out_of_order = 0
    for i in range(len(batch)):
        toks = task.decode(batch.tokens[i])
        for w in range(C):                                      # no fact straddles a window boundary
            body = [t for t in toks[w * L:(w + 1) * L] if t != "_"]
            assert not body or body[-1] == ";"
        asked, values, facts = interpret(toks[:C * L], 7)
        assert toks[C * L:] == ["ans", "?"]
        assert task.vocab[int(batch.targets[i, -1])] == str(values[asked]) == batch.answers[i]
        assert chain_length(facts, asked) == int(batch.depth[i])
        assert len(facts) == task.max_ops + 1 + task.distractors
        order_of = {f[0]: j for j, f in enumerate(facts)}
        out_of_order += any(len(f) == 5 and order_of[f[2]] > j for j, f in enumerate(facts))
    assert (out_of_order == 0) if order == "topological" else (out_of_order > 50)


@pytest.mark.parametrize("order", ["shuffled", "topological"])
def test_arith_several_questions(order):
    """queries=Q: no question first; Q distinct variables asked after the facts, the chain's end first;
    every answer matches the reference; no asked variable is deeper than the sample's depth (= ops)."""
    task = make_task("arith", modulus=7, max_ops=4, distractors=3, queries=5, order=order)
    assert "queries" not in make_task("arith").config()        # saved one-question configs stay loadable
    batch = task.sample(300, seed=5)
    C, L, Q = task.consolidation_windows, task.window, 5
    deeper_than_one = 0
    for i in range(len(batch)):
        toks = task.decode(batch.tokens[i])
        asked, values, facts = interpret(toks[:C * L], 7)
        assert asked is None                                   # no "? x" up front with several questions
        tail = toks[C * L:]
        assert len(tail) == 1 + 2 * Q and tail[0] == "ans" and tail[2::2] == ["?"] * Q
        questions = tail[1::2]
        assert len(set(questions)) == Q and questions[0] == batch.raw[i]["chain"][-1]
        depths = [chain_length(facts, v) for v in questions]
        assert depths[0] == int(batch.depth[i]) == max(depths)
        deeper_than_one += sum(d > 1 for d in depths[1:])
        got = [task.vocab[int(batch.targets[i, C * L + 2 + 2 * q])] for q in range(Q)]
        assert got == [str(values[v]) for v in questions] == batch.answers[i].split()
        for q, v in zip(batch.raw[i]["queries"], questions):
            assert q["var"] == v and q["answer"] == values[v] and q["chain"][-1] == v
            assert len(q["chain"]) == chain_length(facts, v) + 1
    assert deeper_than_one > 100                               # the other questions are not all trivial


# ----------------------------------------------------------------------------- every task
@pytest.mark.parametrize("name,params", CONFIGS, ids=IDS)
def test_layout_windows_and_targets(name, params):
    task = make_task(name, **params)
    batch = task.sample(64, seed=0, split="any")
    L, C, T = task.window, task.consolidation_windows, task.seq_len
    assert batch.tokens.shape == batch.targets.shape == (64, T)
    assert 0 < T - C * L <= L                                  # one prediction window, at most L long
    windows = task.windows(batch.tokens[0])
    assert [len(w) for w in windows[:-1]] == [L] * C and len(windows) == C + 1
    supervised = batch.targets != IGNORE
    assert not supervised[:, :C * L].any()                     # consolidation windows carry no target
    per_sample = {"eca": task.config().get("states"), "khop": task.config().get("queries"),
                  "arith": task.config().get("queries", 1)}[task.name]
    assert (supervised.sum(1) == per_sample).all()
    assert (batch.tokens[supervised] == task.index["?"]).all()  # each answer is predicted at a query token
    assert batch.tokens.min() >= 0 and batch.tokens.max() < task.vocab_size
    assert set(batch.depth.tolist()) <= set(task.depths) and len(batch.answers) == len(batch.raw) == 64


@pytest.mark.parametrize("name,params", CONFIGS, ids=IDS)
def test_determinism_and_config_round_trip(name, params):
    task = make_task(name, **params)
    a, b, c = task.sample(50, seed=7), task.sample(50, seed=7), task.sample(50, seed=8)
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.targets, b.targets) and a.raw == b.raw
    assert not torch.equal(a.tokens, c.tokens)
    again = task_from_config(json.loads(json.dumps(task.config())))
    assert again.config() == task.config() and again.vocab == task.vocab
    assert torch.equal(again.sample(50, seed=7).tokens, a.tokens)
    d = task.depths[-1]
    assert (task.sample(20, seed=1, depth=d).depth == d).all()


def test_types():
    assert isinstance(make_task("rule110"), CellularAutomaton) and make_task("rule110").rule == 110
    assert isinstance(make_task("khop"), KHopRetrieval) and isinstance(make_task("arith"), Arithmetic)
    assert make_task("rule110").config()["name"] == "eca"


@pytest.mark.parametrize("call,words", [
    (lambda: make_task("rule111"), ["unknown task", "rule110", "khop", "arith"]),
    (lambda: make_task("eca", colour=1), ["colour", "accepted", "width"]),
    (lambda: make_task("eca", rule=256), ["rule", "0..255", "256"]),
    (lambda: make_task("eca", width=2), ["width", "2"]),
    (lambda: make_task("eca", steps=-1), ["steps", "-1"]),
    (lambda: make_task("eca", steps=[5, 2]), ["steps", "low <= high"]),
    (lambda: make_task("eca", boundary="reflect"), ["boundary", "periodic", "zero"]),
    (lambda: make_task("rule110", rule=30), ["rule110", "eca"]),
    (lambda: make_task("khop", nodes=[8, 20]), ["nodes", "16"]),
    (lambda: make_task("khop", window=7), ["even"]),
    (lambda: make_task("khop", queries=3), ["queries", "window"]),
    (lambda: make_task("arith", distractors=20), ["variables"]),
    (lambda: make_task("arith", queries=8), ["queries", "window", "7"]),
    (lambda: make_task("arith", max_ops=2, distractors=1, queries=5), ["queries", "4"]),
    (lambda: task_from_config({}), ["name", "rule110"]),
    (lambda: make_task("khop").sample(4, seed=0, depth=9), ["depth", "9"]),
    (lambda: make_task("khop").sample(0, seed=0), ["positive"]),
])
def test_bad_parameters_say_what_is_accepted(call, words):
    with pytest.raises(ValueError) as err:
        call()
    for w in words:
        assert w in str(err.value)


# ----------------------------------------------------------------------------- CLI
def test_cli_subprocess():
    """The real `python -m` entry: JSON lines that a reference can check, and clean failures."""
    run = [sys.executable, "-m", "sleepcore.tasks", "sample"]
    procs = [subprocess.Popen(run + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in (["--task", "rule110", "--n", "4", "--seed", "3", "--jsonl", "--param", "steps=[0,6]"],
                          ["--task", "nope"])]
    (out, err), (out_bad, err_bad) = [p.communicate(timeout=60) for p in procs]
    assert procs[0].returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 4
    for rec in lines:
        cells, t = rec["states"][0], rec["steps"]
        assert rec["tokens"][:len(cells) + 1] == [f"t={t}", *map(str, cells)] and rec["depth"] == t
        assert rec["answer"] == str(ca_first_cell(cells, 110, t, "periodic"))
    assert procs[1].returncode == 2 and out_bad == ""
    assert "unknown task 'nope'" in err_bad and "rule110" in err_bad and "Traceback" not in err_bad
    assert len(err_bad.strip().splitlines()) == 1


def test_cli_readable_and_bad_flags(capsys):
    assert cli_main(["sample", "--task", "khop", "--n", "2", "--param", "max_hops=6"]) == 0
    out = capsys.readouterr().out
    assert out.count("[") == 2 and out.count(" | ") == 2 * make_task("khop").consolidation_windows
    for argv in (["sample", "--task", "eca", "--bogus"], ["sample", "--task", "eca", "--param", "width=2"],
                 ["sample", "--task", "eca", "--param", "width"], ["sample", "--task", "eca", "--n", "0"]):
        with pytest.raises(SystemExit) as ex:
            cli_main(argv)
        assert ex.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "error" in err


def test_automaton_with_several_cells_asks_cells_0_to_q_minus_1_in_order():
    from sleepcore.tasks.automaton import evolve
    task = make_task("rule110", width=12, steps=[1, 5], cells=4)
    b = task.sample(64, seed=3, split="train")
    assert b.tokens.shape == (64, task.window + 4) and task.seq_len == task.window + 4
    queries = b.tokens[:, task.window:]
    assert bool((queries == task.index["?"]).all())
    for i in range(64):
        raw = b.raw[i]
        rows = evolve(torch.tensor([raw["states"][0]]), 110, raw["steps"])[0]  # (t + 1, W): row t = after t steps
        want = rows[-1, :4].tolist()
        assert raw["labels"] == want and b.targets[i, task.window:].tolist() == want
        assert b.depth[i].item() == raw["steps"]
    assert task.config()["cells"] == 4 and task_from_config(task.config()).config() == task.config()
    assert "cells" not in make_task("rule110", width=12, steps=[1, 5]).config()      # old configs stay as they were


def test_automaton_depth_weights_draw_t_in_proportion_and_keep_the_layout():
    plain = make_task("rule110", width=12, steps=[1, 4])
    task = make_task("rule110", width=12, steps=[1, 4], depth_weights=[0, 1, 0, 3])
    b = task.sample(4000, seed=5, split="train")
    counts = torch.bincount(b.depth, minlength=5).tolist()
    assert counts[0] == counts[1] == counts[3] == 0                  # weight 0: never drawn
    assert abs(counts[4] / 4000 - 0.75) < 0.03 and counts[2] + counts[4] == 4000
    assert task.vocab == plain.vocab and task.window == plain.window and task.seq_len == plain.seq_len
    by_depth = task.sample(50, seed=1, split="held_out", depth=1)     # evaluation by depth ignores the weights
    assert by_depth.depth.tolist() == [1] * 50
    assert torch.equal(by_depth.tokens, plain.sample(50, seed=1, split="held_out", depth=1).tokens)
    assert task.config()["depth_weights"] == [0.0, 1.0, 0.0, 3.0] and task_from_config(task.config()).config() == task.config()
    assert "depth_weights" not in plain.config()                     # configs of earlier checkpoints stay as they were
    assert torch.equal(plain.sample(64, seed=2).tokens, make_task("rule110", width=12, steps=[1, 4]).sample(64, seed=2).tokens)


@pytest.mark.parametrize("weights", [[1, 2, 3], [1, 2, 3, -1], [0, 0, 0, 0], "abc", [1, 2, float("nan"), 1],
                                     [1, 2, True, 1]], ids=str)
def test_automaton_bad_depth_weights_say_what_is_accepted(weights):
    from sleepcore.tasks._params import ConfigError
    with pytest.raises(ConfigError, match=r"depth_weights must be a list of 4 non-negative numbers, one per t in 1\.\.4"):
        make_task("rule110", width=12, steps=[1, 4], depth_weights=weights)


def test_automaton_several_cells_need_one_state():
    from sleepcore.tasks._params import ConfigError
    with pytest.raises(ConfigError, match="cells .* needs states"):
        make_task("rule110", width=12, states=2, cells=3)
