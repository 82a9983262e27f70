"""The audience recompute, a thin task like lifecycle's (whose name it kept when it moved here,
as queued messages carry it)."""

from celery import shared_task

from crm.models import Tenant
from lifecycle.scheduling import task_started
from lifecycle.tasks import RETRY

from .services import audiences_recompute


@shared_task(name="lifecycle.tasks.recompute_audiences", **RETRY)
def recompute_audiences(tenant_id: int) -> None:
    task_started(recompute_audiences.name, tenant_id)
    if tenant := Tenant.objects.filter(pk=tenant_id).first():
        audiences_recompute(tenant=tenant)
