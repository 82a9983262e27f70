"""The figures make loadtest prints: locust's per-kind statistics as a table,
and the page-cost table of the one-page runs against their targets."""

import csv
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

# CPU ms per request of the gunicorn workers (issue 16, item 3); the login page is the floor.
# They were set on a machine whose login page cost REFERENCE_LOGIN_MS: the virtual machines
# here run from 1× to 2.5× that, every page alike, so each budget is scaled by the login page
# measured in the same rounds (the table prints the bare budget, the scale and the result).
REFERENCE_LOGIN_MS = 1.4
PAGE_TARGETS = {
    "dashboard": 5.0,
    "list": 12.0,
    "list, stage + tag": 12.0,
    "contact page": 8.0,
    "board": 15.0,
    "api list": 12.0,
    "search": None,  # no target: shown for what it costs
    "login page": None,
}


@dataclass
class Kind:
    name: str
    requests: int
    failures: int
    per_second: float
    p50: float
    p95: float
    p99: float


def percentile(times: dict[str, int], share: float) -> float:
    """The response time (ms, as locust rounds it) below which `share` of the requests fall."""
    total = sum(times.values())
    seen = 0
    for time, count in sorted((float(t), n) for t, n in times.items()):
        seen += count
        if seen >= share * total:
            return time
    return 0.0


def locust_stats(prefix: Path) -> dict[str, Kind]:
    """Each request kind of a locust run, and "all" of them, from its JSON file (written after
    every user stopped: the CSV files are written every second and may miss the last)."""
    entries = json.loads(Path(f"{prefix}.json").read_text())
    if not entries:
        return {}
    seconds = max(max(e["last_request_timestamp"] or 0 for e in entries)
                  - min(e["start_time"] for e in entries), 1)  # fmt: skip
    everything: dict[str, int] = {}
    for entry in entries:
        for time, count in entry["response_times"].items():
            everything[time] = everything.get(time, 0) + count
    combined = [*entries, {"name": "all", "response_times": everything,
                           "num_requests": sum(e["num_requests"] for e in entries),
                           "num_failures": sum(e["num_failures"] for e in entries)}]  # fmt: skip
    return {
        entry["name"]: Kind(
            name=entry["name"],
            requests=entry["num_requests"],
            failures=entry["num_failures"],
            per_second=entry["num_requests"] / seconds,
            p50=percentile(entry["response_times"], 0.50),
            p95=percentile(entry["response_times"], 0.95),
            p99=percentile(entry["response_times"], 0.99),
        )
        for entry in combined
    }


def locust_failures(prefix: Path) -> list[str]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open() as failures:
        return [f"{row['Occurrences']}× {row['Method']} {row['Name']}: {row['Error']}"
                for row in csv.DictReader(failures)]  # fmt: skip


def kinds_table(kinds: dict[str, Kind]) -> list[str]:
    lines = [f"  {'kind':<18} {'requests':>8} {'errors':>6} {'req/s':>7} "
             f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"]  # fmt: skip
    order = sorted((k for k in kinds.values() if k.name != "all"), key=lambda k: k.name)
    for kind in [*order, *([kinds["all"]] if "all" in kinds else [])]:
        lines.append(
            f"  {kind.name:<18} {kind.requests:>8,} {kind.failures:>6} {kind.per_second:>7.1f} "
            f"{kind.p50:>7.0f} {kind.p95:>7.0f} {kind.p99:>7.0f}"
        )
    return lines


@dataclass
class PageCost:
    """One page alone for a while (or several whiles, combined): what it cost per request."""

    name: str
    served: int  # requests the server logged in the window(s)
    seconds: float
    web_s: float  # CPU seconds the gunicorn workers used
    db_s: float | None  # PostgreSQL's, when it runs on this machine
    p50: float
    p95: float
    failures: int
    load_s: float  # locust's own, on the same cores

    @classmethod
    def combined(cls, rounds: list["PageCost"]) -> "PageCost":
        """The rounds of one page as one: sums, and the median of their percentiles."""
        dbs = [r.db_s for r in rounds]
        return cls(
            name=rounds[0].name, served=sum(r.served for r in rounds),
            seconds=sum(r.seconds for r in rounds), web_s=sum(r.web_s for r in rounds),
            db_s=None if None in dbs else sum(dbs),
            p50=statistics.median(r.p50 for r in rounds),
            p95=statistics.median(r.p95 for r in rounds),
            failures=sum(r.failures for r in rounds), load_s=sum(r.load_s for r in rounds),
        )  # fmt: skip

    def _per_request(self, seconds: float) -> float:
        return seconds * 1000 / max(self.served, 1)

    @property
    def per_second(self) -> float:
        return self.served / self.seconds if self.seconds else 0.0

    @property
    def web_ms(self) -> float:  # gunicorn workers' CPU per request
        return self._per_request(self.web_s)

    @property
    def db_ms(self) -> float | None:
        return self._per_request(self.db_s) if self.db_s is not None else None

    @property
    def load_ms(self) -> float:
        return self._per_request(self.load_s)

    @property
    def target(self) -> float | None:
        return PAGE_TARGETS.get(self.name)

    def budget(self, scale: float) -> float | None:
        """The target on this machine: scaled by machine_scale."""
        return None if self.target is None else self.target * scale

    def within(self, scale: float) -> bool:
        budget = self.budget(scale)
        return self.failures == 0 and (budget is None or self.web_ms <= budget)


def machine_scale(costs: list[PageCost]) -> float:
    """How much this machine's login page costs beside the one the budgets were set on."""
    floor = next((c.web_ms for c in costs if c.name == "login page"), None)
    return floor / REFERENCE_LOGIN_MS if floor else 1.0


def pages_table(costs: list[PageCost]) -> list[str]:
    floor = next((c.web_ms for c in costs if c.name == "login page"), None)
    scale = machine_scale(costs)
    lines = [f"  {'page':<18} {'requests':>8} {'req/s':>6} {'web CPU':>8} {'× login':>7} "
             f"{'db CPU':>8} {'locust':>8} {'p50 ms':>6} {'p95 ms':>6}   "
             f"target (web CPU ms, × {scale:.2f}: this machine's login page ÷ "
             f"{REFERENCE_LOGIN_MS} ms)"]  # fmt: skip
    for cost in costs:
        times = f"{cost.web_ms / floor:6.1f}×" if floor else "    n/a"
        db = f"{cost.db_ms:5.2f}" if cost.db_ms is not None else "  n/a"
        if cost.name == "login page":
            verdict = "no target: the framework's floor"
        elif cost.target is None:
            verdict = "no target"
        else:
            verdict = (f"≤ {cost.target:g} × {scale:.2f} = {cost.budget(scale):.1f}: "
                       + ("within" if cost.within(scale) else "OVER"))  # fmt: skip
        if cost.failures:
            verdict += f", {cost.failures} errors"
        lines.append(
            f"  {cost.name:<18} {cost.served:>8,} {cost.per_second:>6.0f} {cost.web_ms:>5.2f} ms"
            f" {times} {db} ms {cost.load_ms:>5.2f} ms {cost.p50:>6.0f} {cost.p95:>6.0f}"
            f"   {verdict}"
        )
    return lines
