from celery import shared_task

from crm.models import Tenant

from .models import ImportJob


@shared_task(name="tagging.tasks.run_import", acks_late=True, ignore_result=True)
def run_import(tenant_id: int, job_id: int) -> None:
    """Thin: load the job and run (or resume) it. A redelivered message resumes, not repeats."""
    from .imports import import_run

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return
    jobs = ImportJob.objects.for_tenant(tenant).exclude(status=ImportJob.DONE)
    job = jobs.filter(pk=job_id).first()
    if job is not None:
        import_run(job=job)
