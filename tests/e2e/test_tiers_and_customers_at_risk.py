"""Issue 17's "done when", in the browser: an admin defines 银卡/金卡/铂金 and sees customers
graded by their payments; a salesperson starts the day from the at-risk list, finds a customer
by the phone's last four digits, logs a WeChat chat and sets a follow-up."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tagging.models import Event
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def paid(contact, amount, days_ago):
    Event.objects.create(tenant=contact.tenant, contact=contact, kind="payment_received",
                         amount=Decimal(amount),
                         occurred_at=timezone.now() - timedelta(days=days_ago))  # fmt: skip


def test_an_admin_grades_customers_and_a_salesperson_wins_back_one_at_risk(live_server, page):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="admin", user__username="wang")
    zhao = MembershipFactory(tenant=school, role="sales", user__username="zhao")
    long_ago = timezone.now() - timedelta(days=400)
    drifting = ContactFactory(tenant=school, name="林小雨", phone="13812349371", owner=zhao,
                              stage="customer", created_at=long_ago)  # fmt: skip
    loyal = ContactFactory(tenant=school, name="周杰", owner=zhao, stage="customer",
                           created_at=long_ago)  # fmt: skip
    paid(drifting, "6200", 90)
    paid(loyal, "9800", 20)
    paid(loyal, "12000", 3)

    log_in(page, live_server, "wang")
    page.goto(f"{live_server.url}/t/english-school/settings/tiers/")
    for name, amount in (("银卡", "1000"), ("金卡", "5000"), ("铂金", "20000")):
        page.get_by_label("Tier name").fill(name)
        page.get_by_label("Paid at least (¥)").fill(amount)
        page.get_by_role("button", name="Add").click()
        expect(page.locator("table.tiers")).to_contain_text(name)
    rows = page.locator("table.tiers tbody tr")
    expect(rows.filter(has_text="铂金")).to_contain_text("1")  # 周杰: ¥21,800
    expect(rows.filter(has_text="金卡")).to_contain_text("1")  # 林小雨: ¥6,200
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#grade-distribution")).to_contain_text("At risk: 1")
    page.context.clear_cookies()

    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/tasks/")
    page.get_by_role("link", name="My customers at risk").click()
    at_risk = page.locator("table.at-risk")
    expect(at_risk).to_contain_text("林小雨")
    expect(at_risk).to_contain_text("Nothing for 90 days")
    expect(at_risk).not_to_contain_text("周杰")

    page.get_by_role("link", name="Contacts").click()
    page.fill("#id_q", "尾号9371")
    expect(page.locator("#contact-results")).to_contain_text("林小雨")
    page.locator("#contact-results").get_by_role("link", name="林小雨").click()
    expect(page.locator("#grade-panel")).to_contain_text("金卡")
    expect(page.locator("#grade-panel")).to_contain_text("At risk")

    page.locator("#activity-panel").get_by_label("WeChat chat").check()
    page.fill("#activity-panel textarea", "发了老学员续费优惠，她说下周看看课表")
    page.fill("#activity-panel input[name=activity-follow_up]", "周五再问续费")
    page.click("#activity-panel button[type=submit]")
    expect(page.locator("#activity-panel [role=status]")).to_contain_text(
        "Task added: 周五再问续费."
    )
    expect(page.locator("#tasks-panel")).to_contain_text("周五再问续费")
    expect(page.locator("#timeline-panel")).to_contain_text("发了老学员续费优惠")
