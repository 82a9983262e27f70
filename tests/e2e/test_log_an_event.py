import pytest
from playwright.sync_api import expect

from crm.hooks import tenant_setup
from tagging.models import Tag, TagGroup
from tagging.rules import rule_save
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_logging_an_event_moves_and_tags_the_contact_by_the_rules(live_server, page):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="marketer", user__username="li")
    tenant_setup(tenant=school)  # the default rules
    group = TagGroup.objects.create(tenant=school, key="event", label="活动")
    attended = Tag.objects.create(tenant=school, group=group, key="attended",
                                  label="活动参与者", label_key="活动参与者")  # fmt: skip
    rule_save(tenant=school, actor=None, name="到场", event_kind="price_list_downloaded",
              add_tags=[attended])  # fmt: skip
    contact = ContactFactory(tenant=school, name="王芳", stage="lead")

    log_in(page, live_server, "li")
    page.goto(f"{live_server.url}/t/english-school/contacts/{contact.pk}/")
    expect(page.locator("#stage-panel .stage")).to_have_text("Lead")

    page.select_option("#event-panel select[name=kind]", "price_list_downloaded")
    page.fill("#event-panel input[name=note]", "公开课后领取价格表")
    page.click("#event-panel button[type=submit]")

    expect(page.locator("#stage-panel .stage")).to_have_text("Marketing qualified lead")
    expect(page.locator("#tags-panel")).to_contain_text("活动参与者")
    expect(page.locator("#timeline-panel")).to_contain_text("公开课后领取价格表")
    expect(page.locator("#timeline-panel")).to_contain_text(
        "Moved from Lead to Marketing qualified lead"
    )
    expect(page.locator(".flash")).to_contain_text("Logged: Downloaded the price list.")


def test_a_tag_is_added_inline_from_the_suggestions(live_server, page):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="sales", user__username="zhao")
    group = TagGroup.objects.create(tenant=school, key="interest", label="课程兴趣")
    Tag.objects.create(
        tenant=school, group=group, key="spoken", label="成人口语", label_key="成人口语"
    )
    contact = ContactFactory(tenant=school, name="李娜")

    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/contacts/{contact.pk}/")
    page.fill("#tags-panel input[name=name]", "成人")
    page.locator(".suggestion-list button", has_text="成人口语").click()
    expect(page.locator("#tags-panel .chips")).to_contain_text("成人口语")
    expect(page.locator("#tags-panel")).to_contain_text("Tagged “成人口语”.")
