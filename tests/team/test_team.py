"""The Team page: per member, the contacts they own by stage, the moves they made, their
contacts' conversions and payments in a period, and their open and overdue tasks. Admins and
marketers see everyone; a salesperson sees their own figures and no one else's."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Task
from lifecycle.models import StageChange
from tagging.models import Event
from tests.factories import ContactFactory, MembershipFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the company's time zone (the factory's default)
NOVEMBER = {"from": "2025-11-01", "to": "2025-11-30"}


def at(day: str, clock: str = "12:00") -> datetime:
    """A moment on the company's clock."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SHANGHAI)


def move(contact, actor, from_stage, to_stage, when, *, channel="ui"):
    return StageChange.objects.create(
        tenant=contact.tenant, contact=contact, kind="moved", from_stage=from_stage,
        to_stage=to_stage, from_status="active", to_status="active", actor=actor,
        channel=channel, created_at=when,
    )  # fmt: skip


def pay(contact, amount: str, when):
    return Event.objects.create(tenant=contact.tenant, contact=contact, kind="payment_received",
                                amount=Decimal(amount), occurred_at=when)  # fmt: skip


def task(contact, assignee, due, *, done=False):
    done_at = timezone.now() if done else None
    return Task.objects.create(tenant=contact.tenant, contact=contact, title="回电", due_at=due,
                               assignee=assignee, done_at=done_at)  # fmt: skip


def team_page(client, tenant, **params):
    return client.get(reverse("team", args=[tenant.slug]), params)


FIGURES = ("active", "forward", "back", "conversions", "revenue", "payments", "rate",
           "open_tasks", "overdue_tasks")  # fmt: skip


def figures(response) -> dict[str, dict]:
    """Each row's figures by member name, its contacts by stage in funnel order."""
    return {
        row["name"]: {
            "stages": [count for count, _url in row["stages"]],
            **{name: row[name] for name in FIGURES},
        }
        for row in response.context["rows"]
    }


def a_month_of_work(tenant, sales, marketer, admin):
    """November 2025: zhao (sales) made three moves forward and one back, one of his contacts
    became a customer and paid twice, and of the four of his that reached SQL (one since lost)
    that one is a customer; li (marketer) moved a subscriber on; a rule and an import moved
    others. zhao has two open tasks, one overdue, and one done."""
    asking = ContactFactory.create_batch(2, tenant=tenant, owner=sales, stage="sql",
                                         furthest_stage="sql")  # fmt: skip
    paid = ContactFactory(tenant=tenant, owner=sales, stage="customer", furthest_stage="customer")
    ContactFactory(tenant=tenant, owner=sales, stage="sql", furthest_stage="sql", status="lost")
    lead = ContactFactory(tenant=tenant, owner=marketer, stage="lead")
    move(paid, sales, "sql", "opportunity", at("2025-11-03"))
    move(paid, sales, "opportunity", "customer", at("2025-11-10"))
    move(asking[0], sales, "opportunity", "sql", at("2025-11-12"))  # a correction back
    move(asking[1], sales, "mql", "sql", at("2025-11-20"))
    move(lead, marketer, "subscriber", "lead", at("2025-11-05"))
    move(lead, None, "lead", "mql", at("2025-11-06"), channel="rule")  # nobody's work
    move(lead, marketer, "mql", "lead", at("2025-11-07"), channel="import")  # nor an import
    pay(paid, "1980", at("2025-11-10"))
    pay(paid, "3680.50", at("2025-11-28"))
    now = timezone.now()
    task(paid, sales, now - timedelta(days=1))
    task(paid, sales, now + timedelta(days=1))
    task(paid, sales, now - timedelta(days=3), done=True)
    return asking, paid


ZHAO = {
    "stages": [0, 0, 0, 2, 0, 1, 0], "active": 3, "forward": 3, "back": 1, "conversions": 1,
    "revenue": "¥5,660.50", "payments": 2, "rate": "25%", "open_tasks": 2, "overdue_tasks": 1,
}  # fmt: skip
LI = {
    "stages": [0, 1, 0, 0, 0, 0, 0], "active": 1, "forward": 1, "back": 0, "conversions": 0,
    "revenue": "¥0", "payments": 0, "rate": "—", "open_tasks": 0, "overdue_tasks": 0,
}  # fmt: skip


def test_an_admin_sees_every_member_who_owns_contacts_or_made_moves(
    admin_client, tenant, admin, marketer, sales
):
    a_month_of_work(tenant, sales, marketer, admin)
    response = team_page(admin_client, tenant, **NOVEMBER)
    assert response.status_code == 200
    # wang, the admin, owns nothing and moved nothing: no row of his
    assert figures(response) == {"li": LI, "zhao": ZHAO}
    html = response.content.decode()
    assert "<h1>Team</h1>" in html
    assert "From 2025-11-01 to 2025-11-30, whole days in Asia/Shanghai time." in html


def test_a_marketer_sees_the_whole_team_too(marketer_client, tenant, admin, marketer, sales):
    a_month_of_work(tenant, sales, marketer, admin)
    assert figures(team_page(marketer_client, tenant, **NOVEMBER)) == {"li": LI, "zhao": ZHAO}


def test_a_figure_opens_the_contacts_it_counts(admin_client, tenant, admin, marketer, sales):
    asking, _paid = a_month_of_work(tenant, sales, marketer, admin)
    html = team_page(admin_client, tenant, **NOVEMBER).content.decode()
    link = f"/t/{tenant.slug}/contacts/?owner={sales.pk}&stage=sql&status=active"
    assert f'<a href="{link.replace("&", "&amp;")}">2</a>' in html
    listed = admin_client.get(link).context["page"].items
    assert sorted(row.name for row in listed) == sorted(c.name for c in asking)


def test_a_salesperson_sees_their_own_figures_only(sales_client, tenant, admin, marketer, sales):
    a_month_of_work(tenant, sales, marketer, admin)
    response = team_page(sales_client, tenant, **NOVEMBER)
    assert response.status_code == 200
    assert figures(response) == {"zhao": ZHAO}
    html = response.content.decode()
    assert "<h1>My figures</h1>" in html
    assert f"?owner={marketer.pk}" not in html
    assert f'href="/t/{tenant.slug}/tasks/">2</a>' in html  # their own tasks


@pytest.mark.parametrize(
    "trick", ["owner", "member", "only", "actor", "assignee", "membership_id", "user"]
)
def test_no_address_shows_a_salesperson_someone_elses_figures(
    sales_client, tenant, admin, marketer, sales, trick
):
    a_month_of_work(tenant, sales, marketer, admin)
    page = team_page(sales_client, tenant, **NOVEMBER, **{trick: marketer.pk})
    assert figures(page) == {"zhao": ZHAO}
    panel = sales_client.get(
        reverse("team_panel", args=[tenant.slug]), {trick: marketer.pk}, HTTP_HX_REQUEST="true"
    )
    assert [row["name"] for row in panel.context["rows"]] == ["zhao"]


def test_a_salesperson_without_figures_still_sees_their_own_row_of_zeros(sales_client, tenant):
    response = team_page(sales_client, tenant, **NOVEMBER)
    assert figures(response) == {"zhao": {
        "stages": [0] * 7, "active": 0, "forward": 0, "back": 0, "conversions": 0,
        "revenue": "¥0", "payments": 0, "rate": "—", "open_tasks": 0, "overdue_tasks": 0,
    }}  # fmt: skip


def test_the_period_is_whole_days_on_the_companys_clock(admin_client, tenant, sales):
    """Moves, conversions and payments at the first and last instants of the period count;
    an instant before or after does not. 1 November in Shanghai starts at 16:00 UTC on 31
    October."""
    instants = {
        "just before": at("2025-10-31", "23:59:59.999999"),
        "first": at("2025-11-01", "00:00"),
        "last": at("2025-11-30", "23:59:59.999999"),
        "just after": at("2025-12-01", "00:00"),
    }
    amounts = {"just before": "1", "first": "10", "last": "100", "just after": "1000"}
    for name, when in instants.items():
        contact = ContactFactory(tenant=tenant, owner=sales, stage="customer", name=name)
        move(contact, sales, "opportunity", "customer", when)
        pay(contact, amounts[name], when)
    row = figures(team_page(admin_client, tenant, **NOVEMBER))["zhao"]
    assert (row["forward"], row["conversions"], row["revenue"], row["payments"]) == (
        2, 2, "¥110", 2,
    )  # fmt: skip
    one_day = figures(team_page(admin_client, tenant, **{"from": "2025-12-01", "to": "2025-12-01"}))
    assert (one_day["zhao"]["forward"], one_day["zhao"]["revenue"]) == (1, "¥1,000")


def test_by_default_the_last_30_days_up_to_today_on_the_companys_clock(
    admin_client, tenant, sales, monkeypatch
):
    # 00:30 on 2 December in Shanghai, still 1 December in UTC
    monkeypatch.setattr(timezone, "now", lambda: datetime(2025, 12, 1, 16, 30, tzinfo=UTC))
    contact = ContactFactory(tenant=tenant, owner=sales, stage="lead")
    move(contact, sales, "subscriber", "lead", at("2025-11-02", "23:59:59"))  # the 31st day back
    move(contact, sales, "lead", "mql", at("2025-11-03", "00:00"))
    move(contact, sales, "mql", "lead", at("2025-12-02", "00:10"))  # ten minutes ago
    response = team_page(admin_client, tenant)
    period = response.context["period"]
    assert (period.since.isoformat(), period.until.isoformat()) == ("2025-11-03", "2025-12-02")
    assert 'name="from" value="2025-11-03"' in response.content.decode()
    assert (figures(response)["zhao"]["forward"], figures(response)["zhao"]["back"]) == (1, 1)


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"from": "2025-11-30", "to": "2025-11-01"}, "The start date is after the end date."),
        ({"from": "2024-01-01", "to": "2025-01-01"}, "Choose a period of at most 366 days."),
        ({"from": "2025-13-01"}, "From: Enter a valid date."),
        ({"to": "1 Nov"}, "To: Enter a valid date."),
        ({"to": "2999-01-01"}, "The period cannot end after today."),
    ],
)
def test_a_bad_period_says_what_is_wrong_and_shows_no_figures(
    admin_client, tenant, sales, period, message
):
    move(ContactFactory(tenant=tenant, owner=sales), sales, "subscriber", "lead", at("2025-11-05"))
    response = team_page(admin_client, tenant, **period)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="flash-error" role="alert">{message}</p>' in html
    assert response.context["rows"] is None and "<table" not in html
    for name, typed in period.items():
        assert f'name="{name}" value="{typed}"' in html  # kept as typed, to be corrected


def test_a_leap_year_fits_in_one_period(admin_client, tenant):
    leap = team_page(admin_client, tenant, **{"from": "2024-01-01", "to": "2024-12-31"})
    assert leap.status_code == 200 and leap.context["period"].days == 366


def test_another_companys_work_is_never_counted(
    admin_client, tenant, admin, marketer, sales, outsider, other_tenant
):
    a_month_of_work(tenant, sales, marketer, admin)
    rival_sales = MembershipFactory(tenant=other_tenant, role="sales", user__username="qian")
    a_month_of_work(other_tenant, rival_sales, outsider, outsider)
    theirs = ContactFactory(tenant=other_tenant, owner=rival_sales, stage="customer")
    move(theirs, rival_sales, "opportunity", "customer", at("2025-11-11"))
    pay(theirs, "99999", at("2025-11-11"))
    response = team_page(admin_client, tenant, **NOVEMBER)
    assert figures(response) == {"li": LI, "zhao": ZHAO}
    assert "qian" not in response.content.decode() and "rival" not in response.content.decode()
    rival_view = team_page(admin_client, other_tenant, **NOVEMBER)
    assert rival_view.status_code == 404


def _busy_member(tenant, n: int):
    member = MembershipFactory(tenant=tenant, role="sales")
    contact = ContactFactory(tenant=tenant, owner=member, stage="customer",
                             furthest_stage="customer")  # fmt: skip
    ContactFactory(tenant=tenant, owner=member, stage="sql")
    move(contact, member, "opportunity", "customer", at("2025-11-02"))
    move(contact, member, "customer", "opportunity", at("2025-11-03"))
    pay(contact, str(100 + n), at("2025-11-04"))
    task(contact, member, timezone.now() - timedelta(hours=1))
    return member


def test_the_page_costs_the_same_queries_for_one_member_or_many(
    admin_client, tenant, admin, django_assert_num_queries
):
    _busy_member(tenant, 0)
    team_page(admin_client, tenant, **NOVEMBER)  # the stage names cached, as on a working day
    # 6 to know who is asking (session, user, member, the two scope settings, the header's
    # counts) and 6 for the figures: names, contacts, moves, conversions, payments, tasks
    with django_assert_num_queries(12):
        one = team_page(admin_client, tenant, **NOVEMBER)
    for n in range(1, 8):
        _busy_member(tenant, n)
    with django_assert_num_queries(12):
        eight = team_page(admin_client, tenant, **NOVEMBER)
    assert (len(one.context["rows"]), len(eight.context["rows"])) == (1, 8)
    revenue = sorted(row["revenue"] for row in eight.context["rows"])
    assert revenue == [f"¥{100 + n}" for n in range(8)]


def test_the_navigation_offers_the_team_to_those_who_see_everyone(
    admin_client, marketer_client, sales_client, tenant
):
    link = f'<a href="/t/{tenant.slug}/team/" '
    dashboard = reverse("dashboard", args=[tenant.slug])
    assert link in admin_client.get(dashboard).content.decode()
    assert link in marketer_client.get(dashboard).content.decode()
    assert link not in sales_client.get(dashboard).content.decode()
