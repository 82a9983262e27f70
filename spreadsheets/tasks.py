import logging

from celery import shared_task
from django.db import connection

from crm.models import Tenant
from crm.scope import tenant_scope

from .imports.jobs import import_run, imported_tables_analyze, imports_expire_waiting
from .imports.runs import DATABASE_ERRORS, imports_requeue_stalled
from .models import ImportJob

logger = logging.getLogger(__name__)

# Seconds before each retry after a database error (a restart, a failover, dropped
# connections); then the import stops with the reason and a "continue" button. Each pause is
# well inside the broker's visibility timeout.
RETRY_IN = (5, 15, 45, 90)


@shared_task(
    name="tagging.tasks.run_import", bind=True, acks_late=True, ignore_result=True,
    soft_time_limit=55 * 60, time_limit=60 * 60,
)  # fmt: skip
def run_import(self, tenant_id: int, job_id: int) -> None:
    """Thin: load the job and run (or resume) it. A redelivered message resumes, not repeats;
    one delivered while the job runs elsewhere leaves. A failure stops the job with the reason
    (import_run says so on the job); the database's is first tried again a few times."""
    retries_left = self.request.retries < len(RETRY_IN)
    try:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            return
        jobs = ImportJob.objects.for_tenant(tenant).filter(
            status__in=[ImportJob.QUEUED, ImportJob.RUNNING]
        )
        job = jobs.filter(pk=job_id).first()
        if job is not None:
            import_run(job=job, retries_left=retries_left)
    except DATABASE_ERRORS as exc:
        if not connection.in_atomic_block:
            connection.close()  # the next try starts on a new connection
        if retries_left and self.request.is_eager:  # inline (no broker): no queue to wait in
            self.apply(args=[tenant_id, job_id], retries=self.request.retries + 1)
            return
        if retries_left:
            raise self.retry(exc=exc, countdown=RETRY_IN[self.request.retries]) from exc
        logger.warning("Import %s stopped: the database failed %s times", job_id, len(RETRY_IN))
    except Exception:
        # the job says it stopped, and why; the trace is for us
        logger.exception("Import %s stopped", job_id)


@shared_task(name="tagging.tasks.requeue_stalled_imports", acks_late=True, ignore_result=True)
def requeue_stalled_imports() -> None:
    """Beat, every minute: imports whose beat stopped (their worker was killed, their message
    lost) are queued again, each company's in a statement of its own; they resume where they
    stopped. A live one beats, and a second delivery of it leaves at once anyway."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            imports_requeue_stalled(tenant=tenant)


@shared_task(name="tagging.tasks.expire_waiting_uploads", acks_late=True, ignore_result=True)
def expire_waiting_uploads() -> None:
    """Beat, hourly: uploads left waiting for their columns over a day lose their file. Each
    company's in one statement of its own; a second run (or two at once) changes nothing more."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            imports_expire_waiting(tenant=tenant)


@shared_task(name="spreadsheets.tasks.analyze_imported_tables", acks_late=True, ignore_result=True)
def analyze_imported_tables(tenant_id: int) -> None:
    """After a big import (tenant_id: whose): the tables it filled analyzed, as their owner."""
    imported_tables_analyze()
