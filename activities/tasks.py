from celery import shared_task

from crm.models import Tenant
from crm.scope import tenant_scope

from .services import tasks_remind_due


@shared_task(name="activities.tasks.remind_due_tasks", acks_late=True, ignore_result=True)
def remind_due_tasks() -> None:
    """Beat, every minute: each company's tasks now due, told to their assignees once."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            tasks_remind_due(tenant=tenant)
