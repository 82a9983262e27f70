import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_salesperson_logs_a_wechat_chat_and_finds_it_in_the_history(live_server, page):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="sales", user__username="zhao")
    contact = ContactFactory(tenant=school, name="林小雨", stage="lead")

    log_in(page, live_server, "zhao")
    page.set_viewport_size({"width": 390, "height": 844})  # on the phone, between two visits
    page.goto(f"{live_server.url}/t/english-school/contacts/{contact.pk}/")

    page.locator("#activity-panel").get_by_label("WeChat chat").check()
    page.fill("#activity-panel textarea", "问了周末班的价格，发了课表")
    page.fill("#activity-panel input[name=activity-outcome]", "有意向")
    page.click("#activity-panel button[type=submit]")

    expect(page.locator("#activity-panel [role=status]")).to_have_text("Logged: WeChat chat.")
    expect(page.locator("#activity-panel textarea")).to_have_value("")  # ready for the next one
    first = page.locator("#timeline-panel .timeline li").first
    expect(first).to_contain_text("WeChat chat")
    expect(first).to_contain_text("问了周末班的价格，发了课表")
    expect(first).to_contain_text("有意向")

    # nothing written: refused beside the form, the kind chosen kept
    page.locator("#activity-panel").get_by_label("Call").check()
    page.click("#activity-panel button[type=submit]")
    expect(page.locator("#activity-panel [role=alert]")).to_contain_text("Write what was said")
    expect(page.locator("#activity-panel").get_by_label("Call")).to_be_checked()

    page.select_option("#timeline-shown", "stage")
    expect(page.locator("#timeline-panel")).not_to_contain_text("问了周末班的价格")
    expect(page.locator("#timeline-panel")).to_contain_text("Contact created")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
