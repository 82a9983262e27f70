"""The company's own fields on a phone, a laptop and a wide screen: Settings → Custom fields, the
contact form and page with their values, and the contact list with custom columns and "More
filters" open fit the screen and keep each label by its box (tests/e2e/layout.py's rules), in
both languages; an admin adds 生日 in the browser and a salesperson fills it in."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from crm import customfields as cf
from crm.models import Contact, CustomField, User
from demo.customfields import seed_custom_fields
from tests.e2e.conftest import log_in
from tests.e2e.layout import layout_problems
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {"390x844": (390, 844), "1366x768": (1366, 768), "1920x1080": (1920, 1080)}
LONG_NOTE = (
    "妈妈周末接送，希望周六上午上课；哥哥在海淀中关村第二分校区上暑期密集班，两人想排在同一天"
)


@pytest.fixture
def school():
    tenant = TenantFactory(slug="english-school", name="英语口语培训班")
    admin = MembershipFactory(tenant=tenant, role="admin", user__username="wang")
    sales = MembershipFactory(tenant=tenant, role="sales", user__username="zhao")
    for n in range(12):
        ContactFactory(
            tenant=tenant, name=f"欧阳明轩{n}", owner=sales, company="海淀中关村第二分校区"
        )
    seed_custom_fields(tenant, admin, [sales])  # 生日, 校区, 年级, 课程顾问, as the demo has them
    make = cf.custom_field_create
    make(tenant=tenant, actor=admin, label="家长备注", kind=CustomField.Kind.LONG_TEXT)
    make(tenant=tenant, actor=admin, label="上课日", kind=CustomField.Kind.MULTI_CHOICE,
         options=["周一", "周三", "周五", "周六上午", "周六下午", "周日"])  # fmt: skip
    make(tenant=tenant, actor=admin, label="学费", kind=CustomField.Kind.MONEY)
    make(tenant=tenant, actor=admin, label="个人主页", kind=CustomField.Kind.URL)
    contact = Contact.objects.for_tenant(tenant).order_by("pk").first()
    contact.custom = cf.values_clean(
        tenant=tenant, fields=cf.custom_fields_of(tenant=tenant), current=contact.custom,
        given={"jia_zhang_bei_zhu": LONG_NOTE, "shang_ke_ri": ["周六上午", "周日"],
               "xue_fei": "128000", "ge_ren_zhu_ye": "https://example.com/ouyang/mingxuan/2026"},
    )  # fmt: skip
    contact.save(update_fields=["custom"])
    return tenant, contact


def pages(tenant, contact) -> dict[str, str]:
    def url(name, *args):
        return reverse(name, args=[tenant.slug, *args])

    columns = "cols=phone,owner,cf:sheng_ri,cf:xiao_qu,cf:nian_ji,cf:ke_cheng_gu_wen,cf:xue_fei"
    return {
        "custom fields": url("custom_field_list"),
        "a custom field": url(
            "custom_field_edit", CustomField.objects.for_tenant(tenant).get(key="shang_ke_ri").pk
        ),  # fmt: skip
        "contact page": url("contact_detail", contact.pk),
        "contact form": url("contact_edit", contact.pk),
        "contact list, custom columns and filters": (
            f"{url('contact_list')}?{columns}&cf_xiao_qu=徐汇校区&cf_sheng_ri__min=2000-01-01"
        ),
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_custom_fields_fit_every_screen_and_keep_labels_by_their_boxes(
    live_server, browser, school, language
):
    tenant, contact = school
    User.objects.filter(username="wang").update(language=language)
    failures = []
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        log_in(page, live_server, "wang")
        for what, address in pages(tenant, contact).items():
            response = page.goto(live_server.url + address)
            assert response.status == 200, f"{what}: {response.status}"
            page.wait_for_load_state("networkidle")
            page.evaluate(
                "document.querySelectorAll('main details').forEach(d => { d.open = true; })"
            )
            found = layout_problems(page)
            if found:
                failures.append(f"{what} at {size}, {language}:\n  " + "\n  ".join(found))
        context.close()
    assert not failures, "\n\n".join(failures)


def test_an_admin_adds_a_birthday_and_a_salesperson_fills_it_in(live_server, browser, school):
    tenant, contact = school
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, "wang")
    page.goto(live_server.url + reverse("custom_field_list", args=[tenant.slug]))
    page.fill("#id_label", "入学日期")
    page.select_option("#id_kind", "date")
    page.locator("#field-form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("ru_xue_ri_qi")  # its key, said once added
    context.close()

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, "zhao")
    page.goto(live_server.url + reverse("contact_edit", args=[tenant.slug, contact.pk]))
    page.fill("#id_cf_ru_xue_ri_qi", "2026-09-01")  # a date box: the browser's own picker
    page.locator("main form button[type=submit].primary").click()
    expect(page.locator("main")).to_contain_text("2026-09-01")
    context.close()
    contact.refresh_from_db()
    assert contact.custom["ru_xue_ri_qi"] == "2026-09-01"
