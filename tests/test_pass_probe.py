"""The pass-by-pass probe (sleepcore.probe.pass_probe, run by experiments/pass_probe.py): the probe reads
what is linearly there and nothing else, the cells it reads line up with the automaton's cells, and "had
the model slept n passes" is the same computation as the first n passes of a longer sleep."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from sleepcore.checkpoint import save_checkpoint
from sleepcore.config import ModelConfig, SleepConfig
from sleepcore.model import SleepingHybrid
from sleepcore.probe import hidden_after_each_pass, linear_probe_accuracy, pass_probe
from sleepcore.trace import Trace
from sleepcore.tasks import make_task

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
import pass_probe as probe_script  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def test_the_probe_reads_a_linear_signal_and_not_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 8, generator=g)
    y = (x[:, 3] - 0.5 * x[:, 5] > 0).long()
    assert linear_probe_accuracy(x, y, 2000) > 0.97
    noise = torch.randint(0, 2, (4000,), generator=g)
    assert abs(linear_probe_accuracy(x, noise, 2000) - 0.5) < 0.05


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    task = make_task("rule110", width=8, steps=[1, 3], cells=8)
    torch.manual_seed(0)
    m = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, d_model=16, n_heads=1, head_dim=8, layers="AF",
                                   max_window=task.window), SleepConfig(window=task.window, passes=3))
    return save_checkpoint(tmp_path_factory.mktemp("probe") / "ck", m, task=task.config())


def reference_hidden(model, tokens, passes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain way: the model run with `passes` (Algorithm 1, hard eviction), its hidden states from a trace:
    the state window after its last pass, and the question window."""
    trace = Trace()
    with torch.no_grad():
        model(tokens, passes=passes, trace=trace)
    frames = trace.passes()
    return ([f for f in frames if f.window == 0 and f.pass_index == passes][0]["hidden"],
            torch.cat([f["hidden"] for f in frames if f.window > 0], 1))


def test_one_run_gives_what_sleeping_n_passes_gives_for_every_n(ckpt):
    from sleepcore.checkpoint import load_checkpoint
    model, _ = load_checkpoint(ckpt)
    tokens = make_task("rule110", width=8, steps=[1, 3], cells=8).sample(6, seed=1).tokens
    window, asked = hidden_after_each_pass(model, tokens, 4, chunk=4)     # 4 > the trained N = 3; chunks of 4, 2
    assert len(window) == len(asked) == 4
    for n in range(1, 5):
        ref_window, ref_asked = reference_hidden(model, tokens, n)
        torch.testing.assert_close(window[n - 1], ref_window, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(asked[n - 1], ref_asked, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(asked[1], asked[2])                     # each pass changed what S gives back


def test_a_probe_of_an_untrained_model_reads_the_input_row_at_its_own_cells(ckpt):
    from sleepcore.checkpoint import load_checkpoint
    from sleepcore.tasks import task_from_config
    model, cfg = load_checkpoint(ckpt)
    pp = pass_probe(model, task_from_config(cfg["task"]), depth=3, samples=400)
    assert pp.passes == 3 and pp.memory.shape == pp.tokens.shape == (3, 4) and pp.input.shape == pp.chance.shape == (4,)
    # each cell token holds that cell: read back at s=0 (read one position off, it gets about 0.58)
    assert pp.tokens[0][0] > 0.97
    assert max(pp.tokens[0][1:]) < 0.75                            # later rows are not there in a random model
    assert pp.input[0] > 0.97 and all(a < 0.75 for a in pp.input[1:])      # nor linearly in the input row
    assert pass_probe(model, task_from_config(cfg["task"]), depth=2, samples=40, passes=5).memory.shape == (5, 3)


def test_the_script_writes_json_ready_lists_keyed_by_pass(ckpt):
    r = probe_script.probe_model(str(ckpt), depth=2, samples=40)
    assert r["passes"] == 3 and list(r["tokens"]) == list(r["memory"]) == ["1", "2", "3"]
    assert all(isinstance(a, float) for v in (*r["tokens"].values(), *r["memory"].values(), r["input"]) for a in v)
    assert len(r["chance"]) == 3 and r["checkpoint"] == str(ckpt)


def test_the_probe_refuses_a_model_it_cannot_read(tmp_path):
    task = make_task("rule110", width=8, steps=[1, 3])               # one cell asked, not the whole row
    m = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, d_model=16, n_heads=1, head_dim=8, layers="AF",
                                   max_window=task.window), SleepConfig(window=task.window, passes=2))
    save_checkpoint(tmp_path / "ck", m, task=task.config())
    with pytest.raises(SystemExit, match=r"needs a model asked for every cell of one state \(task parameters "
                                         r"states=1, cells=8\); this one has states=1, cells=1"):
        probe_script.probe_model(str(tmp_path / "ck"), depth=3, samples=40)


def test_results_md_tells_the_probe_from_its_json(tmp_path, monkeypatch):
    import json
    import report
    inp = [1.0, 0.7, 0.6, 0.55]
    res = [{"checkpoint": "checkpoints/a-n1", "depth": 3, "samples": 100, "passes": 1, "input": inp,
            "chance": [0.5] * 4, "tokens": {"1": [1.0, 0.7, 0.6, 0.55]}, "memory": {"1": [0.6, 0.7, 0.65, 0.7]}},
           {"checkpoint": "checkpoints/a-n2", "depth": 3, "samples": 100, "passes": 2, "input": inp,
            "chance": [0.5] * 4, "tokens": {"1": [1.0, 0.7, 0.6, 0.55], "2": [0.9, 0.7, 0.6, 0.55]},
            "memory": {"1": [0.6, 0.7, 0.62, 0.6], "2": [0.6, 0.7, 0.7, 0.9]}}]
    (tmp_path / "p.json").write_text(json.dumps({"command": "python experiments/pass_probe.py X", "results": res}))
    monkeypatch.setattr(report, "PASS_PROBE", tmp_path / "p.json")
    text = "\n".join(report.pass_probe_section())
    assert "| a-n2 | 2 | memory after pass 2 | 0.600 | 0.700 | 0.700 | 0.900 |" in text
    assert "| input row (no computation) | | | 1.000 | 0.700 | 0.600 | 0.550 |" in text
    assert "a-n2 (N=2): the answer row (s=3) read from memory 0.600 -> 0.900 after passes 1..2" in text
    assert "a-n1 (N=1): the answer row (s=3) read from memory 0.700;" in text
    assert "after pass 2 s=2, +10.0 points" in text                     # 0.70 against the input's 0.60
    assert "gains +30.0 to +30.0 points there, after at most +5.0" in text
    assert "`python experiments/pass_probe.py X`" in text
    monkeypatch.setattr(report, "PASS_PROBE", tmp_path / "absent.json")
    assert report.pass_probe_section() == []


def test_the_probe_refuses_a_depth_the_model_was_not_trained_on_and_too_few_samples(ckpt):
    with pytest.raises(SystemExit, match=r"ck: depth must be a depth the model was trained on, 1..3; got 9"):
        probe_script.probe_model(str(ckpt), depth=9, samples=40)
    with pytest.raises(SystemExit, match="samples must be at least 8"):
        probe_script.probe_model(str(ckpt), depth=2, samples=4)


def test_the_figure_draws_one_line_per_pass_over_the_input_reference():
    import numpy as np
    from sleepcore.probe import PassProbe
    from sleepcore.viz import WAKE_COLOR, passes_color
    from sleepcore.viz_memory import pass_probe_figure
    mem = np.linspace(0.5, 1.0, 12).reshape(3, 4)
    fig = pass_probe_figure(PassProbe(3, 100, mem, mem, np.full(4, 0.6), np.full(4, 0.5)))
    names = [t.name for t in fig.data]
    assert names == ["input row (no computation)", "chance", "after pass 1 (wake)", "after pass 2", "after pass 3"]
    assert list(fig.data[4].y) == list(mem[2]) and list(fig.data[0].y) == [0.6] * 4
    assert list(fig.data[2].x) == [0, 1, 2, 3]
    assert fig.data[2].line.color == WAKE_COLOR and fig.data[4].line.color == passes_color(3)


def test_the_gate_script_gives_every_pass_its_gates_and_results_md_ranks_the_seeds(ckpt, tmp_path, monkeypatch):
    import json
    import gates
    import report
    r = gates.gate_stats(str(ckpt), depth=2, samples=16)
    b = r["blocks"]["1"]                                                  # AF: the fast-weight block is layer 1
    assert r["passes"] == 3 and all(len(b[g]) == 3 for g in ("alpha", "beta", "write"))
    assert all(0 < x < 1 for x in b["alpha"] + b["beta"]) and all(x > 0 for x in b["write"])
    with pytest.raises(SystemExit, match="depth 9 is not one of the task's depths"):
        gates.gate_stats(str(ckpt), depth=9, samples=16)
    # results.md: the seeds ranked by sleep-pass beta, against the seed screen at 4,000 steps
    at4000 = tmp_path / "at4000"
    at4000.mkdir()
    res = []
    for seed, beta, t7 in ((0, 0.95, 0.12), (1, 0.75, 0.61), (2, 0.9, 0.2)):
        name = "rule110-cells-n4" + (f"-seed{seed}" if seed else "")
        (at4000 / f"{name}.json").write_text(json.dumps({"held_out": {"per_depth": {"7": {"accuracy": t7}}}}))
        res.append({"checkpoint": f"checkpoints/{name}", "passes": 4, "trained_steps": 10000, "seed": seed,
                    "blocks": {"1": {"alpha": [0.9] * 4, "beta": [0.8] + [beta] * 3, "write": [2.0] * 4}}})
    (tmp_path / "g.json").write_text(json.dumps({"command": "python experiments/gates.py X", "depth": 8,
                                                 "samples": 500, "results": res}))
    monkeypatch.setattr(report, "GATES", tmp_path / "g.json")
    monkeypatch.setattr(report, "CELLS_AT4000", at4000)
    text = "\n".join(report.gates_section())
    assert "| rule110-cells-n4-seed1 (N=4, seed 1) | 10,000 | 0.80 / 0.75 / 0.75 / 0.75 |" in text
    assert "seed 1 0.75, seed 2 0.90, seed 0 0.95. The one seed that passed the seed screen (seed 1)" in text
    assert "the other two write harder (0.90 to 0.95)" in text
