import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_salesperson_logs_in_and_finds_a_contact(live_server, page):
    tenant = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=tenant, role="sales", user__username="zhao")
    ContactFactory(tenant=tenant, name="张伟", phone="13800138000")
    ContactFactory(tenant=tenant, name="李娜", phone="13912345678", wechat_id="lina88")

    log_in(page, live_server, "zhao")
    expect(page.locator("h1")).to_have_text("英语口语培训班")

    page.click("text=Contacts")
    page.fill("#id_q", "139 1234")
    # htmx swaps the results in as the salesperson types, and the address keeps the search.
    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    expect(page.locator("#contact-results")).to_contain_text("李娜")
    expect(page).to_have_url(re.compile(r"/t/english-school/contacts/\?q=139(%20|\+)1234"))

    page.click("#contact-results >> text=李娜")
    expect(page.locator("h1")).to_contain_text("李娜")
    expect(page.locator("dl.facts").first).to_contain_text("lina88")
