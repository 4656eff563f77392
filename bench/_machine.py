"""How busy the machine is, recorded at the start and end of every benchmark (shared 2-core boxes)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def other_runnable() -> int | None:
    """Runnable tasks other than this one (Linux /proc/loadavg), the least of 10 samples over 0.5 s, a
    check on the timings (a single sample also counts short-lived processes)."""
    counts = []
    for _ in range(10):
        try:
            counts.append(int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]))
        except (OSError, ValueError, IndexError):
            return None
        time.sleep(0.05)
    return max(min(counts) - 1, 0)


def load_at_start() -> tuple[float, int | None]:
    """(1-minute load average, other runnable tasks) before measuring."""
    return os.getloadavg()[0], other_runnable()


def load_figures(threads: int, load: float, others: int | None) -> dict:
    """Check the machine again at the end (warn if busy) and return the figures every bench reports."""
    end_others = other_runnable()
    if end_others:
        print(f"WARNING: other runnable tasks at the end: {end_others}")
    return {"threads": threads, "loadavg_1m_at_start": round(load, 2), "other_runnable_at_start": others,
            "other_runnable_at_end": end_others}
