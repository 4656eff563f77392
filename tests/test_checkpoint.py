"""Safe checkpoints: round trips, the two required files, and every way a folder or upload is refused.

Each refusal is checked for both entry points: `load_checkpoint(folder)` and `load_from_bytes(model,
config)` (the explorer's upload path), and for a message that names the problem. Pickles are never
opened: a payload that would create a marker file when unpickled is refused and the marker stays absent.
"""

from __future__ import annotations

import builtins
import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save, save_file

from sleepcore import checkpoint as ck
from sleepcore.checkpoint import (CONFIG_FILE, MODEL_FILE, CheckpointError, atomic_save_tensors, atomic_write_bytes,
                                  atomic_write_text, load_checkpoint, load_from_bytes, save_checkpoint)
from sleepcore.config import ModelConfig, SleepConfig
from sleepcore.model import SleepingHybrid

TASK = {"name": "eca", "rule": 110, "width": 6, "states": 1, "steps": 2, "boundary": "periodic", "show_steps": False}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def tiny(seed: int = 0, **over) -> SleepingHybrid:
    torch.manual_seed(seed)
    cfg = ModelConfig(**{**dict(vocab_size=3, d_model=16, n_heads=1, head_dim=8, layers="AF", max_window=6), **over})
    return SleepingHybrid(cfg, SleepConfig(window=6, passes=2)).eval()


def tokens(B: int = 4, T: int = 13, vocab: int = 3) -> torch.Tensor:
    return torch.randint(0, vocab, (B, T), generator=torch.Generator().manual_seed(5))


def logits(model: SleepingHybrid, tok: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(tok).logits


@pytest.fixture
def folder(tmp_path) -> Path:
    return save_checkpoint(tmp_path / "ck", tiny(), task=TASK)


def both_loaders(folder: Path):
    """The folder loader and the upload (bytes) loader on the same two files."""
    yield "folder", lambda: load_checkpoint(folder)
    yield "bytes", lambda: load_from_bytes((folder / MODEL_FILE).read_bytes(), (folder / CONFIG_FILE).read_bytes())


def assert_refused(folder: Path, *words: str) -> None:
    for name, load in both_loaders(folder):
        with pytest.raises(CheckpointError) as e:
            load()
        msg = str(e.value)
        for w in words:
            assert w.lower() in msg.lower(), f"{name} loader: {w!r} not in {msg!r}"


def edit_config(folder: Path, edit) -> None:
    cfg = json.loads((folder / CONFIG_FILE).read_text())
    edit(cfg)
    (folder / CONFIG_FILE).write_text(json.dumps(cfg))


def rewrite_tensors(folder: Path, edit) -> None:
    tensors = load_file(str(folder / MODEL_FILE))
    edit(tensors)
    (folder / MODEL_FILE).unlink()
    save_file(tensors, str(folder / MODEL_FILE), metadata={"format": ck.FORMAT})


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("over", [{}, {"tie_embeddings": True}, {"window_index_embedding": 3, "layers": "FA"}],
                         ids=["plain", "tied", "window-index"])
def test_round_trip_gives_identical_logits(tmp_path, over):
    model = tiny(seed=3, **over)
    with torch.no_grad():  # move every weight off its init so nothing matches by accident
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    save_checkpoint(tmp_path / "ck", model, task=TASK, train={"steps": 7})
    tok = tokens()
    for _, load in both_loaders(tmp_path / "ck"):
        loaded, cfg = load()
        assert torch.equal(logits(loaded, tok), logits(model, tok))
        assert cfg["task"] == TASK and cfg["train"] == {"steps": 7}
        assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
        if over.get("tie_embeddings"):
            assert loaded.head.weight is loaded.tok.weight


def test_two_files_are_all_a_checkpoint_needs(tmp_path, folder):
    assert sorted(os.listdir(folder)) == sorted([MODEL_FILE, CONFIG_FILE])
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in (MODEL_FILE, CONFIG_FILE):
        (bare / f).write_bytes((folder / f).read_bytes())
    model, _ = load_checkpoint(bare)
    assert torch.equal(logits(model, tokens()), logits(tiny(), tokens()))
    # the model and sleep sections are all the config needs (task, train and the rest are informational)
    edit_config(bare, lambda c: [c.pop(k) for k in list(c) if k not in ("model", "sleep")])
    load_checkpoint(bare)


# ------------------------------------------------------------------------------ folder problems
def test_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")


def test_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(CheckpointError, match="not a folder"):
        load_checkpoint(tmp_path / "f")


def test_folder_without_config(folder):
    (folder / CONFIG_FILE).unlink()
    with pytest.raises(CheckpointError, match=f"no {CONFIG_FILE}"):
        load_checkpoint(folder)


def test_folder_without_weights(folder):
    (folder / MODEL_FILE).unlink()
    with pytest.raises(CheckpointError, match=f"no {MODEL_FILE}"):
        load_checkpoint(folder)


# ------------------------------------------------------------------------------ config problems
@pytest.mark.parametrize("text", ["{not json", "", "\xff\xfe", "[1, 2]", '{"sleep": {}}', '{"model": 3}'])
def test_config_that_is_not_a_config_object(folder, text):
    (folder / CONFIG_FILE).write_bytes(text.encode("latin-1"))
    words = ("not valid JSON",) if text in ("{not json", "", "\xff\xfe") else ("'model' object",)
    assert_refused(folder, *words)


def test_unknown_config_fields(folder):
    edit_config(folder, lambda c: c["model"].update(bogus_field=1))
    assert_refused(folder, "unknown", "bogus_field")
    edit_config(folder, lambda c: (c["model"].pop("bogus_field"), c["sleep"].update(dreams=9)))
    assert_refused(folder, "unknown", "dreams")


def test_invalid_config_value(folder):
    edit_config(folder, lambda c: c["sleep"].update(passes=0))
    assert_refused(folder, "passes")


def test_config_that_does_not_match_the_tensors(folder):
    edit_config(folder, lambda c: c["model"].update(d_model=32))
    assert_refused(folder, "does not match", "shape")
    edit_config(folder, lambda c: c["model"].update(d_model=16, layers="AFA"))
    assert_refused(folder, "does not match", "missing", "blocks.2")


def test_oversized_config(folder, monkeypatch):
    monkeypatch.setattr(ck, "MAX_CONFIG_BYTES", 50)
    assert_refused(folder, "bytes", "at most 50")


# ------------------------------------------------------------------------------ tensor problems
def test_tensor_with_the_wrong_shape(folder):
    rewrite_tensors(folder, lambda t: t.update({"head.weight": torch.zeros(4, 16)}))
    assert_refused(folder, "head.weight", "shape (4, 16)", "(3, 16)")


def test_missing_tensor(folder):
    rewrite_tensors(folder, lambda t: t.pop("norm.weight"))
    assert_refused(folder, "missing", "norm.weight")


def test_unexpected_tensor(folder):
    rewrite_tensors(folder, lambda t: t.update({"extra.weight": torch.zeros(2)}))
    assert_refused(folder, "unexpected", "extra.weight")


def test_integer_tensor(folder):
    rewrite_tensors(folder, lambda t: t.update({"norm.weight": torch.ones(16, dtype=torch.int32)}))
    assert_refused(folder, "norm.weight", "floating-point")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights(folder, bad):
    def poison(t):
        t["blocks.0.mixer.qkv.weight"][1, 2] = bad
    rewrite_tensors(folder, poison)
    assert_refused(folder, "blocks.0.mixer.qkv.weight", "NaN or infinite")


@pytest.mark.parametrize("keep", [0, 5, 9, 200, -7])
def test_truncated_weights(folder, keep):
    data = (folder / MODEL_FILE).read_bytes()
    (folder / MODEL_FILE).write_bytes(data[:keep])  # the first `keep` bytes, or all but the last -keep
    assert_refused(folder, MODEL_FILE, "safetensors")


def test_garbage_weights(folder):
    (folder / MODEL_FILE).write_bytes(b"hello, this is not a tensor file at all" * 10)
    assert_refused(folder, "not a safetensors file")


def test_oversized_weights(folder, monkeypatch):
    monkeypatch.setattr(ck, "MAX_MODEL_BYTES", 1000)
    assert_refused(folder, "bytes", "at most 1000")


# ------------------------------------------------------------------------------ pickles
class _Payload:
    """Unpickling this calls builtins.open(marker, "w"): the file appears iff the pickle was loaded."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


@pytest.mark.parametrize("kind", ["pickle0", "pickle2", "pickle4", "pickle5", "torch.save", "torch.save-legacy"])
def test_pickle_is_refused_and_never_run(tmp_path, folder, kind):
    marker = tmp_path / "pwned"
    payload = {"head.weight": _Payload(str(marker))}
    path = folder / MODEL_FILE
    if kind.startswith("pickle"):
        path.write_bytes(pickle.dumps(payload, protocol=int(kind[-1])))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=kind == "torch.save")
    assert not marker.exists()
    # the payload is live: unpickling it for real would create the marker
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(str(probe)))).close()
    assert probe.exists()

    for name, load in both_loaders(folder):
        with pytest.raises(CheckpointError) as e:
            load()
        msg = str(e.value)
        assert "safetensors" in msg, f"{name}: {msg}"
        if kind not in ("pickle0",):  # protocol-0 pickles are plain text: refused as "not safetensors"
            assert "pickle" in msg, f"{name}: {msg}"
    assert not marker.exists(), "the pickle was unpickled"


# ------------------------------------------------------------------------------ sniffing regression
def _with_header_length(state: dict[str, torch.Tensor], target: int) -> bytes:
    """Real safetensors bytes whose 8-byte header length is exactly `target` (padding a metadata string)."""
    n0 = int.from_bytes(save(state, metadata={"format": ck.FORMAT, "pad": ""})[:8], "little")
    assert n0 <= target, (n0, target)
    for k in range(max(0, target - n0 - 8), target - n0 + 9):
        data = save(state, metadata={"format": ck.FORMAT, "pad": "x" * k})
        if int.from_bytes(data[:8], "little") == target:
            return data
    raise AssertionError(f"could not reach header length {target}")


def _targets(n0: int):
    """Header lengths whose bytes start 0x80 <2..5> (what a pickle starts with) or "PK" ("PK\\x03\\x04" is a zip)."""
    pickle_like = next(n for n in range(n0, 1 << 24) if n & 0xFF == 0x80 and (n >> 8) & 0xFF in (2, 3, 4, 5))
    pk = next(n for n in range(n0, 1 << 24) if n & 0xFFFF == 0x4B50)
    return {"0x80": pickle_like, "PK": pk}


@pytest.mark.parametrize("which", ["0x80", "PK"])
def test_safetensors_whose_header_length_looks_like_a_pickle_loads(tmp_path, folder, which):
    model = tiny()
    state = load_file(str(folder / MODEL_FILE))
    n0 = int.from_bytes((folder / MODEL_FILE).read_bytes()[:8], "little")
    data = _with_header_length(state, _targets(n0)[which])
    if which == "0x80":
        assert data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
    else:
        assert data[:2] == b"PK"
    (folder / MODEL_FILE).write_bytes(data)
    for _, load in both_loaders(folder):
        loaded, _ = load()
        assert torch.equal(logits(loaded, tokens()), logits(model, tokens()))


# ------------------------------------------------------------------------------ atomic writes
def _temps(folder: Path) -> list[str]:
    return [f for f in os.listdir(folder) if f.endswith(".tmp")]


def test_atomic_writes_leave_no_temporary_files(tmp_path):
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "b.txt", "hello")
    atomic_save_tensors(tmp_path / "c.safetensors", {"x": torch.arange(3.0)})
    save_checkpoint(tmp_path / "ck", tiny(), task=TASK)
    save_checkpoint(tmp_path / "ck", tiny(seed=1), task=TASK)  # overwrite in place
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01" and (tmp_path / "b.txt").read_text() == "hello"
    assert torch.equal(load_file(str(tmp_path / "c.safetensors"))["x"], torch.arange(3.0))
    assert _temps(tmp_path) == [] and _temps(tmp_path / "ck") == []
    assert sorted(os.listdir(tmp_path / "ck")) == sorted([MODEL_FILE, CONFIG_FILE])
    assert torch.equal(logits(load_checkpoint(tmp_path / "ck")[0], tokens()), logits(tiny(seed=1), tokens()))


@pytest.mark.parametrize("crash", ["replace", "fsync"])
def test_crash_mid_write_keeps_the_previous_file(tmp_path, monkeypatch, crash):
    atomic_write_bytes(tmp_path / "a.bin", b"old")
    atomic_save_tensors(tmp_path / "c.safetensors", {"x": torch.zeros(2)})
    folder = save_checkpoint(tmp_path / "ck", tiny(), task=TASK)
    before = {f: (folder / f).read_bytes() for f in os.listdir(folder)}

    def boom(*a, **k):
        raise KeyboardInterrupt("killed mid-write") if crash == "fsync" else OSError("disk gone")

    monkeypatch.setattr(ck.os, crash, boom)
    exc = KeyboardInterrupt if crash == "fsync" else OSError
    with pytest.raises(exc):
        atomic_write_bytes(tmp_path / "a.bin", b"new")
    if crash == "replace":  # atomic_save_tensors does not fsync
        with pytest.raises(exc):
            atomic_save_tensors(tmp_path / "c.safetensors", {"x": torch.ones(2)})
        with pytest.raises(exc):
            save_checkpoint(folder, tiny(seed=1), task=TASK)
    with pytest.raises(exc):
        atomic_write_text(folder / CONFIG_FILE, "{}")
    monkeypatch.undo()

    assert (tmp_path / "a.bin").read_bytes() == b"old"
    assert torch.equal(load_file(str(tmp_path / "c.safetensors"))["x"], torch.zeros(2))
    assert {f: (folder / f).read_bytes() for f in os.listdir(folder)} == before
    assert _temps(tmp_path) == [] and _temps(folder) == []
    assert torch.equal(logits(load_checkpoint(folder)[0], tokens()), logits(tiny(), tokens()))
