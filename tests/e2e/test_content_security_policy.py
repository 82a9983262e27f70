"""In a real browser, under the strict CSP: nothing is refused, the company's colours still show
and data-confirm still asks before a delete."""

import pytest
from playwright.sync_api import expect

from integrations.models import WebhookEndpoint
from integrations.services import webhook_endpoint_create
from lifecycle.analytics import funnel_recompute
from tagging.models import Tag, TagGroup
from tagging.services import contact_tag_add
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEAD_BLUE = "rgb(83, 177, 253)"  # the lead stage's default colour, #53b1fd


def custom_property(locator, name: str) -> str:
    return locator.evaluate(f"el => getComputedStyle(el).getPropertyValue('{name}').trim()")


@pytest.fixture
def refused(page):
    """Console messages in which the browser says it refused something under the policy."""
    messages = []
    page.on(
        "console",
        lambda message: (
            messages.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return messages


def test_the_pages_and_the_api_docs_run_with_nothing_refused(live_server, page, refused):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    wang = MembershipFactory(tenant=school, role="admin", user__username="wang")
    group = TagGroup.objects.create(tenant=school, key="source", label="来源", colour="#f79009")
    tag = Tag.objects.create(tenant=school, group=group, key="flyer", label="地推",
                             label_key="地推", colour="#7a5af8")  # fmt: skip
    contact = ContactFactory(tenant=school, name="王芳", stage="lead")
    contact_tag_add(contact=contact, tag=tag, actor=wang)
    funnel_recompute(tenant=school)
    log_in(page, live_server, "wang")

    page.goto(f"{live_server.url}/t/english-school/")
    lead_bar = page.locator(".funnel .bar").nth(1)
    expect(lead_bar).to_have_css("background-color", LEAD_BLUE)
    assert lead_bar.bounding_box()["width"] > 50  # the widest bar: 100% of its cell

    page.goto(f"{live_server.url}/t/english-school/contacts/{contact.pk}/")
    assert custom_property(page.locator("#stage-panel .stage"), "--stage") == "#53b1fd"
    chip = page.locator("#tags-panel .chip", has_text="地推")
    assert custom_property(chip, "--tag") == "#7a5af8"
    # What htmx swaps in is coloured too: remove the tag, add it back from the suggestions.
    chip.get_by_role("button").click()
    expect(page.locator("#tags-panel .chip")).to_have_count(0)
    # htmx has settled: the keyboard is on the removal's Undo (the × went with the tag)
    expect(page.locator("#tags-panel .undo-offer button")).to_be_focused()
    page.fill("#tags-panel input[name=name]", "地推")
    suggestion = page.locator(".suggestion-list button", has_text="地推")
    assert custom_property(suggestion, "--tag") == "#7a5af8"
    suggestion.click()
    expect(chip).to_be_visible()
    assert custom_property(chip, "--tag") == "#7a5af8"

    page.goto(f"{live_server.url}/t/english-school/board/")
    expect(page.locator(".column-head").nth(1)).to_have_css("border-top-color", LEAD_BLUE)

    page.goto(f"{live_server.url}/t/english-school/settings/tags/")
    expect(page.locator(".swatch")).to_have_css("background-color", "rgb(247, 144, 9)")

    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Funnel CRM API")
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator(".modal-ux")).to_be_visible()

    assert refused == []
    # The listener does hear a refusal: a style attribute set from script is one.
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_timeout(200)
    assert any("style-src" in message for message in refused), refused


def test_data_confirm_asks_before_a_webhook_is_deleted(live_server, page, refused):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="admin", user__username="wang")
    endpoint = webhook_endpoint_create(
        tenant=school, actor=None, url="https://example.com/hook", events=["contact.created"]
    )
    log_in(page, live_server, "wang")
    url = f"{live_server.url}/t/english-school/settings/webhooks/{endpoint.pk}/"
    page.goto(url)

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Delete").click()
    page.wait_for_timeout(300)
    assert asked == ["Delete this webhook and its delivery log?"]
    assert page.url == url
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page).not_to_have_url(url)
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert refused == []
