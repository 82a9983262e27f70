"""The dashboard's Team panel: the last 30 days per member, compact, loaded after the page so
the dashboard itself costs nothing more, and read from the cache for a minute."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tests.factories import ContactFactory
from tests.team.test_team import move, pay, task


def panel(client, tenant):
    return client.get(reverse("team_panel", args=[tenant.slug]), HTTP_HX_REQUEST="true")


def test_the_dashboard_loads_the_panel_after_the_page(admin_client, sales_client, tenant):
    for client, heading in ((admin_client, "Team, last 30 days"),
                            (sales_client, "My last 30 days")):  # fmt: skip
        html = client.get(reverse("dashboard", args=[tenant.slug])).content.decode()
        assert f'hx-get="/t/{tenant.slug}/team/panel/" hx-trigger="load"' in html
        assert f"<h2>{heading}</h2>" in html


def test_the_panel_shows_each_members_last_30_days(
    admin_client, sales_client, tenant, admin, marketer, sales
):
    now = timezone.now()
    paid = ContactFactory(tenant=tenant, owner=sales, stage="customer")
    move(paid, sales, "opportunity", "customer", now - timedelta(days=2))
    move(paid, sales, "sql", "opportunity", now - timedelta(days=40))  # before the 30 days
    pay(paid, "12800", now - timedelta(days=1))
    pay(paid, "500", now - timedelta(days=31))
    task(paid, sales, now - timedelta(hours=2))
    lead = ContactFactory(tenant=tenant, owner=marketer, stage="lead")
    move(lead, marketer, "subscriber", "lead", now - timedelta(days=5))
    rows = panel(admin_client, tenant).context["rows"]
    assert [(r["name"], r["forward"], r["back"], r["conversions"], r["revenue"], r["open_tasks"],
             r["overdue_tasks"]) for r in rows] == [
        ("li", 1, 0, 0, "¥0", 0, 0),
        ("zhao", 1, 0, 1, "¥12,800", 1, 1),
    ]  # fmt: skip
    mine = panel(sales_client, tenant).context["rows"]
    assert [(r["name"], r["revenue"]) for r in mine] == [("zhao", "¥12,800")]


def test_the_panel_is_read_from_the_cache_for_a_minute(
    admin_client, tenant, sales, django_assert_num_queries
):
    paid = ContactFactory(tenant=tenant, owner=sales, stage="customer")
    pay(paid, "1980", timezone.now() - timedelta(days=1))
    first = panel(admin_client, tenant)
    pay(paid, "3680", timezone.now() - timedelta(hours=1))
    with django_assert_num_queries(5):  # session, user, member, the scope twice: no figure
        again = panel(admin_client, tenant)
    assert [r["revenue"] for r in first.context["rows"]] == ["¥1,980"]
    assert [r["revenue"] for r in again.context["rows"]] == ["¥1,980"]


def test_the_panel_says_so_when_the_month_was_quiet(admin_client, tenant):
    html = panel(admin_client, tenant).content.decode()
    assert "No moves, conversions, payments or open tasks in the last 30 days." in html
