import pytest
from playwright.sync_api import expect

from crm.consent import consent_states
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_marketer_records_sms_consent_and_a_withdrawal_in_place(live_server, page):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="marketer", user__username="li")
    contact = ContactFactory(tenant=school, name="林小雨", stage="mql")

    log_in(page, live_server, "li")
    page.goto(f"{live_server.url}/t/english-school/contacts/{contact.pk}/")
    panel = page.locator("#consent-panel")
    expect(panel).to_contain_text("Unknown")
    panel.get_by_role("button", name="Record consent granted: SMS").click()
    expect(panel.locator("[role=status]")).to_contain_text("Consent for SMS recorded as granted.")
    expect(panel).to_contain_text("By hand")
    assert page.url.endswith(f"/contacts/{contact.pk}/")  # in place, no page load
    panel.get_by_role("button", name="Record consent withdrawn: SMS").click()
    expect(panel.locator("[role=status]")).to_contain_text("recorded as withdrawn")
    panel.locator("summary").click()
    expect(panel.locator(".consent-history li")).to_have_count(2)
    states = {item.channel: item.state for item in consent_states(contact=contact)}
    assert states["sms"] == "withdrawn"
