"""The pages of grading: an admin sets up 银卡/金卡/铂金 and the thresholds; sales open the
at-risk list; the contact page, the list and the dashboard show tiers."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from grading.models import GradingSettings, Tier
from grading.services import grades_recompute, tier_save
from tagging.models import Event
from tests.conftest import client_for
from tests.factories import ContactFactory

NOW = timezone.now()


def url(tenant, name, *args):
    return reverse(name, args=[tenant.slug, *args])


def graded_customer(
    tenant, *, amount="6000", quiet_days=1, owner=None, name="林小雨", stage="subscriber"
):
    customer = ContactFactory(tenant=tenant, name=name, owner=owner, stage=stage,
                              created_at=NOW - timedelta(days=400))  # fmt: skip
    Event.objects.create(
        tenant=tenant, contact=customer, kind="payment_received", amount=Decimal(amount),
        occurred_at=NOW - timedelta(days=quiet_days),
    )  # fmt: skip
    return customer


def test_an_admin_adds_a_tier_and_sees_its_customers_counted(
    tenant, admin, admin_client, django_capture_on_commit_callbacks
):
    graded_customer(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(tenant, "tier_list"), {
            "name": "金卡", "threshold": "5000", "entitlements": "专属顾问",
            "discount_percent": "10", "included_sessions": "2",
        })  # fmt: skip
    assert response.status_code == 302
    tier = Tier.objects.for_tenant(tenant).get()
    assert (tier.name, tier.threshold, tier.discount_percent) == ("金卡", 5000, 10)
    page = admin_client.get(url(tenant, "tier_list")).content.decode()
    assert "专属顾问" in page
    assert f'?tier={tier.pk}">1</a>' in page  # one customer holds it, a link to them


def test_a_bad_tier_keeps_what_was_typed_and_says_why(tenant, admin, admin_client):
    tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal("1000"))
    response = admin_client.post(url(tenant, "tier_list"), {
        "name": "白银", "threshold": "1000", "discount_percent": "0", "included_sessions": "0",
    })  # fmt: skip
    assert response.status_code == 422
    assert "Another tier already starts at ¥1000" in response.content.decode()
    assert 'value="白银"' in response.content.decode()
    assert Tier.objects.for_tenant(tenant).count() == 1


def test_an_admin_edits_and_deletes_a_tier(tenant, admin, admin_client):
    tier = tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal("1000"))
    form = admin_client.get(url(tenant, "tier_edit", tier.pk)).content.decode()
    assert 'value="银卡"' in form
    admin_client.post(url(tenant, "tier_edit", tier.pk), {
        "name": "银卡会员", "threshold": "1200", "discount_percent": "5", "included_sessions": "0",
    })  # fmt: skip
    tier.refresh_from_db()
    assert (tier.name, tier.threshold) == ("银卡会员", 1200)
    admin_client.post(url(tenant, "tier_delete", tier.pk))
    assert not Tier.objects.for_tenant(tenant).exists()


def test_an_admin_tunes_the_thresholds_and_a_bad_pair_saves_nothing(tenant, admin_client):
    response = admin_client.post(url(tenant, "grading_settings"), {
        "window_days": "365", "new_days": "14", "loyal_payments": "3", "at_risk_days": "45",
        "churned_days": "120",
    })  # fmt: skip
    assert response.status_code == 302
    saved = GradingSettings.objects.for_tenant(tenant).get()
    assert (saved.window_days, saved.at_risk_days, saved.churned_days) == (365, 45, 120)
    response = admin_client.post(url(tenant, "grading_settings"), {
        "window_days": "", "new_days": "14", "loyal_payments": "3", "at_risk_days": "90",
        "churned_days": "60",
    })  # fmt: skip
    assert response.status_code == 422
    assert "must be longer" in response.content.decode()
    saved.refresh_from_db()
    assert (saved.window_days, saved.at_risk_days, saved.churned_days) == (365, 45, 120)


@pytest.mark.parametrize("who", ["marketer_client", "sales_client"])
def test_only_admins_reach_the_tier_settings(tenant, admin, who, request):
    tier = tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal("1000"))
    client = request.getfixturevalue(who)
    assert client.get(url(tenant, "tier_list")).status_code == 403
    assert client.post(url(tenant, "tier_delete", tier.pk)).status_code == 403
    data = {"name": "金卡", "threshold": "5000", "discount_percent": "0", "included_sessions": "0"}
    assert client.post(url(tenant, "tier_list"), data).status_code == 403
    assert list(Tier.objects.for_tenant(tenant).values_list("name", flat=True)) == ["银卡"]


def test_the_at_risk_list_says_why_and_who_last_reached_out(tenant, admin, sales, sales_client):
    tier_save(tenant=tenant, actor=admin, name="金卡", threshold=Decimal("5000"))
    drifting = graded_customer(tenant, quiet_days=75, owner=sales, name="林小雨")
    graded_customer(tenant, quiet_days=3, owner=sales, name="活跃的")
    graded_customer(tenant, quiet_days=90, owner=admin, name="别人的")
    Activity.objects.create(tenant=tenant, contact=drifting, kind="wechat", author=sales,
                            outcome="没回复", occurred_at=NOW - timedelta(days=20))  # fmt: skip
    grades_recompute(tenant=tenant)
    page = sales_client.get(url(tenant, "at_risk_list")).content.decode()
    assert "林小雨" in page and "别人的" in page and "活跃的" not in page
    assert "Nothing for 75 days" in page
    assert "last: Paid" in page
    assert "没回复" in page
    assert page.index("别人的") < page.index("林小雨")  # the longest quiet first
    mine = sales_client.get(url(tenant, "at_risk_list") + "?owner=me").content.decode()
    assert "林小雨" in mine and "别人的" not in mine


def test_the_at_risk_list_costs_the_same_queries_for_one_or_many(
    tenant, sales, sales_client, django_assert_max_num_queries
):
    for n in range(12):
        customer = graded_customer(tenant, quiet_days=70 + n, owner=sales, name=f"客户{n}")
        Activity.objects.create(tenant=tenant, contact=customer, kind="call", author=sales,
                                text="回访")  # fmt: skip
    grades_recompute(tenant=tenant)
    sales_client.get(url(tenant, "at_risk_list"))  # the cache warmed, as on a working day
    with django_assert_max_num_queries(12):
        response = sales_client.get(url(tenant, "at_risk_list"))
    assert response.content.decode().count("客户") >= 12


def test_the_at_risk_list_pages_on_without_repeating_anyone(tenant, sales, sales_client, settings):
    for n in range(55):
        graded_customer(tenant, quiet_days=70 + n, owner=sales, name=f"客户{n:02d}")
    grades_recompute(tenant=tenant)
    first = sales_client.get(url(tenant, "at_risk_list"))
    more = first.context["more"]
    second = sales_client.get(url(tenant, "at_risk_list"), {"after": more})
    names = [row.grade.contact.name for row in [*first.context["rows"], *second.context["rows"]]]
    assert sorted(names) == sorted(f"客户{n:02d}" for n in range(55))
    assert second.context["more"] == ""


def test_the_contact_page_shows_the_tier_its_entitlements_and_the_way_up(
    tenant, admin, sales_client
):
    tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal("1000"),
              entitlements="生日课一节")  # fmt: skip
    tier_save(tenant=tenant, actor=admin, name="金卡", threshold=Decimal("5000"))
    customer = graded_customer(tenant, amount="1200")
    grades_recompute(tenant=tenant)
    page = sales_client.get(reverse("contact_detail", args=[tenant.slug, customer.pk]))
    text = page.content.decode()
    assert "银卡" in text and "生日课一节" in text
    assert "¥3800.00 more to 金卡" in text
    assert "Active" in text


def test_the_list_filters_by_tier_and_activity(tenant, admin, sales_client):
    gold = tier_save(tenant=tenant, actor=admin, name="金卡", threshold=Decimal("5000"))
    graded_customer(tenant, amount="6000", name="金卡客户")
    graded_customer(tenant, amount="100", quiet_days=80, name="快流失")
    ContactFactory(tenant=tenant, name="没动静", created_at=NOW - timedelta(days=100))
    grades_recompute(tenant=tenant)
    listed = sales_client.get(url(tenant, "contact_list"), {"tier": gold.pk}).content.decode()
    assert "金卡客户" in listed and "快流失" not in listed and "没动静" not in listed
    at_risk = sales_client.get(url(tenant, "contact_list"), {"activity": "at_risk"})
    assert "快流失" in at_risk.content.decode() and "金卡客户" not in at_risk.content.decode()
    never = sales_client.get(url(tenant, "contact_list"), {"activity": "dormant"})
    assert "没动静" in never.content.decode() and "快流失" not in never.content.decode()
    no_tier = sales_client.get(url(tenant, "contact_list"), {"tier": "none"}).content.decode()
    assert "金卡客户" not in no_tier and "快流失" in no_tier


def test_another_companys_tier_filters_to_nothing(tenant, other_tenant, sales_client, outsider):
    theirs = tier_save(tenant=other_tenant, actor=outsider, name="金卡", threshold=Decimal("1"))
    ContactFactory(tenant=tenant, name="我们的客户")
    listed = sales_client.get(url(tenant, "contact_list"), {"tier": theirs.pk}).content.decode()
    assert "我们的客户" not in listed


def test_the_dashboard_shows_customers_by_tier(tenant, admin, marketer):
    tier_save(tenant=tenant, actor=admin, name="金卡", threshold=Decimal("5000"))
    graded_customer(tenant, amount="6000")
    graded_customer(tenant, amount="7000", quiet_days=100)
    grades_recompute(tenant=tenant)
    page = client_for(marketer).get(reverse("dashboard", args=[tenant.slug])).content.decode()
    assert "Customers by tier" in page
    assert "At risk: 1" in page


def test_the_tier_shows_on_list_rows_board_cards_the_export_and_the_api(
    tenant, admin, admin_client
):
    tier_save(tenant=tenant, actor=admin, name="金卡", threshold=Decimal("5000"))
    graded_customer(tenant, amount="6000", name="金卡客户", stage="customer")
    grades_recompute(tenant=tenant)
    # a card's badge also carries the whole name on hover (it is cut short in a narrow card)
    badge = re.compile(r'<span class="badge tier"( title="金卡")?>金卡</span>')
    assert badge.search(admin_client.get(url(tenant, "contact_list")).content.decode())
    assert badge.search(admin_client.get(url(tenant, "board")).content.decode())
    export = admin_client.get(url(tenant, "contacts_export"), {"format": "csv"})
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    assert row[header.index("Tier")] == "金卡"


def test_the_contact_page_says_when_and_why_the_tier_changed(tenant, admin, sales_client):
    tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal("1000"))
    tier_save(tenant=tenant, actor=admin, name="金卡", threshold=Decimal("5000"))
    customer = graded_customer(tenant, amount="1200")
    grades_recompute(tenant=tenant)
    Event.objects.create(tenant=tenant, contact=customer, kind="payment_received",
                         amount=Decimal("4000"))  # fmt: skip
    grades_recompute(tenant=tenant)
    page = sales_client.get(reverse("contact_detail", args=[tenant.slug, customer.pk]))
    changes = page.content.decode().split('class="tier-changes')[1]
    assert changes.index("银卡 → 金卡") < changes.index("became 银卡")
    assert "¥5200.00 paid in all" in changes
