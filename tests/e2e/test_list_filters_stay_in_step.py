"""Two quick filter changes on a list: the address bar and the results end on the last one, even
when the first answer arrives last (hx-sync: a newer request replaces the one in flight)."""

import contextlib
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_last_filter_wins_even_when_the_first_answer_is_slower(live_server, page):
    tenant = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=tenant, role="marketer", user__username="li")
    ContactFactory(tenant=tenant, name="张伟", stage="lead")
    ContactFactory(tenant=tenant, name="李娜", stage="mql")
    log_in(page, live_server, "li")
    page.goto(f"{live_server.url}/t/english-school/contacts/")
    expect(page.locator("#contact-results tbody tr")).to_have_count(2)

    held = []  # the first filter's request, held back until the second one has answered

    def hold_the_lead_filter(route):
        if route.request.headers.get("hx-request") and "stage=lead" in route.request.url:
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/contacts/\?"), hold_the_lead_filter)
    page.select_option("#id_stage", "lead")
    page.select_option("#id_stage", "mql")

    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    expect(page.locator("#contact-results")).to_contain_text("李娜")
    assert len(held) == 1
    with contextlib.suppress(PlaywrightError):  # cancelled by the browser, as it should be
        held[0].continue_()  # the older answer arrives now, if the browser still wants it
    page.wait_for_timeout(500)

    expect(page).to_have_url(re.compile(r"[?&]stage=mql"))
    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    expect(page.locator("#contact-results")).to_contain_text("李娜")
