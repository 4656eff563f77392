"""The k-hop and arithmetic pictures: tokens placed in the right window and state, edges and facts
recovered from the sequence, the chain worked out to the task's answer, right/wrong marked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sleepcore import viz_tasks as vt
from sleepcore.config import ModelConfig, SleepConfig
from sleepcore.model import SleepingHybrid
from sleepcore.tasks import make_task
from sleepcore.timeline import EVICT, SLEEP, WAKE, Prediction, trace_sample
from sleepcore.viz import EMPTY, GOLD, RIGHT_COLOR, WRONG_COLOR


def traced(task, seed: int, depth: int, eviction: str = "hard", passes: int = 2):
    torch.manual_seed(0)
    model = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, layers="AF", max_window=task.window),
                           SleepConfig(window=task.window, passes=passes, eviction=eviction)).eval()
    return trace_sample(model, task, task.sample(1, seed=seed, split="any", depth=depth), passes=passes)


@pytest.fixture(scope="module")
def khop():
    task = make_task("khop", nodes=[5, 8], max_nodes=8, max_hops=4)
    return task, traced(task, seed=3, depth=3)


@pytest.fixture(scope="module")
def arith():
    task = make_task("arith")
    return task, traced(task, seed=1, depth=3)


def step(tl, kind: str, window: int, offset: int | None = None, pass_index: int | None = None) -> int:
    return next(s.index for s in tl.steps if s.kind == kind and s.window == window
                and (offset is None or s.offset == offset) and (pass_index is None or s.pass_index == pass_index))


# ---------------------------------------------------------------------------- token states
def test_token_states_follow_wake_sleep_and_eviction(khop):
    task, tl = khop
    L = task.window
    i = step(tl, WAKE, window=1, offset=2)                     # third token of window 2
    states = vt.token_states(tl, i)
    assert states[:L] == [vt.ONLY_S] * L                       # window 1 was evicted
    assert states[L:L + 3] == [vt.IN_CACHE] * 3 and states[L + 3:] == [vt.UNREAD] * (len(tl.tokens) - L - 3)
    assert vt.token_states(tl, step(tl, SLEEP, window=1))[L:2 * L] == [vt.IN_CACHE] * L   # sleep reads it all
    evicted = vt.token_states(tl, step(tl, EVICT, window=1))
    assert evicted[:2 * L] == [vt.ONLY_S] * (2 * L) and set(evicted[2 * L:]) == {vt.UNREAD}


def test_token_states_with_the_cache_kept_never_leave_the_cache():
    task = make_task("khop", nodes=[5, 8], max_nodes=8, max_hops=4)
    tl = traced(task, seed=3, depth=2, eviction="none", passes=1)
    last = vt.token_states(tl, tl.predictions[0].step)
    assert vt.ONLY_S not in last and last[:2 * task.window] == [vt.IN_CACHE] * (2 * task.window)


# ---------------------------------------------------------------------------- k-hop
def test_khop_edges_and_path_come_from_the_sequence(khop):
    task, tl = khop
    edges = vt.khop_edges(tl.tokens, task.window, task.consolidation_windows)
    assert sorted((e.src, e.dst) for e in edges) == sorted(tuple(e) for e in tl.info["edges"])
    assert all(e.window == e.position // task.window and tl.tokens[e.position] == e.src for e in edges)
    start, k, answer = tl.info["queries"][0]
    path = vt.khop_path(tl.info)
    assert len(path) == k + 1 == 4 and path[0] == start and path[-1] == answer
    succ = dict(tl.info["edges"])
    assert all(succ[a] == b for a, b in zip(path, path[1:]))   # every hop is a stated edge


def edge_traces(fig):
    return {t.name: t for t in fig.data if t.name and t.name.startswith("window")}


def node_trace(fig):
    return next(t for t in fig.data if t.mode == "markers+text")


def test_khop_figure_dashes_evicted_edges_and_marks_the_answer(khop):
    task, tl = khop
    edges = vt.khop_edges(tl.tokens, task.window, task.consolidation_windows)
    _, k, answer = tl.info["queries"][0]
    nodes = list(tl.info["nodes"])
    # Reading window 2: window 1's edges are only in S (dashed), window 2's read ones solid, the rest dotted.
    mid = vt.khop_figure(tl.info, edges, vt.token_states(tl, step(tl, WAKE, window=1, offset=3)))
    traces = edge_traces(mid)
    assert traces["window 1 edges · evicted: only in S"].line.dash == "dash"
    assert traces["window 2 edges · in the KV cache"].line.dash == "solid"
    assert traces["window 2 edges · not read yet"].line.dash == "dot"
    assert "→ ?" in mid.layout.title.text
    assert node_trace(mid).marker.line.color[nodes.index(answer)] == GOLD
    # At the question every edge is only in S.
    q = tl.predictions[0].step
    wrong_pick = next(n for n in nodes if n != answer)
    wrong = vt.khop_figure(tl.info, edges, vt.token_states(tl, q),
                           Prediction(tl.predictions[0].position, q, answer, wrong_pick, 0.3, 0.1))
    assert {t.line.dash for t in edge_traces(wrong).values()} == {"dash"}
    colors = node_trace(wrong).marker.line.color
    assert colors[nodes.index(answer)] == RIGHT_COLOR and colors[nodes.index(wrong_pick)] == WRONG_COLOR
    assert f"says <b>{wrong_pick}</b>" in wrong.layout.title.text and "✗" in wrong.layout.title.text
    right = vt.khop_figure(tl.info, edges, vt.token_states(tl, q), Prediction(0, q, answer, answer, 0.9, 0.9))
    assert "✓" in right.layout.title.text and WRONG_COLOR not in node_trace(right).marker.line.color
    path_trace = next(t for t in right.data if t.name and t.name.startswith("query path"))
    assert sum(x is None for x in path_trace.x) == k                         # one band per hop


# ---------------------------------------------------------------------------- arithmetic
def test_arith_facts_and_chain_give_the_tasks_answer():
    task = make_task("arith")
    batch = task.sample(60, seed=11, split="any")
    for ids, raw in zip(batch.tokens, batch.raw):
        tokens = task.decode(ids)
        facts = vt.arith_facts(tokens, task.window)
        assert sorted(f.text for f in facts.values()) == sorted(raw["facts"])
        assert all(f.window == f.start // task.window == f.end // task.window for f in facts.values())
        chain = vt.arith_chain(facts, raw["chain"], task.modulus)
        assert [c.fact.var for c in chain] == raw["chain"] and chain[-1].value == raw["answer"]
        assert chain[0].fact.src is None and all(c.fact.src == p.fact.var for p, c in zip(chain, chain[1:]))


def test_arith_figure_chips_by_window_state_chain_and_answer(arith):
    task, tl = arith
    L = task.window
    facts = vt.arith_facts(tl.tokens, L)
    i = step(tl, WAKE, window=1, offset=4)
    states = vt.token_states(tl, i)
    fig = vt.arith_figure(tl.tokens, L, task.consolidation_windows, states, facts, tl.info["chain"],
                          current=tl.steps[i].position)
    chips = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(chips) == len(tl.tokens)
    assert chips[0].fillcolor == EMPTY and chips[0].line.color == GOLD          # the question, evicted
    assert chips[L].fillcolor.startswith("rgba(") and chips[2 * L].fillcolor == "white"
    assert chips[tl.steps[i].position].line.width == max(c.line.width for c in chips)   # the current token
    chain_positions = {p for v in tl.info["chain"] for p in range(facts[v].start, facts[v].end + 1)}
    assert {p for p, c in enumerate(chips) if c.line.color == GOLD} == chain_positions | {0, 1}
    notes = " ".join(a.text for a in fig.layout.annotations)
    assert "✂ evicted: only in S" in notes and "in KV cache" in notes and "not read yet" in notes
    # The answer chip shows the model's answer, red when wrong.
    p = tl.predictions[0]
    wrong_value = str((int(p.target) + 1) % task.modulus)
    done = vt.arith_figure(tl.tokens, L, task.consolidation_windows, vt.token_states(tl, p.step), facts,
                           tl.info["chain"], prediction=Prediction(p.position, p.step, p.target, wrong_value, 0.2, 0.1))
    assert [s for s in done.layout.shapes if s.type == "rect"][p.position].fillcolor == WRONG_COLOR
    assert np.asarray(done.data[0].text)[p.position] == wrong_value
    assert any(f"true answer <b>{p.target}</b>" in a.text for a in done.layout.annotations)
