"""Training end to end on a tiny Rule 110 model: learning, files, determinism, exact resume after a
real SIGKILL, stopping on NaN with the last good checkpoint intact, per-batch N, CLI errors.

Everything runs on one thread (an oversubscribed intra-op pool is many times slower on a busy
machine), and every run is a few dozen steps of a 16-wide model on 7-token sequences.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import sleepcore.train as T
from sleepcore.checkpoint import CheckpointError, load_checkpoint
from sleepcore.config import ConfigError, ModelConfig, SleepConfig
from sleepcore.evaluate import EVAL_SEED_OFFSET
from sleepcore.model import SleepingHybrid
from sleepcore.train import LOG_FILE, STATE_FILE, STATE_JSON, TrainConfig, main, train

ROOT = Path(__file__).resolve().parents[1]
TASK = {"name": "rule110", "width": 6, "steps": 2}
TINY = ["--task", "rule110", "--task-param", "width=6", "--task-param", "steps=2", "--layers", "AF",
        "--d-model", "16", "--n-heads", "1", "--head-dim", "8", "--batch-size", "32", "--warmup", "5",
        "--eval-every", "100000", "--eval-samples", "50", "--log-every", "1", "--threads", "1", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def model_cfg() -> ModelConfig:
    return ModelConfig(d_model=16, n_heads=1, head_dim=8, layers="AF")


def tcfg(**over) -> TrainConfig:
    return TrainConfig(**{**dict(steps=20, batch_size=32, warmup=5, eval_every=100000, eval_samples=50,
                                 ckpt_every=5, log_every=1, threads=1, seed=0), **over})


def run(out=None, passes: int = 2, **over):
    return train(model_cfg(), SleepConfig(passes=passes), TASK, tcfg(**over), out, progress=False)


def log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / LOG_FILE).read_text().splitlines() if line.strip()]


def losses(out: Path) -> dict[int, float]:
    recs = [r for r in log(out) if "loss" in r]
    steps = [r["step"] for r in recs]
    assert len(steps) == len(set(steps)), f"duplicate log steps: {steps}"
    return {r["step"]: r["loss"] for r in recs}


def saved_step(out: Path) -> int:
    return json.loads((out / STATE_JSON).read_text())["step"]


def fixed_tokens(model: SleepingHybrid) -> torch.Tensor:
    return torch.randint(0, model.cfg.vocab_size, (8, 7), generator=torch.Generator().manual_seed(3))


def out_logits(model: SleepingHybrid) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(fixed_tokens(model)).logits


# ------------------------------------------------------------------------------ smoke
def test_smoke_training_learns_and_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "run"
    model, records = run(out, steps=50, ckpt_every=25)
    loss = [r["loss"] for r in records if "loss" in r]
    assert len(loss) == 50 and all(math.isfinite(x) for x in loss)
    first, last = sum(loss[:5]) / 5, sum(loss[-5:]) / 5
    assert last < 0.9 * first, (first, last)

    names = set(os.listdir(out))
    assert {"model.safetensors", "config.json", LOG_FILE, STATE_FILE, STATE_JSON} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert saved_step(out) == 50
    assert [r["step"] for r in log(out) if "loss" in r] == list(range(1, 51))
    assert any("eval" in r for r in records)  # the final step always evaluates

    loaded, cfg = load_checkpoint(out)
    assert cfg["trained_steps"] == 50 and cfg["task"]["name"] == "eca" and cfg["sleep"]["passes"] == 2
    assert cfg["train"]["steps"] == 50 and cfg["model"]["vocab_size"] == 3 and cfg["sleep"]["window"] == 6
    assert torch.equal(out_logits(loaded), out_logits(model))


def test_same_seed_same_losses_other_seed_other_losses():
    a = [r["loss"] for r in run(steps=12)[1] if "loss" in r]
    b = [r["loss"] for r in run(steps=12)[1] if "loss" in r]
    c = [r["loss"] for r in run(steps=12, seed=1)[1] if "loss" in r]
    assert a == b
    assert a != c


def test_training_batches_stay_below_the_evaluation_seeds(monkeypatch):
    from sleepcore.tasks.base import Task
    seen: list[tuple[int, str]] = []
    orig = Task.sample

    def spy(self, n, seed, split="train", depth=None):
        seen.append((int(seed), split))
        return orig(self, n, seed, split, depth)

    monkeypatch.setattr(Task, "sample", spy)
    run(steps=3, seed=5)
    train_seeds = {s for s, split in seen if split == "train"}
    eval_seeds = {s for s, split in seen if split != "train"}
    assert train_seeds == {5 * 1_000_003 + s for s in range(3)}
    assert eval_seeds and min(eval_seeds) >= EVAL_SEED_OFFSET > max(train_seeds)


def test_a_seed_whose_batches_would_reach_the_evaluation_seeds_is_refused():
    """Training draws step s from seed * 1_000_003 + s; evaluation from EVAL_SEED_OFFSET up. A training
    seed that makes the two meet must be refused, or "no evaluation sample is a training batch" breaks."""
    TrainConfig(seed=6000, steps=1000)
    last_ok = (EVAL_SEED_OFFSET - 1000) // 1_000_003
    TrainConfig(seed=last_ok, steps=1000)
    for seed, steps in [(7000, 10), (last_ok + 1, 1000), (6999, 10**6)]:
        with pytest.raises(ConfigError, match="seed"):
            TrainConfig(seed=seed, steps=steps)


# ------------------------------------------------------------------------------ resume
class Crash(BaseException):
    """Stands in for SIGKILL inside the process (BaseException: nothing in train() catches it)."""


def crash_after_step(monkeypatch, step: int) -> None:
    """Make training raise Crash right after optimiser step `step` (exact_accuracy runs once per step,
    after the update), as a process dying mid-run would."""
    calls = {"n": 0}
    orig = T.exact_accuracy

    def counting(*a, **k):
        calls["n"] += 1
        if calls["n"] == step:
            raise Crash()
        return orig(*a, **k)

    monkeypatch.setattr(T, "exact_accuracy", counting)


def test_resume_after_an_interruption_continues_exactly(tmp_path, monkeypatch):
    ref = run(tmp_path / "a", steps=12, ckpt_every=4)[1]
    crash_after_step(monkeypatch, 7)  # dies after step 7; the last checkpoint is step 4
    with pytest.raises(Crash):
        run(tmp_path / "b", steps=12, ckpt_every=4)
    monkeypatch.undo()
    assert saved_step(tmp_path / "b") == 4 and max(losses(tmp_path / "b")) == 6

    resumed = run(tmp_path / "b", steps=12, ckpt_every=4)[1]
    assert [r["step"] for r in resumed if "loss" in r] == list(range(5, 13))
    assert losses(tmp_path / "b") == losses(tmp_path / "a") == {r["step"]: r["loss"] for r in ref if "loss" in r}
    assert torch.equal(out_logits(load_checkpoint(tmp_path / "b")[0]), out_logits(load_checkpoint(tmp_path / "a")[0]))


def test_a_finished_run_kept_as_training_state_only_gets_its_model_file_back(tmp_path):
    """git keeps only train_state.* of runs carried between sessions; resuming one that is already at its
    last step must still leave a loadable checkpoint, with the same weights."""
    out = tmp_path / "run"
    model, _ = run(out, steps=6, ckpt_every=3)
    (out / "model.safetensors").unlink()
    again, records = run(out, steps=6, ckpt_every=3)
    assert not [r for r in records if "loss" in r]                  # nothing trained
    loaded, cfg = load_checkpoint(out)
    assert cfg["trained_steps"] == 6
    assert torch.equal(out_logits(loaded), out_logits(model))


@pytest.mark.parametrize("dies_before", ["train-state tensors", "train-state json"])
def test_a_kill_between_the_checkpoint_files_still_resumes_exactly(tmp_path, monkeypatch, dies_before):
    """The checkpoint is several files; a kill after some of them are replaced must not pair the
    weights of one step with the optimiser state or step count of another."""
    run(tmp_path / "a", steps=12, ckpt_every=4)
    patched = "atomic_save_tensors" if dies_before == "train-state tensors" else "atomic_write_text"
    target = STATE_FILE if dies_before == "train-state tensors" else STATE_JSON
    orig = getattr(T, patched)
    seen = {"n": 0}

    def die_at_second_save(path, *a, **k):  # first checkpoint (step 4) completes, the second (step 8) dies
        if Path(path).name == target:
            seen["n"] += 1
            if seen["n"] == 2:
                raise Crash()
        return orig(path, *a, **k)

    monkeypatch.setattr(T, patched, die_at_second_save)
    with pytest.raises(Crash):
        run(tmp_path / "b", steps=12, ckpt_every=4)
    monkeypatch.undo()
    run(tmp_path / "b", steps=12, ckpt_every=4)
    assert losses(tmp_path / "b") == losses(tmp_path / "a")
    assert torch.equal(out_logits(load_checkpoint(tmp_path / "b")[0]), out_logits(load_checkpoint(tmp_path / "a")[0]))


def test_resume_from_a_state_written_before_weights_moved_into_it(tmp_path, monkeypatch):
    """Runs saved by the earlier layout (train_state.safetensors = optimiser only, step in the JSON,
    weights in model.safetensors) still resume exactly."""
    from safetensors.torch import load_file, save_file
    run(tmp_path / "a", steps=8, ckpt_every=4)
    crash_after_step(monkeypatch, 5)
    with pytest.raises(Crash):
        run(tmp_path / "b", steps=8, ckpt_every=4)
    monkeypatch.undo()
    state = load_file(str(tmp_path / "b" / STATE_FILE))
    (tmp_path / "b" / STATE_FILE).unlink()
    save_file({k: v for k, v in state.items() if not k.startswith(T.WEIGHTS_PREFIX)}, str(tmp_path / "b" / STATE_FILE))
    run(tmp_path / "b", steps=8, ckpt_every=4)
    assert losses(tmp_path / "b") == losses(tmp_path / "a")


def _cli(out: Path, steps: int) -> list[str]:
    return [sys.executable, "-m", "sleepcore.train", *TINY, "--passes", "2", "--steps", str(steps),
            "--ckpt-every", "2", "--out", str(out)]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def test_sigkill_then_rerun_resumes_exactly(tmp_path):
    steps = 60
    ref = subprocess.run(_cli(tmp_path / "ref", steps), cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=240)
    assert ref.returncode == 0, ref.stderr

    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(out, steps), cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    killed_at, deadline = None, time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            try:
                step = saved_step(out)
            except (OSError, ValueError, KeyError):
                step = 0
            if step >= 6:
                proc.send_signal(signal.SIGKILL)
                killed_at = step
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None and killed_at is None:
            proc.kill()
        proc.wait(timeout=60)
    assert killed_at is not None, f"run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    assert proc.returncode == -signal.SIGKILL
    before = losses(out)
    assert 6 <= killed_at < steps and max(before) < steps, "killed too late to test a resume"

    again = subprocess.run(_cli(out, steps), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr
    after = losses(out)
    assert sorted(after) == list(range(1, steps + 1))
    assert after == losses(tmp_path / "ref")
    assert (out / "model.safetensors").read_bytes() == (tmp_path / "ref" / "model.safetensors").read_bytes()


# ------------------------------------------------------------------------------ NaN
def _poison_forward(monkeypatch, call: int, how: str):
    """From the `call`-th training forward on, make the loss NaN ("loss") or keep the loss finite but
    make the gradients NaN ("grad")."""
    orig = SleepingHybrid.forward
    n = {"calls": 0}

    def forward(self, *a, **k):
        res = orig(self, *a, **k)
        if self.training:
            n["calls"] += 1
            if n["calls"] >= call:
                if how == "loss":
                    res.loss = res.loss * float("nan")
                else:  # value 0, gradient NaN: d/dw sqrt(|0 * w|) = inf * 0
                    w = self.head.weight
                    res.loss = res.loss + (w * 0).abs().sqrt().sum()
        return res

    monkeypatch.setattr(SleepingHybrid, "forward", forward)


@pytest.mark.parametrize("how", ["loss", "grad"])
def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys, how):
    out = tmp_path / "run"
    _poison_forward(monkeypatch, call=8, how=how)  # steps 1..7 are fine; checkpoints at 2, 4, 6
    rc = main([*TINY, "--passes", "2", "--steps", "20", "--ckpt-every", "2", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("error:") and len(err.splitlines()) == 1, err
    assert "nan" in err.lower() and "checkpoint" in err
    assert saved_step(out) == 6
    monkeypatch.undo()
    model, cfg = load_checkpoint(out)  # loads: no NaN was written
    assert cfg["trained_steps"] == 6
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    assert max(losses(out)) == 7


# ------------------------------------------------------------------------------ per-batch N
def test_the_training_eval_logs_single_answers_right_when_a_sample_has_several():
    """Exact match over five answers sits at zero long after single answers start to be learned (k-hop,
    arithmetic); the in-training check logs both, and only exact match for one-answer tasks."""
    khop = {"name": "khop", "nodes": [4, 5], "max_nodes": 6, "window": 16, "queries": 3, "max_hops": 2}
    _, recs = train(model_cfg(), SleepConfig(passes=1), khop, tcfg(steps=2, eval_every=2), None, progress=False)
    ev = [r["eval"] for r in recs if "eval" in r]
    assert ev and 0.0 <= ev[-1]["answer_accuracy"] <= 1.0
    _, recs = run(steps=2, eval_every=2)
    assert [r for r in recs if "eval" in r] and not [r for r in recs if "answer_accuracy" in r.get("eval", {})]


def test_per_batch_passes_are_logged_and_stored(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY, "--passes", "1", "2", "--steps", "12", "--ckpt-every", "12", "--out", str(out)]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["final_step"] == 12 and 0 <= final["accuracy"] <= 1
    recs = [r for r in log(out) if "loss" in r]
    assert {r["passes"] for r in recs} == {1, 2}
    assert [r["passes"] for r in recs] == [T.random.Random(0 * 7919 + s).choice((1, 2)) for s in range(12)]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["sleep"]["passes"] == 2 and cfg["train"]["passes"] == [1, 2]


# ------------------------------------------------------------------------------ CLI errors
BAD_FLAGS = [
    (["--steps", "0"], "steps"),
    (["--passes", "0"], "passes"),
    (["--passes", "1", "0"], "passes"),
    (["--passes", "65"], "passes"),
    (["--task", "nonexistent"], "unknown task"),
    (["--layers", "XYZ"], "layers"),
    (["--batch-size", "0"], "batch_size"),
    (["--task-param", "width=2"], "width"),
    (["--task-param", "colour=blue"], "colour"),
    (["--task-param", "width"], "key=value"),
    (["--lr", "0"], "lr"),
    (["--threads", "-1"], "threads"),
    (["--max-minutes", "-1"], "max_minutes"),
    (["--seed", "7000"], "seed"),
    (["--config", "/nonexistent/config.json"], "config"),
]


@pytest.mark.parametrize("flags,word", BAD_FLAGS, ids=[" ".join(f) for f, _ in BAD_FLAGS])
def test_bad_flag_values_exit_2_with_one_line(tmp_path, capsys, flags, word):
    rc = main([*TINY, "--steps", "3", "--out", str(tmp_path / "run"), *flags])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("error:") and len(err.splitlines()) == 1 and word in err, err
    assert not (tmp_path / "run" / STATE_JSON).exists()


def test_out_that_is_a_file_is_an_error_not_a_traceback(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        assert main([*TINY, "--steps", "2", "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and len(err.splitlines()) == 1, err


def test_resume_refuses_a_different_model(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY, "--steps", "2", "--out", str(out)]) == 0
    assert main([*TINY, "--steps", "4", "--d-model", "8", "--out", str(out)]) == 2
    assert "different model config" in capsys.readouterr().err
    assert main([*TINY, "--steps", "4", "--d-model", "8", "--fresh", "--out", str(out)]) == 0
    assert load_checkpoint(out)[1]["model"]["d_model"] == 8


def test_init_from_continues_another_run_with_new_sampling_and_keeps_its_log(tmp_path, capsys):
    """--init-from: a curriculum phase in a new folder. Weights, optimiser state, step and log carry over,
    the task may change how it draws samples, and the source run is left untouched."""
    task = ["--task", "rule110", "--task-param", "width=6", "--task-param", "steps=[1,3]"]
    flags = TINY[6:]                                                    # TINY without its task
    src, dst, ref = tmp_path / "src", tmp_path / "dst", tmp_path / "ref"
    assert main([*flags, *task, "--steps", "6", "--ckpt-every", "3", "--out", str(src)]) == 0
    before = {f.name: f.read_bytes() for f in src.iterdir()}
    weights = ["--task-param", "depth_weights=[0,0,1]"]
    assert main([*flags, *task, *weights, "--steps", "10", "--init-from", str(src), "--out", str(dst)]) == 0
    assert {f.name: f.read_bytes() for f in src.iterdir()} == before
    steps = [json.loads(ln)["step"] for ln in (dst / LOG_FILE).read_text().splitlines() if "loss" in ln]
    assert steps == list(range(1, 11))                                  # the source's 6 lines, then 7..10
    cfg = load_checkpoint(dst)[1]
    assert cfg["trained_steps"] == 10 and cfg["task"]["depth_weights"] == [0.0, 0.0, 1.0]
    assert cfg["train"]["init_from"] == str(src)
    # The same as resuming the source itself with the new sampling: the state really carried over.
    import shutil
    shutil.copytree(src, ref)
    cfg_ref = json.loads((ref / "config.json").read_text())
    cfg_ref["task"]["depth_weights"] = [0.0, 0.0, 1.0]
    (ref / "config.json").write_text(json.dumps(cfg_ref))
    assert main([*flags, *task, *weights, "--steps", "10", "--out", str(ref)]) == 0
    assert losses(ref) == losses(dst)
    # Rerunning resumes dst from its own state (init_from is then ignored); a finished run trains nothing.
    assert main([*flags, *task, *weights, "--steps", "10", "--init-from", str(src), "--out", str(dst)]) == 0
    assert max(losses(dst)) == 10
    capsys.readouterr()
    # What init_from refuses, each with one line saying why.
    assert main([*flags, *task, "--steps", "10", "--d-model", "8", "--init-from", str(src), "--out",
                 str(tmp_path / "x")]) == 2
    assert "its model config differs" in capsys.readouterr().err
    assert main([*flags, *task, "--steps", "6", "--init-from", str(src), "--out", str(tmp_path / "y")]) == 2
    assert "already at step 6" in capsys.readouterr().err
    assert main([*flags, *task, "--steps", "9", "--init-from", str(tmp_path / "none"), "--out", str(tmp_path / "z")]) == 2
    assert "no run there" in capsys.readouterr().err
    # A source stopped part-way through its own phase is refused: its schedule has not ended.
    part = tmp_path / "part"
    assert main([*flags, *task, "--steps", "6", "--ckpt-every", "2", "--out", str(part)]) == 0
    meta = json.loads((part / "config.json").read_text())
    meta["train"]["steps"] = 8                                          # as if stopped by --max-minutes at 6 of 8
    (part / "config.json").write_text(json.dumps(meta))
    assert main([*flags, *task, "--steps", "10", "--init-from", str(part), "--out", str(tmp_path / "w")]) == 2
    assert "stopped at step 6 of its 8; finish it first" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("flags", [["--steps", "0"], ["--layers", "XYZ"], ["--task", "nonexistent"]],
                         ids=lambda f: " ".join(f))
def test_cli_errors_in_a_real_process(tmp_path, flags):
    r = subprocess.run([sys.executable, "-m", "sleepcore.train", *TINY, "--out", str(tmp_path / "run"), *flags],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_checkpoint_error_is_a_value_error():  # main() reports CheckpointError (resume) as "error: ..."
    assert issubclass(CheckpointError, ValueError)


# ----------------------------------------------------------------------------- sweep specs
SPECS = sorted((Path(__file__).resolve().parents[1] / "experiments").glob("sweep_*.json"))


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_every_sweep_spec_builds_valid_runs(spec):
    """Each run of a spec is `python -m sleepcore.train <common> <group> <args>`: its flags parse and its
    configs validate (a typo in a spec fails here, not an hour into a sweep)."""
    from sleepcore.train import arg_parser, build_configs
    sp = json.loads(spec.read_text())
    assert sp["runs"] and len({r["name"] for r in sp["runs"]}) == len(sp["runs"])
    for run in sp["runs"]:
        flags = sp["common"] + sp["groups"][run["group"]] + run["args"]
        args = arg_parser().parse_args(["--out", "unused", *flags, "--steps", "10"])
        mcfg, scfg, task_cfg, tcfg = build_configs(args)
        assert tcfg.steps == 10 and scfg.passes >= 1 and task_cfg["name"]


def test_the_write_strength_bias_is_a_flag_and_sets_the_initial_beta():
    from sleepcore.model import SleepingHybrid
    from sleepcore.train import arg_parser, build_configs
    args = arg_parser().parse_args(["--task", "rule110", "--layers", "AF", "--d-model", "16", "--n-heads", "2",
                                    "--head-dim", "8", "--beta-bias", "-1.5"])
    mcfg, scfg, _, _ = build_configs(args)
    assert mcfg.beta_bias == -1.5
    gates = SleepingHybrid(mcfg, scfg).blocks[1].mixer.gates
    assert torch.equal(gates.bias[mcfg.n_heads:], torch.full((mcfg.n_heads,), -1.5))
    assert build_configs(arg_parser().parse_args(["--task", "rule110"]))[0].beta_bias == 0.0


def test_every_run_set_carried_between_sessions_names_real_runs_and_resumes_with_the_sweep():
    """experiments/inflight.py: each set's runs exist in its spec, its resume command parses with the
    sweep's own parser, and a run stands where its committed train_state.json says."""
    sys.path.insert(0, str(ROOT / "experiments"))
    import inflight
    import sweep
    sets = [inflight.CELLS_LONG, *inflight.IN_FLIGHT, *inflight.CELLS_ATTN]
    for rs in sets:
        last = max(r.steps for r in sets if r.runs_dir == rs.runs_dir)    # phases may share a folder
        names = {r["name"] for r in json.loads((ROOT / rs.spec).read_text())["runs"]}
        assert set(rs.runs.values()) <= names, rs.about
        argv = rs.command.split()
        assert argv[:2] == ["python", "experiments/sweep.py"]
        args = sweep.arg_parser().parse_args(argv[2:])
        assert (args.spec, args.runs_dir, args.steps) == (rs.spec, rs.runs_dir, rs.steps)
        assert set(args.only.split(",")) == set(rs.runs.values()) if args.only else set(rs.runs.values()) == names
        for run in rs.runs.values():
            p = rs.progress(run)
            if p is not None:
                meta = json.loads((ROOT / rs.runs_dir / run / "train_state.json").read_text())
                assert p["step"] == meta["step"] <= last


def test_only_one_process_trains_into_a_folder_at_a_time(tmp_path, capsys):
    """A second trainer on a folder someone is writing to (a sweep resumed twice) stops with one line that says so;
    once the first has ended, the folder trains again."""
    import fcntl
    out = tmp_path / "run"
    with open(tmp_path / ".run.train.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242\n")
        held.flush()
        assert main([*TINY, "--steps", "2", "--out", str(out)]) == 2
        assert "another training process is writing to" in capsys.readouterr().err
        assert not out.exists()                                          # nothing written beside the other writer
    assert main([*TINY, "--steps", "2", "--out", str(out)]) == 0
    assert main([*TINY, "--steps", "3", "--out", str(out)]) == 0         # released after each run, even in-process
    assert max(losses(out)) == 3


def test_phases_walks_each_run_through_its_phases_in_order(tmp_path):
    """experiments/phases.py: every run goes through the phases it is listed in, each continued from the last, and a
    second walk over finished runs trains nothing."""
    sys.path.insert(0, str(ROOT / "experiments"))
    import inflight
    import phases
    flags = TINY[6:] + ["--task", "rule110", "--task-param", "width=6", "--task-param", "steps=[1,3]", "--ckpt-every", "2"]
    sets = []
    for i, steps in enumerate((4, 6)):
        runs = [{"name": name, "group": "g",
                 "args": ["--seed", str(seed)] + ([] if i == 0 else ["--init-from", str(tmp_path / "p0" / name)])}
                for name, seed in (("b", 1), ("a", 0))]
        spec = tmp_path / f"spec{i}.json"
        spec.write_text(json.dumps({"common": flags, "groups": {"g": []}, "runs": runs}))
        sets.append(inflight.RunSet(about=f"phase {i}", spec=str(spec), runs_dir=str(tmp_path / f"p{i}"), steps=steps,
                                    runs={r["name"]: r["name"] for r in runs}))
    assert phases.run_names(sets) == ["b", "a"]
    assert phases.pick_runs(sets, "") == ["b", "a"]
    assert phases.pick_runs(sets, "a,b,a") == ["a", "b"]                 # the order asked, each run once
    with pytest.raises(ValueError, match="no run c"):
        phases.pick_runs(sets, "a,c")
    said = []
    for run in ("b", "a"):
        assert phases.walk(run, sets, time.time() + 600, 1, said.append) == f"{run}: every phase finished"
    for run in ("a", "b"):
        cfg = load_checkpoint(tmp_path / "p1" / run)[1]
        assert cfg["trained_steps"] == 6 and cfg["train"]["init_from"] == str(tmp_path / "p0" / run)
        assert cfg["history"] == [{"until_step": 4, "depth_weights": None}]     # the phase it continued
        assert [json.loads(ln)["step"] for ln in (tmp_path / "p1" / run / LOG_FILE).read_text().splitlines()
                if "loss" in ln] == list(range(1, 7))
    assert len(said) == 8                                                 # started and finished, 2 phases x 2 runs
    said.clear()
    assert phases.walk("a", sets, time.time() + 600, 1, said.append) == "a: every phase finished" and not said
    assert phases.walk("a", sets[:1] + [dataclasses.replace(sets[1], steps=8)], time.time(), 1, said.append) \
        == "a: out of time before " + sets[1].spec + " (step 6 of 8)"


def test_phases_cli_names_the_runs_it_knows_when_asked_for_another():
    r = subprocess.run([sys.executable, "experiments/phases.py", "curr", "--only", "nope"], cwd=ROOT, env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--only: no run nope in chain curr; its runs: r110cells-curr-n4" in r.stderr
    sys.path.insert(0, str(ROOT / "experiments"))
    import inflight
    argv = inflight.CURR_CHAIN_COMMAND.split()
    assert argv[:3] == ["python", "experiments/phases.py", "curr"]


def test_inflight_shows_unfinished_sets_unless_asked_for_all(capsys, tmp_path):
    sys.path.insert(0, str(ROOT / "experiments"))
    import inflight
    done = inflight.CELLS_P5                                       # every run at 10,000 steps, committed
    assert not inflight.unfinished_anywhere(done)
    fresh = dataclasses.replace(done, runs_dir=str(tmp_path))     # the same runs, nothing trained yet
    assert inflight.unfinished_anywhere(fresh)
    assert inflight.main([]) == 0
    short = capsys.readouterr().out
    assert done.about not in short and "finished sets not shown; --all shows them" in short
    assert inflight.main(["--all"]) == 0 and done.about in capsys.readouterr().out
