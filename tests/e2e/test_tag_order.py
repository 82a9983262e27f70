"""An admin orders the tier tags on Settings → Tags: by dragging a row, by the keyboard on the
↑ ↓ buttons, and on a phone, where the buttons are the way (issue 20, item 7a)."""

import pytest
from playwright.sync_api import expect

from tagging.models import Tag, TagGroup
from tagging.services import tag_create
from tests.e2e.conftest import log_in
from tests.factories import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIERS = ["普通", "银卡", "金卡", "铂金"]


@pytest.fixture
def tiers():
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    admin = MembershipFactory(tenant=school, role="admin", user__username="wang")
    group = TagGroup.objects.create(tenant=school, key="tier", label="会员等级")
    for label in ["金卡", "铂金", "普通", "银卡"]:
        tag_create(tenant=school, actor=admin, group=group, label=label)
    return group


def order_of(group) -> list[str]:
    return list(
        Tag.objects.for_tenant(group.tenant).filter(group=group).values_list("label", flat=True)
    )


def row(page, label):
    return page.locator("tr[data-tag-id]", has=page.locator(".chip", has_text=label))


def test_an_admin_drags_the_tiers_into_order(live_server, page, tiers):
    log_in(page, live_server, "wang")
    page.goto(f"{live_server.url}/t/english-school/settings/tags/")
    rows = page.locator(f"#group-{tiers.pk}-tags tr[data-tag-id] .chip")
    expect(rows).to_have_text(["金卡", "铂金", "普通", "银卡"])

    row(page, "普通").drag_to(row(page, "金卡"), target_position={"x": 40, "y": 2})
    expect(page.locator("#tag-order-status")).to_have_text("The order of “会员等级” is saved.")
    expect(rows).to_have_text(["普通", "金卡", "铂金", "银卡"])
    row(page, "银卡").drag_to(row(page, "金卡"), target_position={"x": 40, "y": 2})
    expect(rows).to_have_text(TIERS)
    expect(page.locator("tbody[aria-busy]")).to_have_count(0)  # the server has answered
    assert order_of(tiers) == TIERS

    page.reload()  # the server's order, not only the page's
    expect(rows).to_have_text(TIERS)


def test_the_keyboard_moves_a_tag_and_stays_on_its_button(live_server, page, tiers):
    log_in(page, live_server, "wang")
    page.goto(f"{live_server.url}/t/english-school/settings/tags/")
    rows = page.locator(f"#group-{tiers.pk}-tags tr[data-tag-id] .chip")
    up = page.get_by_role("button", name="Move “普通” up")
    up.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#tag-order-status")).to_have_text("“普通” moved up.")
    expect(page.get_by_role("button", name="Move “普通” up")).to_be_focused()
    page.keyboard.press("Enter")
    expect(rows).to_have_text(["普通", "金卡", "铂金", "银卡"])
    # at the top its ↑ is off: the keyboard goes to its ↓
    expect(page.get_by_role("button", name="Move “普通” up")).to_be_disabled()
    expect(page.get_by_role("button", name="Move “普通” down")).to_be_focused()
    assert order_of(tiers) == ["普通", "金卡", "铂金", "银卡"]


def test_on_a_phone_the_buttons_order_the_tiers(live_server, browser, tiers):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    log_in(page, live_server, "wang")
    page.goto(f"{live_server.url}/t/english-school/settings/tags/")
    rows = page.locator(f"#group-{tiers.pk}-tags tr[data-tag-id] .chip")
    for label, times in (("普通", 2), ("银卡", 2)):
        for _ in range(times):
            button = page.get_by_role("button", name=f"Move “{label}” up")
            box = button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # on the screen
            assert box["height"] >= 36  # big enough for a finger
            before = rows.all_text_contents()
            button.click()
            expect(rows).not_to_have_text(before)
    expect(rows).to_have_text(TIERS)
    assert order_of(tiers) == TIERS
    context.close()
