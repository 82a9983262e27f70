"""make loadtest: the application in its production shape on this machine, under load, and what
it costs (issue 16, items 1 and 3). Top to bottom:

1. Prepare (bench/loadtest/prepare.py): make bench's 1,000,000 contacts, the import's company
   and file, the bulk move's 10,000, the load generator's configuration.
2. Start (bench/loadtest/processes.py): redis-server unless REDIS_URL is given, gunicorn with 2
   workers, a Celery worker and beat, all connected to PostgreSQL as a role like the
   application's (row-level security applies), DEBUG off.
3. Page costs: after a short warm-up, each page alone for a few seconds (locust, 4 users, no
   pause), and the CPU time the gunicorn workers and PostgreSQL used, per request served.
4. Mixed traffic for 60 s (locust, in its own process): members at screens and API clients,
   while one admin imports 100,000 rows and another moves 10,000 contacts at once.
5. Wait for the worker to catch up, then check (bench/loadtest/checks.py): funnel counts,
   the import, the bulk move, the logs.
6. Stop everything started, whatever happened. Exit non-zero if a request failed, a page
   missed its target or a check failed. The logs stay in bench-results/loadtest-<time>/.
"""

import os
import re
import signal
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from bench.loadtest import checks
from bench.loadtest.prepare import IMPORT_EXISTING, prepare
from bench.loadtest.processes import (
    App,
    cpu_times,
    cpu_used,
    locust,
    postgres_processes,
    redis_server,
)
from bench.loadtest.report import (
    PageCost,
    kinds_table,
    locust_failures,
    locust_stats,
    machine_scale,
    pages_table,
)
from bench.management.commands.bench_funnel import APP_ROLE, app_role_prepare
from integrations.services import api_token_revoke

MIXED = ["Browser", "ApiClient", "Importer", "BulkMover"]


def as_role(url: str, role: str) -> str:
    """The same database URL, each connection acting as `role` from its first statement."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("options", f"-c role={role}")]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def lines_in(path: Path) -> int:
    with path.open("rb") as log:
        return sum(1 for _line in log)


def database_is_local() -> bool:
    host = connection.settings_dict.get("HOST") or ""
    return host in ("", "127.0.0.1", "localhost", "::1") or host.startswith("/")


def stop_on_sigterm(_signum, _frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "make loadtest: gunicorn, Celery and Redis on 1M contacts under locust's load."

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=float, default=60, help="seconds of mixed load")
        parser.add_argument("--users", type=int, default=24, help="locust users, mixed load")
        parser.add_argument("--page-seconds", type=float, default=3, help="per page and round")
        parser.add_argument("--page-rounds", type=int, default=3, help="pages in turn, rounds")
        parser.add_argument("--page-users", type=int, default=4)
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--bulk-after", type=float, default=10, help="seconds into the load")
        parser.add_argument("--drain-timeout", type=float, default=300)
        parser.add_argument(
            "--pages-only", action="store_true", help="the page costs only, no mixed load"
        )

    def handle(self, *args, **options):
        signal.signal(signal.SIGTERM, stop_on_sigterm)
        say = self.stdout.write
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
        where = "this machine" if database_is_local() else connection.settings_dict["HOST"]
        say(
            f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
            f"PostgreSQL {version} on {where}"
        )
        app_role_prepare()  # the role gunicorn and Celery act as: row-level security applies
        run_dir = settings.BASE_DIR / "bench-results" / f"loadtest-{datetime.now():%Y%m%d-%H%M%S}"  # noqa: DTZ005 - a folder name
        run_dir.mkdir(parents=True)
        say(f"Preparing (logs and figures in {run_dir}) …")
        started = time.monotonic()
        plan = prepare(
            run_dir, host=f"http://127.0.0.1:{options['port']}",
            bulk_after=options["bulk_after"], say=say,
        )  # fmt: skip
        say(f"  ready in {time.monotonic() - started:.0f} s")
        try:
            with ExitStack() as stack:
                stack.callback(self.revoke, plan)
                failures = self.run(stack, plan, run_dir, options)
        except KeyboardInterrupt:
            raise CommandError("interrupted: everything it started is stopped") from None
        say("")
        if failures:
            say(f"make loadtest FAILED ({len(failures)}):")
            for failure in failures:
                say(f"  - {failure}")
            raise CommandError("see above; logs in " + str(run_dir))
        say("make loadtest passed: no error, every page within its target, every check exact.")

    def run(self, stack: ExitStack, plan, run_dir: Path, options) -> list[str]:
        say = self.stdout.write
        redis_url = os.environ.get("REDIS_URL") or stack.enter_context(redis_server(run_dir))
        env = {
            **os.environ,
            "DEBUG": "0",
            "HTTPS_ONLY": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "REDIS_URL": redis_url,
            "DATABASE_URL": as_role(os.environ["DATABASE_URL"], APP_ROLE),
            # one token stands for many clients here: its per-minute limit would refuse them
            "API_RATE_LIMIT": "1000000",
        }
        say(f"Starting gunicorn (2 workers), a Celery worker and beat, Redis at {redis_url} …")
        app = App(stack, run_dir=run_dir, env=env, port=options["port"])
        load_env = {**os.environ, "LOADTEST_CONFIG": str(run_dir / "config.json")}
        failures = []

        say("")
        say(
            f"Page costs: each page alone for {options['page_seconds']:g} s, in turn with the "
            f"others, {options['page_rounds']} rounds (so the machine's drift falls on all alike), "
            f"{options['page_users']} users without pause; CPU ms per request served, p50/p95 the "
            "median of the rounds'"
        )
        locust(run_dir, "warm-up", env={**load_env, "LOADTEST_PAGE": "*"}, users=4, seconds=5,
               host=app.url, classes=["PageUser"])  # fmt: skip
        rounds = {name: [] for name in plan.config["pages"]}
        for turn in range(options["page_rounds"]):
            for name, measured in rounds.items():
                measured.append(self.page_cost(app, run_dir, load_env, name, options, turn))
        costs = [PageCost.combined(measured) for measured in rounds.values()]
        for line in pages_table(costs):
            say(line)
        scale = machine_scale(costs)
        for cost in costs:
            if not cost.within(scale):
                failures.append(
                    f"page {cost.name}: {cost.web_ms:.2f} ms of CPU per request"
                    + (f" (target ≤ {cost.target:g} × {scale:.2f})" if cost.target else "")
                    + (f", {cost.failures} errors" if cost.failures else "")
                )

        if options["pages_only"]:
            return failures

        say("")
        say(
            f"Mixed traffic: {options['users']} users for {options['duration']:g} s, with a "
            f"100,000-row import and a 10,000-contact bulk move ({plan.bulk_from} → "
            f"{plan.bulk_to}) …"
        )
        since = timezone.now()
        groups = {
            "gunicorn": app.web_workers,
            "Celery": lambda: app.worker.processes() + app.beat.processes(),
            "PostgreSQL": postgres_processes,
        }
        before = {name: cpu_times(find()) for name, find in groups.items()}
        machine = psutil.cpu_times()
        prefix, load_cpu = locust(run_dir, "mixed", env=load_env, users=options["users"],
                        seconds=options["duration"], host=app.url, classes=MIXED,
                        spawn_rate=4)  # fmt: skip
        used = {name: cpu_used(before[name], cpu_times(find())) for name, find in groups.items()}
        after = psutil.cpu_times()
        idle = after.idle + after.iowait - machine.idle - machine.iowait
        busy = 1 - idle / (sum(after) - sum(machine))
        kinds = locust_stats(prefix)
        for line in kinds_table(kinds):
            say(line)
        say(
            "  CPU seconds used meanwhile: "
            + ", ".join(f"{name} {seconds:.0f}" for name, seconds in used.items())
            + f", locust {load_cpu:.0f}; the machine {busy:.0%} busy"
        )
        errors = kinds["all"].failures + sum(c.failures for c in costs)
        say(f"  errors: {errors}")
        for failure in locust_failures(prefix):
            say(f"    {failure}")
        if kinds["all"].failures:
            failures.append(f"{kinds['all'].failures} requests failed under mixed load")

        say("")
        say("After the load: waiting for the worker to catch up …")
        try:
            waited = checks.wait_until_idle(
                plan, redis_url, since=since, timeout=options["drain_timeout"], say=say
            )
            say(f"  idle after {waited:.0f} s")
        except TimeoutError as error:
            failures.append(str(error))
        tenants = [tenant for tenant, _admin in plan.companies] + [plan.import_tenant]
        results = [
            checks.funnel_check(tenants),
            checks.import_check(plan, since, existing=IMPORT_EXISTING),
            checks.bulk_check(plan, since),
        ]
        lines, found, excerpts = checks.logs_check(app)
        results.append((lines, found))
        for lines, found in results:
            for line in lines:
                say(line)
            failures += found
        for excerpt in excerpts:
            say(excerpt)
        return failures

    def page_cost(self, app, run_dir: Path, env: dict, name: str, options, turn: int) -> PageCost:
        """One page alone: CPU the gunicorn workers (and PostgreSQL) used, per request served."""
        local = database_is_local()
        web, db = cpu_times(app.web_workers()), cpu_times(postgres_processes())
        served = lines_in(app.access_log)
        prefix, load_cpu = locust(
            run_dir, f"page-{turn}-" + re.sub(r"\W+", "-", name),
            env={**env, "LOADTEST_PAGE": name},
            users=options["page_users"], seconds=options["page_seconds"], host=app.url,
            classes=["PageUser"],
        )  # fmt: skip
        time.sleep(0.5)  # the last answers are written to the log
        served = lines_in(app.access_log) - served
        web_used = cpu_used(web, cpu_times(app.web_workers()))
        db_used = cpu_used(db, cpu_times(postgres_processes())) if local else None
        kind = locust_stats(prefix)[name]
        return PageCost(
            name=name, served=served, seconds=options["page_seconds"], web_s=web_used,
            db_s=db_used, p50=kind.p50, p95=kind.p95, failures=kind.failures, load_s=load_cpu,
        )  # fmt: skip

    def revoke(self, plan) -> None:
        for token in plan.tokens:
            api_token_revoke(token=token, actor=None)
