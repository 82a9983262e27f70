from celery import shared_task

from .deletion import DeletionBusy, company_deletion_pending, company_deletion_run
from .models import CompanyDeletion, Tenant
from .scope import tenant_scope
from .undo import undos_expire


@shared_task(name="crm.tasks.expire_undos", acks_late=True, ignore_result=True)
def expire_undos() -> None:
    """Beat, hourly: each company's undos whose minute is over go, with what they kept (a bulk
    move's contacts, a bulk tag's assignments). A second run finds nothing more."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            undos_expire(tenant=tenant)


@shared_task(name="crm.tasks.company_deletion_continue", acks_late=True, ignore_result=True)
def company_deletion_continue(deletion_id: int) -> None:
    """Deletes what is left of a company whose deletion was asked for (crm/deletion.py). A
    second run at once finds the first holding it and stops; a run after a kill continues."""
    deletion = CompanyDeletion.objects.filter(pk=deletion_id, finished_at__isnull=True).first()
    if deletion is None:
        return
    try:
        company_deletion_run(deletion=deletion)
    except DeletionBusy:
        return


@shared_task(name="crm.tasks.company_deletions_resume", ignore_result=True)
def company_deletions_resume() -> None:
    """Beat: deletions a dead worker left unfinished continue (one at a time per deletion)."""
    for deletion in company_deletion_pending():
        try:
            company_deletion_run(deletion=deletion)
        except DeletionBusy:
            continue
