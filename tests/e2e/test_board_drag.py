import pytest
from playwright.sync_api import expect

from lifecycle.analytics import funnel_recompute
from lifecycle.services import contact_stage_move
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def school():
    tenant = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=tenant, role="sales", user__username="zhao")
    return tenant


def test_a_salesperson_drags_a_card_and_the_counts_change(live_server, page, school):
    ContactFactory(tenant=school, name="张伟", stage="lead")
    ContactFactory(tenant=school, name="李娜", stage="lead")
    funnel_recompute(tenant=school)

    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/board/")
    expect(page.locator("#count-lead")).to_have_text("2")
    expect(page.locator("#count-mql")).to_have_text("0")

    card = page.locator(".board-card", has_text="张伟")
    page.drag_and_drop(
        f"#{card.get_attribute('id')}", "#cards-mql", target_position={"x": 20, "y": 20}
    )

    expect(page.locator("#cards-mql .board-card", has_text="张伟")).to_be_visible()
    expect(page.locator("#cards-lead .board-card", has_text="张伟")).to_have_count(0)
    expect(page.locator("#count-lead")).to_have_text("1")
    expect(page.locator("#count-mql")).to_have_text("1")
    expect(page.locator("#board-messages")).to_contain_text("moved to")


def test_the_move_menu_works_from_the_keyboard_and_asks_for_what_is_missing(
    live_server, page, school
):
    ContactFactory(tenant=school, name="王芳", stage="sql")
    funnel_recompute(tenant=school)
    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/board/")

    summary = page.locator(".board-card", has_text="王芳").locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    button = page.locator(".board-card", has_text="王芳").get_by_role("button", name="Opportunity")
    button.focus()
    page.keyboard.press("Enter")

    # Opportunity requires an expected amount by default: asked in place.
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Expected amount")
    page.keyboard.type("3680")
    page.keyboard.press("Enter")

    expect(page.locator("#cards-opportunity .board-card", has_text="王芳")).to_be_visible()
    expect(page.locator("#count-opportunity")).to_have_text("1")
    expect(page.locator("#count-sql")).to_have_text("0")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_a_card_dragged_after_someone_else_moved_it_goes_to_its_real_column(
    live_server, page, school
):
    contact = ContactFactory(tenant=school, name="刘洋", stage="lead")
    funnel_recompute(tenant=school)
    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/board/")
    expect(page.locator("#cards-lead .board-card", has_text="刘洋")).to_be_visible()

    # Meanwhile a colleague moves 刘洋 on to MQL; zhao's board still shows the card under Lead.
    colleague = MembershipFactory(tenant=school, role="admin")
    contact_stage_move(contact=contact, actor=colleague, to_stage="mql")
    funnel_recompute(tenant=school)

    page.drag_and_drop(f"#card-{contact.pk}", "#cards-sql", target_position={"x": 20, "y": 20})

    expect(page.locator("#board-messages")).to_contain_text("Someone changed this contact")
    expect(page.locator("#cards-mql .board-card", has_text="刘洋")).to_be_visible()
    expect(page.locator("#cards-lead .board-card", has_text="刘洋")).to_have_count(0)
    expect(page.locator("#cards-sql .board-card", has_text="刘洋")).to_have_count(0)
    expect(page.locator("#count-lead")).to_have_text("0")
    expect(page.locator("#count-mql")).to_have_text("1")

    # The card now carries the contact as it is: the next drop moves it.
    page.drag_and_drop(f"#card-{contact.pk}", "#cards-sql", target_position={"x": 20, "y": 20})
    expect(page.locator("#cards-sql .board-card", has_text="刘洋")).to_be_visible()
    expect(page.locator("#board-messages")).to_contain_text("moved to")
