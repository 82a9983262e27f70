"""The events of issue 19 (tasks, activities, tiers, merges, erasure): each recorded once, by
the service where it happens, in that service's transaction (nothing on a rollback), for the
company's own endpoints only, with the documented payload."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from activities.models import Notification, Task
from activities.services import activity_log, task_create, task_rule_save, tasks_remind_due
from audiences.services import audience_save
from crm.merges import contact_merge
from crm.services import ContactData, NotAllowed, ServiceError, contact_create
from crm.webhook_events import webhooks_contact_erased
from grading.models import Tier
from grading.services import grades_recompute, tier_save
from integrations.docs import WEBHOOK_EXAMPLES
from integrations.models import WebhookDelivery, WebhookEvent
from integrations.services import webhook_endpoint_create
from integrations.webhooks import delivery_body, delivery_payload
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.services import contact_stage_move
from tagging.models import Event
from tagging.services import contact_tag_add
from tests.factories import ContactFactory


def endpoint_for(tenant, events, url="https://hooks.example.com/in"):
    return webhook_endpoint_create(tenant=tenant, actor=None, url=url, events=list(events))


def paid(contact, amount):
    return Event.objects.create(tenant=contact.tenant, contact=contact, kind="payment_received",
                                amount=Decimal(amount), occurred_at=timezone.now())  # fmt: skip


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


# --- tasks and activities -------------------------------------------------------------------


def test_a_task_is_sent_once_with_what_is_to_be_done(tenant, sales, contact):
    endpoint_for(tenant, ["task.created"])
    due = timezone.now() + timedelta(days=1)
    task = task_create(contact=contact, actor=sales, title="周五回电", due_at=due, assignee=sales)
    (delivery,) = deliveries(tenant)
    assert (delivery.event, delivery.contact_id, delivery.ref_id) == (
        "task.created", contact.pk, task.pk,
    )  # fmt: skip
    assert delivery.occurred_at == task.created_at
    data = delivery_payload(delivery)["data"]
    assert data["contact"]["id"] == contact.pk
    assert data["task"] == {
        "id": task.pk, "title": "周五回电", "due_at": due, "assignee": sales.display_name,
        "done": False, "activity_id": None,
    }  # fmt: skip


def test_an_activity_with_a_follow_up_sends_the_activity_and_the_task_once_each(
    tenant, sales, contact
):
    endpoint_for(tenant, ["activity.logged", "task.created"])
    activity = activity_log(
        contact=contact, actor=sales, kind="call", text="问了周末班", outcome="约了体验课",
        follow_up=("周六体验课前提醒", timezone.now() + timedelta(days=2)),
    )  # fmt: skip
    logged, created = deliveries(tenant)
    assert (logged.event, logged.ref_id, logged.contact_id) == (
        "activity.logged", activity.pk, contact.pk,
    )  # fmt: skip
    data = delivery_payload(logged)["data"]
    assert {k: data["activity"][k] for k in ("id", "kind", "author", "text", "outcome")} == {
        "id": activity.pk, "kind": "call", "author": sales.display_name, "text": "问了周末班",
        "outcome": "约了体验课",
    }  # fmt: skip
    assert data["activity"]["kind_label"]  # in the company's language
    assert created.event == "task.created"
    assert delivery_payload(created)["data"]["task"]["activity_id"] == activity.pk


def test_a_task_or_activity_that_rolls_back_sends_nothing(tenant, sales, contact):
    endpoint_for(tenant, ["activity.logged", "task.created"])
    with pytest.raises(RuntimeError), transaction.atomic():
        activity_log(contact=contact, actor=sales, kind="note", text="说了什么")
        task_create(contact=contact, actor=sales, title="回电", due_at=timezone.now(),
                    assignee=None)  # fmt: skip
        raise RuntimeError("the request failed after both were saved")
    assert deliveries(tenant) == []


def test_a_refused_activity_sends_nothing(tenant, sales, contact):
    endpoint_for(tenant, ["activity.logged"])
    with pytest.raises(ServiceError):
        activity_log(contact=contact, actor=sales, kind="call", text="")
    assert deliveries(tenant) == []


def test_the_tasks_a_rule_gives_are_sent_too(tenant, admin, sales):
    endpoint_for(tenant, ["task.created"])
    task_rule_save(tenant=tenant, actor=admin, stage="sql", title="24 小时内电话跟进",
                   due_hours=24)  # fmt: skip
    moved = ContactFactory.create_batch(2, tenant=tenant, stage="mql", owner=sales)
    contacts_bulk_move(tenant=tenant, actor=admin, contacts=[c.pk for c in moved], to_stage="sql")
    tasks = Task.objects.for_tenant(tenant).order_by("contact_id")
    sent = sorted((d.contact_id, d.ref_id) for d in deliveries(tenant, "task.created"))
    assert sent == [(t.contact_id, t.pk) for t in tasks] and len(sent) == 2


def test_a_task_for_nobody_is_sent_when_it_falls_due_once_and_nobody_is_notified(
    tenant, sales, contact
):
    endpoint_for(tenant, ["task.due"])
    now = timezone.now()
    nobodys = task_create(contact=contact, actor=sales, title="没人负责",
                          due_at=now - timedelta(minutes=1), assignee=None)  # fmt: skip
    long_ago = task_create(contact=contact, actor=sales, title="上周就过期了",
                           due_at=now - timedelta(days=7), assignee=None)  # fmt: skip
    mine = task_create(contact=contact, actor=sales, title="回电",
                       due_at=now - timedelta(minutes=2), assignee=sales)  # fmt: skip
    assert tasks_remind_due(tenant=tenant) == 2
    assert tasks_remind_due(tenant=tenant) == 0  # once
    sent = {d.ref_id: delivery_payload(d)["data"]["task"] for d in deliveries(tenant)}
    assert set(sent) == {nobodys.pk, mine.pk} and long_ago.pk not in sent
    assert sent[nobodys.pk]["assignee"] is None
    told = Notification.objects.for_tenant(tenant).filter(kind="task_due")
    assert list(told.values_list("task_id", "member_id")) == [(mine.pk, sales.pk)]


# --- tiers ----------------------------------------------------------------------------------


def test_a_tier_change_is_sent_once_and_a_recompute_that_changes_nothing_sends_nothing(
    tenant, admin
):
    endpoint_for(tenant, ["contact.tier_changed"])
    for name, amount in (("银卡", "1000"), ("金卡", "5000")):
        tier_save(tenant=tenant, actor=admin, name=name, threshold=Decimal(amount),
                  entitlements="", discount_percent=Decimal(0))  # fmt: skip
    customer = ContactFactory(tenant=tenant)
    quiet = ContactFactory(tenant=tenant)  # graded (new, no tier): not a tier change
    paid(customer, "1200")
    grades_recompute(tenant=tenant)
    (delivery,) = deliveries(tenant)
    assert (delivery.event, delivery.contact_id) == ("contact.tier_changed", customer.pk)
    data = delivery_payload(delivery)["data"]
    gold = Tier.objects.for_tenant(tenant).get(name="金卡")
    silver = Tier.objects.for_tenant(tenant).get(name="银卡")
    assert (data["from_tier"], data["to_tier"], data["to_tier_id"], data["paid"]) == (
        None, "银卡", silver.pk, Decimal("1200.00"),
    )  # fmt: skip
    assert data["contact"]["tier"] == "银卡"

    grades_recompute(tenant=tenant)  # again, nothing new: nothing sent
    grades_recompute(tenant=tenant, contact_ids=[customer.pk, quiet.pk])
    assert len(deliveries(tenant)) == 1

    paid(customer, "4000")  # one contact's recompute, as after a payment
    grades_recompute(tenant=tenant, contact_ids=[customer.pk])
    last = deliveries(tenant)[-1]
    data = delivery_payload(last)["data"]
    assert (data["from_tier"], data["to_tier"], data["to_tier_id"]) == ("银卡", "金卡", gold.pk)
    assert len(deliveries(tenant)) == 2
    assert {d.contact_id for d in deliveries(tenant)} == {customer.pk}


def test_a_tier_change_that_rolls_back_sends_nothing(tenant, admin):
    endpoint_for(tenant, ["contact.tier_changed"])
    tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal(1000), entitlements="",
              discount_percent=Decimal(0))  # fmt: skip
    paid(ContactFactory(tenant=tenant), "1200")
    with pytest.raises(RuntimeError), transaction.atomic():
        grades_recompute(tenant=tenant)
        raise RuntimeError("the worker died before commit")
    assert deliveries(tenant) == []


# --- merges ---------------------------------------------------------------------------------


def test_a_merge_sends_both_ids_once(tenant, admin):
    endpoint_for(tenant, ["contact.merged"])
    kept = ContactFactory(tenant=tenant, name="王芳", phone="13800138000")
    gone = ContactFactory(tenant=tenant, name="王芳(微信)", phone="", wechat_id="wangfang")
    gone_pk = gone.pk
    contact_merge(survivor=kept, merged=gone, actor=admin, take_from_merged=set())
    (delivery,) = deliveries(tenant)
    assert (delivery.event, delivery.contact_id, delivery.ref_id) == (
        "contact.merged", kept.pk, gone_pk,
    )  # fmt: skip
    data = delivery_payload(delivery)["data"]
    assert data["contact"]["id"] == kept.pk and data["contact"]["wechat_id"] == "wangfang"
    assert data["merged_contact"] == {"id": gone_pk}


def test_a_merge_that_rolls_back_sends_nothing(tenant, admin):
    endpoint_for(tenant, ["contact.merged"])
    kept, gone = ContactFactory.create_batch(2, tenant=tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        contact_merge(survivor=kept, merged=gone, actor=admin, take_from_merged=set())
        raise RuntimeError("the request failed after the merge")
    assert deliveries(tenant) == []


def test_a_refused_merge_sends_nothing(tenant, marketer):
    endpoint_for(tenant, ["contact.merged"])
    kept, twin = ContactFactory.create_batch(2, tenant=tenant)
    with pytest.raises(NotAllowed):
        contact_merge(survivor=kept, merged=twin, actor=marketer, take_from_merged=set())
    assert deliveries(tenant) == []


# --- another company ------------------------------------------------------------------------

NEW_EVENTS = ["task.created", "task.due", "activity.logged", "contact.tier_changed",
              "contact.merged", "contact.erased"]  # fmt: skip


def test_another_companys_endpoint_never_hears_of_ours(tenant, other_tenant, admin, sales):
    endpoint_for(other_tenant, NEW_EVENTS, url="https://theirs.example.com/in")
    ours = endpoint_for(tenant, NEW_EVENTS)
    tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal(1000), entitlements="",
              discount_percent=Decimal(0))  # fmt: skip
    kept, gone = ContactFactory.create_batch(2, tenant=tenant)
    activity_log(contact=kept, actor=sales, kind="note", text="记一笔",
                 follow_up=("回电", timezone.now() - timedelta(minutes=1)))  # fmt: skip
    tasks_remind_due(tenant=tenant)
    paid(kept, "1000")
    grades_recompute(tenant=tenant)
    contact_merge(survivor=kept, merged=gone, actor=admin, take_from_merged=set())
    webhooks_contact_erased(tenant=tenant, contact_id=kept.pk)
    assert sorted(d.event for d in deliveries(tenant)) == sorted(NEW_EVENTS)
    assert {d.endpoint_id for d in deliveries(tenant)} == {ours.pk}
    assert deliveries(other_tenant) == []
    assert not WebhookDelivery.objects.exclude(tenant=tenant).exists()


# --- the docs' examples are what is sent ----------------------------------------------------


def shape(value):
    """The keys of a payload's data, nested; the contact's only as far as the docs show it."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items() if key != "…"}
    return None


def test_every_event_is_documented_with_an_example_shaped_as_what_is_sent(
    tenant, admin, sales, make_tag, django_capture_on_commit_callbacks
):
    assert set(WEBHOOK_EXAMPLES) == set(WebhookEvent.values)
    endpoint_for(tenant, WebhookEvent.values)
    tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal(1000), entitlements="",
              discount_percent=Decimal(0))  # fmt: skip
    contact = contact_create(tenant=tenant, actor=admin, data=ContactData(name="张伟"))
    gone = ContactFactory(tenant=tenant)
    contact_stage_move(contact=contact, actor=admin, to_stage="sql")
    contact_tag_add(contact=contact, tag=make_tag("课程兴趣", "成人口语"), actor=admin)
    with django_capture_on_commit_callbacks(execute=True):  # its members are computed after
        audience_save(tenant=tenant, actor=admin, name="SQL+", gate="at_or_past", stages=["sql"])
    activity_log(contact=contact, actor=sales, kind="call", text="问了周末班",
                 follow_up=("回电", timezone.now() - timedelta(minutes=1)))  # fmt: skip
    tasks_remind_due(tenant=tenant)
    paid(contact, "1200")
    grades_recompute(tenant=tenant)
    contact_merge(survivor=contact, merged=gone, actor=admin, take_from_merged=set())
    webhooks_contact_erased(tenant=tenant, contact_id=contact.pk)
    sent = {}
    for delivery in deliveries(tenant):
        sent.setdefault(delivery.event, delivery_payload(delivery)["data"])
    assert set(sent) == set(WebhookEvent.values) - {"audience.left"}
    for event, data in sent.items():
        example = shape(WEBHOOK_EXAMPLES[event][1])
        real = shape(data)
        if event != "contact.erased":  # the docs show a few of the contact's fields
            assert set(example.pop("contact")) <= set(real.pop("contact")), event
        assert real == example, event
