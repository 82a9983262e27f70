"""Every page form that moves a contact carries the stage version the user saw: a move without
it is refused and changes nothing; a move based on an out-of-date page gets a conflict message."""

import re

import pytest
from django.urls import reverse

from crm.models import Contact
from lifecycle.models import StageChange
from lifecycle.services import contact_mark_lost, contact_stage_move
from tests.factories import ContactFactory

NO_VERSION = "This page did not say which version of the contact you saw. Nothing was changed"
NO_VERSION_ZH = "此页面没有说明你看到的是联系人的哪个版本，本次未做任何更改"
STALE = "Someone changed this contact while you were looking"


def url(name, contact):
    return reverse(name, args=[contact.tenant.slug, contact.pk])


def state(contact):
    row = Contact.objects.for_tenant(contact.tenant).get(pk=contact.pk)
    changes = StageChange.objects.for_tenant(contact.tenant).filter(contact=row).count()
    return row.stage, row.status, row.stage_version, changes


@pytest.fixture
def lost_contact(tenant, sales):
    contact = ContactFactory(tenant=tenant, stage="lead")
    contact_mark_lost(contact=contact, actor=sales, lost_reason="churned")
    return Contact.objects.for_tenant(tenant).get(pk=contact.pk)


def test_a_move_from_the_contact_page_without_the_version_is_refused(sales_client, contact):
    before = state(contact)
    response = sales_client.post(
        url("contact_move", contact), {"to_stage": "sql", "origin": "detail"}, follow=True
    )
    assert NO_VERSION in response.content.decode()
    assert state(contact) == before


def test_an_htmx_move_without_the_version_is_refused_in_the_stage_panel(sales_client, contact):
    before = state(contact)
    response = sales_client.post(
        url("contact_move", contact), {"to_stage": "sql", "origin": "detail"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    html = response.content.decode()
    assert 'id="stage-panel"' in html and NO_VERSION in html
    assert state(contact) == before


@pytest.mark.parametrize("version", ["", "abc", "-1"])
def test_a_board_move_without_a_usable_version_is_refused(sales_client, contact, version):
    before = state(contact)
    data = {"to_stage": "mql", "origin": "board", "owner": ""}
    if version:
        data["version"] = version
    response = sales_client.post(url("contact_move", contact), data, HTTP_HX_REQUEST="true")
    assert response["HX-Retarget"] == "#board-messages"
    assert NO_VERSION in response.content.decode()
    assert state(contact) == before


def test_completing_a_move_without_the_version_is_refused(sales_client, tenant):
    contact = ContactFactory(tenant=tenant, stage="sql")
    before = state(contact)
    response = sales_client.post(
        url("contact_move", contact),
        {"to_stage": "lead", "complete": "1", "needs_reason": "1", "reason": "没有预算"},
        HTTP_HX_REQUEST="true",
    )
    assert NO_VERSION in response.content.decode()
    assert state(contact) == before


def test_marking_lost_without_the_version_is_refused(sales_client, contact):
    before = state(contact)
    response = sales_client.post(
        url("contact_lost", contact), {"lost_reason": "churned"}, follow=True
    )
    assert NO_VERSION in response.content.decode()
    assert state(contact) == before


def test_reopening_without_the_version_is_refused(sales_client, lost_contact):
    before = state(lost_contact)
    response = sales_client.post(url("contact_reopen", lost_contact), {}, follow=True)
    assert NO_VERSION in response.content.decode()
    assert state(lost_contact) == before


def test_the_refusal_is_in_the_users_language(sales_client, sales, contact):
    sales.user.language = "zh-hans"
    sales.user.save()
    before = state(contact)
    response = sales_client.post(
        url("contact_move", contact), {"to_stage": "sql"}, HTTP_HX_REQUEST="true"
    )
    assert NO_VERSION_ZH in response.content.decode()
    assert state(contact) == before


def test_stale_lost_and_reopen_get_the_conflict_message(sales_client, sales, tenant):
    contact = ContactFactory(tenant=tenant, stage="lead")
    contact_stage_move(contact=contact, actor=sales, to_stage="mql")  # version 0 -> 1
    before = state(contact)
    response = sales_client.post(
        url("contact_lost", contact), {"lost_reason": "churned", "version": 0}, follow=True
    )
    assert STALE in response.content.decode()
    assert state(contact) == before
    contact_mark_lost(contact=contact, actor=sales, lost_reason="churned")  # version 2
    before = state(contact)
    response = sales_client.post(url("contact_reopen", contact), {"version": 1}, follow=True)
    assert STALE in response.content.decode()
    assert state(contact) == before


def _move_forms(html: str) -> list[str]:
    pattern = r"<form\b[^>]*action=\"[^\"]*/(?:move|lost|reopen)/\"[^>]*>.*?</form>"
    return re.findall(pattern, html, flags=re.S)


def test_every_page_form_that_moves_carries_the_version(sales_client, tenant, lost_contact):
    contact = ContactFactory(tenant=tenant, stage="sql")
    pages = [
        sales_client.get(reverse("board", args=[tenant.slug])),
        sales_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk])),
        sales_client.get(reverse("contact_detail", args=[tenant.slug, lost_contact.pk])),
        # the dialog asking for a reason to move back
        sales_client.post(url("contact_move", contact), {"to_stage": "lead", "version": 0},
                          HTTP_HX_REQUEST="true"),
    ]  # fmt: skip
    forms = [form for page in pages for form in _move_forms(page.content.decode())]
    actions = {re.search(r"/(move|lost|reopen)/\"", form).group(1) for form in forms}
    assert actions == {"move", "lost", "reopen"}
    for form in forms:
        assert re.search(r'name="version" value="\d+"', form), form


def test_the_api_docs_say_what_expected_stage_guards(client, db):
    description = client.get("/api/v1/openapi.json").json()["info"]["description"]
    words = " ".join(description.split())
    assert "the move is refused with 409 (`stale`) and nothing changes" in words
    assert "Without `expected_stage` the contact moves from whatever stage it is in now." in words
