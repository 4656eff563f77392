"""Train a sleeping hybrid end to end through its sleep passes; `python -m sleepcore.train`.

Recipe (the paper's, section 4, where it is stated): Muon on the hidden weight matrices plus AdamW
on everything else, full backpropagation through every sleep pass and window. Where the paper is
silent or its numbers were for a GPU scale (AdamW lr 5e-5, batch 512, billions of tokens), the
defaults follow what measured well on 2 CPU cores (../shared/feasibility.md): both learning rates
3e-3 with Muon's `match_rms_adamw` scaling, 50 warmup steps, cosine decay to 10%, clip 1.0.

Data for step s is drawn from seed `seed * 1_000_003 + s`, so a run is deterministic, resumes
exactly, and never touches the evaluation seeds. Checkpoints (weights, optimiser state, data
position) are written atomically every `ckpt_every` steps; rerunning the same command resumes.

    python -m sleepcore.train --task rule110 --task-param width=16 --task-param steps=8 \
        --layers AF --passes 4 --steps 2000 --out runs/rule110-n4
    torchrun --nproc_per_node=2 -m sleepcore.train ...      # DDP over gloo on CPU
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: runs go unlocked
    fcntl = None

import torch
import torch.distributed as dist

from .checkpoint import (CONFIG_FILE, MODEL_FILE, atomic_save_tensors, atomic_write_text, load_weights, save_checkpoint)
from .config import ConfigError, ModelConfig, SleepConfig, from_dict, to_dict
from .evaluate import EVAL_SEED_OFFSET, evaluate_model
from .model import IGNORE, SleepingHybrid
from .recipe import HISTORY_KEY, phase_history
from .tasks import task_from_config

__all__ = ["TrainConfig", "train", "main"]

STATE_FILE, STATE_JSON, LOG_FILE = "train_state.safetensors", "train_state.json", "log.jsonl"
DATA_SEED_STRIDE = 1_000_003   # batch of step s: seed DATA_SEED_STRIDE * seed + s
WEIGHTS_PREFIX = "model."      # the model's weights inside STATE_FILE


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping.

    Attributes:
        steps: optimiser steps. batch_size: global batch (split over DDP ranks).
        lr: Muon learning rate (hidden 2-D matrices). adam_lr: AdamW learning rate (the rest).
        warmup: linear warmup steps; then cosine decay to min_lr_ratio * lr at `steps`.
        clip: gradient-norm clip. weight_decay: for both optimisers.
        seed: initialisation and data seed.
        passes: N per batch. Empty uses the model's SleepConfig.passes; several values draw N
            uniformly per batch (one checkpoint for all of them).
        eval_every / eval_samples: periodic evaluation on fresh and held-out samples.
        ckpt_every: checkpoint period. log_every: JSONL log period.
        compile: wrap the model in torch.compile (slow to start; for long runs).
        threads: torch threads (0 = torch's default).
        max_minutes: stop cleanly (with a checkpoint) after this much wall time; 0 = no limit.
        device: "cpu" or "cuda" (checkpoints are always saved as CPU tensors).
        init_from: a run folder to start from when `out` holds no run yet: its weights, optimiser
            state, step and log are taken over, so training continues from there into `out` with
            this config (same model and sleep config; the task may differ in how it draws
            samples, e.g. depth_weights, but not in vocabulary or window). Empty: start fresh.
    """

    steps: int = 2000
    batch_size: int = 256
    lr: float = 3e-3
    adam_lr: float = 3e-3
    warmup: int = 50
    min_lr_ratio: float = 0.1
    clip: float = 1.0
    weight_decay: float = 0.0
    seed: int = 0
    passes: tuple[int, ...] = ()
    eval_every: int = 250
    eval_samples: int = 1000
    ckpt_every: int = 250
    log_every: int = 10
    compile: bool = False
    threads: int = 0
    max_minutes: float = 0.0
    device: str = "cpu"
    init_from: str = ""

    def __post_init__(self) -> None:
        def need(c, m):
            if not c:
                raise ConfigError(m)
        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        def is_real(v):  # a finite int or float, not a bool
            return is_int(v) or (isinstance(v, float) and math.isfinite(v))

        need(is_int(self.steps) and 1 <= self.steps <= 10**8, f"steps must be an int in 1..1e8; got {self.steps!r}")
        need(is_int(self.batch_size) and 1 <= self.batch_size <= 65536, f"batch_size must be an int in 1..65536; got {self.batch_size!r}")
        for name in ("lr", "adam_lr"):
            v = getattr(self, name)
            need(is_real(v) and 0 < v < 10, f"{name} must be in (0, 10); got {v!r}")
        need(is_int(self.warmup) and 0 <= self.warmup <= 10**8, f"warmup must be an int in 0..1e8; got {self.warmup!r}")
        need(is_real(self.min_lr_ratio) and 0 <= self.min_lr_ratio <= 1, f"min_lr_ratio must be in [0, 1]; got {self.min_lr_ratio!r}")
        need(is_real(self.clip) and self.clip > 0, f"clip must be a finite number > 0; got {self.clip!r}")
        need(is_real(self.weight_decay) and 0 <= self.weight_decay < 10,
             f"weight_decay must be a number in [0, 10); got {self.weight_decay!r}")
        need(isinstance(self.passes, (list, tuple)) and all(is_int(p) and 1 <= p <= 64 for p in self.passes),
             f"passes must be a list of ints in 1..64; got {self.passes!r}")
        object.__setattr__(self, "passes", tuple(int(p) for p in self.passes))
        for name in ("eval_every", "eval_samples", "ckpt_every", "log_every"):
            v = getattr(self, name)
            need(is_int(v) and v >= 1, f"{name} must be an int >= 1; got {v!r}")
        need(isinstance(self.compile, bool), f"compile must be true or false; got {self.compile!r}")
        need(isinstance(self.device, str) and self.device in ("cpu", "cuda"), f"device must be 'cpu' or 'cuda'; got {self.device!r}")
        need(is_int(self.threads) and 0 <= self.threads <= 1024, f"threads must be an int in 0..1024 (0 = torch's default); "
             f"got {self.threads!r}")
        need(is_real(self.max_minutes) and self.max_minutes >= 0,
             f"max_minutes must be a finite number >= 0 (0 = no limit); got {self.max_minutes!r}")
        # step s draws from seed * DATA_SEED_STRIDE + s; those seeds must stay below the evaluation namespace
        need(is_int(self.seed) and self.seed >= 0 and self.seed * DATA_SEED_STRIDE + self.steps <= EVAL_SEED_OFFSET,
             f"seed must be an int >= 0 with seed * {DATA_SEED_STRIDE} + steps <= {EVAL_SEED_OFFSET} (training batches "
             f"would otherwise reuse evaluation seeds); got seed={self.seed!r}, steps={self.steps!r}")


def lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizers(model: SleepingHybrid, cfg: TrainConfig):
    """Muon for 2-D matrices inside the blocks (not gates); AdamW for embeddings, head, norms, gates."""
    muon, adam = [], []
    for name, p in model.named_parameters():
        if p.dim() == 2 and name.startswith("blocks.") and ".gates." not in name:
            muon.append(p)
        else:
            adam.append(p)
    opts = [torch.optim.AdamW(adam, lr=cfg.adam_lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)]
    if muon:
        opts.insert(0, torch.optim.Muon(muon, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                        adjust_lr_fn="match_rms_adamw"))
    return opts


# ---------------------------------------------------------------- optimiser state without pickle
def _flatten_optim(opts) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors, meta = {}, {"optimizers": []}
    for j, opt in enumerate(opts):
        sd = opt.state_dict()
        scalars = {}
        for idx, st in sd["state"].items():
            for key, val in st.items():
                if torch.is_tensor(val):
                    tensors[f"opt{j}.{idx}.{key}"] = val
                else:
                    scalars[f"{idx}.{key}"] = val
        meta["optimizers"].append({"param_groups": sd["param_groups"], "scalars": scalars})
    return tensors, meta


def _unflatten_optim(opts, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    for j, opt in enumerate(opts):
        m = meta["optimizers"][j]
        state: dict[int, dict[str, Any]] = {}
        for name, val in tensors.items():
            o, idx, key = name.split(".", 2)
            if o == f"opt{j}":
                state.setdefault(int(idx), {})[key] = val
        for name, val in m["scalars"].items():
            idx, key = name.split(".", 1)
            state.setdefault(int(idx), {})[key] = val
        groups = m["param_groups"]
        for g in groups:
            for k, v in list(g.items()):
                if isinstance(v, list) and k != "params":
                    g[k] = tuple(v)
        opt.load_state_dict({"state": state, "param_groups": groups})


def _config_dict(model: SleepingHybrid, task_cfg: dict, tcfg: TrainConfig) -> dict[str, Any]:
    return {"model": to_dict(model.cfg), "sleep": to_dict(model.sleep_cfg), "task": task_cfg, "train": to_dict(tcfg)}


def _extra(step: int, wall: float, history: list | None) -> dict[str, Any]:
    """The config's fields beside model/sleep/task/train: steps and seconds so far, and the phases behind the run
    (sleepcore.recipe), when it continued another."""
    return {"trained_steps": step, "wall_seconds": round(wall, 1), **({HISTORY_KEY: history} if history else {})}


def save_train_state(out: Path, model, opts, step: int, task_cfg: dict, tcfg: TrainConfig, wall: float,
                     history: list | None = None) -> None:
    tensors, meta = _flatten_optim(opts)
    meta.update({"step": step, "wall_seconds": wall, "torch_rng": None})
    save_checkpoint(out, model, task=task_cfg, train=to_dict(tcfg), extra=_extra(step, wall, history))
    # What a resume reads is this one file, written atomically: weights, optimiser state and the step
    # they belong to (in its metadata). A kill between the writes can then never pair the weights of one
    # step with the optimiser state or step count of another. train_state.json is a readable copy.
    weights = {WEIGHTS_PREFIX + k: v.detach().clone() for k, v in model.state_dict().items()}
    atomic_save_tensors(out / STATE_FILE, {**tensors, **weights}, metadata={"meta": json.dumps(meta)})
    atomic_write_text(out / STATE_JSON, json.dumps(meta) + "\n")


def load_train_state(out: Path, model, opts) -> dict[str, Any]:
    """Restore weights and optimiser state from `out`; returns the meta dict (with its "step")."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(str(out / STATE_FILE), framework="pt") as f:
        meta_text = (f.metadata() or {}).get("meta")
    st = load_file(str(out / STATE_FILE))
    st.pop("_empty", None)
    if meta_text is not None:
        meta = json.loads(meta_text)
        weights = {k[len(WEIGHTS_PREFIX):]: st.pop(k) for k in list(st) if k.startswith(WEIGHTS_PREFIX)}
        bad = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        if bad:
            raise ValueError(f"{out / STATE_FILE}: {bad[0]} contains NaN or infinite values; cannot resume")
        with torch.no_grad():
            model.load_state_dict(weights)
    else:  # written before the weights moved into STATE_FILE: weights from model.safetensors
        meta = json.loads((out / STATE_JSON).read_text())
        load_weights(model, path=out / "model.safetensors")
    _unflatten_optim(opts, st, meta)
    return meta


def _log(out: Path | None, record: dict[str, Any]) -> None:
    if out is None:
        return
    with open(out / LOG_FILE, "a") as f:
        f.write(json.dumps(record) + "\n")


def exact_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    mask = targets != IGNORE
    right = (logits.argmax(-1) == targets) | ~mask
    return float(right.all(-1).float().mean())


@contextlib.contextmanager
def _only_writer(out: Path | None):
    """Hold an exclusive lock for the run folder `out` while training into it, so that a second process started
    on the same folder (a sweep resumed twice, a chain beside a sweep) stops with a message instead of both
    writing the same checkpoints. The lock file sits beside the folder (.NAME.train.lock) and is released when the
    training ends or its process dies."""
    if out is None or fcntl is None or os.environ.get("RANK", "0") != "0":
        yield
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.parent / f".{out.name}.train.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise ConfigError(f"another training process is writing to {out} ({f.read().strip() or 'pid unknown'}); "
                              f"wait for it to end or stop it first") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def train(model_cfg: ModelConfig, sleep_cfg: SleepConfig, task_cfg: dict[str, Any], tcfg: TrainConfig,
          out: str | Path | None = None, progress: bool = True) -> tuple[SleepingHybrid, list[dict[str, Any]]]:
    """Train (or resume) a model; returns it and the in-memory log records of this call. Only one process at a
    time may train into a given `out` folder."""
    with _only_writer(Path(out) if out is not None else None):
        return _train(model_cfg, sleep_cfg, task_cfg, tcfg, out, progress)


def _train(model_cfg: ModelConfig, sleep_cfg: SleepConfig, task_cfg: dict[str, Any], tcfg: TrainConfig,
           out: str | Path | None, progress: bool) -> tuple[SleepingHybrid, list[dict[str, Any]]]:
    rank, world = 0, 1
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        if not dist.is_initialized():
            dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if tcfg.batch_size % world:
            raise ConfigError(f"batch_size {tcfg.batch_size} must be divisible by the {world} DDP processes")
    if tcfg.threads:
        torch.set_num_threads(tcfg.threads)
    task = task_from_config(task_cfg)
    if model_cfg.vocab_size != task.vocab_size:
        model_cfg = dataclasses.replace(model_cfg, vocab_size=task.vocab_size)
    if sleep_cfg.window != task.window:
        sleep_cfg = dataclasses.replace(sleep_cfg, window=task.window)
    if model_cfg.max_window < sleep_cfg.window:
        model_cfg = dataclasses.replace(model_cfg, max_window=sleep_cfg.window)
    torch.manual_seed(tcfg.seed)
    model = SleepingHybrid(model_cfg, sleep_cfg).to(tcfg.device)
    opts = make_optimizers(model, tcfg)
    out = Path(out) if out is not None else None
    start, wall0 = 0, 0.0
    history = phase_history(tcfg.init_from) if tcfg.init_from else []   # the phases this one continues
    if out is not None and (out / STATE_FILE).is_file():
        saved = json.loads((out / CONFIG_FILE).read_text())
        history = saved.get(HISTORY_KEY) or history     # as written when the phase began
        want = _config_dict(model, task.config(), tcfg)
        for key in ("model", "sleep", "task"):
            if saved.get(key) != want[key]:
                raise ConfigError(f"{out} holds a run with a different {key} config; use another --out or --fresh")
        meta = load_train_state(out, model, opts)  # copies into the parameters on their device
        start, wall0 = int(meta["step"]), float(meta.get("wall_seconds", 0.0))
        if rank == 0 and (out / LOG_FILE).is_file():  # drop log lines past the resumed step
            _log_up_to(out / LOG_FILE, out / LOG_FILE, start)
    elif tcfg.init_from:
        start, wall0 = _start_from(Path(tcfg.init_from), model, opts, task, tcfg, out if rank == 0 else None)
    elif out is not None and rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if (out / LOG_FILE).exists():
            (out / LOG_FILE).unlink()
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    if tcfg.compile:
        net = torch.compile(net)
    records: list[dict[str, Any]] = []
    bar = None
    if progress and rank == 0:
        from tqdm import tqdm
        bar = tqdm(total=tcfg.steps, initial=start, dynamic_ncols=True, file=sys.stderr)
    t_start, tokens_seen, last_t = time.time(), 0, time.time()
    step = start
    model.train()
    while step < tcfg.steps:
        batch = task.sample(tcfg.batch_size, seed=tcfg.seed * DATA_SEED_STRIDE + step, split="train")
        tok = batch.tokens[rank::world].to(tcfg.device, non_blocking=True)
        tgt = batch.targets[rank::world].to(tcfg.device, non_blocking=True)
        N = random.Random(tcfg.seed * 7919 + step).choice(tcfg.passes) if tcfg.passes else sleep_cfg.passes
        for opt in opts:
            for g in opt.param_groups:
                g["lr"] = (tcfg.lr if isinstance(opt, torch.optim.Muon) else tcfg.adam_lr) * lr_factor(step, tcfg)
        res = net(tok, tgt, passes=N)
        loss = res.loss
        if not torch.isfinite(loss):
            msg = (f"loss became {float(loss.detach())} at step {step}; stopping. The last good checkpoint "
                   f"(step {start if out is None else _saved_step(out)}) is intact in {out}")
            if bar:
                bar.close()
            raise FloatingPointError(msg)
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.clip)
        if not torch.isfinite(grad_norm):  # the update would write NaN into the weights (and the next checkpoint)
            if bar:
                bar.close()
            raise FloatingPointError(f"gradient norm became {float(grad_norm)} at step {step}; stopping before the "
                                     f"update. The last good checkpoint (step "
                                     f"{start if out is None else _saved_step(out)}) is intact in {out}")
        for opt in opts:
            opt.step()
        step += 1
        tokens_seen += tok.numel() * world
        log_now = step % tcfg.log_every == 0 or step == tcfg.steps
        acc = exact_accuracy(res.logits.detach(), tgt) if rank == 0 or log_now else 0.0
        if log_now:  # mean over ranks: every rank holds an equal share of the batch
            stats = torch.tensor([float(loss.detach()), acc], dtype=torch.float64)
            if world > 1:
                dist.all_reduce(stats)
                stats /= world
        if rank == 0:
            if log_now:
                now = time.time()
                rec = {"step": step, "loss": round(float(stats[0]), 5), "acc": round(float(stats[1]), 4), "passes": N,
                       "lr": tcfg.lr * lr_factor(step - 1, tcfg), "tokens_per_s": round(tokens_seen / (now - last_t), 1),
                       "wall_seconds": round(wall0 + now - t_start, 1)}
                tokens_seen, last_t = 0, now
                records.append(rec)
                _log(out, rec)
            if bar:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}", acc=f"{acc:.3f}", N=N)
            if step % tcfg.eval_every == 0 or step == tcfg.steps:
                ev = evaluate_model(model, task, tcfg.eval_samples, seed=0)
                rec = {"step": step, "eval": {"accuracy": ev["accuracy"],
                                              "per_depth": {d: v["accuracy"] for d, v in ev["per_depth"].items()}}}
                if "held_out" in ev:
                    rec["eval"]["held_out"] = ev["held_out"]["accuracy"]
                if "answer_accuracy" in ev:    # several answers per sample: the share of single answers right,
                    rec["eval"]["answer_accuracy"] = ev["answer_accuracy"]  # which moves long before exact match
                records.append(rec)
                _log(out, rec)
        out_of_time = tcfg.max_minutes and (time.time() - t_start) / 60 > tcfg.max_minutes
        if rank == 0 and out is not None and (step % tcfg.ckpt_every == 0 or step == tcfg.steps or out_of_time):
            save_train_state(out, model, opts, step, task.config(), tcfg, wall0 + time.time() - t_start, history)
        if out_of_time:
            break
    if bar:
        bar.close()
    if rank == 0 and out is not None and step == start and not (out / MODEL_FILE).is_file():
        # resumed at its last step from a folder that holds only the training state (git keeps just that of
        # a run carried between sessions): write the model file a checkpoint needs, from the same weights
        save_checkpoint(out, model, task=task.config(), train=to_dict(tcfg), extra=_extra(step, wall0, history))
    if world > 1:
        dist.barrier()
    dump = os.environ.get("SLEEPCORE_DUMP_FINAL_WEIGHTS")  # test hook (tests/test_ddp.py): every rank's weights
    if dump:
        atomic_save_tensors(Path(f"{dump}.rank{rank}.safetensors"),
                            {k: v.detach().clone() for k, v in model.state_dict().items()})
    return model, records


def _start_from(src: Path, model, opts, task, tcfg: TrainConfig, out: Path | None) -> tuple[int, float]:
    """Load another run's training state (`init_from`) and copy its log into `out`; -> (step, wall seconds)."""
    if not (src / STATE_FILE).is_file() or not (src / CONFIG_FILE).is_file():
        raise ConfigError(f"init_from {src}: no run there (need {STATE_FILE} and {CONFIG_FILE})")
    saved = json.loads((src / CONFIG_FILE).read_text())
    want = _config_dict(model, task.config(), tcfg)
    for key in ("model", "sleep"):
        if saved.get(key) != want[key]:
            raise ConfigError(f"init_from {src}: its {key} config differs from this run's; only how the task draws "
                              f"samples may change")
    meta = load_train_state(src, model, opts)
    start, wall0 = int(meta["step"]), float(meta.get("wall_seconds", 0.0))
    if start >= tcfg.steps:
        raise ConfigError(f"init_from {src}: it is already at step {start}; ask for more --steps than that")
    planned = int(saved.get("train", {}).get("steps", start))
    if start < planned:   # a phase stopped part-way (--max-minutes, a crash): its schedule has not ended
        raise ConfigError(f"init_from {src}: it stopped at step {start} of its {planned}; finish it first (rerun it "
                          f"with --steps {planned}), then start the next phase from it")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _log_up_to(src / LOG_FILE, out / LOG_FILE, start)
    return start, wall0


def _log_up_to(src: Path, dst: Path, step: int) -> None:
    """Write to `dst` the lines of the log `src` (if any) up to and including `step`."""
    lines = [ln for ln in src.read_text().splitlines() if ln.strip()] if src.is_file() else []
    atomic_write_text(dst, "".join(ln + "\n" for ln in lines if json.loads(ln).get("step", 0) <= step))


def _saved_step(out: Path) -> int:
    try:
        return int(json.loads((out / STATE_JSON).read_text())["step"])
    except (OSError, ValueError, KeyError):
        return 0


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_configs(args) -> tuple[ModelConfig, SleepConfig, dict, TrainConfig]:
    base: dict[str, Any] = {"model": {}, "sleep": {}, "task": {}, "train": {}}
    if args.config:
        try:
            loaded = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read config file {args.config!r}: {e}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {args.config!r} must hold a JSON object with model/sleep/task/train")
        unknown = set(loaded) - set(base) - {"format", "trained_steps", "wall_seconds"}
        if unknown:
            raise ConfigError(f"config file has unknown sections {sorted(unknown)}; accepted: model, sleep, task, train")
        for k in base:
            section = loaded.get(k) or {}
            if not isinstance(section, dict):
                raise ConfigError(f"config file section {k!r} must be a JSON object; got {section!r:.80}")
            base[k].update(section)
    if args.task:
        base["task"] = {"name": args.task, **({} if base["task"].get("name") not in (None, args.task) else
                                                {k: v for k, v in base["task"].items() if k != "name"})}
    for kv in args.task_param or []:
        if "=" not in kv:
            raise ConfigError(f"--task-param expects key=value; got {kv!r}")
        k, v = kv.split("=", 1)
        base["task"][k] = _parse_value(v)
    if not base["task"].get("name"):
        base["task"]["name"] = "rule110"
    flags = {"model": ["d_model", "n_heads", "head_dim", "layers", "fast_rule", "mlp_ratio", "beta_bias"],
             "sleep": ["eviction"],
             "train": ["steps", "batch_size", "lr", "adam_lr", "warmup", "seed", "eval_every", "eval_samples",
                       "ckpt_every", "log_every", "threads", "max_minutes", "device", "init_from"]}
    for section, names in flags.items():
        for n in names:
            v = getattr(args, n, None)
            if v is not None:
                base[section][n] = v
    if args.passes:
        if len(args.passes) == 1:
            base["sleep"]["passes"] = args.passes[0]
            base["train"]["passes"] = []
        else:
            base["train"]["passes"] = args.passes
            base["sleep"]["passes"] = max(args.passes)
    if args.compile:
        base["train"]["compile"] = True
    task = task_from_config(base["task"])
    base["model"].setdefault("vocab_size", task.vocab_size)
    base["sleep"]["window"] = task.window
    base["model"].setdefault("max_window", max(task.window, 1))
    return (from_dict(ModelConfig, base["model"]), from_dict(SleepConfig, base["sleep"]), task.config(),
            from_dict(TrainConfig, base["train"]))


def arg_parser() -> argparse.ArgumentParser:
    """The command line of `python -m sleepcore.train` (also used to check sweep specs)."""
    ap = argparse.ArgumentParser(prog="python -m sleepcore.train", description=__doc__.splitlines()[0])
    ap.add_argument("--config", help="JSON file with model/sleep/task/train sections (flags override it)")
    ap.add_argument("--out", help="run folder (checkpoint, log); rerunning resumes from it")
    ap.add_argument("--fresh", action="store_true", help="discard any saved state in --out and start over")
    ap.add_argument("--task", help="task name: rule110, eca, khop, arith")
    ap.add_argument("--task-param", action="append", metavar="KEY=VALUE", help="task parameter (repeatable)")
    ap.add_argument("--passes", type=int, nargs="+", help="N; several values draw N per batch")
    ap.add_argument("--eviction", choices=["hard", "sliding", "none"])
    ap.add_argument("--layers", help="layer pattern, e.g. AFAF (A attention, F fast weights)")
    for name, typ in (("d_model", int), ("n_heads", int), ("head_dim", int), ("mlp_ratio", int), ("steps", int),
                      ("batch_size", int), ("lr", float), ("adam_lr", float), ("warmup", int), ("seed", int),
                      ("eval_every", int), ("eval_samples", int), ("ckpt_every", int), ("log_every", int), ("threads", int),
                      ("max_minutes", float)):
        ap.add_argument("--" + name.replace("_", "-"), dest=name, type=typ)
    ap.add_argument("--fast-rule", dest="fast_rule", choices=["delta", "hebbian"])
    ap.add_argument("--beta-bias", dest="beta_bias", type=float,
                    help="initial bias of the fast weights' write strength, beta = sigmoid(bias) (default 0: 0.5)")
    ap.add_argument("--device", choices=["cpu", "cuda"])
    ap.add_argument("--init-from", dest="init_from", metavar="RUN",
                    help="start from this run folder's state (weights, optimiser, step, log) when --out holds none")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (long runs only)")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)
    try:
        mcfg, scfg, task_cfg, tcfg = build_configs(args)
        out = Path(args.out) if args.out else None
        if out is not None and args.fresh and int(os.environ.get("RANK", "0")) == 0:
            for f in (STATE_FILE, STATE_JSON, LOG_FILE):
                if (out / f).exists():
                    (out / f).unlink()
        model, records = train(mcfg, scfg, task_cfg, tcfg, out, progress=not args.no_progress)
    except (ConfigError, ValueError, FloatingPointError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    evals = [r for r in records if "eval" in r]
    if evals and int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({"final_step": evals[-1]["step"], **evals[-1]["eval"]}))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
