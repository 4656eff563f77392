"""Property-based tests: malformed input to every parser and validator either is accepted or is refused
with the project's own error (ConfigError / CheckpointError, both ValueErrors) whose message names
the offending field -- never another exception, never a traceback from a CLI.

    .venv/bin/python -m pytest tests/test_properties.py
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sleepcore import evaluate, train
from sleepcore.checkpoint import CONFIG_FILE, MODEL_FILE, CheckpointError, load_from_bytes, parse_config, save_checkpoint
from sleepcore.config import ConfigError, ModelConfig, SleepConfig, from_dict, to_dict
from sleepcore.model import SleepingHybrid
from sleepcore.tasks import __main__ as tasks_cli
from sleepcore.tasks import make_task, task_from_config, task_names, task_params
from sleepcore.train import TrainConfig

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------------------- JSON-like values
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-5, max_value=70), st.integers(), st.sampled_from([2**31, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 1.0, -1.0, 1e-3, 3.0]),
    st.text(max_size=8), st.sampled_from(["A", "F", "AF", "AFAF", "delta", "hebbian", "hard", "sliding", "none",
                                          "cpu", "cuda", "", "8", "rule110", "eca", "khop", "arith", "zero"]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=8)


def _field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


CONFIG_CLASSES = [ModelConfig, SleepConfig, TrainConfig]


def _check_refusal(err: Exception, field: str | None = None) -> None:
    msg = str(err)
    assert msg and "\n" not in msg.strip(), f"not one line: {msg!r}"
    if field is not None:
        assert field in msg, f"message does not name {field!r}: {msg!r}"


# --------------------------------------------------------------------------- config dataclasses
@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
@FAST
@given(data=st.data())
def test_from_dict_one_bad_field_is_named(cls, data):
    """Every field alone set to an arbitrary JSON value: accepted, or ConfigError naming that field."""
    field = data.draw(st.sampled_from(_field_names(cls)), label="field")
    value = data.draw(json_values, label="value")
    try:
        cfg = from_dict(cls, {field: value})
    except ConfigError as e:
        _check_refusal(e, field.split("_")[0] if field == "forget_bias_range" else field)
        return
    assert isinstance(cfg, cls)
    assert from_dict(cls, to_dict(cfg)) == cfg  # what is accepted round-trips


@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
@FAST
@given(d=st.one_of(st.dictionaries(st.one_of(st.sampled_from(_field_names(ModelConfig) + _field_names(SleepConfig)
                                                              + _field_names(TrainConfig)), st.text(max_size=6)),
                                   json_values, max_size=6),
                   json_values))
@example(d={"forget_bias_range": 5})
@example(d={"forget_bias_range": ["a", "b"]})
@example(d={"n_heads": 10**6, "head_dim": 10**6})
@example(d=[1, 2])
def test_from_dict_arbitrary_is_config_error(cls, d):
    """Whole arbitrary dicts (and non-dicts): accepted or ConfigError, nothing else."""
    try:
        cfg = from_dict(cls, d)
    except ConfigError as e:
        _check_refusal(e)
        return
    assert isinstance(cfg, cls)


@SLOW
@given(over=st.dictionaries(st.sampled_from(["vocab_size", "d_model", "n_heads", "head_dim", "max_window", "mlp_ratio",
                                             "window_index_embedding"]),
                            st.integers(min_value=1, max_value=10**12), min_size=1, max_size=4))
def test_accepted_model_config_is_buildable(over):
    """A ModelConfig that validates never asks for an absurd amount of memory (the size bound holds)."""
    try:
        cfg = from_dict(ModelConfig, {"layers": "AF", **over})
    except ConfigError:
        return
    n = cfg.vocab_size * cfg.d_model + cfg.max_window * cfg.d_model
    assert n <= 2**28


# --------------------------------------------------------------------------- tasks
@pytest.mark.parametrize("name", task_names())
@FAST
@given(data=st.data())
def test_make_task_arbitrary_params(name, data):
    """Every task with arbitrary values for its parameters (and unknown ones): a task, or ConfigError."""
    names = list(task_params(name)) + ["bogus"]
    params = data.draw(st.dictionaries(st.sampled_from(names), json_values, max_size=3), label="params")
    try:
        task = make_task(name, **params)
    except ConfigError as e:
        _check_refusal(e)
        bad = [k for k in params if k in str(e) or k.split("_")[0] in str(e)]
        assert bad or name in str(e), f"message names no parameter of {sorted(params)}: {e}"
        return
    assert task_from_config(task.config()).config() == task.config()


@FAST
@given(config=st.one_of(json_values, st.dictionaries(st.sampled_from(["name", "width", "steps", "rule", "nodes"]),
                                                      json_values, max_size=4)))
@example(config={"name": []})
@example(config={"name": {}})
def test_task_from_config_arbitrary(config):
    try:
        task_from_config(config)
    except ConfigError as e:
        _check_refusal(e)


# --------------------------------------------------------------------------- checkpoint files
@FAST
@given(data=st.binary(max_size=300))
def test_parse_config_arbitrary_bytes(data):
    try:
        parse_config(data)
    except CheckpointError as e:
        _check_refusal(e)


@FAST
@given(cfg=st.one_of(json_values, st.fixed_dictionaries({"model": json_values}, optional={"sleep": json_values,
                                                                                            "task": json_values}),
                     st.fixed_dictionaries({"model": st.dictionaries(st.sampled_from(_field_names(ModelConfig)),
                                                                     json_values, max_size=3)},
                                           optional={"sleep": st.dictionaries(st.sampled_from(_field_names(SleepConfig)),
                                                                              json_values, max_size=2)})))
def test_parse_config_arbitrary_json(cfg):
    try:
        data = json.dumps(cfg, allow_nan=True).encode()
    except (ValueError, TypeError):
        return
    try:
        out = parse_config(data)
    except CheckpointError as e:
        _check_refusal(e)
        return
    assert isinstance(out, dict)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> tuple[bytes, bytes]:
    torch.manual_seed(0)
    model = SleepingHybrid(ModelConfig(vocab_size=8, d_model=8, n_heads=1, head_dim=8, layers="AF", max_window=8),
                           SleepConfig(window=4, passes=2))
    folder = save_checkpoint(tmp_path_factory.mktemp("tiny"), model, task={"name": "rule110"})
    return (folder / MODEL_FILE).read_bytes(), (folder / CONFIG_FILE).read_bytes()


def test_tiny_checkpoint_loads(tiny_ckpt):
    model, cfg = load_from_bytes(*tiny_ckpt)
    assert cfg["model"]["layers"] == "AF"


def _try_load(model_bytes: bytes, config_bytes: bytes) -> None:
    try:
        load_from_bytes(model_bytes, config_bytes)
    except CheckpointError as e:
        _check_refusal(e)


@FAST
@given(data=st.data())
def test_load_from_bytes_truncated_or_bitflipped(tiny_ckpt, data):
    model_bytes, config_bytes = tiny_ckpt
    which = data.draw(st.sampled_from(["model", "config"]), label="which")
    raw = bytearray(model_bytes if which == "model" else config_bytes)
    how = data.draw(st.sampled_from(["truncate", "flip", "splice"]), label="how")
    if how == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw)), label="cut")]
    elif how == "flip":
        # most interesting in the safetensors header (first ~1 KB) and in the JSON
        for _ in range(data.draw(st.integers(1, 4), label="flips")):
            pos = data.draw(st.integers(0, min(len(raw), 1500) - 1), label="pos")
            raw[pos] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    else:
        pos = data.draw(st.integers(0, len(raw)), label="pos")
        raw[pos:pos + data.draw(st.integers(0, 16))] = data.draw(st.binary(max_size=16), label="junk")
    if which == "model":
        _try_load(bytes(raw), config_bytes)
    else:
        _try_load(model_bytes, bytes(raw))


@FAST
@given(model_bytes=st.binary(max_size=200), config_bytes=st.binary(max_size=100))
def test_load_from_bytes_arbitrary(model_bytes, config_bytes):
    _try_load(model_bytes, config_bytes)


@SLOW
@given(header=st.one_of(json_values, st.dictionaries(st.text(max_size=12), json_values, max_size=3),
                        st.fixed_dictionaries({"tok.weight": st.fixed_dictionaries(
                            {"dtype": st.sampled_from(["F32", "F16", "I64", "BOOL", "U8", "X"]),
                             "shape": st.lists(st.integers(-2, 70), max_size=3),
                             "data_offsets": st.lists(st.integers(-2, 5000), max_size=3)})})),
       pad=st.binary(max_size=64))
def test_load_from_bytes_forged_safetensors_header(tiny_ckpt, header, pad):
    """A syntactically valid safetensors prefix with an arbitrary JSON header."""
    h = json.dumps(header).encode()
    _try_load(len(h).to_bytes(8, "little") + h + pad, tiny_ckpt[1])


# --------------------------------------------------------------------------- CLIs (in process)
def _run_cli(fn, argv, capsys) -> tuple[int, str]:
    threads = torch.get_num_threads()  # --threads N is applied process-wide by a valid run
    try:
        code = fn(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        torch.set_num_threads(threads)
    out, err = capsys.readouterr()
    assert code in (0, 2), f"{argv}: exit {code}\n{err[-2000:]}"
    assert "Traceback" not in err and "Traceback" not in out, f"{argv}: traceback\n{err[-2000:]}"
    if code == 2:
        assert "error" in err.lower(), f"{argv}: exit 2 without an error line: {err!r}"
    return code, err


flag_values = st.one_of(st.integers(-3, 70).map(str), st.sampled_from(["0", "-1", "1e9", "nan", "inf", "x", "", "1.5", "--",
                                                                     "99999999999999999999", "[1,2]", "AFX", "--"]),
                        st.text(alphabet="0123456789-.,[]AFxe", max_size=6))


@SLOW
@given(data=st.data())
def test_train_cli_random_flags(tmp_path, capsys, data):
    """Bad flags end with exit 2 and one error line. Valid-looking runs are kept tiny and short (1 step)."""
    flags = data.draw(st.lists(st.sampled_from(["--d-model", "--n-heads", "--head-dim", "--mlp-ratio", "--batch-size",
                                                "--lr", "--adam-lr", "--warmup", "--seed", "--threads",
                                                "--eval-every", "--max-minutes", "--passes", "--layers",
                                                "--task-param", "--task", "--eviction", "--fast-rule", "--config"]),
                               max_size=3, unique=True), label="flags")
    argv = ["--steps", "1", "--batch-size", "2", "--eval-samples", "4", "--d-model", "8", "--head-dim", "4",
            "--task-param", "width=4", "--task-param", "steps=1", "--no-progress", "--out", str(tmp_path / "run")]
    for f in flags:
        v = data.draw(flag_values, label=f)
        if f == "--task-param":
            v = data.draw(st.sampled_from(["width", "steps", "states", "rule", "bogus"]), label="key") + "=" + v
        if f == "--config":
            cfg = tmp_path / "cfg.json"
            cfg.write_text(json.dumps(data.draw(json_values, label="config"), allow_nan=True))
            v = str(cfg)
        if f == "--task":
            v = data.draw(st.sampled_from([*task_names(), v]), label="task")
        argv += [f, v] if not v.startswith("-") else [f"{f}={v}"]
    # a valid combination would train for real: cap its cost (1 step of a tiny model on a tiny task)
    _run_cli(train.main, argv + ["--fresh"], capsys)


@pytest.mark.parametrize("config", [{"model": [1, 2]}, {"train": "abc"}, {"task": 5}, [1], {"sleep": {"passes": "x"}}])
def test_train_cli_config_file_found_cases(tmp_path, capsys, config):
    """A --config section that is not an object used to crash (TypeError) or print an unrelated message."""
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(config))
    code, err = _run_cli(train.main, ["--config", str(path), "--steps", "1"], capsys)
    assert code == 2


@pytest.fixture(scope="module")
def tiny_ckpt_folder(tmp_path_factory, tiny_ckpt) -> Path:
    folder = tmp_path_factory.mktemp("tinyfolder")
    cfg = json.loads(tiny_ckpt[1])
    cfg["task"] = {"name": "rule110", "width": 3, "steps": 1, "states": 1, "show_steps": False}
    model = SleepingHybrid(ModelConfig(vocab_size=8, d_model=8, n_heads=1, head_dim=8, layers="AF", max_window=8),
                           SleepConfig(window=3, passes=2))
    task = task_from_config(cfg["task"])
    model = SleepingHybrid(ModelConfig(vocab_size=task.vocab_size, d_model=8, n_heads=1, head_dim=8, layers="AF",
                                       max_window=8), SleepConfig(window=task.window, passes=2))
    return save_checkpoint(folder, model, task=task.config())


@SLOW
@given(data=st.data())
def test_evaluate_cli_random_flags(tiny_ckpt_folder, tmp_path, capsys, data):
    argv = ["--checkpoint", data.draw(st.sampled_from([str(tiny_ckpt_folder), str(tmp_path / "missing"), str(tmp_path),
                                                       "", "-"]), label="checkpoint")]
    for f in data.draw(st.lists(st.sampled_from(["--passes", "--seed", "--samples"]), max_size=3, unique=True),
                       label="flags"):
        v = data.draw(flag_values, label=f)
        if f == "--samples" and v.lstrip("-").isdigit() and int(v) > 8:
            v = "8"  # valid sample counts: keep the evaluation tiny
        argv += [f"{f}={v}"]
    argv += data.draw(st.sampled_from([[], ["--json"], ["--per-depth"], ["--bogus"]]), label="extra")
    if "--samples" not in " ".join(argv):
        argv += ["--samples", "4"]
    _run_cli(evaluate.main, argv, capsys)


@pytest.mark.parametrize("argv", [["sample", "--task", "rule110", "--n=--"], ["sample", "--task", "khop", "--seed=--"],
                                  ["sample", "--task", "eca", "--depth=--"], ["sample", "--task", "rule110", "--n", "2",
                                                                                 "--param", "steps=[1,2]", "--jsonl"]])
def test_tasks_cli_found_cases(capsys, argv):
    """`--n=--` used to crash with a TypeError (argparse yields [] for it)."""
    _run_cli(tasks_cli.main, argv, capsys)


@pytest.mark.parametrize("argv", [["--seed=--"], ["--passes=--"], ["--samples=--"]])
def test_evaluate_cli_found_cases(tiny_ckpt_folder, capsys, argv):
    """`--seed=--` used to crash with a TypeError (argparse yields [] for it)."""
    code, err = _run_cli(evaluate.main, ["--checkpoint", str(tiny_ckpt_folder), *argv], capsys)
    assert code == 2 and argv[0].split("=")[0] in err


@FAST
@given(data=st.data())
def test_tasks_cli_random_flags(capsys, data):
    if True:
        argv = [data.draw(st.sampled_from(["sample", "list", "bogus"]), label="cmd")]
        argv += ["--task", data.draw(st.sampled_from([*task_names(), "nope", ""]), label="task")]
        for f in data.draw(st.lists(st.sampled_from(["--n", "--seed", "--split", "--depth", "--param"]), max_size=4),
                           label="flags"):
            v = data.draw(flag_values, label=f)
            if f == "--param":
                key = data.draw(st.sampled_from(["width", "steps", "states", "rule", "nodes", "max_hops", "modulus",
                                                 "window", "order", "boundary", "=", "bogus"]), label="key")
                v = f"{key}={v}"
            if f == "--n" and v.lstrip("-").isdigit() and int(v) > 4:
                v = "4"
            argv += [f"{f}={v}"]
        argv += data.draw(st.sampled_from([[], ["--jsonl"]]), label="jsonl")
    _run_cli(tasks_cli.main, argv, capsys)
