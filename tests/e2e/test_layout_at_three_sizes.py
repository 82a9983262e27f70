"""Every main page on a phone (390×844), a laptop (1366×768) and a desktop (1920×1080), in English
and in Chinese: nothing scrolls sideways, no text spills out of its box, every label sits by its
control, dates stay on one line (the rules and how they are measured: tests/e2e/layout.py).

One company is seeded once for the module, with the long names real companies have (a
40-character school, a parent's four-part name, a URL in a note), and each size and language has
one signed-in browser context that walks the pages. Screenshots of the pages a reviewer looks at
first, and of any page that fails, go to $SCREENSHOT_DIR (default: screenshots/, not committed).
"""

import gc
import os
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.backends.base.base import BaseDatabaseWrapper
from django.urls import reverse
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from activities.models import Notification
from activities.services import activity_log, task_create, task_rule_save
from audiences.services import audience_freeze, audience_recompute, audience_save
from crm.consent import consent_grant, consent_withdraw
from crm.customfields import custom_field_create
from crm.hooks import tenant_setup
from crm.tenancy import member_invite
from demo.activities import seed_assignment_rule, seed_sales_activities
from demo.tags import seed_tag_scheme
from grading.services import grades_recompute, tier_save
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.services import api_token_create, webhook_endpoint_create
from lifecycle.analytics import funnel_backfill_snapshots, funnel_recompute, funnel_stats_recompute
from lifecycle.models import StageChange
from lifecycle.selectors import stage_settings
from lifecycle.services import stage_settings_save
from lifecycle.stages import ORDER, ChangeKind, Channel, Status
from spreadsheets.imports import jobs as imports
from tagging.models import Event, Rule
from tagging.services import contact_tag_add, tag_create, tag_group_save
from tests.e2e.layout import layout_problems
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

# The seed is committed once for the module (see `site`); each test only reads. One worker runs
# them all (one seed, one browser, six signed-in tabs), the others the rest of the suite.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db, pytest.mark.xdist_group("layout")]

SIZES = {"390x844": (390, 844), "1366x768": (1366, 768), "1920x1080": (1920, 1080)}
# one admin per language: the user's own language setting decides the page's
READERS = {"en": "ada", "zh-hans": "wang"}
SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "screenshots"
)
SCREENSHOTS = {
    "dashboard",
    "board",
    "contact_list",
    "contact_detail",
    "audience_form",
    "import_preview",
}

SCHOOL = "北京市海淀区中关村青少年英语口语与留学语言培训学校第二分校区"  # 40 characters
LONG_NAME = "欧阳慕容·司马上官·诸葛东方·买买提江"
LONG_LATIN = "Maximiliana Alexandrina Montgomery-Fitzwilliam"
LONG_COMPANY = "北京市海淀区中关村科技园区新东方国际教育科技集团有限公司"
LONG_EMAIL = "maximiliana.montgomery-fitzwilliam@international-language-partners.example.com"
LONG_NOTE = (
    "试听后想了解暑期密集班，资料见 "
    "https://docs.example.com/shared/summer-intensive-programme-2026/brochure-final-version.pdf"
)
STAGE_LABELS = [
    "01-围观",
    "02-潜客",
    "03-试听",
    "04-咨询",
    "05-待付费（已发报价单）",
    "06-学员",
    "07-推荐官",
]
IMPORT = (
    "姓名,手机,邮箱,微信,阶段,标签,负责人,生日,校区,备注\n"
    f"{LONG_NAME},13800138000,{LONG_EMAIL},wxid_montgomery_fitzwilliam_2026,营销合格,口语,li,"
    f"2014/5/6,海淀中关村第二分校区,{LONG_NOTE}\n"
    "张伟,13800138001,zw@qq.com,zw_wx,潜在客户,口语,li,2013年9月1日,望京校区,老客户\n"
)
IMPORT_FILE = "2026年暑期密集班海淀校区家长报名表（第二批，含生日和校区）.csv"

# (test id, URL name, the seeded ids it takes, query string)
PAGES = [
    ("dashboard", "dashboard", (), ""),
    ("board", "board", (), ""),
    ("contact_list", "contact_list", (), ""),
    ("contact_detail", "contact_detail", ("contact_id",), ""),
    ("contact_form", "contact_edit", ("contact_id",), ""),
    ("contact_new", "contact_create", (), ""),
    ("contact_duplicates", "contact_duplicates", ("contact_id",), ""),
    ("contact_data", "contact_data", ("contact_id",), ""),  # an access request's page
    ("contact_erase", "contact_erase", ("contact_id",), ""),
    ("search", "search", (), "?q=欧阳"),
    ("audience_list", "audience_list", (), ""),
    ("audience_form", "audience_edit", ("audience_id",), ""),
    ("audience_new", "audience_create", (), ""),
    ("audience_detail", "audience_detail", ("audience_id",), ""),
    ("import_list", "import_list", (), ""),
    ("import_new", "import_new", (), ""),
    ("import_preview", "import_map", ("waiting_job_id",), ""),
    ("import_detail", "import_detail", ("done_job_id",), ""),
    ("my_tasks", "my_tasks", (), ""),
    ("notifications", "notification_list", (), ""),
    ("at_risk", "at_risk_list", (), ""),
    ("team", "team", (), ""),
    ("settings", "tenant_settings", (), ""),
    ("tiers", "tier_list", (), ""),
    ("tier_edit", "tier_edit", ("tier_id",), ""),
    ("stages", "stage_settings", (), ""),
    ("tags", "tag_settings", (), ""),
    ("tag_edit", "tag_edit", ("tag_id",), ""),
    ("tag_group_edit", "tag_group_edit", ("group_id",), ""),
    ("rules", "rule_list", (), ""),
    ("rule_edit", "rule_edit", ("rule_id",), ""),
    ("event_kind", "event_kind_edit", ("kind",), ""),
    ("task_rules", "task_rule_list", (), ""),
    ("assignment", "assignment_rule_list", (), ""),
    ("members", "member_list", (), ""),
    ("api", "api_settings", (), ""),
    ("webhook", "webhook_endpoint_detail", ("endpoint_id",), ""),
    ("audit_log", "audit_log", (), ""),
    ("custom_fields", "custom_field_list", (), ""),
    ("profile", "profile", None, ""),  # not under a company's address
]


def seed() -> dict:
    """A school as it looks after a few months' work, with long names wherever names go."""
    now = timezone.now()
    school = TenantFactory(slug="haidian-school", name=SCHOOL)
    admins = {
        language: MembershipFactory(
            tenant=school,
            role="admin",
            user__username=username,
            user__language=language,
            user__first_name="明轩",
            user__last_name="欧阳",
        )
        for language, username in READERS.items()
    }
    admin = admins["zh-hans"]
    marketer = MembershipFactory(
        tenant=school,
        role="marketer",
        user__username="li",
        user__first_name="娜娜",
        user__last_name="司马",
    )
    sales = MembershipFactory(
        tenant=school,
        role="sales",
        user__username="zhao",
        user__first_name="Alexandrina",
        user__last_name="Montgomery",
    )
    tenant_setup(tenant=school)  # the default rules
    current = stage_settings(tenant=school)
    stage_settings_save(
        tenant=school,
        actor=admin,
        rows={
            stage: {"label": label, "requirements": current[stage].requirements}
            for stage, label in zip(ORDER, STAGE_LABELS, strict=True)
        },
    )
    tags = seed_tag_scheme(school, admin)
    worries = tag_group_save(
        tenant=school, actor=admin, label="家长最关心的问题（报名前咨询记录）", colour="#7a5af8"
    )
    timing = tag_create(
        tenant=school, actor=admin, group=worries, label="暑期密集班能否和学校期末考试时间错开"
    )

    # three contacts in each stage, who came a while ago and moved on; the long names last,
    # in the board's last column (where a laptop cut it off) and the first
    contacts = []
    for rank, stage in enumerate(ORDER):
        for n in range(3):
            arrived = now - timedelta(days=90 - rank * 10 - n)
            contact = ContactFactory(
                tenant=school,
                name=f"{'王李张'[n]}{'伟芳娜敏静丽强'[rank]}",
                owner=(sales, marketer, None)[n],
                company=("星辰教育", "", LONG_COMPANY)[n],
                created_at=arrived,
                stage=stage,
                furthest_stage=stage,
                stage_entered_at=arrived + timedelta(days=rank * 3),
                stage_version=rank,
                status=Status.LOST if (rank, n) == (3, 2) else Status.ACTIVE,
                expected_amount=Decimal("9800") if rank >= 4 else None,
            )
            contacts.append(contact)
            StageChange.objects.bulk_create(
                StageChange(
                    tenant=school,
                    contact=contact,
                    kind=ChangeKind.MOVED,
                    from_stage=ORDER[step - 1],
                    to_stage=ORDER[step],
                    from_status=Status.ACTIVE,
                    to_status=Status.ACTIVE,
                    actor=sales,
                    channel=Channel.UI,
                    created_at=arrived + timedelta(days=step * 3),
                )
                for step in range(1, rank + 1)
            )
    long_contact = ContactFactory(
        tenant=school,
        name=LONG_NAME,
        owner=sales,
        company=LONG_COMPANY,
        email=LONG_EMAIL,
        wechat_id="wxid_montgomery_fitzwilliam_2026",
        notes=LONG_NOTE,
        stage="evangelist",
        furthest_stage="evangelist",
        stage_entered_at=now - timedelta(days=400),
        created_at=now - timedelta(days=500),
        expected_amount=Decimal("128000"),
    )
    ContactFactory(
        tenant=school,
        name=LONG_LATIN,
        owner=sales,
        company=LONG_COMPANY,
        email="m.fitzwilliam@example.com",
        stage="subscriber",
    )
    ContactFactory(
        tenant=school,
        name=f"{LONG_NAME}（妹妹）",
        # 136…: the factory numbers everyone 139…, so a changed last digit could be someone's
        phone="136" + long_contact.phone[3:],
        email=LONG_EMAIL.replace("@", ".sister@"),
        company=LONG_COMPANY,
    )
    for tag in (tags.get("成人口语"), timing):
        if tag is not None:
            contact_tag_add(contact=long_contact, tag=tag, actor=admin)

    # what the sales team did, and what they have to do
    seed_sales_activities(school, [c.pk for c in contacts], [sales])
    chat = activity_log(
        contact=long_contact,
        actor=sales,
        kind="wechat",
        text=f"@欧阳明轩 {LONG_NOTE}，她说下周看看课表",
        outcome="约了周六到校区试听",
    )
    task_create(
        contact=long_contact,
        actor=sales,
        assignee=admin,
        due_at=now - timedelta(days=2),
        title="给家长回电话，确认暑期密集班的上课时间、教材费和海淀中关村第二分校区的地址",
    )
    task_create(
        contact=long_contact,
        actor=admin,
        assignee=admin,
        due_at=now + timedelta(days=1),
        title="发报价单",
    )
    for member in admins.values():
        Notification.objects.create(
            tenant=school,
            member=member,
            kind="mention",
            contact=long_contact,
            actor=sales,
            activity=chat,
        )
    task_rule_save(
        tenant=school,
        actor=admin,
        stage="sql",
        due_hours=24,
        title="给新进入销售合格阶段的家长打电话，约到校区参加一次免费试听课",
    )
    seed_assignment_rule(school, admin, [sales])
    member_invite(
        tenant=school,
        actor=admin,
        username="summer.intensive.coordinator",
        role="marketer",
        email="summer.intensive.coordinator@haidian.example.com",
    )

    # tiers, and what the customers paid: one of them long ago (at risk)
    tier = tier_save(
        tenant=school,
        actor=admin,
        name="铂金终身会员（含一对一外教课）",
        threshold=Decimal("20000"),
        entitlements="每学期两次一对一外教口语课",
    )
    tier_save(tenant=school, actor=admin, name="金卡", threshold=Decimal("5000"))
    for contact, amount, days in ((long_contact, "128000", 100), (contacts[-1], "6200", 20)):
        Event.objects.create(
            tenant=school,
            contact=contact,
            kind="payment_received",
            amount=Decimal(amount),
            occurred_at=now - timedelta(days=days),
        )
    grades_recompute(tenant=school, now=now)

    audience = audience_save(
        tenant=school,
        actor=admin,
        gate="at_or_past",
        stages=["sql"],
        name="暑期密集班意向家长（试听过但还没有付费的海淀校区家长）",
    )
    audience_recompute(audience=audience)
    audience_freeze(audience=audience, actor=admin, name="2026年6月第一周发优惠券名单（海淀校区）")

    waiting = imports.import_start(
        tenant=school,
        actor=marketer,
        file_name=IMPORT_FILE,
        content=IMPORT.encode(),
        language="zh-hans",
    )
    done = imports.import_start(
        tenant=school,
        actor=marketer,
        file_name="望京" + IMPORT_FILE,
        content=IMPORT.replace("1380013", "1390013").encode(),
        language="zh-hans",
    )
    done = imports.import_confirm(job=done, mapping=done.mapping, create_tags=True)

    funnel_recompute(tenant=school)
    funnel_stats_recompute(tenant=school)
    funnel_backfill_snapshots(tenant=school, days=30)

    api_token_create(
        tenant=school,
        actor=admin,
        membership=marketer,
        name="微信小程序报名表单（海淀校区暑期密集班）",
    )
    # last: a webhook made earlier would be sent every change above
    endpoint = webhook_endpoint_create(
        tenant=school,
        actor=admin,
        events=["contact.created", "contact.stage_changed"],
        url="https://hooks.example.com/funnel/haidian-school/summer-intensive-2026/receive",
        description="暑期密集班的报名系统，收到阶段变化后给家长发短信",
    )
    delivery = WebhookDelivery.objects.create(
        tenant=school,
        endpoint=endpoint,
        event="contact.stage_changed",
        contact_id=long_contact.pk,
        occurred_at=now,
        attempts=5,
        status=WebhookDelivery.FAILED,
        last_status=502,
        last_error="Bad Gateway: the receiver did not answer in time",
        last_attempt_at=now,
    )
    for number in range(1, 6):  # its log: four retries after the first, the last one resent
        WebhookAttempt.objects.create(tenant=school, delivery=delivery, number=number, at=now,
                                      duration_ms=5012, status=502 if number % 2 else None,
                                      error="" if number % 2 else "timeout",
                                      resent=number == 5,
                                      resent_by=admin if number == 5 else None)  # fmt: skip
    # the school's own fields: a date with a hint, a required choice (Settings → Custom fields,
    # the contact form, an audience's conditions)
    custom_field_create(tenant=school, actor=admin, label="生日", kind="date",
                        help_text="生日当月赠课一节")  # fmt: skip
    custom_field_create(tenant=school, actor=admin, label="校区", kind="choice",
                        required=True, options=["海淀中关村校区", "朝阳望京校区"])  # fmt: skip
    # consent (the contact page's section): a grant, a withdrawal, the others unknown
    consent_grant(contact=long_contact, channel="sms", actor=marketer, note="展会表单勾选")
    consent_withdraw(contact=long_contact, channel="email", actor=admin)
    return {
        "tenant_slug": school.slug,
        "contact_id": long_contact.pk,
        "audience_id": audience.pk,
        "waiting_job_id": waiting.pk,
        "done_job_id": done.pk,
        "tier_id": tier.pk,
        "kind": "payment_received",  # a kind of event, by its key
        "tag_id": timing.pk,
        "group_id": worries.pk,
        "rule_id": Rule.objects.for_tenant(school).order_by("pk").first().pk,
        "endpoint_id": endpoint.pk,
    }


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """The seeded school and a server of the module's own.

    The module's tests share one seed, so they run outside pytest-django's per-test transaction
    (which would empty the tables after the first test), on a live server of their own; the
    tables are emptied when the module ends, as a transactional test leaves them (also when
    the seed fails half-way: the next module's tests would meet its rows)."""
    with django_db_blocker.unblock():
        try:
            ids = seed()
            server = LiveServer("localhost")
            server._live_server_modified_settings.enable()
            try:
                yield server.url, ids
            finally:
                server._live_server_modified_settings.disable()
                server.stop()
        finally:
            call_command("flush", interactive=False, verbosity=0)
            close_idle_connections()


def close_idle_connections():
    """Closes this thread's idle Django connections, whichever context opened them. The tests'
    one (pytest-django's, under the django_db mark) is not the one this module's seed used: they
    live in two contexts (Playwright's loop runs in between), and the tests' one, left open,
    kept the test database from being dropped when the session ended. A closed connection opens
    again when next used. `type()`, not isinstance: the latter wakes lazy objects up."""
    for wrapper in gc.get_objects():
        if (
            issubclass(type(wrapper), BaseDatabaseWrapper)
            and wrapper._thread_ident == threading.get_ident()
            and not wrapper.in_atomic_block
        ):
            wrapper.close()


@pytest.fixture(scope="module")
def tabs(site, browser):
    """One signed-in tab per size and language, opened when first needed."""
    url, _ = site
    opened = {}

    def tab(size, language):
        if (size, language) not in opened:
            width, height = SIZES[size]
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(f"{url}/accounts/login/")
            page.fill("#id_username", READERS[language])
            page.fill("#id_password", "pw-for-tests")
            page.click("button[type=submit]")
            page.wait_for_url(lambda address: "/accounts/login/" not in address)
            opened[size, language] = page
        return opened[size, language]

    yield tab
    for page in opened.values():
        page.context.close()


def address(site, name, kwargs, query):
    url, ids = site
    if kwargs is None:
        return url + reverse(name) + query
    args = [ids["tenant_slug"], *(ids[k] for k in kwargs)]
    return url + reverse(name, args=args) + query


def shown(page, url):
    """Opens the page and waits for what htmx loads into it on arrival."""
    response = page.goto(url)
    assert response.status == 200, f"{url} answered {response.status}"
    page.wait_for_function("() => !document.querySelector('[hx-trigger=\"load\"], .htmx-request')")


def unfolded(page):
    """Opens what the user may open before reading the page: every folded part of the page
    (filters, "Move to…" menus, the lost box, "Save view") and, on a phone, the header's menu."""
    page.evaluate("document.querySelectorAll('main details').forEach((d) => { d.open = true; })")
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible():
        toggle.click()


def screenshot(page, name):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT_DIR / f"{name}.png", full_page=True)


@pytest.mark.parametrize("language", READERS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("key", "name", "kwargs", "query"), PAGES, ids=[p[0] for p in PAGES])
def test_the_page_fits_the_screen(site, tabs, key, name, kwargs, query, size, language):
    page = tabs(size, language)
    url = address(site, name, kwargs, query)
    shown(page, url)
    if key in SCREENSHOTS:
        screenshot(page, f"{key}-{size}-{language}")
    unfolded(page)
    problems = layout_problems(page)
    if problems:
        screenshot(page, f"failed-{key}-{size}-{language}")
    assert not problems, f"{url} at {size}, {language}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("language", READERS)
def test_on_a_phone_the_header_is_one_line_and_its_menu_unfolds(site, tabs, language):
    page = tabs("390x844", language)
    shown(page, address(site, "dashboard", (), ""))
    toggle = page.locator(".menu-toggle")
    header = page.locator("header.topbar")
    # folded: the name and the menu's button, one line (it took a third of the screen)
    assert header.bounding_box()["height"] < 844 / 10
    assert not page.locator("nav.mainnav").is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    settings = page.locator("nav.mainnav a").last  # the English one was cut off
    assert settings.inner_text() == {"en": "Settings", "zh-hans": "设置"}[language]
    assert settings.is_visible() and layout_problems(page) == []
    # Escape folds it again and leaves the focus on its button
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not page.locator("nav.mainnav").is_visible()
    assert page.evaluate("document.activeElement.classList.contains('menu-toggle')")
