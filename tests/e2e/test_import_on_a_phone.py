"""A marketer on a phone maps every column of a wide spreadsheet: none is hidden from them."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from spreadsheets.imports import jobs as imports
from tests.e2e.conftest import log_in
from tests.factories import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER = "姓名,手机,邮箱,微信,阶段,标签,负责人,备注\n"


def test_a_marketer_on_a_phone_can_reach_every_columns_choice(live_server, page):
    tenant = TenantFactory(slug="english-school", name="英语口语培训班")
    li = MembershipFactory(tenant=tenant, role="marketer", user__username="li")
    content = (HEADER + "张伟,13800138000,zw@qq.com,zw_wx,营销合格,口语,li,老客户\n").encode()
    job = imports.import_start(tenant=tenant, actor=li, file_name="客户.csv", content=content,
                               language="zh-hans")  # fmt: skip
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "li")
    page.goto(live_server.url + reverse("import_map", args=[tenant.slug, job.pk]))

    last = page.locator("#column-7")  # 备注, the eighth column
    expect(last).to_have_value("notes")
    last.scroll_into_view_if_needed()
    expect(last).to_be_visible()
    # the table scrolls inside its card: the page itself does not run off the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # the list of imports keeps its status and counts on a phone, scrolling sideways
    page.goto(live_server.url + reverse("import_list", args=[tenant.slug]))
    status = page.locator("table.table tbody tr").first.locator("td").nth(3)
    status.scroll_into_view_if_needed()
    expect(status).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_admin_on_a_phone_sees_settings_that_fit_the_screen(live_server, page):
    tenant = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=tenant, role="admin", user__username="wang")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "wang")
    # English: the longest words of the settings menu ("API and webhooks", "Audit log")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(live_server.url + reverse("audit_log", args=[tenant.slug]))
    expect(page.locator("nav.subnav")).to_contain_text("Audit log")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # a table narrower than its box still spans it, its rows ruled across
    page.goto(live_server.url + reverse("member_list", args=[tenant.slug]))
    table = page.locator("table.table").first
    width = table.evaluate("t => t.getBoundingClientRect().width")
    box = table.evaluate("t => t.parentElement.clientWidth")
    assert width >= box - 1
