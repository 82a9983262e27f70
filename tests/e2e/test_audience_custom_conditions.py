"""A marketer, on a phone and at a desk, builds an audience by 校区 and 生日 with the boxes the
contact list's filters use: they fit the screen, sit by their labels, and axe finds nothing."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from audiences.models import Audience
from crm import customfields as cf
from crm.models import CustomField
from tests.e2e.conftest import log_in
from tests.e2e.layout import layout_problems
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Kind = CustomField.Kind


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1366, 768)])
def test_a_marketer_builds_an_audience_by_campus_and_birthday(live_server, page, width, height):
    tenant = TenantFactory(slug="english-school", name="英语口语培训班")
    admin = MembershipFactory(tenant=tenant, role="admin", user__username="wang")
    MembershipFactory(tenant=tenant, role="marketer", user__username="li")
    cf.custom_field_create(tenant=tenant, actor=admin, label="生日", kind=Kind.DATE)
    cf.custom_field_create(tenant=tenant, actor=admin, label="校区", kind=Kind.CHOICE,
                           options=["徐汇", "浦东"])  # fmt: skip
    cf.custom_field_create(tenant=tenant, actor=admin, label="课程顾问", kind=Kind.MEMBER)
    ContactFactory(tenant=tenant, name="张小明", custom={"xiao_qu": "徐汇",
                                                        "sheng_ri": "2015-03-04"})  # fmt: skip
    ContactFactory(tenant=tenant, name="李小红", custom={"xiao_qu": "浦东",
                                                        "sheng_ri": "2015-06-01"})  # fmt: skip
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server, "li")
    page.goto(live_server.url + reverse("audience_create", args=[tenant.slug]))

    conditions = page.locator("#audience-custom")
    expect(conditions).to_contain_text("校区")
    assert layout_problems(page) == []
    serious = [v["id"] for v in Axe().run(page).response["violations"]
               if v["impact"] in ("critical", "serious")]  # fmt: skip
    assert serious == []

    page.fill("#id_name", "徐汇 2015 后")
    page.check("input[name=stages][value=subscriber]")
    page.select_option("#id_cf_xiao_qu", "徐汇")
    page.fill("#id_cf_sheng_ri__min", "2015-01-01")
    page.click("form.audience-form button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("徐汇 2015 后")
    expect(page.locator(".custom-condition")).to_have_text(["生日 ≥ 2015-01-01", "校区 = 徐汇"])
    audience = Audience.objects.for_tenant(tenant).get()
    assert audience.custom == {"cf_xiao_qu": "徐汇", "cf_sheng_ri__min": "2015-01-01"}
    assert layout_problems(page) == []
