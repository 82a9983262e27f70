"""A tag taken off by mistake, or a bulk tag on the wrong contacts, is taken back at once,
exactly as it was, or not at all when something changed since."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.audit import audit_detail
from crm.models import AuditEntry, Undo
from crm.services import ServiceError
from tagging.models import ContactTag, Rule, TagRemoval, TagUndoRow
from tagging.services import contact_tag_add, contact_tag_remove
from tagging.undo import contact_tag_remove_undoable, contacts_bulk_tag_undoable, tags_undo
from tests.conftest import client_for
from tests.factories import ContactFactory


def held(tenant) -> set[tuple]:
    """Every assignment of the company, as it stands: id, contact, tag, who, how, when, rule."""
    return set(
        ContactTag.objects.for_tenant(tenant).values_list(
            "pk", "contact__name", "tag__label", "added_by", "channel", "created_at", "rule"
        )
    )


@pytest.fixture
def people(tenant):
    return [ContactFactory(tenant=tenant, name=name) for name in ("王芳", "李娜", "赵磊")]


def test_a_tag_taken_off_comes_back_as_it_was(tenant, sales, marketer, make_tag, people):
    tag = make_tag("兴趣", "少儿英语")
    rule = Rule.objects.create(tenant=tenant, name="试听", event_kind="event_attended")
    ContactTag.objects.create(tenant=tenant, contact=people[0], tag=tag, added_by=marketer,
                              channel="rule", rule=rule,
                              created_at=timezone.now() - timedelta(days=30))  # fmt: skip
    before = held(tenant)

    undo = contact_tag_remove_undoable(contact=people[0], tag=tag, actor=sales)
    assert held(tenant) == set() and TagRemoval.objects.for_tenant(tenant).count() == 1

    tags_undo(undo=undo, actor=sales)

    assert held(tenant) == before  # its id, who added it, how, when and by which rule
    assert not TagRemoval.objects.for_tenant(tenant).exists()  # as if never taken off
    assert not TagUndoRow.objects.for_tenant(tenant).exists()
    entry = AuditEntry.objects.for_tenant(tenant).get(kind="undone")
    assert (entry.subject, audit_detail(entry)) == ("少儿英语", "a tag taken off a contact")


def test_removing_a_tag_the_contact_lacks_offers_nothing(tenant, sales, make_tag, people):
    assert (
        contact_tag_remove_undoable(contact=people[0], tag=make_tag("兴趣", "x"), actor=sales)
        is None
    )
    assert not Undo.objects.for_tenant(tenant).exists()


def test_a_bulk_add_is_taken_off_exactly_the_contacts_it_tagged(tenant, sales, make_tag, people):
    tag = make_tag("客户分类", "重点")
    contact_tag_add(contact=people[0], tag=tag, actor=sales)  # tagged before: stays tagged
    before = held(tenant)
    changed, undo = contacts_bulk_tag_undoable(
        tenant=tenant, actor=sales, contacts=[p.pk for p in people], tag=tag, add=True
    )
    assert changed == 2 and undo.count == 2
    tags_undo(undo=undo, actor=sales)
    assert held(tenant) == before


def test_a_bulk_add_in_a_one_at_a_time_group_puts_the_replaced_tags_back(
    tenant, sales, marketer, make_tag, people
):
    high = make_tag("意向", "高意向", single_choice=True)
    low = make_tag("意向", "低意向", single_choice=True)
    for person in people[:2]:
        contact_tag_add(contact=person, tag=low, actor=marketer)
    before = held(tenant)
    _changed, undo = contacts_bulk_tag_undoable(
        tenant=tenant, actor=sales, contacts=[p.pk for p in people], tag=high, add=True
    )
    assert {label for _pk, _name, label, *_rest in held(tenant)} == {"高意向"}
    tags_undo(undo=undo, actor=sales)
    assert held(tenant) == before


def test_a_bulk_removal_is_put_back(tenant, marketer, sales, make_tag, people):
    tag = make_tag("客户分类", "重点")
    for person in people:
        contact_tag_add(contact=person, tag=tag, actor=marketer)
    before = held(tenant)
    changed, undo = contacts_bulk_tag_undoable(
        tenant=tenant, actor=sales, contacts=[p.pk for p in people[:2]], tag=tag, add=False
    )
    assert changed == 2
    tags_undo(undo=undo, actor=sales)
    assert held(tenant) == before
    assert not TagRemoval.objects.for_tenant(tenant).exists()


def test_a_tag_put_on_again_since_stops_the_undo(tenant, marketer, sales, make_tag, people):
    tag = make_tag("客户分类", "重点")
    for person in people:
        contact_tag_add(contact=person, tag=tag, actor=marketer)
    _changed, undo = contacts_bulk_tag_undoable(
        tenant=tenant, actor=sales, contacts=[p.pk for p in people], tag=tag, add=False
    )
    contact_tag_add(contact=people[1], tag=tag, actor=marketer)
    now = held(tenant)
    with pytest.raises(ServiceError, match=r"1 of these contacts changed since \(李娜\)"):
        tags_undo(undo=undo, actor=sales)
    assert held(tenant) == now
    assert TagRemoval.objects.for_tenant(tenant).count() == 3


def test_a_tag_taken_off_since_stops_the_undo_of_a_bulk_add(tenant, sales, make_tag, people):
    tag = make_tag("客户分类", "重点")
    _changed, undo = contacts_bulk_tag_undoable(
        tenant=tenant, actor=sales, contacts=[p.pk for p in people], tag=tag, add=True
    )
    contact_tag_remove(contact=people[2], tag=tag, actor=sales)
    now = held(tenant)
    with pytest.raises(ServiceError, match=r"changed since \(赵磊\)"):
        tags_undo(undo=undo, actor=sales)
    assert held(tenant) == now


def test_another_tag_of_a_one_at_a_time_group_since_stops_the_undo(tenant, sales, make_tag, people):
    high = make_tag("意向", "高意向", single_choice=True)
    low = make_tag("意向", "低意向", single_choice=True)
    contact_tag_add(contact=people[0], tag=high, actor=sales)
    undo = contact_tag_remove_undoable(contact=people[0], tag=high, actor=sales)
    contact_tag_add(contact=people[0], tag=low, actor=sales)
    with pytest.raises(ServiceError, match="changed since"):
        tags_undo(undo=undo, actor=sales)
    assert {label for _pk, _name, label, *_rest in held(tenant)} == {"低意向"}


def test_the_undo_is_refused_once_its_time_is_up(tenant, sales, make_tag, people):
    tag = make_tag("兴趣", "口语")
    contact_tag_add(contact=people[0], tag=tag, actor=sales)
    undo = contact_tag_remove_undoable(contact=people[0], tag=tag, actor=sales)
    Undo.objects.for_tenant(tenant).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ServiceError, match="The time to undo this has passed"):
        tags_undo(undo=undo, actor=sales)
    assert held(tenant) == set()


# --- through the pages ----------------------------------------------------------------------


def test_the_contact_page_offers_the_undo_in_place(sales_client, tenant, sales, make_tag, people):
    tag = make_tag("兴趣", "口语")
    contact_tag_add(contact=people[0], tag=tag, actor=sales)
    before = held(tenant)
    removed = sales_client.post(
        reverse("contact_tag_remove", args=[tenant.slug, people[0].pk, tag.pk]),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    undo = Undo.objects.for_tenant(tenant).get()
    url = reverse("contact_tags_undo", args=[tenant.slug, undo.pk])
    assert "Removed “口语”." in removed and f'hx-post="{url}"' in removed
    assert "Undo: put “口语” back" in removed
    back = sales_client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Undone: “口语” is back." in back and 'id="tags-panel"' in back
    assert held(tenant) == before


def test_without_htmx_the_contact_page_offers_it_after_the_redirect(
    sales_client, tenant, sales, make_tag, people
):
    tag = make_tag("兴趣", "口语")
    contact_tag_add(contact=people[0], tag=tag, actor=sales)
    page = sales_client.post(
        reverse("contact_tag_remove", args=[tenant.slug, people[0].pk, tag.pk]), follow=True
    ).content.decode()
    undo = Undo.objects.for_tenant(tenant).get()
    assert f'action="{reverse("contact_tags_undo", args=[tenant.slug, undo.pk])}"' in page


def test_the_bulk_bar_offers_undo_and_it_puts_the_tags_back(
    sales_client, tenant, marketer, make_tag, people
):
    tag = make_tag("客户分类", "重点")
    for person in people:
        contact_tag_add(contact=person, tag=tag, actor=marketer)
    before = held(tenant)
    page = sales_client.post(
        reverse("contacts_bulk_tag", args=[tenant.slug]),
        {"scope": "all", "tag": tag.pk, "operation": "remove"},
        follow=True,
    ).content.decode()
    assert "Removed “重点” from 3 contacts." in page and "undo-offer" in page
    undo = Undo.objects.for_tenant(tenant).get()
    response = sales_client.post(reverse("contact_tags_undo", args=[tenant.slug, undo.pk]),
                                 follow=True)  # fmt: skip
    assert "Undone: “重点” is back on 3 contacts." in response.content.decode()
    assert held(tenant) == before


def test_a_colleague_or_another_company_cannot_undo_it(
    sales_client, tenant, other_tenant, admin, outsider_client, make_tag, people
):
    tag = make_tag("客户分类", "重点")
    sales_client.post(reverse("contacts_bulk_tag", args=[tenant.slug]),
                      {"scope": "all", "tag": tag.pk, "operation": "add"})  # fmt: skip
    undo = Undo.objects.for_tenant(tenant).get()
    assert client_for(admin).post(
        reverse("contact_tags_undo", args=[tenant.slug, undo.pk])
    ).status_code == 404  # fmt: skip
    for slug in (tenant.slug, other_tenant.slug):
        response = outsider_client.post(reverse("contact_tags_undo", args=[slug, undo.pk]))
        assert response.status_code == 404
    assert len(held(tenant)) == 3
    # a bulk move's undo is not reached through the tags' address, nor the other way round
    assert sales_client.post(
        reverse("contacts_bulk_undo", args=[tenant.slug, undo.pk])
    ).status_code == 404  # fmt: skip
