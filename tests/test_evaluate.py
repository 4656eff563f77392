"""Evaluation: the JSON report, per-depth sampling, test-time N, determinism, CLI errors, Wilson
intervals, and the seed namespace that keeps evaluation samples out of training batches."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sleepcore.checkpoint import CONFIG_FILE, MODEL_FILE, save_checkpoint
from sleepcore.config import ModelConfig, SleepConfig
from sleepcore.evaluate import EVAL_SEED_OFFSET, evaluate_model, main, wilson
from sleepcore.model import SleepingHybrid
from sleepcore.tasks import make_task, task_from_config

ROOT = Path(__file__).resolve().parents[1]
TASK = {"name": "rule110", "width": 6, "steps": [1, 3]}  # three depths; "t=<t>" token on, L = 7


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def n_sensitive_model(task) -> SleepingHybrid:
    """A random tiny model with its matrices scaled up x5, so its answers depend on the number of passes."""
    torch.manual_seed(0)
    m = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, d_model=16, n_heads=1, head_dim=8, layers="AF",
                                   max_window=task.window), SleepConfig(window=task.window, passes=2))
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() == 2:
                p.mul_(5)
    return m


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    task = task_from_config(TASK)
    return save_checkpoint(tmp_path_factory.mktemp("eval") / "ck", n_sensitive_model(task), task=task.config())


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sleepcore.evaluate", *args], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=120)


def run_main(capsys, *args: str) -> dict:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def check_report(r: dict, samples: int, depths: list[int]) -> None:
    assert r["samples"] == samples
    assert 0 <= r["accuracy"] <= 1 and 0 <= r["chance"] <= 1
    lo, hi = r["ci95"]
    assert lo <= r["accuracy"] <= hi
    assert sorted(map(int, r["per_depth"])) == depths
    assert sum(v["count"] for v in r["per_depth"].values()) == samples
    for d, v in r["per_depth"].items():
        assert set(v) >= {"accuracy", "ci95", "count", "chance"}
        lo, hi = v["ci95"]
        assert 0 <= lo <= v["accuracy"] <= hi <= 1, (d, v)
        assert (lo, hi) == pytest.approx(wilson(round(v["accuracy"] * v["count"]), v["count"]))
    correct = sum(v["accuracy"] * v["count"] for v in r["per_depth"].values())
    assert r["accuracy"] == pytest.approx(correct / samples)


# ------------------------------------------------------------------------------ the report
def test_cli_json_report(ckpt):
    r = cli("--checkpoint", str(ckpt), "--samples", "60", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert {"accuracy", "ci95", "per_depth", "chance", "samples", "held_out", "passes", "seed"} <= set(res)
    check_report(res, 60, [1, 2, 3])
    check_report(res["held_out"], 60, [1, 2, 3])
    assert res["passes"] == 2 and res["seed"] == 0  # N defaults to the checkpoint's sleep.passes


def test_per_depth_draws_samples_at_every_depth(ckpt, capsys):
    res = run_main(capsys, "--checkpoint", str(ckpt), "--samples", "20", "--per-depth", "--json")
    check_report(res, 60, [1, 2, 3])
    check_report(res["held_out"], 60, [1, 2, 3])
    assert all(v["count"] == 20 for v in res["per_depth"].values())
    assert all(v["count"] == 20 for v in res["held_out"]["per_depth"].values())


def test_text_report(ckpt, capsys):
    assert main(["--checkpoint", str(ckpt), "--samples", "20"]) == 0
    out = capsys.readouterr().out
    assert "N=2" in out and "held-out" in out and "depth   3" in out


def test_passes_override_changes_n_and_the_answers(ckpt, capsys):
    results = {n: run_main(capsys, "--checkpoint", str(ckpt), "--samples", "100", "--passes", str(n), "--json")
               for n in (1, 2, 4)}
    assert {n: r["passes"] for n, r in results.items()} == {1: 1, 2: 2, 4: 4}
    fingerprints = {n: (r["accuracy"], r["held_out"]["accuracy"], tuple(v["accuracy"] for v in r["per_depth"].values()))
                    for n, r in results.items()}
    assert len(set(fingerprints.values())) == 3, fingerprints
    default = run_main(capsys, "--checkpoint", str(ckpt), "--samples", "100", "--json")
    assert default["accuracy"] == results[2]["accuracy"] and default["passes"] == 2


def test_evaluation_is_deterministic_per_seed(ckpt, capsys):
    def report(seed):
        r = run_main(capsys, "--checkpoint", str(ckpt), "--samples", "80", "--seed", str(seed), "--json")
        r.pop("checkpoint")
        return r
    a, b, c = report(0), report(0), report(1)
    assert a == b
    assert c["seed"] == 1 and {k: v for k, v in a.items() if k != "seed"} != {k: v for k, v in c.items() if k != "seed"}


def test_evaluate_model_leaves_the_training_mode_alone():
    task = task_from_config(TASK)
    m = n_sensitive_model(task).train()
    evaluate_model(m, task, 10)
    assert m.training
    m.eval()
    evaluate_model(m, task, 10)
    assert not m.training


# ------------------------------------------------------------------------------ errors
def _assert_exit_2(capsys, args, *words):
    with pytest.raises(SystemExit) as e:
        main(list(args))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error:" in last, err
    for w in words:
        assert w in err, err


def test_cli_error_in_a_real_process(tmp_path):
    r = cli("--checkpoint", str(tmp_path / "missing"), "--json")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error:") and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_errors_exit_2(tmp_path, ckpt, capsys):
    _assert_exit_2(capsys, ["--checkpoint", str(tmp_path / "missing")], "does not exist")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "weights.bin").write_bytes(b"\x00" * 64)
    (wrong / "notes.txt").write_text("hi")
    _assert_exit_2(capsys, ["--checkpoint", str(wrong)], CONFIG_FILE)
    (wrong / CONFIG_FILE).write_bytes((ckpt / CONFIG_FILE).read_bytes())
    _assert_exit_2(capsys, ["--checkpoint", str(wrong)], MODEL_FILE)
    (wrong / MODEL_FILE).write_bytes(b"\x80\x04K\x01.")  # a pickle
    _assert_exit_2(capsys, ["--checkpoint", str(wrong)], "pickle")
    _assert_exit_2(capsys, ["--checkpoint", str(ckpt), "--passes", "0"], "--passes")
    _assert_exit_2(capsys, ["--checkpoint", str(ckpt), "--passes", "65"], "--passes")
    _assert_exit_2(capsys, ["--checkpoint", str(ckpt), "--samples", "0"], "--samples")
    _assert_exit_2(capsys, ["--checkpoint", str(ckpt), "--seed", "-1"], "--seed")
    _assert_exit_2(capsys, ["--checkpoint", str(ckpt), "--samples", "x"], "--samples")  # argparse's own error


@pytest.mark.parametrize("edit", [{"width": 8}, {"show_steps": False}, {"name": "khop"}, None],
                         ids=["other-window", "other-vocab", "other-task", "no-task"])
def test_a_task_that_does_not_fit_the_model_is_an_error(tmp_path, ckpt, capsys, edit):
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / MODEL_FILE).write_bytes((ckpt / MODEL_FILE).read_bytes())
    cfg = json.loads((ckpt / CONFIG_FILE).read_text())
    if edit is None:
        cfg.pop("task")
    elif "name" in edit:
        cfg["task"] = {"name": "khop"}
    else:
        cfg["task"].update(edit)
    (folder / CONFIG_FILE).write_text(json.dumps(cfg))
    _assert_exit_2(capsys, ["--checkpoint", str(folder), "--samples", "10", "--json"], "task")


# ------------------------------------------------------------------------------ Wilson intervals
@pytest.mark.parametrize("k,n,lo,hi", [   # Newcombe (1998), Stat. Med. 17:857, table I, and closed forms
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 1, 0.0, 3.8416 / 4.8416),     # z^2 / (1 + z^2)
])
def test_wilson_known_values(k, n, lo, hi):
    assert wilson(k, n) == pytest.approx((lo, hi), abs=6e-5)


def test_wilson_properties():
    assert wilson(0, 0) == (0.0, 1.0)
    for n in (1, 7, 50, 1000):
        for k in range(0, n + 1, max(1, n // 13)):
            lo, hi = wilson(k, n)
            assert 0 <= lo <= k / n <= hi <= 1
            assert wilson(n - k, n) == pytest.approx((1 - hi, 1 - lo), abs=1e-12)  # symmetric
            z99 = wilson(k, n, z=2.576)
            assert z99[0] <= lo + 1e-12 and z99[1] >= hi - 1e-12          # wider at 99%
    widths = [wilson(n // 2, n)[1] - wilson(n // 2, n)[0] for n in (10, 100, 1000)]
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] == pytest.approx(2 * 1.96 * math.sqrt(0.25 / 1000), rel=0.01)


# ------------------------------------------------------------------------------ seed namespace
def test_evaluation_draws_never_coincide_with_training_batches(monkeypatch):
    """evaluate_model draws from EVAL_SEED_OFFSET + seed (+1 held out, + 7919 * i per depth); training
    from seed * 1_000_003 + step. Checked on the seeds actually used and on the tokens themselves."""
    from sleepcore.tasks.base import Task
    task = make_task("rule110", width=24, steps=[1, 3])
    seen: list[int] = []
    orig = Task.sample

    def spy(self, n, seed, split="train", depth=None):
        seen.append(int(seed))
        return orig(self, n, seed, split, depth)

    monkeypatch.setattr(Task, "sample", spy)
    model = n_sensitive_model(task)
    for seed in (0, 1, 5):
        for per_depth in (False, True):
            evaluate_model(model, task, 30, seed=seed, per_depth=per_depth)
    monkeypatch.undo()
    assert min(seen) >= EVAL_SEED_OFFSET
    from sleepcore.train import TrainConfig
    assert 0 * 1_000_003 + TrainConfig().steps <= EVAL_SEED_OFFSET

    evals = [task.sample(200, seed=EVAL_SEED_OFFSET + s, split=sp) for s, sp in ((0, "any"), (1, "held_out"))]
    eval_rows = {tuple(r) for b in evals for r in b.tokens.tolist()}
    for train_seed in (0, 1):
        for step in range(5):
            batch = task.sample(64, seed=train_seed * 1_000_003 + step, split="train")
            assert not torch.equal(batch.tokens[:64], evals[0].tokens[:64])
            assert eval_rows.isdisjoint(tuple(r) for r in batch.tokens.tolist())


# ------------------------------------------------------------------------------ several answers per sample
def test_summarise_counts_single_answers_when_a_sample_has_several():
    from sleepcore.evaluate import summarise
    correct = torch.tensor([True, False, False])
    depth = torch.tensor([1, 1, 2])
    answers = (torch.tensor([3, 2, 0]), torch.tensor([3, 3, 3]))
    r = summarise(correct, depth, {1: 0.1, 2: 0.1}, answers)
    assert r["accuracy"] == pytest.approx(1 / 3)
    assert r["answer_accuracy"] == pytest.approx(5 / 9) and r["answers"] == 9
    assert r["per_depth"]["1"]["answer_accuracy"] == pytest.approx(5 / 6)
    assert r["per_depth"]["2"]["answer_accuracy"] == 0.0
    assert r["per_depth"]["1"]["answer_ci95"] == pytest.approx(list(wilson(5, 6)))
    # one answer per sample: nothing extra (exact match already is the share of answers right)
    single = summarise(correct, depth, {1: 0.1, 2: 0.1}, (correct.long(), torch.ones(3, dtype=torch.long)))
    assert "answer_accuracy" not in single and "answer_accuracy" not in single["per_depth"]["1"]


def test_khop_with_several_queries_reports_single_answers_that_match_the_model():
    from sleepcore.evaluate import predict_answers
    task = make_task("khop", nodes=[4, 5], max_nodes=6, window=12, queries=3, max_hops=2)
    torch.manual_seed(0)
    m = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, d_model=16, n_heads=1, head_dim=8, layers="AF",
                                   max_window=task.window), SleepConfig(window=task.window, passes=2))
    r = evaluate_model(m, task, 40, per_depth=True)
    for d, v in r["per_depth"].items():
        assert v["answers"] == 3 * v["count"]
        assert v["accuracy"] <= v["answer_accuracy"] <= 1
    # recompute depth 1 by hand: the same batch evaluate_model drew
    b = task.sample(40, seed=EVAL_SEED_OFFSET + 7919, split="any", depth=1)
    with torch.no_grad():
        logits = m.eval()(b.tokens, b.targets).logits
    mask = b.targets != -100
    right = int(((logits.argmax(-1) == b.targets) & mask).sum())
    assert r["per_depth"]["1"]["answer_accuracy"] == pytest.approx(right / int(mask.sum()))
    rn, asked = predict_answers(m, b.tokens, b.targets)
    assert int(rn.sum()) == right and bool((asked == 3).all())


def test_single_answers_get_their_own_chance_level_the_commonest_answer_token_per_depth():
    from sleepcore.evaluate import summarise
    from sleepcore.tasks.base import Batch, Task
    ig = -100
    targets = torch.tensor([[ig, 4, ig, 4], [ig, 4, ig, 7], [ig, 2, ig, 2], [ig, 5, ig, 6]])
    batch = Batch(tokens=torch.zeros(4, 4, dtype=torch.long), targets=targets,
                  depth=torch.tensor([1, 1, 2, 2]), answers=["44", "47", "22", "56"])
    per_depth = Task.answer_chance(None, batch)                 # uses only the batch
    assert per_depth == {1: pytest.approx(3 / 4), 2: pytest.approx(2 / 4)}
    correct = torch.tensor([True, False, False, False])
    answers = (torch.tensor([2, 1, 0, 1]), torch.tensor([2, 2, 2, 2]))
    r = summarise(correct, batch.depth, {1: 0.5, 2: 0.25}, answers, per_depth)
    assert r["answer_chance"] == pytest.approx((3 / 4 + 2 / 4) / 2)        # 4 answers at each depth
    assert r["per_depth"]["1"]["answer_chance"] == pytest.approx(3 / 4)
    assert "answer_chance" not in summarise(correct, batch.depth, {1: 0.5, 2: 0.25}, answers)


def test_the_arithmetic_answers_are_not_uniform_so_the_single_answer_chance_is_above_one_in_ten():
    task = make_task("arith", queries=5)
    chance = task.answer_chance(task.sample(2000, seed=1))
    assert set(chance) == set(task.depths) and all(0.1 < c < 0.2 for c in chance.values())   # "*" favours even digits
