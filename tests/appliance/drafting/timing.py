"""Timing a drafting stage on hostile text, for the tests that guard against blow-ups.

A pattern that backtracks, or a loop that rescans, is slow on every run; a shared 2-core CI
machine is also slow now and then, for reasons of its own (a pause of the VM, the collector, a
neighbour's burst). So a stage is run again, up to ATTEMPTS times, while it is over its limit,
and its fastest run is what is judged: a blow-up still fails, a pause does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

ATTEMPTS = 3


def fastest_run(limit: float, run: Callable[..., Any], *args: Any) -> float:
    """The fastest of up to ATTEMPTS runs of `run(*args)`, in seconds: stops at the first one
    under `limit`."""
    fastest = float("inf")
    for _ in range(ATTEMPTS):
        started = time.perf_counter()
        run(*args)
        fastest = min(fastest, time.perf_counter() - started)
        if fastest < limit:
            break
    return fastest
