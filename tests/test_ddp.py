"""DDP over gloo on CPU: two ranks stay identical and match one process on the same global batch.

`torchrun --nproc_per_node=2 -m sleepcore.train` (run as `python -m torch.distributed.run`) trains a
tiny model for 5 steps; every rank dumps its final weights through the SLEEPCORE_DUMP_FINAL_WEIGHTS
hook in sleepcore/train.py. Then:
  * rank 0 and rank 1 hold bitwise identical weights (gradients were averaged, updates identical);
  * rank 0's checkpoint is those weights;
  * one process on the same global batch logs the same losses and accuracies and ends at the same
    weights, up to float32 rounding of the gradient all-reduce.
Muon orthogonalises each update, which turns rounding-level gradient differences in the many tiny
singular directions of an early gradient into visible weight differences (~1e-4 after one step at
the default lr), so the single-process comparison uses a small Muon lr; AdamW keeps its default lr.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sleepcore.checkpoint import build_model

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--task", "rule110", "--task-param", "width=6", "--task-param", "steps=2", "--layers", "AF",
        "--d-model", "16", "--n-heads", "1", "--head-dim", "8", "--batch-size", "16", "--steps", "5",
        "--passes", "2", "--warmup", "2", "--lr", "1e-6", "--log-every", "1", "--ckpt-every", "5",
        "--eval-every", "100000", "--eval-samples", "20", "--threads", "1", "--no-progress"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    return {**base, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **extra}


def losses(out: Path) -> dict[int, tuple[float, float]]:
    recs = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines() if x.strip()]
    return {r["step"]: (r["loss"], r["acc"]) for r in recs if "loss" in r}


@pytest.mark.timeout(300)
def test_two_ranks_agree_and_match_one_process(tmp_path):
    dump = tmp_path / "final"
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
         f"--master_port={free_port()}", "-m", "sleepcore.train", *ARGS, "--out", str(tmp_path / "ddp")],
        cwd=ROOT, env=env(MASTER_ADDR="127.0.0.1", SLEEPCORE_DUMP_FINAL_WEIGHTS=str(dump)),
        capture_output=True, text=True, timeout=240)
    assert ddp.returncode == 0, ddp.stdout[-3000:] + ddp.stderr[-3000:]
    assert ddp.stdout.count("final_step") == 1, ddp.stdout  # only rank 0 reports

    single = subprocess.run([sys.executable, "-m", "sleepcore.train", *ARGS, "--out", str(tmp_path / "one")],
                            cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    assert single.returncode == 0, single.stderr[-3000:]

    r0, r1 = (load_file(f"{dump}.rank{r}.safetensors") for r in (0, 1))
    assert r0.keys() == r1.keys()
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"ranks disagree on {k}"

    ckpt = load_file(str(tmp_path / "ddp" / "model.safetensors"))
    assert ckpt.keys() == r0.keys() and all(torch.equal(ckpt[k], r0[k]) for k in ckpt)

    one = load_file(str(tmp_path / "one" / "model.safetensors"))
    for k in ckpt:
        torch.testing.assert_close(ckpt[k], one[k], rtol=0, atol=1e-5, msg=lambda m, k=k: f"{k}: {m}")
    torch.manual_seed(0)  # the weights did move, far more than the tolerance
    init = build_model(json.loads((tmp_path / "one" / "config.json").read_text())).state_dict()
    moved = max((one[k] - init[k]).abs().max().item() for k in ("tok.weight", "head.weight", "norm.weight"))
    assert moved > 1e-3, moved

    ddp_log, one_log = losses(tmp_path / "ddp"), losses(tmp_path / "one")
    assert sorted(ddp_log) == sorted(one_log) == [1, 2, 3, 4, 5]
    for step in one_log:
        (l_ddp, a_ddp), (l_one, a_one) = ddp_log[step], one_log[step]
        assert abs(l_ddp - l_one) <= 2e-5, (step, l_ddp, l_one)  # the logged loss is the global batch's
        assert a_ddp == pytest.approx(a_one, abs=1e-4), (step, a_ddp, a_one)

    cfg = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert cfg["trained_steps"] == 5 and cfg["train"]["batch_size"] == 16
