"""Webhook events that crm's own writes start and that carry no row of history to point at.
Integrations turns each into deliveries in the caller's transaction (crm.hooks.change_recorded):
call these inside the transaction of the change, so a change that rolls back sends nothing."""

from datetime import datetime

from django.db.models import BigIntegerField, DateTimeField, Value
from django.utils import timezone

from .hooks import change_recorded
from .models import Tenant


def webhooks_contact_erased(
    *, tenant: Tenant, contact_id: int, erased_at: datetime | None = None
) -> None:
    """`contact.erased` for the company's endpoints that want it. Its payload holds the
    contact's id and the time only, never what was erased; it does not read the contact, so
    calling it before or after the personal fields are cleared is the same."""
    at = erased_at or timezone.now()
    rows = Tenant.objects.filter(pk=tenant.pk).values_list(
        Value(contact_id, output_field=BigIntegerField()),  # contact
        Value(contact_id, output_field=BigIntegerField()),  # ref: itself
        Value(at, output_field=DateTimeField()),
    )
    change_recorded(tenant=tenant, event="contact.erased", rows=rows)
