"""Issue 18's saved views in the browser: a marketer filters the contact list to this week's
trials that did not come, saves it as the shared view "本周试听未到访" and builds an audience from
it; a salesperson opens it from the side list, on a phone too."""

import re

import pytest
from playwright.sync_api import expect

from tagging.models import Tag, TagGroup, name_key
from tagging.services import contact_tag_add
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

THIS_WEEK = "本周试听未到访"


def make_tag(tenant, group_label: str, label: str) -> Tag:
    group, _ = TagGroup.objects.get_or_create(tenant=tenant, label=group_label,
                                              defaults={"key": group_label})  # fmt: skip
    return Tag.objects.create(tenant=tenant, group=group, key=label, label=label,
                              label_key=name_key(label))  # fmt: skip


def test_a_marketer_shares_this_weeks_missed_trials_and_builds_an_audience(live_server, page):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="marketer", user__username="li")
    MembershipFactory(tenant=school, role="sales", user__username="zhao")
    booked, visited = make_tag(school, "试听", "已约试听"), make_tag(school, "试听", "已到访")
    came = ContactFactory(tenant=school, name="来了的", stage="mql")
    missed = ContactFactory(tenant=school, name="没来的", stage="mql")
    ContactFactory(tenant=school, name="没约的", stage="mql")
    for contact in (came, missed):
        contact_tag_add(contact=contact, tag=booked, actor=None)
    contact_tag_add(contact=came, tag=visited, actor=None)
    contacts = f"{live_server.url}/t/english-school/contacts/"

    log_in(page, live_server, "li")
    # the list as the marketer filtered it: MQLs who booked a trial and did not come
    page.goto(f"{contacts}?stage=mql&tag_any={booked.pk}&tag_none={visited.pk}")
    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    side = page.locator("#saved-views")
    side.locator(".save-view summary").click()
    side.get_by_label("Name of the view").fill(THIS_WEEK)
    side.get_by_label("Share with the company").check()
    side.locator(".save-view button[type=submit]").click()

    expect(page.locator("body")).to_contain_text(
        f"View “{THIS_WEEK}” saved, shared with the company."
    )
    expect(page).to_have_url(re.compile(r"/contacts/\?view=\d+$"))
    expect(side.locator('a[aria-current="true"]')).to_have_text(THIS_WEEK)
    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    expect(page.locator("#contact-results")).to_contain_text("没来的")

    side.get_by_role("link", name="Build an audience from this view").click()
    expect(page.locator("body")).to_contain_text(f"Filled in from the view “{THIS_WEEK}”")
    expect(page.locator("#id_name")).to_have_value(THIS_WEEK)
    page.locator("form.audience-form button[type=submit].primary").click()
    expect(page.locator("h1")).to_contain_text(THIS_WEEK)
    page.reload()  # its members were computed after the save (inline here)
    expect(page.locator("body")).to_contain_text("没来的")
    expect(page.locator("body")).not_to_contain_text("来了的")
    page.context.clear_cookies()

    # the salesperson, on a phone, finds it under "Shared views" and opens it
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "zhao")
    page.goto(contacts)
    expect(page.locator("#contact-results tbody tr")).to_have_count(3)
    side.get_by_role("link", name=THIS_WEEK).click()
    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    expect(page.locator("#contact-results")).to_contain_text("没来的")
    expect(side).to_contain_text("by ")
    # sales keep their views private: no box to share, and no audience to build
    side.locator(".save-view summary").click()
    expect(side.get_by_label("Share with the company")).to_have_count(0)
    expect(side.get_by_role("link", name="Build an audience from this view")).to_have_count(0)
    # the side list sits above the list on a phone, and the page does not scroll sideways
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    box, results = side.bounding_box(), page.locator("#contact-results").bounding_box()
    assert box["y"] + box["height"] <= results["y"]

    # making it the default view: the bare list opens with it
    side.get_by_role("button", name="Open the list with it").click()
    page.goto(contacts)
    expect(side).to_contain_text(f"Default view: {THIS_WEEK}")
    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    side.get_by_role("link", name="show all contacts").click()
    expect(page.locator("#contact-results tbody tr")).to_have_count(3)
