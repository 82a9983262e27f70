"""The processes make loadtest starts and always stops: redis-server (when REDIS_URL is not
given and one is installed), gunicorn with 2 workers, a Celery worker and beat, and each locust
run. Each runs in a process group of its own, its output in a log file of the run's folder, and
is stopped by its own id (SIGTERM to its group, SIGKILL after a grace period), on success,
failure or Ctrl-C alike. Also: the CPU time a set of processes used, for the cost per request."""

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import psutil
import redis
from celery import Celery
from django.conf import settings
from django.core.management.base import CommandError

BIN = Path(sys.executable).parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
GUNICORN_WORKERS = 2  # one per core of the machine it was written for
ACCESS_FORMAT = "%(s)s %(M)s %(m)s %(U)s"  # status, milliseconds, method, path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Started:
    """One process of ours and its children (its own process group), logging to `log`."""

    def __init__(self, name: str, argv: list[str], *, env: dict, log: Path):
        self.name, self.log = name, log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            argv, env=env, cwd=settings.BASE_DIR, stdout=self._out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def processes(self) -> list[psutil.Process]:
        """This process and every child it has now."""
        try:
            main = psutil.Process(self.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, grace: float = 20) -> None:
        if self.alive():
            with suppress(ProcessLookupError):  # ended by itself
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):  # ended by itself
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait()
        self._out.close()


@contextmanager
def started(name: str, argv: list[str], *, env: dict, log: Path) -> Iterator[Started]:
    process = Started(name, argv, env=env, log=log)
    try:
        yield process
    finally:
        process.stop()


def wait_for(what: str, ready: Callable[[], bool], *, timeout: float, process: Started) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not process.alive():
            raise CommandError(f"{what} stopped while starting: see {process.log}")
        if time.monotonic() > deadline:
            raise CommandError(f"{what} was not ready after {timeout:.0f} s: see {process.log}")
        time.sleep(0.2)


def _answers(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our http URL
                return response.status == 200
        except OSError:
            return False

    return ready


def _pings(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    return ready


def broker(url: str) -> Celery:
    """A bare Celery client of the broker, to ask the worker what it is doing."""
    return Celery(broker=url)


@contextmanager
def redis_server(run_dir: Path) -> Iterator[str]:
    """A redis-server of our own on a free port, nothing saved; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise CommandError("set REDIS_URL, or install redis-server (apt-get install redis-server)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--dir", str(run_dir)]  # fmt: skip
    with started("redis-server", argv, env=dict(os.environ), log=run_dir / "redis.log") as server:
        url = f"redis://127.0.0.1:{port}/0"
        wait_for("redis-server", _pings(url), timeout=10, process=server)
        yield url


class App:
    """The application as production runs it: gunicorn, a Celery worker and beat."""

    def __init__(self, stack: ExitStack, *, run_dir: Path, env: dict, port: int):
        if port_taken(port):
            raise CommandError(f"port {port} is taken: choose another with --port")
        self.url = f"http://127.0.0.1:{port}"
        self.access_log = run_dir / "gunicorn-access.log"
        self.error_log = run_dir / "gunicorn.log"
        self.worker_log = run_dir / "celery-worker.log"
        self.beat_log = run_dir / "celery-beat.log"
        # started in this order, stopped in the reverse one (the ExitStack): web first
        self.worker = stack.enter_context(started(
            "celery worker",
            [str(BIN / "celery"), "-A", "crm", "worker", "--loglevel=info", "--concurrency=2"],
            env=env, log=self.worker_log,
        ))  # fmt: skip
        self.beat = stack.enter_context(started(
            "celery beat",
            [str(BIN / "celery"), "-A", "crm", "beat", "--loglevel=info",
             "--schedule", str(run_dir / "celerybeat-schedule")],
            env=env, log=self.beat_log,
        ))  # fmt: skip
        self.web = stack.enter_context(started(
            "gunicorn",
            [str(BIN / "gunicorn"), "crm.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(GUNICORN_WORKERS), "--access-logfile", str(self.access_log),
             "--access-logformat", ACCESS_FORMAT, "--error-logfile", str(self.error_log),
             "--no-control-socket"],
            env=env, log=run_dir / "gunicorn-stdout.log",
        ))  # fmt: skip
        wait_for("gunicorn", _answers(f"{self.url}/accounts/login/"), timeout=60, process=self.web)
        celery = broker(env["REDIS_URL"])
        wait_for("the Celery worker", lambda: bool(celery.control.ping(timeout=1)), timeout=60,
                 process=self.worker)  # fmt: skip
        if not self.beat.alive():
            raise CommandError(f"celery beat stopped: see {self.beat_log}")

    def web_workers(self) -> list[psutil.Process]:
        return self.web.processes()[1:]  # the master only hands out connections


def locust(run_dir: Path, name: str, *, env: dict, users: int, seconds: float, host: str,
           classes: list[str], spawn_rate: float | None = None) -> tuple[Path, float]:  # fmt: skip
    """One headless locust run; returns the prefix of its files (…json: its figures, written
    once every user has stopped; …_failures.csv: what failed) and the CPU seconds it used
    itself (it shares the machine with what it measures)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    prefix = run_dir / f"locust-{name}"
    argv = [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", host,
            "--users", str(users), "--spawn-rate", str(spawn_rate or users),
            "--run-time", f"{seconds:g}s", "--stop-timeout", "10", "--csv", str(prefix),
            "--json-file", str(prefix), "--only-summary", "--loglevel", "WARNING",
            *classes]  # fmt: skip
    with started(f"locust {name}", argv, env=env, log=run_dir / f"locust-{name}.log") as run:
        try:
            run.popen.wait(seconds + 60)
        except subprocess.TimeoutExpired:
            raise CommandError(f"locust {name} did not end: see {run.log}") from None
    if not Path(f"{prefix}.json").exists():
        raise CommandError(f"locust {name} wrote no figures: see {run_dir}/locust-{name}.log")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run, now waited for
    return prefix, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def postgres_processes() -> list[psutil.Process]:
    """Every PostgreSQL process on this machine (server, backends, autovacuum, WAL writer)."""
    return [
        p for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster")
    ]


def cpu_times(processes: list[psutil.Process]) -> dict[int, float]:
    """Seconds of CPU (user + system) each process has used so far, by pid."""
    used = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        used[process.pid] = times.user + times.system
    return used


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two samples; a process started meanwhile counts in full."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
