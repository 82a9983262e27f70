"""An admin defines 银卡/金卡/铂金 and sees customers graded by their payments; sales see who is
drifting away. The recompute is set-based, idempotent, and slides with time."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.services import NotAllowed, ServiceError, contact_delete
from grading.models import ContactGrade, GradeChange, GradingSettings, Tier
from grading.selectors import contact_grade, grade_distribution
from grading.services import grades_recompute, grading_settings_save, tier_delete, tier_save
from tagging.models import Event
from tagging.rules import event_log
from tests.factories import ContactFactory

NOW = timezone.now()


def scheme(tenant, admin):
    return {
        name: tier_save(
            tenant=tenant,
            actor=admin,
            name=name,
            threshold=Decimal(amount),
            entitlements=perk,
            discount_percent=Decimal(off),
        )  # fmt: skip
        for name, amount, perk, off in (
            ("银卡", "1000", "生日课一节", "5"),
            ("金卡", "5000", "专属顾问", "10"),
            ("铂金", "20000", "免费复训", "15"),
        )
    }


def paid(contact, amount, days_ago, kind="payment_received"):
    return Event.objects.create(
        tenant=contact.tenant, contact=contact, kind=kind,
        amount=Decimal(amount) if amount is not None else None,
        occurred_at=NOW - timedelta(days=days_ago),
    )  # fmt: skip


def test_customers_are_graded_by_what_they_paid_and_each_change_is_recorded(tenant, admin):
    tiers = scheme(tenant, admin)
    silver = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=400))
    gold = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=400))
    below = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=400))
    paid(silver, "1200", 10)
    paid(gold, "3000", 20)
    paid(gold, "2500", 5)
    paid(below, "999.99", 3)
    done = grades_recompute(tenant=tenant, now=NOW)
    grades = {g.contact_id: g for g in ContactGrade.objects.for_tenant(tenant)}
    assert grades[silver.pk].tier == tiers["银卡"]
    assert (grades[gold.pk].tier, grades[gold.pk].paid) == (tiers["金卡"], Decimal("5500.00"))
    assert grades[below.pk].tier is None
    assert done.tier_changes == 2
    change = GradeChange.objects.for_tenant(tenant).get(contact=gold, what="tier")
    assert (change.from_value, change.to_value, change.paid) == ("", "金卡", Decimal("5500.00"))
    # a payment more takes the silver customer up; the change says from where to where
    paid(silver, "4000", 1)
    grades_recompute(tenant=tenant, now=NOW)
    latest = GradeChange.objects.for_tenant(tenant).filter(contact=silver, what="tier").latest("id")
    assert (latest.from_value, latest.to_value) == ("银卡", "金卡")


def test_running_the_recompute_twice_changes_nothing_more(tenant, admin):
    scheme(tenant, admin)
    customer = ContactFactory(tenant=tenant)
    paid(customer, "6000", 2)
    first = grades_recompute(tenant=tenant, now=NOW)
    changes = GradeChange.objects.for_tenant(tenant).count()
    again = grades_recompute(tenant=tenant, now=NOW)
    assert (first.written, again.written) == (1, 0)
    assert GradeChange.objects.for_tenant(tenant).count() == changes
    assert again.tier_changes == again.status_changes == 0


def test_a_trailing_window_slides_a_customer_down_as_time_passes(tenant, admin):
    tiers = scheme(tenant, admin)
    grading_settings_save(tenant=tenant, actor=admin, window_days=365, new_days=30,
                          loyal_payments=2, at_risk_days=60, churned_days=180)  # fmt: skip
    customer = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=900))
    paid(customer, "5000", 300)
    paid(customer, "1500", 10)
    grades_recompute(tenant=tenant, now=NOW)
    assert ContactGrade.objects.for_tenant(tenant).get().tier == tiers["金卡"]
    # 70 days on, the ¥5,000 is older than a year: ¥1,500 in the window is silver
    grades_recompute(tenant=tenant, now=NOW + timedelta(days=70))
    grade = ContactGrade.objects.for_tenant(tenant).get()
    assert (grade.tier, grade.paid) == (tiers["银卡"], Decimal("1500.00"))
    change = GradeChange.objects.for_tenant(tenant).filter(what="tier").latest("id")
    assert (change.from_value, change.to_value, change.window_days) == ("金卡", "银卡", 365)


def test_over_a_lifetime_every_payment_counts(tenant, admin):
    tiers = scheme(tenant, admin)
    customer = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=2000))
    paid(customer, "15000", 1500)
    paid(customer, "6000", 1)
    grades_recompute(tenant=tenant, now=NOW)
    assert ContactGrade.objects.for_tenant(tenant).get().tier == tiers["铂金"]


@pytest.mark.parametrize(
    ("days_quiet", "payments", "age", "status"),
    [
        (5, 1, 400, "active"),
        (5, 2, 400, "loyal"),
        (5, 1, 10, "new"),
        (61, 3, 400, "at_risk"),
        (181, 3, 400, "churned"),
    ],
)
def test_activity_status_follows_what_the_customer_did_lately(
    tenant, days_quiet, payments, age, status
):
    customer = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=age))
    for n in range(payments):
        paid(customer, "100", days_quiet + n)
    grades_recompute(tenant=tenant, now=NOW)
    assert ContactGrade.objects.for_tenant(tenant).get(contact=customer).status == status


def test_an_active_customer_turns_at_risk_then_churned_with_no_event_to_say_so(tenant):
    customer = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=400))
    paid(customer, "300", 1)
    paid(customer, None, 0, kind="event_attended")
    grades_recompute(tenant=tenant, now=NOW)
    assert contact_grade(contact=customer, now=NOW).status == "active"
    turned = grades_recompute(tenant=tenant, now=NOW + timedelta(days=61))
    assert turned.turned_at_risk == [customer.pk]
    grades_recompute(tenant=tenant, now=NOW + timedelta(days=181))
    steps = list(
        GradeChange.objects.for_tenant(tenant).filter(what="status").order_by("id")
        .values_list("from_value", "to_value")
    )  # fmt: skip
    assert steps == [("", "active"), ("active", "at_risk"), ("at_risk", "churned")]


def test_a_lead_that_never_paid_goes_quiet_rather_than_at_risk(tenant):
    lead = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=200))
    paid(lead, None, 90, kind="form_submitted")
    grades_recompute(tenant=tenant, now=NOW)
    assert contact_grade(contact=lead, now=NOW).status == "dormant"


def test_contacts_that_never_did_anything_are_new_then_quiet(tenant):
    young = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=3))
    old = ContactFactory(tenant=tenant, created_at=NOW - timedelta(days=90))
    grades_recompute(tenant=tenant, now=NOW)
    assert not ContactGrade.objects.for_tenant(tenant).exists()  # nothing to keep for them
    assert contact_grade(contact=young, now=NOW).status == "new"
    assert contact_grade(contact=old, now=NOW).status == "dormant"


def test_a_payment_logged_on_the_page_grades_its_contact_once_it_is_saved(
    tenant, admin, sales, django_capture_on_commit_callbacks
):
    tiers = scheme(tenant, admin)
    customer = ContactFactory(tenant=tenant, owner=sales)
    with django_capture_on_commit_callbacks(execute=True):
        event_log(contact=customer, actor=sales, kind="payment_received", amount=Decimal("1280"))
    grade = contact_grade(contact=customer)
    assert (grade.tier, grade.paid, grade.next_tier) == (
        tiers["银卡"],
        Decimal("1280.00"),
        tiers["金卡"],
    )
    assert grade.to_next == Decimal("3720.00")


def test_deleting_a_tier_drops_its_customers_to_the_one_below(
    tenant, admin, django_capture_on_commit_callbacks
):
    tiers = scheme(tenant, admin)
    customer = ContactFactory(tenant=tenant)
    paid(customer, "6000", 1)
    grades_recompute(tenant=tenant, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        tier_delete(tier=tiers["金卡"], actor=admin)
    assert ContactGrade.objects.for_tenant(tenant).get().tier == tiers["银卡"]
    change = GradeChange.objects.for_tenant(tenant).filter(what="tier").latest("id")
    assert (change.from_value, change.to_value) == ("", "银卡")  # the old tier is gone


def test_only_an_admin_sets_the_scheme_and_a_refusal_saves_nothing(tenant, marketer, sales):
    for member in (marketer, sales):
        with pytest.raises(NotAllowed):
            tier_save(tenant=tenant, actor=member, name="银卡", threshold=Decimal("1000"))
        with pytest.raises(NotAllowed):
            grading_settings_save(tenant=tenant, actor=member, window_days=None, new_days=30,
                                  loyal_payments=2, at_risk_days=60, churned_days=180)  # fmt: skip
    assert not Tier.objects.for_tenant(tenant).exists()
    assert not GradingSettings.objects.for_tenant(tenant).exists()


def test_bad_thresholds_get_a_clear_message(tenant, admin):
    tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal("1000"))
    with pytest.raises(ServiceError, match="already a tier"):
        tier_save(tenant=tenant, actor=admin, name="银卡", threshold=Decimal("2000"))
    with pytest.raises(ServiceError, match="already starts"):
        tier_save(tenant=tenant, actor=admin, name="金卡", threshold=Decimal("1000"))
    with pytest.raises(ServiceError):
        tier_save(tenant=tenant, actor=admin, name="负数", threshold=Decimal("-1"))
    with pytest.raises(ServiceError, match="longer"):
        grading_settings_save(tenant=tenant, actor=admin, window_days=None, new_days=30,
                              loyal_payments=2, at_risk_days=90, churned_days=90)  # fmt: skip
    assert list(Tier.objects.for_tenant(tenant).values_list("name", flat=True)) == ["银卡"]


def test_one_company_recompute_never_touches_another(tenant, other_tenant, admin):
    scheme(tenant, admin)
    ours = ContactFactory(tenant=tenant)
    theirs = ContactFactory(tenant=other_tenant)
    paid(ours, "6000", 1)
    paid(theirs, "6000", 1)
    grades_recompute(tenant=tenant, now=NOW)
    assert list(ContactGrade.objects.values_list("contact_id", flat=True)) == [ours.pk]


def test_the_dashboard_distribution_counts_each_tier(tenant, admin):
    tiers = scheme(tenant, admin)
    for amount in ("1500", "1600", "7000"):
        paid(ContactFactory(tenant=tenant), amount, 1)
    grades_recompute(tenant=tenant, now=NOW)
    shown = grade_distribution(tenant=tenant)
    assert shown.tiers == [(tiers["铂金"], 0), (tiers["金卡"], 1), (tiers["银卡"], 2)]
    assert shown.tiered == 3


def test_a_deleted_customer_leaves_the_dashboards_count_at_once(
    tenant, admin, django_capture_on_commit_callbacks
):
    tiers = scheme(tenant, admin)
    kept_customer, leaving = ContactFactory(tenant=tenant), ContactFactory(tenant=tenant)
    paid(kept_customer, "6000", 1)
    paid(leaving, "6000", 1)
    grades_recompute(tenant=tenant, now=NOW)
    assert dict(grade_distribution(tenant=tenant).tiers)[tiers["金卡"]] == 2  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        contact_delete(contact=leaving, actor=admin)
    assert dict(grade_distribution(tenant=tenant).tiers)[tiers["金卡"]] == 1
