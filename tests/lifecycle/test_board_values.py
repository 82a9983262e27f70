"""The board's value per column: the expected amounts of the column's active contacts, in
yuan with thousands separators; the whole company's from the stored counts, one's own live."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lifecycle.analytics import funnel_recompute
from lifecycle.models import FunnelCount
from lifecycle.templatetags.lifecycle import yuan
from tests.factories import ContactFactory


def head(html: str, stage: str) -> str:
    """What the column's head shows beside its count."""
    start = html.index(f'id="amount-{stage}"')
    return html[html.index(">", start) + 1 : html.index("</span>", start)]


def board(client, tenant, **params):
    return client.get(reverse("board", args=[tenant.slug]), params).content.decode()


def test_each_column_shows_the_value_of_its_active_contacts(
    sales_client, tenant, sales, other_tenant
):
    ContactFactory(tenant=tenant, stage="opportunity", expected_amount=Decimal("9800"))
    ContactFactory(tenant=tenant, stage="opportunity", expected_amount=Decimal("3680.50"),
                   owner=sales)  # fmt: skip
    ContactFactory(tenant=tenant, stage="opportunity")  # no amount yet: adds nothing
    ContactFactory(tenant=tenant, stage="opportunity", status="lost",
                   expected_amount=Decimal("100000"))  # fmt: skip
    ContactFactory(tenant=tenant, stage="customer", expected_amount=Decimal("1234567"))
    ContactFactory(tenant=other_tenant, stage="opportunity", expected_amount=Decimal("55555"))
    funnel_recompute(tenant=tenant)
    html = board(sales_client, tenant)
    assert head(html, "opportunity") == "¥13,480.50"
    assert head(html, "customer") == "¥1,234,567"
    assert head(html, "lead") == "¥0"
    stored = FunnelCount.objects.for_tenant(tenant).get(stage="opportunity", status="lost")
    assert stored.amount == Decimal("100000")  # kept, not shown: the board shows no lost ones


def test_on_ones_own_board_the_values_are_ones_own(sales_client, tenant, sales, admin):
    ContactFactory(tenant=tenant, stage="sql", expected_amount=Decimal("5800"), owner=sales)
    ContactFactory(tenant=tenant, stage="sql", expected_amount=Decimal("1980"), owner=sales)
    ContactFactory(tenant=tenant, stage="sql", expected_amount=Decimal("9800"), owner=admin)
    funnel_recompute(tenant=tenant)
    assert head(board(sales_client, tenant), "sql") == "¥17,580"
    assert head(board(sales_client, tenant, owner="me"), "sql") == "¥7,780"


def test_the_company_board_reads_its_values_with_its_counts(sales_client, tenant):
    ContactFactory(tenant=tenant, stage="sql", expected_amount=Decimal("5800"))
    funnel_recompute(tenant=tenant)
    with CaptureQueriesContext(connection) as counted:
        sales_client.get(reverse("board", args=[tenant.slug]))
    sql = [q["sql"] for q in counted.captured_queries]
    assert len([q for q in sql if "lifecycle_funnelcount" in q]) == 1  # the counts' one read
    assert not [q for q in sql if "SUM(" in q.upper()]  # no company summed per view


def test_a_card_dropped_on_another_column_takes_its_value_along(
    sales_client, tenant, django_capture_on_commit_callbacks
):
    moved = ContactFactory(tenant=tenant, stage="opportunity", expected_amount=Decimal("3680"))
    ContactFactory(tenant=tenant, stage="opportunity", expected_amount=Decimal("1980"))
    funnel_recompute(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=False):  # the recompute has not run yet
        response = sales_client.post(
            reverse("contact_move", args=[tenant.slug, moved.pk]),
            {"to_stage": "customer", "version": 0, "origin": "board"},
            HTTP_HX_REQUEST="true",
        )
    html = response.content.decode()
    assert head(html, "opportunity") == "¥1,980"
    assert head(html, "customer") == "¥3,680"


def test_amounts_are_written_as_offices_write_them():
    assert yuan(Decimal("0")) == "¥0"
    assert yuan(Decimal("1980.00")) == "¥1,980"
    assert yuan(Decimal("1234567.5")) == "¥1,234,567.50"
    assert yuan(None) == "—"
