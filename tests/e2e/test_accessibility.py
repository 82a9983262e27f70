"""WCAG 2.1 AA in the browser: axe-core (bundled by axe-playwright-python) checks every main page
in English and in Chinese, as the member who uses it, on a company seeded as the demo seeds one.
A page fails on any critical or serious violation, on an empty table header, and on an id used
twice or an aria-describedby / label `for` that points at nothing (what axe leaves unsaid).
The failure lists, page by page, the rule, its impact, the elements and a hint.

By keyboard: the skip link is the first stop and leads into the page, every stop shows where
the focus is, Escape folds a card's move menu onto its button, and a dialog gives the focus
back to what opened it."""

import io
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from audiences.models import Audience
from crm import savedviews
from crm.models import Contact, CustomField, Invitation, Membership, Tenant, User
from demo.management.commands import seed_demo
from grading.models import Tier
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.services import api_token_create, webhook_endpoint_create
from lifecycle.models import StageSetting
from spreadsheets.imports import jobs as imports
from tagging.models import Rule, Tag, TagGroup
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
# WCAG 2.0/2.1 A and AA, and axe's best practices (landmarks, headings, empty headers…)
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
FAILING_IMPACTS = {"critical", "serious"}
# named by issue 18 though axe calls them minor: a column without a name is read as nothing
ALSO_FAILING = {"empty-table-header"}
# What axe does not check: ids twice (its duplicate-id rules are retired), and references to ids
# that are not on the page (Django's widgets point at <id>_helptext and <id>_error).
ID_CHECK = """() => {
  const found = [];
  const count = new Map();
  document.querySelectorAll("[id]").forEach((el) => count.set(el.id, (count.get(el.id) || 0) + 1));
  for (const [id, n] of count) if (n > 1) found.push({rule: "duplicate-id", target: "#" + id,
    hint: n + " elements have this id: a label or a reference finds only the first"});
  for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls", "for", "list"]) {
    document.querySelectorAll("[" + attr + "]").forEach((el) => {
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) found.push({rule: "missing-idref",
          target: el.outerHTML.slice(0, 100), hint: `${attr}="${id}": no element has this id`});
      }
    });
  }
  return found;
}"""
LANGUAGES = ["en", "zh-hans"]
DEMO_PASSWORD = seed_demo.DEMO_PASSWORD


@dataclass
class Visit:
    """One page (or one state of a page) as a member sees it."""

    name: str
    who: str  # a username, or "" for a visitor who has not logged in
    url: str
    then: object = None  # what the member does before the check (opens a menu, sends a form)
    status: int = 200


@dataclass
class School:
    tenant: Tenant
    ids: dict = field(default_factory=dict)

    def url(self, name: str, *args) -> str:
        return reverse(name, args=[self.tenant.slug, *args])


@pytest.fixture
def school(monkeypatch) -> School:
    """The demo company, smaller (its tags, rules, stage names, tiers, activities, tasks and
    notifications), with what the demo leaves out: imports, a webhook with deliveries, an API
    token, an invitation, a shared saved view and two contacts that may be one person."""
    monkeypatch.setattr(
        seed_demo, "CONTACTS_PER_TENANT", {"english-school": 80, "design-studio": 4}
    )
    call_command("seed_demo", stdout=io.StringIO())
    tenant = Tenant.objects.get(slug="english-school")
    wang, zhao = (
        Membership.objects.for_tenant(tenant).get(user__username=u) for u in ("wang", "zhao")
    )
    contacts = Contact.objects.for_tenant(tenant)
    customer = contacts.filter(stage="customer", status="active").order_by("pk").first()
    lost = contacts.filter(status="lost").order_by("pk").first()
    lead = contacts.filter(stage="lead", status="active").order_by("pk").first()
    contacts.filter(pk__in=[customer.pk, lead.pk]).update(owner=zhao)  # zhao's to work on
    twin_a = ContactFactory(tenant=tenant, name="陈思远", email="siyuan.chen@qq.com", owner=zhao)
    twin_b = ContactFactory(tenant=tenant, name="陈思远", email="chensiyuan@163.com", phone="")

    waiting = imports.import_start(
        tenant=tenant, actor=wang, file_name="三月地推.csv", language="zh-hans",
        content="姓名,手机,邮箱,标签,备注\n刘洋,13811112222,ly@qq.com,地推传单,周末有空\n".encode(),
    )  # fmt: skip
    done = imports.import_start(
        tenant=tenant, actor=wang, file_name="公开课签到.csv", language="zh-hans",
        content="姓名,手机\n孙悦,13822223333\n钱多多,不是号码\n".encode(),
    )  # fmt: skip
    imports.import_confirm(job=done, mapping={"0": "name", "1": "phone"}, create_tags=False)

    endpoint = webhook_endpoint_create(
        tenant=tenant, actor=wang, url="https://example.com/funnel-hook",
        events=["contact.created", "contact.stage_changed"], description="官网会员系统",
    )  # fmt: skip
    now = timezone.now()
    for status, answer in ((WebhookDelivery.DELIVERED, 200), (WebhookDelivery.FAILED, 500)):
        delivery = WebhookDelivery.objects.create(
            tenant=tenant, endpoint=endpoint, event="contact.created", contact_id=customer.pk,
            occurred_at=now, status=status, attempts=2, last_status=answer,
            last_attempt_at=now, next_attempt_at=None,
        )  # fmt: skip
        WebhookAttempt.objects.create(tenant=tenant, delivery=delivery, number=1, at=now,
                                      duration_ms=40, error="timeout")  # fmt: skip
        WebhookAttempt.objects.create(tenant=tenant, delivery=delivery, number=2, at=now,
                                      duration_ms=35, status=answer, resent=True,
                                      resent_by=wang)  # fmt: skip
    token, _secret = api_token_create(tenant=tenant, actor=wang, membership=wang, name="官网表单")
    view = savedviews.saved_view_create(
        tenant=tenant, actor=wang, name="本周试听未到访", params={"stage": ["mql"]}, shared=True
    )
    Invitation.objects.create(tenant=tenant, user=UserFactory(username="sun"), role="sales",
                              expires_at=now + timedelta(days=7))  # fmt: skip
    return School(
        tenant=tenant,
        ids={
            "customer": customer.pk, "lost": lost.pk, "lead": lead.pk,
            "twin_a": twin_a.pk, "twin_b": twin_b.pk,
            "waiting": waiting.pk, "done": done.pk, "endpoint": endpoint.pk, "view": view.pk,
            "token": token.pk,
            "group": TagGroup.objects.for_tenant(tenant).order_by("position").first().pk,
            "tag": Tag.objects.for_tenant(tenant).order_by("pk").first().pk,
            "other_tag": Tag.objects.for_tenant(tenant).order_by("-pk").first().pk,
            "field": CustomField.objects.for_tenant(tenant).order_by("position", "pk").first().pk,
            "rule": Rule.objects.for_tenant(tenant).order_by("pk").first().pk,
            "tier": Tier.objects.for_tenant(tenant).order_by("threshold").first().pk,
            "audience": Audience.objects.for_tenant(tenant).order_by("pk").first().pk,
        },
    )  # fmt: skip


def send_empty(page):
    page.locator("main form button[type=submit].primary").first.click()
    page.wait_for_load_state("networkidle")


def open_move_menu(page):
    page.locator(".board-card .move-menu summary").first.click()


def open_complete_move_dialog(page):
    """On a lead's page: move it to Opportunity, which asks for an expected amount first."""
    page.select_option("#id_to_stage", "opportunity")
    page.locator("#stage-panel form.stage-move button[type=submit]").click()
    expect(page.locator("#dialog .dialog")).to_be_visible()


def visits(school: School) -> list[Visit]:
    u, ids = school.url, school.ids
    open_view, from_view = f"?view={ids['view']}", f"?from_view={ids['view']}"
    merge_into = f"?target={ids['other_tag']}"
    admin = [
        Visit("dashboard", "wang", u("dashboard")),
        Visit("dashboard, narrowed", "wang", u("dashboard") + "?narrow=1"),
        Visit("board", "wang", u("board")),
        Visit("board, a card's move menu open", "wang", u("board"), open_move_menu),
        Visit("contact list", "wang", u("contact_list")),
        Visit("contact list, searched", "wang", u("contact_list") + "?q=1"),
        Visit("contact list, a saved view open", "wang", u("contact_list") + open_view),
        Visit("saved view, renaming it", "wang", u("saved_view_edit", ids["view"])),
        Visit("contact page", "wang", u("contact_detail", ids["customer"])),
        Visit("contact page, lost", "wang", u("contact_detail", ids["lost"])),
        Visit("contact form", "wang", u("contact_edit", ids["customer"])),
        Visit("new contact", "wang", u("contact_create")),
        Visit("new contact, sent empty", "wang", u("contact_create"), send_empty),
        Visit("delete a contact", "wang", u("contact_delete", ids["twin_b"])),
        Visit("personal data (access request)", "wang", u("contact_data", ids["customer"])),
        Visit("erase a contact", "wang", u("contact_erase", ids["customer"])),
        Visit("duplicates", "wang", u("contact_duplicates", ids["twin_a"])),
        Visit("merge", "wang", u("contact_merge", ids["twin_a"], ids["twin_b"])),
        Visit("search", "wang", u("search") + "?q=王"),
        Visit("audiences", "wang", u("audience_list")),
        Visit("new audience", "wang", u("audience_create")),
        Visit("new audience, sent empty", "wang", u("audience_create"), send_empty),
        Visit("new audience, from a saved view", "wang", u("audience_create") + from_view),
        Visit("audience", "wang", u("audience_detail", ids["audience"])),
        Visit("audience form", "wang", u("audience_edit", ids["audience"])),
        Visit("imports", "wang", u("import_list")),
        Visit("new import", "wang", u("import_new")),
        Visit("import, mapping its columns", "wang", u("import_map", ids["waiting"])),
        Visit("import, done with a row refused", "wang", u("import_detail", ids["done"])),
        Visit("company settings", "wang", u("tenant_settings")),
        Visit("delete the company", "wang", u("company_delete")),
        Visit("members", "wang", u("member_list")),
        Visit("members, invitation sent empty", "wang", u("member_list"), send_empty),
        Visit("audit log", "wang", u("audit_log")),
        Visit("tiers", "wang", u("tier_list")),
        Visit("tier", "wang", u("tier_edit", ids["tier"])),
        Visit("stages", "wang", u("stage_settings")),
        Visit("tags", "wang", u("tag_settings")),
        Visit("tag group", "wang", u("tag_group_edit", ids["group"])),
        Visit("tag", "wang", u("tag_edit", ids["tag"])),
        Visit("delete a tag", "wang", u("tag_delete", ids["tag"])),
        Visit("merge a tag, asked first", "wang", u("tag_merge", ids["tag"]) + merge_into),
        Visit("custom fields", "wang", u("custom_field_list")),
        Visit("custom fields, a new one sent empty", "wang", u("custom_field_list"), send_empty),
        Visit("custom field", "wang", u("custom_field_edit", ids["field"])),
        Visit("delete a custom field", "wang", u("custom_field_delete", ids["field"])),
        Visit("rules", "wang", u("rule_list")),
        Visit("kind of event", "wang", u("event_kind_edit", "payment_received")),
        Visit("new rule", "wang", u("rule_create")),
        Visit("rule", "wang", u("rule_edit", ids["rule"])),
        Visit("task rules", "wang", u("task_rule_list")),
        Visit("assignment", "wang", u("assignment_rule_list")),
        Visit("API and webhooks", "wang", u("api_settings")),
        Visit("API, webhook sent empty", "wang", u("api_settings"), send_webhook_empty),
        Visit("webhook", "wang", u("webhook_endpoint_detail", ids["endpoint"])),
        Visit(
            "webhook, attempts open",
            "wang",
            u("webhook_endpoint_detail", ids["endpoint"]),
            open_attempt_logs,
        ),  # fmt: skip
        Visit("a new token's page, read before", "wang", u("api_token_created", ids["token"])),
        Visit("team", "wang", u("team")),
        Visit("profile", "wang", reverse("profile")),
        Visit("a page that is not there", "wang", u("dashboard") + "no-such-page/", status=404),
    ]
    sales = [
        Visit("dashboard (sales)", "zhao", u("dashboard")),
        Visit("my tasks", "zhao", u("my_tasks")),
        Visit("notifications", "zhao", u("notification_list")),
        Visit("my customers at risk", "zhao", u("at_risk_list")),
        Visit("board (sales)", "zhao", u("board")),
        Visit("contact page (sales)", "zhao", u("contact_detail", ids["customer"])),
        Visit(
            "lead, a move that asks first",
            "zhao",
            u("contact_detail", ids["lead"]),
            open_complete_move_dialog,
        ),  # fmt: skip
    ]
    visitor = [
        Visit("login", "", reverse("login")),
        Visit("login, refused", "", reverse("login"), refused_login),
        Visit(
            "one-time link, not valid",
            "",
            reverse("one_time_link", args=["no-such-link"]),
            status=404,
        ),
    ]
    return visitor + admin + sales


def open_attempt_logs(page):
    for summary in page.locator(".attempt-log summary").all():
        summary.click()


def send_webhook_empty(page):
    page.locator("form:has(input[name=url]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def refused_login(page):
    page.fill("#id_username", "wang")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def problems_on(page) -> list[str]:
    """What axe and the id check find on the page as it is now, one line per rule."""
    found = []
    for violation in AXE.run(page, options=AXE_OPTIONS).response["violations"]:
        if violation["impact"] not in FAILING_IMPACTS and violation["id"] not in ALSO_FAILING:
            continue
        found.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            checks = node.get("any") or node.get("all") or node.get("none") or [{}]
            found.append(f"      {' '.join(node['target'])}  {checks[0].get('message', '')}")
        if len(violation["nodes"]) > 5:
            found.append(f"      … and {len(violation['nodes']) - 5} more")
    for each in page.evaluate(ID_CHECK):
        found.append(f"  {each['rule']} (serious): {each['target']}  {each['hint']}")
    return found


def log_in_as(browser, live_server, username: str, language: str):
    context = browser.new_context(locale="en-US" if language == "en" else "zh-CN")
    page = context.new_page()
    if username:
        log_in(page, live_server, username, DEMO_PASSWORD)
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_main_page_passes_axe_in_both_languages(live_server, browser, school, language):
    User.objects.filter(username__in=["wang", "li", "zhao"]).update(language=language)
    failures, seen = [], {}
    for visit in visits(school):
        if visit.who not in seen:
            seen[visit.who] = log_in_as(browser, live_server, visit.who, language)
        page = seen[visit.who][1]
        response = page.goto(live_server.url + visit.url)
        assert response.status == visit.status, f"{visit.name}: {visit.url} → {response.status}"
        page.wait_for_load_state("networkidle")  # the parts htmx loads after the page
        assert page.locator("html").get_attribute("lang") == language, visit.name
        if visit.then:
            visit.then(page)
        found = problems_on(page)
        if found:
            failures.append(f"[{language}] {visit.name} ({page.url}):\n" + "\n".join(found))
    for context, _page in seen.values():
        context.close()
    assert not failures, "\n\n".join(failures)


def test_a_stage_chip_reads_whatever_colour_the_admin_picks(live_server, browser, school):
    """White, yellow and a pale grey are the hardest: the chip's text still passes 4.5:1."""
    tenant = school.tenant
    for stage, colour in (("lead", "#ffffff"), ("mql", "#ffff00"), ("sql", "#eaecf0")):
        StageSetting.objects.update_or_create(tenant=tenant, stage=stage,
                                              defaults={"colour": colour})  # fmt: skip
    context, page = log_in_as(browser, live_server, "wang", "en")
    page.goto(live_server.url + school.url("stage_settings"))
    chips = page.locator("table.stage-settings .stage")
    expect(chips.first).to_be_visible()
    result = AXE.run(page, context="table.stage-settings",
                     options={"runOnly": ["color-contrast"]})  # fmt: skip
    assert result.response["violations"] == [], result.generate_report()
    context.close()


def focus_shown(page) -> dict:
    """The focused element, and whether it shows the focus: an outline or a ring of its own.
    Past the page's last stop the focus is in the browser's own bar (the page's body here)."""
    return page.evaluate("""() => {
      const el = document.activeElement;
      if (el === document.body) return {what: "past the last stop", shown: true, seen: true};
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      return {
        what: el.outerHTML.slice(0, 90),
        shown: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1)
               || style.boxShadow !== "none",
        seen: box.width > 1 && box.height > 1,
      };
    }""")


def test_by_keyboard_the_skip_link_comes_first_and_every_stop_shows_the_focus(
    live_server, browser, school
):
    context, page = log_in_as(browser, live_server, "wang", "en")
    page.goto(live_server.url + school.url("dashboard"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is in the page, past the header's links
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")

    unseen = []
    for name in ("dashboard", "board", "contact_list", "tag_settings", "stage_settings"):
        page.goto(live_server.url + school.url(name))
        page.wait_for_load_state("networkidle")
        for _stop in range(40):
            page.keyboard.press("Tab")
            state = focus_shown(page)
            if not (state["shown"] and state["seen"]):
                unseen.append(f"{name}: {state['what']}")
    page.goto(live_server.url + school.url("contact_detail", school.ids["customer"]))
    for _stop in range(60):
        page.keyboard.press("Tab")
        state = focus_shown(page)
        if not (state["shown"] and state["seen"]):
            unseen.append(f"contact page: {state['what']}")
    context.close()
    assert not unseen, "\n".join(unseen)


def test_escape_folds_a_cards_move_menu_and_gives_the_focus_back_to_it(
    live_server, browser, school
):
    context, page = log_in_as(browser, live_server, "wang", "zh-hans")
    page.goto(live_server.url + school.url("board"))
    menu = page.locator(".board-card .move-menu").first
    opener = menu.locator("summary")
    opener.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".board-card .move-menu[open]")).to_have_count(1)
    page.keyboard.press("Tab")  # onto the first stage it can move to
    expect(menu.locator("button").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".board-card .move-menu[open]")).to_have_count(0)
    expect(opener).to_be_focused()
    # open again, and Escape straight from the summary folds it too
    page.keyboard.press("Enter")
    expect(page.locator(".board-card .move-menu[open]")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.locator(".board-card .move-menu[open]")).to_have_count(0)
    expect(opener).to_be_focused()
    context.close()


def test_a_dialog_gives_the_focus_back_to_what_opened_it(live_server, browser, school):
    context, page = log_in_as(browser, live_server, "zhao", "en")
    page.goto(live_server.url + school.url("contact_detail", school.ids["lead"]))
    move = page.locator("#stage-panel form.stage-move button[type=submit]")
    open_complete_move_dialog(page)
    expect(page.locator("#dialog .dialog input[name=expected_amount]")).to_be_focused()
    # Tab stays in the dialog: past its last control comes its first again
    for _stop in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('#dialog').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(page.locator("#dialog .dialog")).to_have_count(0)
    expect(move).to_be_focused()

    # Done: the stage panel is drawn anew, and its Move button has the focus again
    open_complete_move_dialog(page)
    page.fill("#dialog input[name=expected_amount]", "5800")
    page.locator("#dialog button[type=submit]").click()
    expect(page.locator("#dialog .dialog")).to_have_count(0)
    expect(page.locator('#stage-panel .stage[data-stage="opportunity"]')).to_be_visible()
    expect(page.locator("#stage-panel form.stage-move button[type=submit]")).to_be_focused()
    context.close()
