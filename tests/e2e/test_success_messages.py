"""An admin who adds 生日 and a marketer who saves a view see, on the page they land on, that it
worked: the message shows after the redirect, within the screen, on a phone and at 1366 px."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {"390x844": (390, 844), "1366x768": (1366, 768)}


@pytest.fixture
def school():
    tenant = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=tenant, role="admin", user__username="wang")
    MembershipFactory(tenant=tenant, role="marketer", user__username="li")
    for n in range(30):
        ContactFactory(tenant=tenant, name=f"学员{n}", stage="mql")
    return tenant


@pytest.mark.parametrize("size", SIZES)
def test_adding_a_field_and_saving_a_view_each_say_so_on_the_page_landed_on(
    live_server, browser, school, size
):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    log_in(page, live_server, "wang")
    page.goto(live_server.url + reverse("custom_field_list", args=[school.slug]))
    page.fill("#id_label", "生日")
    page.select_option("#id_kind", "date")
    page.locator("#field-form button[type=submit]").click()
    flash = page.locator("main .flash .flash-success")
    expect(flash).to_have_text(re.compile(r"^Field “生日” added\. Imports and the API name it"))
    expect(flash).to_be_in_viewport()
    context.close()

    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    log_in(page, live_server, "li")
    page.goto(f"{live_server.url}{reverse('contact_list', args=[school.slug])}?stage=mql")
    side = page.locator("#saved-views")
    side.locator(".save-view summary").click()
    side.get_by_label("Name of the view").fill("本周试听未到访")
    side.get_by_label("Share with the company").check()
    side.locator(".save-view button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/contacts/\?view=\d+$"))
    flash = page.locator("main .flash .flash-success")
    expect(flash).to_have_text("View “本周试听未到访” saved, shared with the company.")
    expect(flash).to_be_in_viewport()
    context.close()
