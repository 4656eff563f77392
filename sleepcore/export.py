"""What the explorer's Export menu hands out: the arrays behind a view (NPZ, CSV) and a self-contained
HTML snapshot of its figures. No streamlit here; `pages/lab.py` puts these behind download buttons.

The HTML snapshot inlines plotly.js from the installed `plotly` package, so it opens offline, years
later, with nothing fetched from the internet.
"""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone
from html import escape
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["as_array", "npz_bytes", "csv_text", "snapshot_html", "safe_name"]


def safe_name(name: str) -> str:
    """A file/array name made of [A-Za-z0-9_.-] only (what NPZ keys and file names can carry)."""
    out = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._")
    return out or "array"


def as_array(value: Any) -> np.ndarray:
    """numpy view of an array-like (torch tensors included, detached and on the CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"cannot export a ragged or object array (got dtype object, shape {arr.shape})")
    return arr


def npz_bytes(arrays: Mapping[str, Any]) -> bytes:
    """One compressed .npz with every array under its (sanitised) name; `np.load` reads it back."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{safe_name(k): as_array(v) for k, v in arrays.items()})
    return buf.getvalue()


def csv_text(value: Any) -> str:
    """A CSV of one array in long form: one column per axis index (i0, i1, ...) and a `value` column.

    Long form works for any rank (a 4-D fast-weight tensor as well as a 1-D curve) and loads straight
    into pandas / a spreadsheet; a 0-D array is one row with just `value`.
    """
    arr = as_array(value)
    idx = np.indices(arr.shape).reshape(arr.ndim, -1).T if arr.ndim else np.zeros((1, 0), dtype=int)
    flat = arr.reshape(-1)
    lines = [",".join([f"i{d}" for d in range(arr.ndim)] + ["value"])]
    fmt = (lambda v: repr(float(v))) if np.issubdtype(arr.dtype, np.floating) else str
    for row, v in zip(idx, flat):
        lines.append(",".join([*map(str, row), fmt(v)]))
    return "\n".join(lines) + "\n"


def snapshot_html(title: str, state: Mapping[str, Any], figures: Sequence[tuple[str, Any]],
                  notes: Sequence[str] = (), link: str | None = None) -> str:
    """A single HTML file with the view's settings and every figure, interactive, offline.

    Args:
        title: the view's name (page title).
        state: the settings that define the view (checkpoint, N, seed, ...), shown as a table.
        figures: (name, plotly Figure) pairs in page order.
        notes: plain-text paragraphs (e.g. the prediction shown).
        link: the app URL that reproduces the view, if known.
    """
    from plotly.offline import get_plotlyjs

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in state.items())
    parts = []
    for i, (name, fig) in enumerate(figures):
        div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig{i}",
                          config={"displaylogo": False, "responsive": True})
        parts.append(f"<section><h2>{escape(name)}</h2>{div}</section>")
    note_html = "".join(f"<p>{escape(n)}</p>" for n in notes)
    link_html = f'<p>Open this view in Sleep Lab: <code>{escape(link)}</code></p>' if link else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sleep Lab · {escape(title)}</title>
<style>
body {{font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
      color: #262730; padding: 0 1rem;}}
h1 {{color: #7b4fa3; margin-bottom: 0.2rem;}} h2 {{font-size: 1.05rem; margin: 1.6rem 0 0.3rem;}}
table {{border-collapse: collapse; margin: 0.8rem 0;}} th, td {{text-align: left; padding: 3px 12px 3px 0;}}
th {{color: #666; font-weight: 500;}} .meta {{color: #888; font-size: 0.85rem;}}
</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>{escape(title)}</h1>
<p class="meta">Snapshot from Sleep Lab, {when}. Everything needed to view it is inside this file.</p>
<table>{rows}</table>{link_html}{note_html}
{"".join(parts)}
<script type="application/json" id="sleeplab-state">{escape(json.dumps(dict(state), default=str))}</script>
</body></html>
"""
