"""Admins rename kinds of events (the name shown; the key events and rules store stays) and remove
their own while nothing uses them (issue 20, item 7b)."""

import pytest
from django.urls import reverse

from crm.services import ServiceError
from tagging.models import Event, EventKind, Rule
from tagging.rules import event_kind_create, event_kind_remove, event_kind_rename, event_log
from tagging.selectors import event_kinds
from tests.conftest import client_for
from tests.factories import ContactFactory


@pytest.fixture
def visit(tenant, admin):
    """A kind of the company's own; its Chinese name gives it a made-up key."""
    return event_kind_create(tenant=tenant, actor=admin, label="到店参观")


def edit_url(tenant, key, remove=False):
    return reverse("event_kind_remove" if remove else "event_kind_edit", args=[tenant.slug, key])


def events_of(tenant, kind, n):
    contact = ContactFactory(tenant=tenant)
    Event.objects.bulk_create(Event(tenant=tenant, contact=contact, kind=kind) for _ in range(n))


def test_an_admin_renames_a_built_in_kind_and_everything_keeps_its_key(
    admin_client, tenant, admin, contact
):
    event, _created = event_log(contact=contact, actor=admin, kind="payment_received")
    response = admin_client.post(edit_url(tenant, "payment_received"), {"label": " 学费 到账 "})
    assert response.status_code == 302
    assert response.url == f"/t/{tenant.slug}/settings/rules/#event-kinds"
    assert event_kinds(tenant=tenant)["payment_received"] == "学费 到账"
    assert Event.objects.for_tenant(tenant).get(pk=event.pk).kind == "payment_received"
    assert Rule.objects.for_tenant(tenant).filter(event_kind="payment_received").exists()
    rules_page = admin_client.get(reverse("rule_list", args=[tenant.slug])).content.decode()
    assert "学费 到账 → Customer" in rules_page  # the default rule, named by its kind
    assert f'href="/t/{tenant.slug}/settings/rules/kinds/payment_received/"' in rules_page
    # the event form offers it by its new name, and logs the same key
    page = admin_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk]))
    assert '<option value="payment_received">学费 到账</option>' in page.content.decode()

    # left empty: its built-in name again
    admin_client.post(edit_url(tenant, "payment_received"), {"label": ""})
    assert event_kinds(tenant=tenant)["payment_received"] == "Paid"
    assert not EventKind.objects.for_tenant(tenant).filter(key="payment_received").exists()


def test_an_own_kind_renamed_keeps_its_key_and_its_events(admin_client, tenant, visit):
    events_of(tenant, visit.key, 2)
    admin_client.post(edit_url(tenant, visit.key), {"label": "到校参观"})
    assert event_kinds(tenant=tenant)[visit.key] == "到校参观"
    assert EventKind.objects.for_tenant(tenant).get().key == visit.key
    assert Event.objects.for_tenant(tenant).filter(kind=visit.key).count() == 2
    # an own kind needs a name
    response = admin_client.post(edit_url(tenant, visit.key), {"label": " "})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert event_kinds(tenant=tenant)[visit.key] == "到校参观"


def test_a_name_another_kind_has_is_refused(admin_client, tenant, admin, visit):
    response = admin_client.post(edit_url(tenant, visit.key), {"label": "paid"})
    assert "There is already a kind of event “paid”." in response.content.decode()
    with pytest.raises(ServiceError):
        event_kind_rename(tenant=tenant, actor=admin, key="payment_received", label="到店参观")
    assert event_kinds(tenant=tenant)[visit.key] == "到店参观"
    assert event_kinds(tenant=tenant)["payment_received"] == "Paid"


def test_removing_a_kind_events_use_is_refused_saying_how_many(admin_client, tenant, visit):
    events_of(tenant, visit.key, 12)
    page = admin_client.get(edit_url(tenant, visit.key)).content.decode()
    assert "12 events use this kind." in page
    response = admin_client.post(edit_url(tenant, visit.key, remove=True), follow=True)
    assert "12 events use this kind: it cannot be removed while they do." in (
        response.content.decode()
    )
    assert EventKind.objects.for_tenant(tenant).filter(key=visit.key).exists()
    assert Event.objects.for_tenant(tenant).filter(kind=visit.key).count() == 12


def test_removing_a_kind_a_rule_runs_on_is_refused(admin_client, tenant, admin, visit):
    Rule.objects.create(tenant=tenant, name="参观 → 潜客", event_kind=visit.key, to_stage="lead")
    response = admin_client.post(edit_url(tenant, visit.key, remove=True), follow=True)
    assert "1 rule runs when this happens: delete it, or have it run on another kind" in (
        response.content.decode()
    )
    assert EventKind.objects.for_tenant(tenant).filter(key=visit.key).exists()


def test_an_unused_kinds_page_says_nothing_uses_it_in_words_not_a_zero(admin_client, tenant, visit):
    page = admin_client.get(edit_url(tenant, visit.key)).content.decode()
    assert "No event uses this kind." in page and "No rule runs when it happens." in page
    assert "0 events" not in page and "0 rules" not in page


def test_an_unused_own_kind_is_removed(admin_client, tenant, visit, contact):
    response = admin_client.post(edit_url(tenant, visit.key, remove=True), follow=True)
    assert "Kind of event “到店参观” removed." in response.content.decode()
    assert not EventKind.objects.for_tenant(tenant).exists()
    assert visit.key not in event_kinds(tenant=tenant)
    page = admin_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk]))
    assert "到店参观" not in page.content.decode()  # the event form no longer offers it
    assert admin_client.get(edit_url(tenant, visit.key)).status_code == 404


def test_a_built_in_kind_is_not_removed(admin_client, tenant, admin):
    response = admin_client.post(edit_url(tenant, "event_attended", remove=True), follow=True)
    assert "“Attended an event” is built in: it can be renamed, not removed." in (
        response.content.decode()
    )
    with pytest.raises(ServiceError):
        event_kind_remove(tenant=tenant, actor=admin, key="event_attended")
    assert "event_attended" in event_kinds(tenant=tenant)


def test_only_admins_rename_or_remove_kinds(marketer_client, sales_client, tenant, marketer,
                                           visit):  # fmt: skip
    for client in (marketer_client, sales_client):
        assert client.get(edit_url(tenant, visit.key)).status_code == 403
        assert client.post(edit_url(tenant, visit.key), {"label": "x"}).status_code == 403
        assert client.post(edit_url(tenant, visit.key, remove=True)).status_code == 403
    with pytest.raises(ServiceError):
        event_kind_rename(tenant=tenant, actor=marketer, key=visit.key, label="x")
    with pytest.raises(ServiceError):
        event_kind_remove(tenant=tenant, actor=marketer, key=visit.key)
    assert EventKind.objects.for_tenant(tenant).get().label == "到店参观"


def test_another_companys_admin_finds_no_kind_of_ours(tenant, other_tenant, outsider, visit):
    rival = client_for(outsider)
    for slug in (tenant.slug, other_tenant.slug):
        assert rival.get(edit_url(tenant, visit.key).replace(tenant.slug, slug)).status_code == 404
        for remove in (False, True):
            url = edit_url(tenant, visit.key, remove).replace(tenant.slug, slug)
            assert rival.post(url, {"label": "偷改"}).status_code == 404
    # nor a built-in one in ours
    assert rival.post(edit_url(tenant, "payment_received"), {"label": "x"}).status_code == 404
    assert event_kinds(tenant=tenant)[visit.key] == "到店参观"
    assert not EventKind.objects.for_tenant(other_tenant).exists()
