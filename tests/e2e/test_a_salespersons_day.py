from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activities.models import Task
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_salesperson_starts_the_day_from_my_tasks_logs_a_call_and_ticks_the_task_off(
    live_server, page
):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    zhao = MembershipFactory(tenant=school, role="sales", user__username="zhao")
    contact = ContactFactory(tenant=school, name="林小雨", stage="mql", owner=zhao)
    Task.objects.create(tenant=school, contact=contact, title="回电确认体验课", assignee=zhao,
                        due_at=timezone.now() - timedelta(hours=3))  # fmt: skip

    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/")
    tasks_link = page.get_by_role("link", name="My tasks")
    expect(tasks_link).to_contain_text("1")  # one overdue, in the header of every page
    tasks_link.click()

    overdue = page.locator(".task-section-overdue")
    expect(overdue).to_contain_text("回电确认体验课")
    overdue.get_by_role("link", name="林小雨").click()

    page.locator("#activity-panel").get_by_label("Call").check()
    page.fill("#activity-panel textarea", "确认了周六上午的体验课")
    page.fill("#activity-panel input[name=activity-follow_up]", "体验课后回访")
    page.click("#activity-panel button[type=submit]")
    expect(page.locator("#activity-panel [role=status]")).to_contain_text(
        "Task added: 体验课后回访."
    )
    expect(page.locator("#tasks-panel")).to_contain_text("体验课后回访")  # reloaded by itself

    page.get_by_role("link", name="My tasks").click()
    page.get_by_role("button", name="Mark done: 回电确认体验课").click()
    expect(page.locator(".task-done")).to_contain_text("回电确认体验课")
    page.reload()
    expect(page.locator(".task-section-overdue")).to_contain_text("Nothing overdue.")
    expect(page.get_by_role("link", name="My tasks").locator(".badge")).to_have_count(0)
    expect(page.locator(".task-section-upcoming")).to_contain_text("体验课后回访")

    page.goto(f"{live_server.url}/t/english-school/contacts/{contact.pk}/")
    expect(page.locator("#timeline-panel")).to_contain_text("Task done: 回电确认体验课")
