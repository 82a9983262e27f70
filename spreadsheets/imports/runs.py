"""Imports are never stuck: a run holds its job alone (a lock per job), beats while it works,
and ends done or stopped with a reason and a "continue" button. A beat backstop re-queues the
imports whose beat stopped (a worker killed mid-import); a resumed run skips the chunks already
applied, so nobody is added twice.

A second delivery of the same job while the first run lives (Redis hands a message out again
after its visibility timeout, or the backstop re-queued a slow one) finds the lock taken and
leaves quietly.
"""

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Membership, Tenant
from crm.permissions import can_import
from crm.queueing import enqueue_on_commit
from crm.scope import tenant_scope
from crm.services import ServiceError

from ..models import ImportJob

# A live run beats at least every BEAT_EVERY seconds (and after every chunk); one silent for
# STALE is taken for dead. The backstop looks every minute: a killed worker's import is
# re-queued within STALE + 1 minute of its last beat.
BEAT_EVERY = 10
STALE = timedelta(seconds=60)
RUN_IMPORT = "tagging.tasks.run_import"
# Runs started (redeliveries and retries too) before an import is stopped rather than started
# again: a file that kills its worker each time must not loop forever.
MAX_RUNS = 10
# The connection dropped, the server restarting, a failover: worth trying again in a moment.
DATABASE_ERRORS = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
ACTIVE = (ImportJob.QUEUED, ImportJob.RUNNING)
# A run starts or resumes any import not done (nor expired). The task only ever runs queued
# and running ones: a stopped import waits for "continue", which queues it.
RUNNABLE = (ImportJob.PENDING, *ACTIVE, ImportJob.FAILED)

FAILURES = {
    "database": gettext_lazy(
        "The connection to the database was lost several times in a row, so the import "
        "stopped. Everything imported so far is kept: press “Continue” to finish it."
    ),
    "interrupted": gettext_lazy(
        "The import was interrupted too many times (the server running it stopped each time). "
        "Everything imported so far is kept: press “Continue” to try again."
    ),
    "time_limit": gettext_lazy(
        "The import took longer than allowed and was stopped. Everything imported so far is "
        "kept: press “Continue” to carry on from where it stopped."
    ),
    "unreadable": gettext_lazy(
        "The rest of the file could not be read, so the import stopped. Everything imported so "
        "far is kept: press “Continue” to try again, or fix the file and upload it again."
    ),
    "unexpected": gettext_lazy(
        "Something went wrong on our side and the import stopped. Everything imported so far "
        "is kept: press “Continue” to try again."
    ),
}


def failure_shown(job: ImportJob) -> str:
    """Why a stopped import stopped, in the reader's language."""
    if job.status != ImportJob.FAILED:
        return ""
    return str(FAILURES.get(job.failure, FAILURES["unexpected"]))


def failure_code(exc: BaseException) -> str:
    if isinstance(exc, DATABASE_ERRORS):
        return "database"
    if isinstance(exc, SoftTimeLimitExceeded):
        return "time_limit"
    if isinstance(exc, ServiceError):  # the file, read by the worker, stopped making sense
        return "unreadable"
    return "unexpected"


def _lock_key(job: ImportJob) -> list[int]:
    return [job.pk % 2_147_483_647]


@contextmanager
def run_alone(job: ImportJob) -> Iterator[bool]:
    """`with run_alone(job) as alone:` True when this run holds the job. A session lock on
    this (the task's) connection, held while the chunks run on their own connections; it goes
    with the session, so a killed worker or a dropped connection never leaves it held."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(hashtext('import_run'), %s::int4)", _lock_key(job)
        )
        alone = cursor.fetchone()[0]
    try:
        yield alone
    finally:
        if alone:
            with suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(hashtext('import_run'), %s::int4)", _lock_key(job)
                )


def run_begin(*, job: ImportJob) -> bool:
    """Marks a run started (running, beating, one attempt more). False when there is nothing
    to run: done meanwhile, or stopped now after too many runs."""
    jobs = ImportJob.objects.for_tenant(job.tenant).filter(pk=job.pk, status__in=RUNNABLE)
    attempts = jobs.values_list("attempts", flat=True).first()
    if attempts is None:
        return False
    if attempts >= MAX_RUNS:
        run_fail(job=job, failure="interrupted")
        return False
    now = timezone.now()
    jobs.update(status=ImportJob.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now,
                failure="", finished_at=None)  # fmt: skip
    job.status, job.attempts, job.heartbeat_at = ImportJob.RUNNING, attempts + 1, now
    job.failure = ""
    return True


def run_beat(*, job: ImportJob) -> None:
    """Says "still running": one short statement of its own (the job's row is not held)."""
    ImportJob.objects.for_tenant(job.tenant).filter(pk=job.pk, status=ImportJob.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def beating(rows: Iterable, job: ImportJob) -> Iterator:
    """The rows, beating every BEAT_EVERY seconds while they are read and checked."""
    last = time.monotonic()
    for row in rows:
        yield row
        now = time.monotonic()
        if now - last >= BEAT_EVERY:
            run_beat(job=job)
            last = now


def run_fail(*, job: ImportJob, failure: str) -> None:
    """Stops the import with a reason. The connection may be the thing that failed: a broken
    one is replaced (and given the company again); if the database is still away, the job
    stays running without a beat and the backstop comes back to it."""
    if not connection.in_atomic_block and not connection.is_usable():
        connection.close()
    with suppress(DatabaseError), tenant_scope(job.tenant_id):
        ImportJob.objects.for_tenant(job.tenant).filter(pk=job.pk, status__in=RUNNABLE).update(
            status=ImportJob.FAILED, failure=failure[:40], finished_at=timezone.now()
        )
        job.status, job.failure = ImportJob.FAILED, failure


def imports_requeue_stalled(*, tenant: Tenant, now: datetime | None = None) -> list[int]:
    """Queued or running imports of `tenant` whose beat stopped over STALE ago: queued again.
    Their beat is set to `now`, so each is re-queued once per STALE however often this runs,
    and two backstops at once do not both re-queue it. Returns the jobs re-queued."""
    now = now or timezone.now()
    with transaction.atomic():
        stalled = list(
            ImportJob.objects.for_tenant(tenant)
            .filter(status__in=ACTIVE)
            .filter(Q(heartbeat_at__lt=now - STALE) | Q(heartbeat_at__isnull=True))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if stalled:
            ImportJob.objects.for_tenant(tenant).filter(pk__in=stalled).update(heartbeat_at=now)
        for job_id in stalled:
            enqueue_on_commit(RUN_IMPORT, tenant.pk, job_id, tenant_id=tenant.pk)
    return stalled


@transaction.atomic
def import_continue(*, job: ImportJob, actor: Membership) -> ImportJob:
    """A stopped import queued again; it carries on from the chunks already applied."""
    if not can_import(actor):
        raise ServiceError(_("Only admins and marketers may import contacts."))
    locked = ImportJob.objects.for_tenant(job.tenant).select_for_update().get(pk=job.pk)
    if locked.status != ImportJob.FAILED:
        raise ServiceError(_("This import has not stopped: there is nothing to continue."))
    locked.status, locked.failure, locked.attempts = ImportJob.QUEUED, "", 0
    locked.heartbeat_at, locked.finished_at = timezone.now(), None
    locked.save(update_fields=["status", "failure", "attempts", "heartbeat_at", "finished_at"])
    enqueue_on_commit(RUN_IMPORT, locked.tenant_id, locked.pk, tenant_id=locked.tenant_id)
    return locked
