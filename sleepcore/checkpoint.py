"""Safe checkpoints: a folder with `model.safetensors` + `config.json` (+ training state and log).

Nothing is ever unpickled. Loading checks, before building anything, that the files are what they
claim (a pickle or a truncated file is refused), that the config is valid, that every tensor the
config implies is present with the right shape, and that all weights are finite. Files are written
atomically (temporary file in the same folder, then `os.replace`), so a run killed at any moment
leaves either the old file or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import ConfigError, ModelConfig, SleepConfig, from_dict, to_dict
from .model import SleepingHybrid

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "read_config", "atomic_write_bytes",
           "atomic_write_text", "MODEL_FILE", "CONFIG_FILE"]

MODEL_FILE, CONFIG_FILE = "model.safetensors", "config.json"
MAX_MODEL_BYTES = 256 * 2**20      # shipped checkpoints are a few MB; refuse anything absurd
MAX_CONFIG_BYTES = 1 * 2**20
FORMAT = "sleepcore-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint folder or file is missing, malformed, unsafe or inconsistent."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(folder: str | Path, model: SleepingHybrid, task: dict[str, Any] | None = None,
                    train: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Write model weights and config.json (model, sleep, task, train configs) atomically."""
    folder = Path(folder)
    state = {k: v for k, v in model.state_dict().items()}
    if model.cfg.tie_embeddings:
        state.pop("head.weight", None)
    atomic_save_tensors(folder / MODEL_FILE, state, metadata={"format": FORMAT})
    config = {"format": FORMAT, "model": to_dict(model.cfg), "sleep": to_dict(model.sleep_cfg),
              "task": task or {}, "train": train or {}, **(extra or {})}
    atomic_write_text(folder / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
    return folder


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """A safetensors file is an 8-byte little-endian header length N, then N bytes of JSON ('{...')."""
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 0 < n <= size - 8


def _is_pickle(head: bytes) -> bool:
    # protocol 2+ pickles start with 0x80 <protocol>; zip-based torch.save files start with "PK\x03\x04"
    return (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or head[:4] == b"PK\x03\x04"


def read_config(folder: str | Path) -> dict[str, Any]:
    """Read and validate config.json of a checkpoint folder; returns the parsed dict."""
    folder = Path(folder)
    if not folder.exists():
        raise CheckpointError(f"checkpoint folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise CheckpointError(f"{str(folder)!r} is not a folder; a checkpoint is a folder with "
                              f"{MODEL_FILE} and {CONFIG_FILE}")
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{str(folder)!r} has no {CONFIG_FILE}; a checkpoint folder holds {MODEL_FILE} + {CONFIG_FILE}")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{CONFIG_FILE} is {path.stat().st_size} bytes; at most {MAX_CONFIG_BYTES} are accepted")
    return parse_config(path.read_bytes())


def parse_config(data: bytes) -> dict[str, Any]:
    """Parse and validate config.json bytes (also used for uploaded files)."""
    if len(data) > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{CONFIG_FILE} is {len(data)} bytes; at most {MAX_CONFIG_BYTES} are accepted")
    try:
        cfg = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{CONFIG_FILE} is not valid JSON ({e})") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), dict):
        raise CheckpointError(f"{CONFIG_FILE} must be a JSON object with a 'model' object (and 'sleep', 'task')")
    try:
        from_dict(ModelConfig, cfg["model"])
        from_dict(SleepConfig, cfg.get("sleep") or {})
    except ConfigError as e:
        raise CheckpointError(f"{CONFIG_FILE}: {e}") from None
    return cfg


def build_model(cfg: dict[str, Any]) -> SleepingHybrid:
    try:
        return SleepingHybrid(from_dict(ModelConfig, cfg["model"]), from_dict(SleepConfig, cfg.get("sleep") or {}))
    except ConfigError as e:
        raise CheckpointError(f"{CONFIG_FILE}: {e}") from None


def load_weights(model: SleepingHybrid, data: bytes | None = None, path: Path | None = None) -> SleepingHybrid:
    """Load safetensors weights (from bytes or a file) into `model`, checking names, shapes, values."""
    size = len(data) if data is not None else Path(path).stat().st_size
    if size > MAX_MODEL_BYTES:
        raise CheckpointError(f"{MODEL_FILE} is {size} bytes; at most {MAX_MODEL_BYTES} are accepted")
    if data is not None:
        head = data[:9]
    else:
        with Path(path).open("rb") as f:
            head = f.read(9)
    if not _looks_like_safetensors(head, size):
        if _is_pickle(head):
            raise CheckpointError(f"{MODEL_FILE} looks like a pickle / torch.save file; only safetensors is accepted "
                                  f"(pickles can run code when loaded, so they are never opened)")
        raise CheckpointError(f"{MODEL_FILE} is not a safetensors file (no valid header; truncated or another format)")
    try:
        if data is not None:
            from safetensors.torch import load as load_bytes
            tensors = load_bytes(data)
        else:
            tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{MODEL_FILE} is not a readable safetensors file ({str(e).splitlines()[0]})") from None
    expected = model.state_dict()
    if model.cfg.tie_embeddings:
        expected = {k: v for k, v in expected.items() if k != "head.weight"}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{MODEL_FILE} does not match {CONFIG_FILE}: missing {missing[:5]}"
                              f"{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                              f"{'...' if len(unexpected) > 5 else ''}")
    for name, t in tensors.items():
        if t.shape != expected[name].shape:
            raise CheckpointError(f"{MODEL_FILE} does not match {CONFIG_FILE}: {name} has shape {tuple(t.shape)}, "
                                  f"the config implies {tuple(expected[name].shape)}")
        if not t.is_floating_point():
            raise CheckpointError(f"{MODEL_FILE}: {name} has dtype {t.dtype}; floating-point weights expected")
        if not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{MODEL_FILE}: {name} contains NaN or infinite values")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()}, strict=not model.cfg.tie_embeddings)
    return model


def _frozen(model: SleepingHybrid) -> SleepingHybrid:
    """Eval mode, no gradients: a loaded model is for inference and may be shared between users."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_checkpoint(folder: str | Path) -> tuple[SleepingHybrid, dict[str, Any]]:
    """Load a checkpoint folder. Returns (model in eval mode, config dict)."""
    folder = Path(folder)
    cfg = read_config(folder)
    path = folder / MODEL_FILE
    if not path.is_file():
        raise CheckpointError(f"{str(folder)!r} has no {MODEL_FILE}")
    return _frozen(load_weights(build_model(cfg), path=path)), cfg


def load_from_bytes(model_bytes: bytes, config_bytes: bytes) -> tuple[SleepingHybrid, dict[str, Any]]:
    """Load an uploaded checkpoint (the two files' bytes) with the same checks as `load_checkpoint`."""
    cfg = parse_config(config_bytes)
    return _frozen(load_weights(build_model(cfg), data=model_bytes)), cfg
