"""Helpers every latency benchmark here shares: a timestamped log on stderr, percentiles of
timings, and waiting for a quiet machine before measuring."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime

import numpy as np


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def summarize(milliseconds: Sequence[float]) -> dict[str, float | int]:
    """calls, p50/p95/p99/max/mean of timings in milliseconds (rounded to 0.01 ms)."""
    values = np.asarray(milliseconds, dtype=float)
    return {
        "calls": len(values),
        "p50Ms": round(float(np.percentile(values, 50)), 2),
        "p95Ms": round(float(np.percentile(values, 95)), 2),
        "p99Ms": round(float(np.percentile(values, 99)), 2),
        "maxMs": round(float(values.max()), 2),
        "meanMs": round(float(values.mean()), 2),
    }


def wait_for_quiet(max_load: float, wait: float, poll_seconds: float = 30.0) -> list[float]:
    """Wait until the 1-minute load average is below ``max_load`` (at most ``wait`` seconds);
    returns the load averages (1, 5, 15 min) when measuring starts."""
    deadline = time.monotonic() + wait
    while True:
        load = os.getloadavg()
        if load[0] < max_load or time.monotonic() >= deadline:
            return [round(x, 2) for x in load]
        log(f"load average {load[0]:.2f} >= {max_load}: waiting")
        time.sleep(poll_seconds)
