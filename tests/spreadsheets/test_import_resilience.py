"""An import is never stuck: an operator kills the worker or drops the database connections
mid-import, and the import finishes by itself, exact; when it cannot, it says why and a
"continue" button finishes it, exact."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.celery import app as celery_app
from crm.models import Contact
from crm.services import ServiceError
from spreadsheets import tasks
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import runs as import_runs
from spreadsheets.models import ImportChunk, ImportJob
from tests.conftest import APP_ROLE, eventually

ROOT = Path(__file__).resolve().parents[2]


class WorkerKilled(BaseException):
    """What a kill -9 looks like from inside: the run just ends, nothing after it runs."""


def uploaded(tenant, marketer, rows: int) -> ImportJob:
    """A spreadsheet of `rows` different people, uploaded: its columns still to choose."""
    lines = "".join(f"客户{i},1390000{i:04d}\n" for i in range(rows))
    content = ("姓名,手机\n" + lines).encode()
    return imports.import_start(tenant=tenant, actor=marketer, file_name="客户.csv",
                                content=content, language="en")  # fmt: skip


def queued(tenant, marketer, rows: int) -> ImportJob:
    """The same, its columns chosen: queued, not yet run."""
    job = uploaded(tenant, marketer, rows)
    job.mapping = {"0": "name", "1": "phone"}
    job.status = ImportJob.QUEUED
    job.save(update_fields=["mapping", "status"])
    return job


def assert_exact(tenant, job_id: int, rows: int) -> ImportJob:
    job = imports.import_progress(job=ImportJob.objects.for_tenant(tenant).get(pk=job_id))
    people = Contact.objects.for_tenant(tenant)
    assert (job.status, job.failure) == ("done", "")
    assert (job.total, job.done, job.created, job.failed) == (rows, rows, rows, 0)
    assert people.count() == rows  # nobody twice
    assert people.values("phone").distinct().count() == rows
    return job


def terminate_other_connections() -> int:
    """What an operator (or a failover) does: every connection to this database is dropped,
    from a connection of its own."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as admin:
        return admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def failing_on(calls: set[int], error: BaseException, *, before=None):
    """apply_chunk, raising `error` on the given calls (1 = the first chunk applied)."""
    real = imports.apply_chunk
    seen = {"n": 0}

    def apply(*args, **kwargs):
        seen["n"] += 1
        if seen["n"] in calls:
            if before:
                before()
            else:
                raise error
        return real(*args, **kwargs)

    return apply


# --- database connections dropped mid-import ------------------------------------------------


@pytest.mark.django_db(transaction=True)  # chunks side by side, each on a connection of its own
def test_database_connections_dropped_mid_chunk_are_retried_and_the_import_finishes_exact(
    tenant, marketer, monkeypatch
):
    monkeypatch.setattr(imports, "CHUNK", 50)
    job = queued(tenant, marketer, 500)
    dropped = {}

    def drop() -> None:
        dropped["n"] = terminate_other_connections()

    apply = failing_on({4}, None, before=drop)
    with mock.patch.object(imports, "apply_chunk", apply):
        tasks.run_import.delay(tenant.pk, job.pk)
    assert dropped["n"] >= 2  # the chunks' connections and the run's own
    job = assert_exact(tenant, job.pk, 500)
    assert job.attempts == 2  # the first run, cut off, and the retry that finished it
    numbers = (
        ImportChunk.objects.for_tenant(tenant).filter(job=job).values_list("number", flat=True)
    )
    assert sorted(numbers) == list(range(10))  # each chunk applied once


def test_when_the_database_stays_away_the_import_stops_with_a_reason_and_continue_finishes_it(
    tenant, marketer, marketer_client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(imports, "CHUNK", 100)
    job = queued(tenant, marketer, 450)
    lost = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    # chunks 1 and 2 land, then every try fails: the first run and each of its retries
    apply = failing_on(set(range(3, 100)), lost)
    with mock.patch.object(imports, "apply_chunk", apply):
        tasks.run_import.delay(tenant.pk, job.pk)
    job = imports.import_progress(job=ImportJob.objects.for_tenant(tenant).get(pk=job.pk))
    assert (job.status, job.failure) == ("failed", "database")  # stopped, not "running"
    assert job.attempts == 1 + len(tasks.RETRY_IN)
    assert (job.done, Contact.objects.for_tenant(tenant).count()) == (200, 200)  # kept

    detail = reverse("import_detail", args=[tenant.slug, job.pk])
    page = marketer_client.get(detail).content.decode()
    assert "Stopped" in page
    assert "The connection to the database was lost several times in a row" in page
    assert reverse("import_continue", args=[tenant.slug, job.pk]) in page
    assert "hx-trigger" not in page  # a stopped import is not polled

    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(reverse("import_continue", args=[tenant.slug, job.pk]))
    assert response.status_code == 302 and response.url == detail
    job = assert_exact(tenant, job.pk, 450)
    assert "Done" in marketer_client.get(detail).content.decode()


# --- every other failure stops the import with a reason ---------------------------------------


@pytest.mark.parametrize(
    ("error", "failure", "reason"),
    [
        (RuntimeError("a bug"), "unexpected", "Something went wrong on our side"),
        (SoftTimeLimitExceeded(), "time_limit", "The import took longer than allowed"),
        (ServiceError("This Excel file cannot be read."), "unreadable",
         "The rest of the file could not be read"),
    ],
)  # fmt: skip
def test_an_import_that_fails_stops_with_a_reason_never_left_running(
    tenant, marketer, monkeypatch, error, failure, reason
):
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = queued(tenant, marketer, 30)
    with mock.patch.object(imports, "apply_chunk", failing_on({2}, error)):
        tasks.run_import.delay(tenant.pk, job.pk)  # logged, not raised at whoever queued it
    job = imports.import_progress(job=ImportJob.objects.for_tenant(tenant).get(pk=job.pk))
    assert (job.status, job.failure, job.attempts) == ("failed", failure, 1)  # not retried
    assert reason in import_runs.failure_shown(job)
    assert job.done == 10 and Contact.objects.for_tenant(tenant).count() == 10


def test_a_file_that_stops_being_readable_midway_stops_the_import_with_a_reason(
    tenant, marketer, monkeypatch
):
    job = queued(tenant, marketer, 30)
    real = imports.data_rows

    def breaks_after_ten(*args, **kwargs):
        for i, row in enumerate(real(*args, **kwargs)):
            if i == 10:
                raise ServiceError("Row 12 cannot be read.")
            yield row

    monkeypatch.setattr(imports, "data_rows", breaks_after_ten)
    tasks.run_import.delay(tenant.pk, job.pk)
    job = ImportJob.objects.for_tenant(tenant).get(pk=job.pk)
    assert (job.status, job.failure) == ("failed", "unreadable")
    # its page says why, and no longer that it is counting rows
    client = Client()
    client.force_login(marketer.user)
    page = client.get(reverse("import_detail", args=[tenant.slug, job.pk])).content.decode()
    assert import_runs.failure_shown(job) in page
    assert "counting" not in page and "<progress" not in page


def test_nul_bytes_in_a_file_never_freeze_an_import(tenant, marketer):
    content = "姓名,手机\n张三,13900000001\n李\x00四,13900000002\n王五,139\x0000000003\n".encode()
    try:
        job = imports.import_start(tenant=tenant, actor=marketer, file_name="nul.csv",
                                   content=content, language="en")  # fmt: skip
    except ServiceError:
        return  # refused at upload with a message: nothing to freeze
    job.mapping = {"0": "name", "1": "phone"}
    job.status = ImportJob.QUEUED
    job.save(update_fields=["mapping", "status"])
    tasks.run_import.delay(tenant.pk, job.pk)
    job = ImportJob.objects.for_tenant(tenant).get(pk=job.pk)
    assert job.status in ("done", "failed")
    if job.status == "failed":
        assert import_runs.failure_shown(job)


def test_an_import_that_keeps_killing_its_worker_is_stopped_rather_than_run_forever(
    tenant, marketer
):
    job = queued(tenant, marketer, 3)
    ImportJob.objects.filter(pk=job.pk).update(status="running", attempts=import_runs.MAX_RUNS)
    tasks.run_import.delay(tenant.pk, job.pk)
    job = ImportJob.objects.for_tenant(tenant).get(pk=job.pk)
    assert (job.status, job.failure) == ("failed", "interrupted")
    assert Contact.objects.for_tenant(tenant).count() == 0
    assert "interrupted too many times" in import_runs.failure_shown(job)


# --- one run at a time, and it beats -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the second delivery comes from another connection
def test_a_second_delivery_while_the_import_runs_leaves_quietly(tenant, marketer, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 20)
    job = queued(tenant, marketer, 100)
    second = {}

    def redelivered():  # while chunk 2 is applied, the same message comes again
        again = ImportJob.objects.for_tenant(tenant).get(pk=job.pk)
        second["job"] = imports.import_run(job=again)
        second["chunks"] = ImportChunk.objects.for_tenant(tenant).filter(job=job).count()

    with mock.patch.object(imports, "apply_chunk", failing_on({2}, None, before=redelivered)):
        tasks.run_import.delay(tenant.pk, job.pk)
    assert second["job"].attempts == 1  # untouched: it did not start a run of its own
    assert second["chunks"] <= 2
    job = assert_exact(tenant, job.pk, 100)
    assert job.attempts == 1


def test_a_running_import_beats_after_every_chunk(tenant, marketer, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = queued(tenant, marketer, 40)
    beats = []
    real = imports.apply_chunk

    def watch(*args, **kwargs):
        beats.append(ImportJob.objects.for_tenant(tenant).get(pk=job.pk).heartbeat_at)
        return real(*args, **kwargs)

    with mock.patch.object(imports, "apply_chunk", watch):
        imports.import_run(job=job)
    assert len(beats) == 4 and all(beats)
    assert beats == sorted(set(beats))  # a new beat before each chunk after the first


def test_a_long_read_beats_too(tenant, marketer, monkeypatch):
    job = queued(tenant, marketer, 5)
    monkeypatch.setattr(import_runs, "BEAT_EVERY", 0)
    with mock.patch.object(import_runs, "run_beat", wraps=import_runs.run_beat) as beat:
        imports.import_run(job=job)
    assert beat.call_count >= 5  # after each row read (BEAT_EVERY 0)


# --- the backstop ------------------------------------------------------------------------------


def stalled(tenant, marketer, *, ago: timedelta, status="running", rows=3) -> ImportJob:
    job = queued(tenant, marketer, rows)
    ImportJob.objects.filter(pk=job.pk).update(status=status, heartbeat_at=timezone.now() - ago)
    job.refresh_from_db()
    return job


def test_the_backstop_requeues_imports_whose_beat_stopped_and_leaves_beating_ones(
    tenant, marketer, outsider, monkeypatch, django_capture_on_commit_callbacks
):
    dead = stalled(tenant, marketer, ago=timedelta(minutes=2))
    lost_message = stalled(tenant, marketer, ago=timedelta(minutes=5), status="queued")
    beating = stalled(tenant, marketer, ago=timedelta(seconds=10))
    done = stalled(tenant, marketer, ago=timedelta(hours=1), status="done")
    failed = stalled(tenant, marketer, ago=timedelta(hours=1), status="failed")
    elsewhere = stalled(outsider.tenant, outsider, ago=timedelta(minutes=2))
    sent = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        requeued = import_runs.imports_requeue_stalled(tenant=tenant)
    assert sorted(requeued) == sorted([dead.pk, lost_message.pk])
    assert sorted(sent) == sorted([(tenant.pk, dead.pk), (tenant.pk, lost_message.pk)])
    untouched = ImportJob.objects.get(pk=elsewhere.pk)
    assert untouched.heartbeat_at < timezone.now() - timedelta(minutes=1)  # not this company's
    for job in (beating, done, failed):
        assert ImportJob.objects.get(pk=job.pk).heartbeat_at == job.heartbeat_at  # left alone
    # re-queued once per minute at most, however often the backstop looks
    with django_capture_on_commit_callbacks(execute=True):
        assert import_runs.imports_requeue_stalled(tenant=tenant) == []


def test_the_beat_backstop_runs_every_minute_for_every_company(
    tenant, marketer, outsider, monkeypatch, django_capture_on_commit_callbacks
):
    schedule = {e["task"]: e["schedule"] for e in celery_app.conf.beat_schedule.values()}
    assert schedule["tagging.tasks.requeue_stalled_imports"] == 60
    ours = stalled(tenant, marketer, ago=timedelta(minutes=2))
    theirs = stalled(outsider.tenant, outsider, ago=timedelta(minutes=2))
    sent = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.requeue_stalled_imports()
    assert sorted(sent) == sorted([(tenant.pk, ours.pk), (outsider.tenant_id, theirs.pk)])


def test_a_killed_workers_import_is_finished_by_the_backstop_exact(
    tenant, marketer, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = queued(tenant, marketer, 45)
    # the worker dies after two chunks: no exception, no goodbye, the job left "running"
    with (
        mock.patch.object(imports, "apply_chunk", failing_on({3}, WorkerKilled())),
        pytest.raises(WorkerKilled),
    ):
        imports.import_run(job=job)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", failure="", heartbeat_at=timezone.now() - timedelta(seconds=90)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert import_runs.imports_requeue_stalled(tenant=tenant) == [job.pk]
    job = assert_exact(tenant, job.pk, 45)
    assert job.attempts == 2


# --- "continue": who may, and only a stopped import ----------------------------------------------


def stopped(tenant, marketer) -> ImportJob:
    job = queued(tenant, marketer, 3)
    import_runs.run_fail(job=job, failure="database")
    return job


def test_continue_is_refused_to_sales_and_other_companies_and_changes_nothing(
    tenant, marketer, sales_client, outsider, outsider_client
):
    job = stopped(tenant, marketer)
    url = reverse("import_continue", args=[tenant.slug, job.pk])
    assert sales_client.post(url).status_code == 403
    rival = reverse("import_continue", args=[outsider.tenant.slug, job.pk])
    assert outsider_client.post(rival).status_code == 404
    assert ImportJob.objects.get(pk=job.pk).status == "failed"
    assert Contact.objects.for_tenant(tenant).count() == 0


def test_continue_needs_the_pages_csrf_token_and_a_post(tenant, marketer, admin):
    job = stopped(tenant, marketer)
    url = reverse("import_continue", args=[tenant.slug, job.pk])
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    assert client.post(url).status_code == 403
    assert client.get(url).status_code == 405
    assert ImportJob.objects.get(pk=job.pk).status == "failed"


def test_continue_on_an_import_that_has_not_stopped_says_so(
    tenant, marketer, marketer_client, django_capture_on_commit_callbacks
):
    job = queued(tenant, marketer, 2)
    imports.import_run(job=job)
    url = reverse("import_continue", args=[tenant.slug, job.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = marketer_client.post(url, follow=True)
    assert callbacks == []
    assert "This import has not stopped: there is nothing to continue." in response.content.decode()
    assert ImportJob.objects.get(pk=job.pk).status == "done"


def test_the_import_list_shows_a_stopped_import(tenant, marketer, marketer_client):
    stopped(tenant, marketer)
    page = marketer_client.get(reverse("import_list", args=[tenant.slug])).content.decode()
    assert "Stopped" in page


def test_a_running_import_is_polled_and_a_done_one_is_not(tenant, marketer, marketer_client):
    job = queued(tenant, marketer, 2)
    url = reverse("import_detail", args=[tenant.slug, job.pk])
    assert "hx-trigger" in marketer_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    imports.import_run(job=job)
    assert "hx-trigger" not in marketer_client.get(url, HTTP_HX_REQUEST="true").content.decode()


def test_the_broker_hands_a_lost_message_out_again_in_minutes_and_imports_have_time_limits():
    assert celery_app.conf.broker_transport_options["visibility_timeout"] <= 5 * 60
    assert celery_app.conf.task_acks_late and celery_app.conf.task_reject_on_worker_lost
    assert celery_app.conf.task_time_limit and celery_app.conf.task_soft_time_limit
    run = tasks.run_import
    assert run.soft_time_limit < run.time_limit
    # every pause before a retry is shorter than the visibility timeout
    assert max(tasks.RETRY_IN) < celery_app.conf.broker_transport_options["visibility_timeout"]


# --- a real worker, killed with kill -9 mid-import (PostgreSQL and Redis) ----------------------


class Workers:
    """Real `celery worker` processes on the test database, each in a process group of its own
    so that kill -9 takes the whole worker."""

    def __init__(self, queue: str, app_url: str, logs: Path):
        self.queue, self.app_url, self.logs, self.running = queue, app_url, logs, []

    def start(self) -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": self.app_url, "DATABASE_OWNER_URL": self.app_url,
               "IMPORT_TEST_ROLE": APP_ROLE, "IMPORT_TEST_CHUNK": "30",
               "IMPORT_TEST_PAUSE": "0.3"}  # fmt: skip
        log = (self.logs / f"worker-{len(self.running)}.log").open("wb")
        worker = subprocess.Popen(  # noqa: S603 - our own module, our own arguments
            [sys.executable, "-m", "tests.spreadsheets.import_worker", self.queue],
            cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.running.append(worker)
        return worker

    def log(self) -> str:
        """The workers' own words, for a failing assertion."""
        return "\n".join(path.read_text()[-3000:] for path in sorted(self.logs.glob("*.log")))

    def kill_9(self, worker: subprocess.Popen) -> None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    def stop_all(self) -> None:
        for worker in self.running:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=10)


def _forget_queue(queue: str) -> None:
    """The killed worker's message waits, unacknowledged, for the visibility timeout: drop it
    and the queue, so no later worker receives it."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for tag, raw in client.hgetall("unacked").items():
        if json.loads(raw)[2] == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.delete(queue)


@pytest.fixture
def workers(settings, tmp_path, app_role_granted):
    """Workers connect as a role like the application's: row-level security applies to them."""
    queue = f"funnel-crm-tests-imports-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    app_url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}"
               f":{db['PORT'] or 5432}/{db['NAME']}")  # fmt: skip
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    running = Workers(queue, app_url, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
        _forget_queue(queue)
        celery_app.conf.task_default_queue = default_queue
        celery_app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)  # the workers, other processes, must see the data
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (CI runs it)")
def test_a_worker_killed_with_kill_9_mid_import_and_a_second_worker_finishes_it_exact(
    workers, tenant, marketer
):
    rows = 600  # 20 chunks of 30 for the slowed-down worker
    first = workers.start()
    job = uploaded(tenant, marketer, rows)
    imports.import_confirm(job=job, mapping={"0": "name", "1": "phone"}, create_tags=False)
    chunks = ImportChunk.objects.for_tenant(tenant).filter(job_id=job.pk)
    assert eventually(lambda: chunks.count() >= 4, timeout=60), workers.log()

    workers.kill_9(first)
    applied = chunks.count()
    job = imports.import_progress(job=ImportJob.objects.get(pk=job.pk))
    assert job.status == "running" and 4 <= applied < rows // 30  # stuck midway
    time.sleep(1)
    assert chunks.count() == applied  # nobody carries on by itself
    assert Contact.objects.for_tenant(tenant).count() == job.done  # whole chunks, no half one

    workers.start()
    # a beating import is left alone; a minute later its silence is noticed
    assert import_runs.imports_requeue_stalled(tenant=tenant) == []
    later = timezone.now() + import_runs.STALE + timedelta(seconds=1)
    assert import_runs.imports_requeue_stalled(tenant=tenant, now=later) == [job.pk]

    done = ImportJob.objects.filter(pk=job.pk, status=ImportJob.DONE)
    assert eventually(done.exists, timeout=90), workers.log()
    finished = assert_exact(tenant, job.pk, rows)
    assert finished.attempts == 2
    assert sorted(chunks.values_list("number", flat=True)) == list(range(rows // 30))


def test_a_broker_outage_when_an_import_is_confirmed_never_fails_it(
    tenant, marketer, settings, caplog, django_capture_on_commit_callbacks
):
    """The columns are chosen while the broker is down: the marketer's confirmation stands,
    the import waits as queued, and the backstop sends it once the broker is back."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    job = uploaded(tenant, marketer, 3)
    with (
        mock.patch("celery.app.task.Task.apply_async", side_effect=OSError("Connection refused")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        imports.import_confirm(job=job, mapping={"0": "name", "1": "phone"}, create_tags=False)
    assert ImportJob.objects.for_tenant(tenant).get(pk=job.pk).status == "queued"
    assert "Could not enqueue tagging.tasks.run_import" in caplog.text
    later = timezone.now() + import_runs.STALE + timedelta(seconds=1)
    with (
        mock.patch("celery.app.task.Task.apply_async") as sent,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert import_runs.imports_requeue_stalled(tenant=tenant, now=later) == [job.pk]
    assert sent.call_args.kwargs["args"] == [tenant.pk, job.pk]
