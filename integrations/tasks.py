"""Thin tasks for webhooks: take a tenant id, load it, send what is due. Safe to run twice or at
once: each run claims its rows with a lease before sending."""

from celery import shared_task
from django.conf import settings

from crm.models import Tenant
from crm.scope import tenant_scope

from .webhooks import deliveries_due, deliveries_send, delivery_started


@shared_task(name="tagging.api.tasks.deliver_webhooks", acks_late=True, ignore_result=True)
def deliver_webhooks(tenant_id: int) -> None:
    delivery_started(tenant_id)
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return
    deliveries_send(tenant=tenant)
    if not settings.CELERY_TASK_ALWAYS_EAGER and deliveries_due(tenant=tenant):
        deliver_webhooks.delay(tenant_id)  # more than one run's budget: carry on in a new task


@shared_task(name="tagging.api.tasks.deliver_due_webhooks", acks_late=True, ignore_result=True)
def deliver_due_webhooks() -> None:
    """Beat, every minute: retries whose pause is over, and anything a lost message or a dead
    worker left waiting."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            due = deliveries_due(tenant=tenant)
        if due:
            deliver_webhooks.delay(tenant.pk)
