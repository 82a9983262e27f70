from celery import shared_task

from crm.models import Tenant
from crm.scope import tenant_scope

from .imports import import_run, imports_expire_waiting
from .models import ImportJob


@shared_task(name="tagging.tasks.run_import", acks_late=True, ignore_result=True)
def run_import(tenant_id: int, job_id: int) -> None:
    """Thin: load the job and run (or resume) it. A redelivered message resumes, not repeats."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return
    jobs = ImportJob.objects.for_tenant(tenant).filter(
        status__in=[ImportJob.QUEUED, ImportJob.RUNNING]
    )
    job = jobs.filter(pk=job_id).first()
    if job is not None:
        import_run(job=job)


@shared_task(name="tagging.tasks.expire_waiting_uploads", acks_late=True, ignore_result=True)
def expire_waiting_uploads() -> None:
    """Beat, hourly: uploads left waiting for their columns over a day lose their file. Each
    company's in one statement of its own; a second run (or two at once) changes nothing more."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            imports_expire_waiting(tenant=tenant)
