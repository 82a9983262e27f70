"""Pickers, colours and undo in the browser: an admin picks a rule's tags with the keyboard alone,
a marketer clicks a preset colour, filters the list through the tag picker, and a salesperson
takes back a bulk move they did not mean."""

import pytest
from playwright.sync_api import expect

from crm.models import Contact
from tagging.models import ContactTag, Rule, Tag, TagGroup
from tagging.services import contact_tag_add
from tests.e2e.conftest import log_in
from tests.e2e.test_accessibility import problems_on
from tests.factories import ContactFactory, MembershipFactory, TenantFactory


def contact_tags_of(contact) -> list[str]:
    return list(ContactTag.objects.for_tenant(contact.tenant).filter(contact=contact)
                .values_list("tag__label", flat=True))  # fmt: skip


pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def school():
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    group = TagGroup.objects.create(tenant=school, key="interest", label="兴趣")
    for key, label in (("kids", "少儿英语"), ("spoken", "成人口语"), ("ielts", "雅思")):
        Tag.objects.create(tenant=school, group=group, key=key, label=label, label_key=label)
    return school


def test_an_admin_picks_a_rules_tags_with_the_keyboard(live_server, page, school):
    MembershipFactory(tenant=school, role="admin", user__username="wang")
    log_in(page, live_server, "wang")
    page.goto(f"{live_server.url}/t/english-school/settings/rules/new/")

    select = page.locator("select#id_add_tags")
    expect(select).to_be_hidden()  # the picker stands in for it
    box = page.get_by_role("combobox", name="Add tags")
    box.focus()
    box.type("口语")
    listbox = page.locator(f"#{box.get_attribute('aria-controls')}")
    expect(listbox.get_by_role("option")).to_have_count(1)  # what matches, the rest hidden
    expect(listbox.get_by_role("option", name="兴趣 · 成人口语")).to_be_visible()
    expect(listbox.get_by_role("option", name="兴趣 · 雅思")).to_be_hidden()
    page.keyboard.press("Enter")  # the first match is active: picked
    box.type("雅")
    page.keyboard.press("Enter")
    box.type("少儿")
    page.keyboard.press("Enter")
    chips = page.locator(".picker-chosen").first
    # the chosen ones as chips, in the list's order
    expect(chips.get_by_role("listitem")).to_have_text(
        ["兴趣 · 少儿英语×", "兴趣 · 成人口语×", "兴趣 · 雅思×"]
    )
    page.keyboard.press("Backspace")  # the empty box: the last chip goes
    expect(chips.get_by_role("listitem")).to_have_text(["兴趣 · 少儿英语×", "兴趣 · 成人口语×"])
    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")

    page.fill("#id_name", "试听后")
    page.click("form button.primary")

    expect(page.locator(".flash")).to_contain_text("Rule saved.")
    rule = Rule.objects.for_tenant(school).get(name="试听后")
    assert set(rule.add_tags.values_list("label", flat=True)) == {"少儿英语", "成人口语"}


def test_a_marketer_picks_a_preset_colour_and_filters_by_a_picked_tag(live_server, page, school):
    MembershipFactory(tenant=school, role="marketer", user__username="li")
    group = TagGroup.objects.for_tenant(school).get()
    kids = Tag.objects.for_tenant(school).get(key="kids")
    tagged = ContactFactory(tenant=school, name="王小明")
    contact_tag_add(contact=tagged, tag=kids, actor=None)
    ContactFactory(tenant=school, name="李娜")
    log_in(page, live_server, "li")

    page.goto(f"{live_server.url}/t/english-school/settings/tags/groups/{group.pk}/")
    swatch = page.locator("input.colour-swatch")
    expect(swatch).to_be_visible()
    page.get_by_role("button", name="Green #12b76a").click()
    expect(page.locator("#id_colour")).to_have_value("#12b76a")
    expect(swatch).to_have_value("#12b76a")  # the colour is seen, not only its code
    expect(page.get_by_role("button", name="Green #12b76a")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.click("form button.primary")
    expect(page.locator(".flash")).to_contain_text("Tag group saved.")
    group.refresh_from_db()
    assert group.colour == "#12b76a"

    page.goto(f"{live_server.url}/t/english-school/contacts/")
    page.locator("details.tag-filters summary").click()
    box = page.get_by_role("combobox", name="any of")
    box.fill("少儿")
    page.keyboard.press("Enter")
    # the list searches as it did when the select itself changed
    expect(page.locator("#contact-results")).to_contain_text("王小明")
    expect(page.locator("#contact-results")).not_to_contain_text("李娜")


def test_a_salesperson_takes_back_a_bulk_move(live_server, page, school):
    MembershipFactory(tenant=school, role="sales", user__username="zhao")
    wang = ContactFactory(tenant=school, name="王芳", stage="lead")
    ContactFactory(tenant=school, name="李娜", stage="lead")
    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/contacts/")
    page.check(f"input[name=ids][value='{wang.pk}']")
    page.select_option("#bulk-action", "move")
    page.select_option("#bulk-to-stage", "mql")
    page.click("#bulk-form button.primary")

    offer = page.locator("form.undo-offer")
    expect(offer).to_contain_text("You can undo this for")
    offer.get_by_role("button", name="Undo").click()

    expect(page.locator(".flash")).to_contain_text(
        "Undone: 1 contact is back in the stage it was in."
    )
    assert Contact.objects.for_tenant(school).get(pk=wang.pk).stage == "lead"
    expect(page.locator("form.undo-offer")).to_have_count(0)  # offered once


def test_a_tag_taken_off_by_mistake_is_put_back_in_place(live_server, page, school):
    MembershipFactory(tenant=school, role="sales", user__username="zhao")
    contact = ContactFactory(tenant=school, name="王芳")
    contact_tag_add(
        contact=contact, tag=Tag.objects.for_tenant(school).get(key="ielts"), actor=None
    )
    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/contacts/{contact.pk}/")

    page.get_by_role("button", name="Remove 雅思").click()

    panel = page.locator("#tags-panel")
    expect(panel).to_contain_text("Removed “雅思”.")
    undo = panel.get_by_role("button", name="Undo: put “雅思” back")
    expect(undo).to_be_focused()  # the keyboard's place, where the × was
    page.keyboard.press("Enter")
    expect(panel).to_contain_text("Undone: “雅思” is back.")
    expect(panel.locator(".chips")).to_contain_text("雅思")
    assert contact_tags_of(contact) == ["雅思"]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_axe_finds_nothing_in_an_open_picker_the_merge_question_or_an_undo_offer(
    live_server, page, school, language
):
    """The states only these parts make, which the page-by-page axe walk does not reach."""
    admin = MembershipFactory(tenant=school, role="admin", user__username="wang")
    admin.user.language = language
    admin.user.save(update_fields=["language"])
    tags = {tag.key: tag for tag in Tag.objects.for_tenant(school)}
    wang = ContactFactory(tenant=school, name="王芳", stage="lead")
    contact_tag_add(contact=wang, tag=tags["kids"], actor=None)
    log_in(page, live_server, "wang")
    found = {}

    page.goto(f"{live_server.url}/t/english-school/settings/rules/new/")
    box = page.locator("#id_add_tags").locator("xpath=following-sibling::div[1]//input")
    box.type("英语")
    page.keyboard.press("Enter")
    box.fill("")
    page.keyboard.press("ArrowDown")  # open, with a chip chosen and an option active
    expect(box).to_have_attribute("aria-expanded", "true")
    found["an open picker"] = problems_on(page)

    page.goto(f"{live_server.url}/t/english-school/settings/tags/{tags['kids'].pk}/merge/"
              f"?target={tags['spoken'].pk}")  # fmt: skip
    expect(page.locator("form button.primary")).to_be_visible()
    found["the merge question"] = problems_on(page)

    page.goto(f"{live_server.url}/t/english-school/contacts/")
    page.check(f"input[name=ids][value='{wang.pk}']")
    page.select_option("#bulk-action", "move")
    page.select_option("#bulk-to-stage", "mql")
    page.click("#bulk-form button.primary")
    expect(page.locator("form.undo-offer")).to_be_visible()
    found["an undo offer"] = problems_on(page)

    assert {state: lines for state, lines in found.items() if lines} == {}


def test_enter_in_a_pickers_search_box_never_sends_the_half_filled_form(live_server, page, school):
    MembershipFactory(tenant=school, role="admin", user__username="wang")
    log_in(page, live_server, "wang")
    page.goto(f"{live_server.url}/t/english-school/settings/rules/new/")
    sent = []  # what the page posts
    page.on("request", lambda request: request.method == "POST" and sent.append(request.url))
    page.fill("#id_name", "试听后")
    box = page.get_by_role("combobox", name="Add tags")

    box.fill("托福")  # no such tag
    expect(page.locator(".picker-empty").first).to_be_visible()
    box.press("Enter")  # nothing to pick: nothing happens, the form stays as it is
    expect(box).to_have_value("托福")
    box.press("Escape")  # the list closes
    box.press("Escape")  # and the box empties
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press("Enter")  # a closed list: Enter opens it
    expect(box).to_have_attribute("aria-expanded", "true")
    box.type("雅思")
    box.press("Enter")
    expect(page.locator(".picker-chosen").first).to_have_text("兴趣 · 雅思×")
    expect(page.locator("#id_name")).to_have_value("试听后")
    assert sent == []  # the form was never sent on its own

    page.click("form button.primary")
    expect(page.locator(".flash")).to_contain_text("Rule saved.")
    assert len(sent) == 1
    rule = Rule.objects.for_tenant(school).get(name="试听后")
    assert list(rule.add_tags.values_list("label", flat=True)) == ["雅思"]


def assert_hint_below(page):
    """A colour's hint is one sentence on its own under the field, not words around the presets."""
    hint = page.locator("#id_colour_helptext")
    expect(hint).to_have_text("形如 #2e90fa。留空：使用标签组的颜色。")
    field_box, hint_box = page.locator(".colour-field").bounding_box(), hint.bounding_box()
    assert hint_box["y"] >= field_box["y"] + field_box["height"]
    assert hint_box["x"] == field_box["x"]
    assert hint.evaluate("hint => hint.getClientRects().length") == 1


@pytest.mark.parametrize("width,height", [(390, 844), (1366, 768)])
def test_a_tags_empty_colour_shows_its_groups_colour_with_its_hint_below(
    live_server, page, school, width, height
):
    marketer = MembershipFactory(tenant=school, role="marketer", user__username="li")
    marketer.user.language = "zh-hans"
    marketer.user.save(update_fields=["language"])
    interest = TagGroup.objects.for_tenant(school).get()
    interest.colour = "#12b76a"
    interest.save(update_fields=["colour"])
    TagGroup.objects.create(tenant=school, key="source", label="来源", colour="#f04438")
    kids = Tag.objects.for_tenant(school).get(key="kids")
    assert kids.colour == ""  # its group's
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server, "li")
    page.goto(f"{live_server.url}/t/english-school/settings/tags/{kids.pk}/")

    text, swatch = page.locator("#id_colour"), page.locator("input.colour-swatch")
    note = page.locator(".colour-default")
    expect(text).to_have_value("")
    expect(swatch).to_have_value("#12b76a")  # the group's green, not the browser's black
    expect(note).to_have_text("标签组的颜色")
    expect(text).to_have_attribute("placeholder", "#12b76a")

    page.select_option("#id_group", label="来源")  # another group: its colour
    expect(swatch).to_have_value("#f04438")
    page.locator(".colour-preset[data-colour-value='#2e90fa']").click()  # a colour of its own
    expect(swatch).to_have_value("#2e90fa")
    expect(note).to_be_hidden()
    assert_hint_below(page)  # with a colour of its own, the field is narrower
    text.fill("")  # empty again: the group's
    expect(swatch).to_have_value("#f04438")
    expect(note).to_be_visible()

    assert_hint_below(page)
