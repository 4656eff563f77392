"""The Memory probe and Amnesia test pages through `streamlit.testing.v1.AppTest` (via app.py).

They render with the shipped checkpoints, what they draw equals what `sleepcore.probe` computes,
the controls change it, and unsuitable checkpoints get a message and a way out instead of a traceback.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from sleepcore import probe
from sleepcore.checkpoint import load_checkpoint
from sleepcore.probe import KEPT, NO_SLEEP, SLEPT
from sleepcore.tasks import task_from_config

ROOT = Path(__file__).resolve().parents[1]
CKPTS = ROOT / "checkpoints"
pytestmark = [pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads"),  # conftest
              pytest.mark.skipif(not (CKPTS / "rule110-n4" / "model.safetensors").exists(),
                                 reason="needs the shipped checkpoints in checkpoints/")]


@pytest.fixture(scope="module")
def n4():
    model, cfg = load_checkpoint(CKPTS / "rule110-n4")
    return model, task_from_config(cfg["task"])


def page(path: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page(path)
    return at.run()


def spec(at: AppTest, key: str) -> dict:
    return json.loads(at.get_by_key(key).proto.spec)


def arr(value) -> np.ndarray:
    """A plotly array as numpy (plotly >= 6 sends numpy arrays base64-encoded)."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" not in value:                                  # 1-D arrays carry no shape
            return flat
        return flat.reshape(tuple(int(s) for s in str(value["shape"]).split(",")))
    return np.asarray(value, dtype=float)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


# ---------------------------------------------------------------------------- memory probe
def test_probe_page_draws_what_the_probe_computes(n4):
    at = page("pages/probe.py", ckpt="rule110-n4", passes=4, seed=3)
    no_exception(at)
    assert at.session_state["probe_depth"] in range(1, 9) and at.session_state["probe_layer"] == 1
    model, task = n4
    b = task.sample(1, seed=3, split="held_out", depth=at.session_state["probe_depth"])
    pr = probe.memory_probe(probe.probe_trace(model, b.tokens, b.targets, 4), 1, 0, task.vocab)
    fig = spec(at, "probe_recall")
    for h in range(2):
        np.testing.assert_allclose(arr(fig["data"][h]["z"]), pr.recall[:, :, h], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(spec(at, "probe_residual")["data"][0]["z"]), pr.residual[:, :, 0], rtol=1e-5)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Mean recall after the wake pass"] == f"{pr.mean_recall().mean(1)[0]:.2f}"
    assert metrics["… after pass 4"] == f"{pr.mean_recall().mean(1)[-1]:.2f}"
    assert at.session_state["probe_pass"] == 4


def test_probe_page_controls_change_the_view():
    at = page("pages/probe.py", ckpt="rule110-n4", passes=4)
    at.session_state["probe_depth"] = 2
    at.session_state["probe_token"] = 5
    at.session_state["probe_pass"] = 1
    at.run()
    no_exception(at)
    assert arr(spec(at, "probe_recall")["data"][0]["z"]).shape == (4, 17)
    bars = spec(at, "probe_bars")
    title = bars["layout"]["xaxis"]["title"]["text"]
    assert title.startswith("head 1: recall")
    at.session_state["passes"] = 1                                # sidebar N = 1: the wake pass only
    at.run()
    no_exception(at)
    assert arr(spec(at, "probe_recall")["data"][0]["z"]).shape == (1, 17)
    assert "N = 1" in captions(at)


def test_probe_page_explains_attention_only_checkpoints():
    at = page("pages/probe.py", ckpt="rule110-attn-evicted")
    no_exception(at)
    assert any("no fast-weight block" in i.value for i in at.info)
    at.button(key="probe_use_hybrid").click().run()
    no_exception(at)
    assert at.session_state["ckpt"] == "rule110-n4"
    assert at.get_by_key("probe_recall") is not None


# ---------------------------------------------------------------------------- amnesia test
def test_amnesia_page_shows_the_three_ways(n4):
    at = page("pages/amnesia.py", ckpt="rule110-n4", passes=4, seed=0, amn_t=5, amn_samples=8)
    no_exception(at)
    model, task = n4
    b = task.sample(1, seed=0, split="held_out", depth=5)
    am = probe.amnesia_diagrams(model, task, torch.tensor(b.raw[0]["states"]), 5, 4)
    for way in (KEPT, SLEPT, NO_SLEEP):
        z = arr(spec(at, f"amn_diagram_{way}")["data"][0]["z"])
        np.testing.assert_allclose(z, am.p1[way][0], atol=1e-5)
        assert f"**{int(am.wrong(way).sum())} wrong**" in "\n".join(c.value for c in at.caption)
    lines = {d["name"]: arr(d["y"]).tolist() for d in spec(at, "amn_errors")["data"]}
    assert lines["N passes, then cleared"] == am.errors_per_step(SLEPT)[0].tolist()
    assert lines["no sleep, cleared"] == am.errors_per_step(NO_SLEEP)[0].tolist()
    assert "attention, trained cache-kept" in lines                  # the trained cache-kept reference, on by default
    z = arr(spec(at, "amn_difference")["data"][0]["z"])
    assert (z == 2).sum() == am.saved(SLEPT, NO_SLEEP).sum() and (z == 3).sum() == am.saved(NO_SLEEP, SLEPT).sum()
    rates = spec(at, "amn_rates")["data"]
    assert len(rates) == 4 and all(len(arr(d["y"])) == 8 for d in rates)
    assert "outside what it learned" in captions(at)
    # (a) is outside training, not an upper bound (a whole-row model gets more wrong there than slept at t=8)
    assert "cache kept (outside training)" in lines and "oracle" not in captions(at).lower()


def test_amnesia_page_controls_and_n_equal_one():
    at = page("pages/amnesia.py", ckpt="rule110-n4", passes=4, amn_t=3, amn_samples=8, amn_baseline=False)
    no_exception(at)
    assert arr(spec(at, "amn_diagram_slept")["data"][0]["z"]).shape == (4, 16)
    assert len(spec(at, "amn_errors")["data"]) == 3                  # baseline switched off
    at.session_state["passes"] = 1
    at.run()
    no_exception(at)
    assert any("(b) and (c) are the same run" in i.value for i in at.info)
    b = arr(spec(at, "amn_diagram_slept")["data"][0]["z"])
    c = arr(spec(at, "amn_diagram_no_sleep")["data"][0]["z"])
    np.testing.assert_array_equal(b, c)


@pytest.mark.parametrize("ckpt, message", [("rule110-attn-kept", "attention only"),
                                           ("khop-n4", "not a one-state automaton")])
def test_amnesia_page_explains_unsuitable_checkpoints(ckpt, message):
    if not (CKPTS / ckpt / "model.safetensors").exists():
        pytest.skip(f"needs checkpoints/{ckpt}")
    at = page("pages/amnesia.py", ckpt=ckpt, amn_t=2, amn_samples=8)
    no_exception(at)
    assert any(message in i.value for i in at.info)
    at.button(key="amn_use_hybrid").click().run()
    no_exception(at)
    assert at.session_state["ckpt"] == "rule110-n4"
