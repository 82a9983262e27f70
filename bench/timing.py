"""How the benchmarks time ours against bare: in turn (ABAB…), so that a slow moment of the
machine (a checkpoint, autovacuum, another process) falls on both sides alike, and reported as the
median with the fastest and slowest run."""

import statistics
import time
from collections.abc import Callable


def alternating(works: dict[str, Callable], repeat: int) -> dict[str, list[float]]:
    """Runs each of `works` once per round, in order, for `repeat` rounds. A work returns the
    seconds it took (when it must leave its own setup out of the timing) or None (then the whole
    call is timed)."""
    runs: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeat):
        for name, work in works.items():
            start = time.perf_counter()
            seconds = work()
            runs[name].append(seconds if seconds is not None else time.perf_counter() - start)
    return runs


def spread(runs: list[float]) -> str:
    """ "0.512 s (0.498–0.530)": the median, then the fastest and the slowest run."""
    return f"{statistics.median(runs):.3f} s ({min(runs):.3f}–{max(runs):.3f})"
