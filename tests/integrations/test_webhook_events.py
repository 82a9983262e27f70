"""The events of issue 19 (tasks, activities, tiers, merges, erasure): each recorded once, by
the service where it happens, in that service's transaction (nothing on a rollback), for the
company's own endpoints only, with the documented payload."""

import json

import pytest
from django.db import transaction

from crm.webhook_events import webhooks_contact_erased
from integrations.models import WebhookDelivery
from integrations.services import webhook_endpoint_create
from integrations.webhooks import delivery_body, delivery_payload


def endpoint_for(tenant, events, url="https://hooks.example.com/in"):
    return webhook_endpoint_create(tenant=tenant, actor=None, url=url, events=list(events))


def deliveries(tenant, event=None):
    rows = WebhookDelivery.objects.for_tenant(tenant).select_related("tenant").order_by("id")
    return list(rows.filter(event=event) if event else rows)


# --- contact.erased -------------------------------------------------------------------------


def test_an_erasure_sends_the_contact_id_and_time_and_nothing_personal(tenant, contact):
    endpoint_for(tenant, ["contact.erased"])
    with transaction.atomic():
        webhooks_contact_erased(tenant=tenant, contact_id=contact.pk)
    (delivery,) = deliveries(tenant)
    assert (delivery.event, delivery.contact_id) == ("contact.erased", contact.pk)
    payload = delivery_payload(delivery)
    assert payload["type"] == "contact.erased"
    assert payload["data"] == {"contact": {"id": contact.pk}}
    assert set(payload) == {"id", "type", "occurred_at", "company", "data"}
    body = delivery_body(delivery).decode()
    for personal in (contact.name, contact.phone):
        assert personal and personal not in body
    assert json.loads(body)["occurred_at"]


def test_an_erasure_that_rolls_back_sends_nothing(tenant, contact):
    endpoint_for(tenant, ["contact.erased"])
    with pytest.raises(RuntimeError), transaction.atomic():
        webhooks_contact_erased(tenant=tenant, contact_id=contact.pk)
        raise RuntimeError("the erasure failed half-way")
    assert deliveries(tenant) == []


def test_an_erasure_reaches_only_this_companys_endpoints_that_want_it(
    tenant, other_tenant, contact
):
    wanted = endpoint_for(tenant, ["contact.erased"])
    endpoint_for(tenant, ["contact.created"], url="https://other.example.com/in")
    endpoint_for(other_tenant, ["contact.erased"], url="https://theirs.example.com/in")
    webhooks_contact_erased(tenant=tenant, contact_id=contact.pk)
    assert [d.endpoint_id for d in deliveries(tenant)] == [wanted.pk]
    assert deliveries(other_tenant) == []
