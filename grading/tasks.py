"""Thin tasks: a company (and contacts), graded again. Idempotent and serialised per company
by the recompute's lock, so a retry or a second run at once changes nothing more."""

from celery import shared_task
from django.db import OperationalError

from crm.models import Tenant
from crm.queueing import enqueued_task_started
from crm.scope import tenant_scope

from .services import RECOMPUTE_ALL, RECOMPUTE_SOME, grades_recompute

RETRY = {
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(name=RECOMPUTE_ALL, **RETRY)
def recompute_grades(tenant_id: int) -> None:
    enqueued_task_started(RECOMPUTE_ALL, tenant_id)
    if tenant := Tenant.objects.filter(pk=tenant_id).first():
        grades_recompute(tenant=tenant)


@shared_task(name=RECOMPUTE_SOME, **RETRY)
def recompute_contact_grades(tenant_id: int, contact_ids: list[int]) -> None:
    if tenant := Tenant.objects.filter(pk=tenant_id).first():
        grades_recompute(tenant=tenant, contact_ids=[int(pk) for pk in contact_ids])


@shared_task(name="grading.tasks.grade_every_company", acks_late=True, ignore_result=True)
def grade_every_company() -> None:
    """Beat, nightly: windows slide and quiet customers drift to at risk with no event to say
    so; each company is graded again from its events."""
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            grades_recompute(tenant=tenant)
