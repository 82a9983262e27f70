from celery import shared_task

from crm.models import Tenant


@shared_task(acks_late=True, ignore_result=True)
def recompute_funnel(tenant_id: int) -> None:
    from .services import funnel_recompute

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:
        funnel_recompute(tenant=tenant)
