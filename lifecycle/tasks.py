"""Thin tasks: take a tenant id, load, call the recompute. Idempotent, acks_late, safe to run
twice or at once (each recompute replaces its results under a per-tenant lock)."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from crm.models import Tenant
from crm.scope import tenant_scope

from .analytics import funnel_recompute, funnel_snapshot, funnel_stats_recompute
from .scheduling import schedule_recomputes, task_started

RETRY = {
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
}


def _tenant(tenant_id: int) -> Tenant | None:
    return Tenant.objects.filter(pk=tenant_id).first()


@shared_task(name="lifecycle.tasks.recompute_funnel", **RETRY)
def recompute_funnel(tenant_id: int) -> None:
    task_started(recompute_funnel.name, tenant_id)
    if tenant := _tenant(tenant_id):
        funnel_recompute(tenant=tenant)


@shared_task(name="lifecycle.tasks.recompute_funnel_stats", **RETRY)
def recompute_funnel_stats(tenant_id: int) -> None:
    task_started(recompute_funnel_stats.name, tenant_id)
    if tenant := _tenant(tenant_id):
        funnel_stats_recompute(tenant=tenant)


@shared_task(name="lifecycle.tasks.recompute_everything", acks_late=True, ignore_result=True)
def recompute_everything() -> None:
    """Beat's backstop: whatever a lost message or an outage missed is repaired here."""
    for tenant_id in Tenant.objects.values_list("pk", flat=True):
        schedule_recomputes(tenant_id)


@shared_task(name="lifecycle.tasks.rebuild_funnel_stats", acks_late=True, ignore_result=True)
def rebuild_funnel_stats() -> None:
    """Nightly: every company's kept spans checked against its whole history (any that differ
    rewritten), not only the contacts named as changed."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            funnel_stats_recompute(tenant=tenant, rebuild=True)


@shared_task(name="lifecycle.tasks.snapshot_funnels", acks_late=True, ignore_result=True)
def snapshot_funnels() -> None:
    """Today's funnel per tenant, for the trend chart; runs hourly, the day's last run stays."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            funnel_snapshot(tenant=tenant, day=timezone.localdate(timezone=tenant.zoneinfo))
