"""A card dragged on a board that is out of date: someone else moved the contact meanwhile. The
move is refused, and the card goes to the column the contact is really in, with the refusal."""

import re

from django.urls import reverse

from crm.models import Contact
from lifecycle.services import contact_mark_lost, contact_stage_move
from tests.factories import ContactFactory

STALE = (
    "Someone changed this contact while you were looking: it is now in “Marketing qualified lead”"
)


def drop(client, contact, to_stage, *, version, owner=""):
    return client.post(
        reverse("contact_move", args=[contact.tenant.slug, contact.pk]),
        {"to_stage": to_stage, "version": version, "origin": "board", "owner": owner},
        HTTP_HX_REQUEST="true",
    )


def test_a_stale_drop_puts_the_card_in_the_column_the_contact_is_really_in(
    sales_client, admin, tenant
):
    contact = ContactFactory(tenant=tenant, stage="lead")  # the board shows it at version 0
    contact_stage_move(contact=contact, actor=admin, to_stage="mql")  # someone else: version 1

    response = drop(sales_client, contact, "sql", version=0)

    html = response.content.decode()
    assert response["HX-Retarget"] == "#board-messages"
    assert STALE in html
    assert f'<div id="card-{contact.pk}" hx-swap-oob="delete"></div>' in html
    placed = re.search(r'hx-swap-oob="afterbegin:#cards-(\w+)">\s*<article[^>]*>', html)
    assert placed.group(1) == "mql"
    assert 'data-stage="mql"' in placed.group(0) and 'data-version="1"' in placed.group(0)
    row = Contact.objects.for_tenant(tenant).get(pk=contact.pk)
    assert (row.stage, row.stage_version) == ("mql", 1)


def test_the_redrawn_card_moves_on_the_next_drop(sales_client, admin, tenant):
    contact = ContactFactory(tenant=tenant, stage="lead")
    contact_stage_move(contact=contact, actor=admin, to_stage="mql")
    drop(sales_client, contact, "sql", version=0)

    response = drop(sales_client, contact, "sql", version=1)  # the version the new card carries

    assert "moved to" in response.content.decode()
    assert Contact.objects.for_tenant(tenant).get(pk=contact.pk).stage == "sql"


def test_a_card_whose_contact_was_marked_lost_leaves_the_board(sales_client, admin, tenant):
    contact = ContactFactory(tenant=tenant, stage="lead")
    contact_mark_lost(contact=contact, actor=admin, lost_reason="churned")

    html = drop(sales_client, contact, "mql", version=0).content.decode()

    assert "marked lost" in html
    assert f'<div id="card-{contact.pk}" hx-swap-oob="delete"></div>' in html
    assert "afterbegin:#cards-" not in html


def test_on_ones_own_board_a_card_given_to_someone_else_leaves_it(
    sales_client, sales, admin, tenant
):
    contact = ContactFactory(tenant=tenant, stage="lead", owner=sales)
    contact_stage_move(contact=contact, actor=admin, to_stage="mql")
    Contact.objects.for_tenant(tenant).filter(pk=contact.pk).update(owner=admin)

    html = drop(sales_client, contact, "sql", version=0, owner="me").content.decode()

    assert f'<div id="card-{contact.pk}" hx-swap-oob="delete"></div>' in html
    assert "afterbegin:#cards-" not in html


def test_a_refusal_of_an_up_to_date_card_leaves_it_where_it_is(marketer_client, tenant):
    contact = ContactFactory(tenant=tenant, stage="mql")

    html = drop(marketer_client, contact, "lead", version=0).content.decode()  # backward: refused

    assert "Only admins and sales staff may move a contact back" in html
    assert "hx-swap-oob" not in html
