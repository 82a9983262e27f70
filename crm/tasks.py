from celery import shared_task

from .models import Tenant
from .scope import tenant_scope
from .undo import undos_expire


@shared_task(name="crm.tasks.expire_undos", acks_late=True, ignore_result=True)
def expire_undos() -> None:
    """Beat, hourly: each company's undos whose minute is over go, with what they kept (a bulk
    move's contacts, a bulk tag's assignments). A second run finds nothing more."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            undos_expire(tenant=tenant)
