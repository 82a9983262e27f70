"""A salesperson writes down what to do next ("call back Friday"), starts the day from "my tasks"
(overdue, today, upcoming), and ticks tasks off; the contact's history shows what was done."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.forms import due_presets
from activities.models import Task
from activities.selectors import contact_timeline, my_tasks, overdue_count
from activities.services import task_complete, task_create, task_reopen
from crm.merges import contact_merge
from crm.services import ServiceError
from tests.factories import ContactFactory

HTMX = {"HX-Request": "true"}


def add_url(tenant, contact):
    return reverse("contact_task_add", args=[tenant.slug, contact.pk])


def task_for(contact, member, *, due, title="回电") -> Task:
    return task_create(contact=contact, actor=member, title=title, due_at=due, assignee=member)


def test_a_salesperson_adds_a_task_on_a_contact_and_finds_it_under_my_tasks(
    sales_client, tenant, sales, contact
):
    answer = sales_client.post(
        add_url(tenant, contact),
        {"task-title": "周五回电确认体验课", "task-due": "tomorrow", "task-assignee": sales.pk},
        headers=HTMX,
    )
    assert answer.status_code == 200 and "周五回电确认体验课" in answer.content.decode()
    task = Task.objects.for_tenant(tenant).get(contact=contact)
    tomorrow = timezone.localtime() + timedelta(days=1)
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == tomorrow.strftime(
        "%Y-%m-%d 10:00"
    )
    assert (task.assignee, task.created_by, task.done_at) == (sales, sales, None)
    page = sales_client.get(reverse("my_tasks", args=[tenant.slug])).content.decode()
    upcoming = page.split("task-section-upcoming", 1)[1]
    assert "周五回电确认体验课" in upcoming and contact.name in upcoming


def test_a_custom_time_must_be_given_and_what_was_typed_stays(sales_client, tenant, sales, contact):
    answer = sales_client.post(
        add_url(tenant, contact),
        {"task-title": "上门拜访", "task-due": "custom", "task-assignee": sales.pk},
        headers=HTMX,
    )
    body = answer.content.decode()
    assert "Give the time it is due." in body and 'value="上门拜访"' in body
    assert not Task.objects.for_tenant(tenant).exists()
    sales_client.post(
        add_url(tenant, contact),
        {"task-title": "上门拜访", "task-due": "custom", "task-due_at": "2027-01-05T15:00",
         "task-assignee": sales.pk},
    )  # fmt: skip
    task = Task.objects.for_tenant(tenant).get()
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == "2027-01-05 15:00"


def test_my_tasks_splits_overdue_today_and_upcoming(tenant, sales, admin, contact):
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    late = task_for(contact, sales, due=noon - timedelta(days=2), title="上周就该打")
    today = task_for(contact, sales, due=noon + timedelta(hours=5), title="今晚发资料")
    later = task_for(contact, sales, due=noon + timedelta(days=3), title="下周面谈")
    task_for(contact, admin, due=noon - timedelta(days=1), title="别人的任务")
    done = task_for(contact, sales, due=noon - timedelta(days=1), title="已经做完")
    task_complete(task=done, actor=sales)
    sections = {s.key: [t.title for t in s.tasks] for s in my_tasks(member=sales, now=noon)}
    assert sections == {"overdue": [late.title], "today": [today.title], "upcoming": [later.title]}
    assert overdue_count(member=sales, now=noon) == 1


def test_the_header_counts_my_overdue_tasks_on_every_page(sales_client, tenant, sales, contact):
    dashboard = reverse("dashboard", args=[tenant.slug])
    assert 'class="badge"' not in sales_client.get(dashboard).content.decode()
    for i in range(3):
        task_for(contact, sales, due=timezone.now() - timedelta(hours=i + 1))
    task_for(contact, sales, due=timezone.now() + timedelta(hours=1))
    assert '<span class="badge" title="3 overdue">3' in sales_client.get(dashboard).content.decode()


def test_the_header_count_stops_at_99_plus(sales_client, tenant, sales, contact):
    past = timezone.now() - timedelta(days=1)
    Task.objects.bulk_create(
        Task(tenant=tenant, contact=contact, title=f"任务{i}", due_at=past, assignee=sales)
        for i in range(120)
    )
    assert overdue_count(member=sales) == 100  # never walks further than the badge shows
    page = sales_client.get(reverse("dashboard", args=[tenant.slug])).content.decode()
    assert ">99+<" in page


def test_ticking_a_task_off_puts_it_in_the_history_and_out_of_my_lists(
    sales_client, tenant, sales, contact
):
    task = task_for(contact, sales, due=timezone.now() - timedelta(hours=1), title="回电")
    answer = sales_client.post(
        reverse("task_done", args=[tenant.slug, task.pk]), {"next": "mine"}, headers=HTMX
    )
    assert answer.status_code == 200 and "task-done" in answer.content.decode()
    task.refresh_from_db()
    assert task.done_by == sales and task.done_at is not None
    assert all(not section.tasks for section in my_tasks(member=sales))
    (entry,) = contact_timeline(contact=contact, shown="task").entries
    assert (entry.kind, entry.item, entry.actor) == ("task", task, sales.display_name)
    assert overdue_count(member=sales) == 0


def test_done_twice_changes_nothing_and_a_mistaken_tick_is_undone(tenant, sales, admin, contact):
    task = task_for(contact, sales, due=timezone.now())
    assert task_complete(task=task, actor=sales)
    assert not task_complete(task=task, actor=admin)  # already done: still done by sales
    task.refresh_from_db()
    assert task.done_by == sales
    assert task_reopen(task=task, actor=sales)
    task.refresh_from_db()
    assert (task.done_at, task.done_by) == (None, None)


def test_a_follow_up_written_with_a_call_is_a_task_for_the_caller(
    sales_client, tenant, sales, contact
):
    sales_client.post(
        reverse("contact_activity_log", args=[tenant.slug, contact.pk]),
        {"activity-kind": "call", "activity-outcome": "稍后再联系",
         "activity-follow_up": "周五再打", "activity-follow_up_due": "in3"},
        headers=HTMX,
    )  # fmt: skip
    task = Task.objects.for_tenant(tenant).get()
    assert (task.title, task.assignee, task.activity.outcome) == ("周五再打", sales, "稍后再联系")
    in3 = {key: when for key, _label, when in due_presets()}["in3"]
    assert task.due_at == in3


def test_a_task_is_for_a_member_of_this_company_only(tenant, sales, outsider, contact):
    with pytest.raises(ServiceError):
        task_create(contact=contact, actor=sales, title="回电", due_at=timezone.now(),
                    assignee=outsider)  # fmt: skip
    assert not Task.objects.for_tenant(tenant).exists()


def test_another_company_cannot_add_tick_or_read_our_tasks(outsider_client, tenant, sales, contact):
    task = task_for(contact, sales, due=timezone.now())
    added = outsider_client.post(add_url(tenant, contact), {"task-title": "x", "task-due": "in3"})
    ticked = outsider_client.post(reverse("task_done", args=[tenant.slug, task.pk]))
    read = outsider_client.get(add_url(tenant, contact))
    assert (added.status_code, ticked.status_code, read.status_code) == (404, 404, 404)
    task.refresh_from_db()
    assert task.done_at is None and Task.objects.for_tenant(tenant).count() == 1


def test_my_tasks_costs_the_same_queries_for_3_or_60_tasks(sales_client, tenant, sales):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert sales_client.get(reverse("my_tasks", args=[tenant.slug])).status_code == 200
        return len(captured)

    contacts = ContactFactory.create_batch(3, tenant=tenant)
    for i, person in enumerate(contacts):
        task_for(person, sales, due=timezone.now() + timedelta(days=i - 1))
    few = queries()
    for i in range(57):
        task_for(contacts[i % 3], sales, due=timezone.now() + timedelta(days=i % 5 - 2))
    assert queries() == few


def test_a_merge_keeps_the_merged_contacts_tasks(tenant, admin, sales, contact):
    twin = ContactFactory(tenant=tenant, name="张伟", phone="13800138001")
    task = task_for(twin, sales, due=timezone.now())
    contact_merge(survivor=contact, merged=twin, actor=admin, take_from_merged=set())
    task.refresh_from_db()
    assert task.contact_id == contact.pk
