"""How the benchmarks time ours against bare: in turn (ABAB…), so that a slow moment of the
machine (a checkpoint, autovacuum, another process) falls on both sides alike, and reported as the
median with the fastest and slowest run."""

import statistics
import time
from collections.abc import Callable


def times_itself(work: Callable[[], float]) -> Callable[[], float]:
    """Marks a work that returns its own seconds (it leaves its setup or rollback out)."""
    work.times_itself = True
    return work


def alternating(works: dict[str, Callable], repeat: int) -> dict[str, list[float]]:
    """Runs each of `works` once per round, in order, for `repeat` rounds: the seconds of each
    call, or what a work marked `times_itself` returns."""
    runs: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeat):
        for name, work in works.items():
            start = time.perf_counter()
            result = work()
            elapsed = time.perf_counter() - start
            runs[name].append(result if getattr(work, "times_itself", False) else elapsed)
    return runs


def spread(runs: list[float]) -> str:
    """ "0.512 s (0.498–0.530)": the median, then the fastest and the slowest run."""
    return f"{statistics.median(runs):.3f} s ({min(runs):.3f}–{max(runs):.3f})"
