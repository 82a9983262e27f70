import pytest
from playwright.sync_api import expect

from crm.models import Contact
from tagging.models import Tag, TagGroup
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_salesperson_moves_ticked_contacts_from_the_list(live_server, page):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="sales", user__username="zhao")
    group = TagGroup.objects.create(tenant=school, key="intent", label="意向")
    Tag.objects.create(tenant=school, group=group, key="high", label="高意向", label_key="高意向")
    wang = ContactFactory(tenant=school, name="王芳", stage="lead")
    ContactFactory(tenant=school, name="李娜", stage="lead")

    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/contacts/")
    page.check(f"input[name=ids][value='{wang.pk}']")
    page.select_option("#bulk-action", "move")
    page.select_option("#bulk-to-stage", "mql")
    # the tag picker of the same bar is left empty: moving needs no tag
    page.click("#bulk-form button.primary")

    expect(page.locator(".flash")).to_contain_text("Moved 1")
    stages = dict(Contact.objects.for_tenant(school).values_list("name", "stage"))
    assert stages == {"王芳": "mql", "李娜": "lead"}


def test_on_a_phone_the_bulk_bar_keeps_every_button_inside_it(live_server, browser):
    """At 390 px the tag picker and its Add tag / Remove tag buttons wrap onto the next line of
    the bar instead of running past its edge (Remove tag was cut off, found only by scrolling
    the results sideways)."""
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="marketer", user__username="li")
    group = TagGroup.objects.create(tenant=school, key="course", label="课程兴趣")
    Tag.objects.create(
        tenant=school, group=group, key="ielts", label="雅思备考", label_key="雅思备考"
    )
    ContactFactory(tenant=school, name="王芳", stage="lead")

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    log_in(page, live_server, "li")
    page.goto(f"{live_server.url}/t/english-school/contacts/")
    bar = page.locator("#bulk-form").bounding_box()
    for name in ("Assign", "Add tag", "Remove tag"):
        button = page.locator("#bulk-form").get_by_role("button", name=name, exact=True)
        box = button.bounding_box()
        assert box["x"] >= bar["x"] and box["x"] + box["width"] <= bar["x"] + bar["width"], name
    context.close()
