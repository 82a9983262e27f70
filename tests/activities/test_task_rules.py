"""An admin says "when a contact reaches SQL, give its owner a task due in 24 h", and the task is
there after every forward move into SQL: one by one or in bulk."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from activities.models import Task, TaskRule
from activities.services import task_rule_save
from grading.services import grades_recompute
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.services import contact_stage_move
from spreadsheets.imports import jobs as imports
from tagging.models import Event
from tests.factories import ContactFactory


def rule(tenant, admin, stage="sql", hours=24):
    return task_rule_save(tenant=tenant, actor=admin, stage=stage, title="24 小时内电话跟进",
                          due_hours=hours)  # fmt: skip


def test_reaching_sql_gives_the_owner_a_task_due_a_day_after_the_move(tenant, admin, sales):
    rule(tenant, admin)
    contact = ContactFactory(tenant=tenant, stage="mql", owner=sales)
    change = contact_stage_move(contact=contact, actor=sales, to_stage="sql")
    (task,) = Task.objects.for_tenant(tenant)
    assert (task.contact, task.assignee, task.title) == (contact, sales, "24 小时内电话跟进")
    assert task.due_at == change.created_at + timedelta(hours=24)


def test_a_bulk_move_gives_each_contact_its_task_and_nobody_when_it_has_no_owner(
    tenant, admin, sales
):
    rule(tenant, admin, hours=48)
    owned = ContactFactory.create_batch(3, tenant=tenant, stage="lead", owner=sales)
    orphan = ContactFactory(tenant=tenant, stage="lead")
    contacts_bulk_move(tenant=tenant, actor=admin, contacts=[c.pk for c in [*owned, orphan]],
                       to_stage="sql")  # fmt: skip
    tasks = Task.objects.for_tenant(tenant)
    assert sorted(tasks.values_list("contact_id", flat=True)) == sorted(
        c.pk for c in [*owned, orphan]
    )
    assert tasks.get(contact=orphan).assignee is None  # unassigned, for someone to take
    assert set(tasks.exclude(contact=orphan).values_list("assignee", flat=True)) == {sales.pk}


def test_other_stages_and_moves_back_give_no_task(tenant, admin, sales):
    rule(tenant, admin)
    contact = ContactFactory(tenant=tenant, stage="opportunity", owner=sales)
    contact_stage_move(contact=contact, actor=admin, to_stage="sql", reason="还没决定")  # back
    other = ContactFactory(tenant=tenant, stage="lead", owner=sales)
    contact_stage_move(contact=other, actor=sales, to_stage="mql")
    assert not Task.objects.for_tenant(tenant).exists()


def test_another_companys_rules_never_give_tasks_here(tenant, admin, sales, other_tenant, outsider):
    task_rule_save(tenant=other_tenant, actor=outsider, stage="sql", title="别家的规则",
                   due_hours=24)  # fmt: skip
    contact = ContactFactory(tenant=tenant, stage="mql", owner=sales)
    contact_stage_move(contact=contact, actor=sales, to_stage="sql")
    assert not Task.objects.for_tenant(tenant).exists()


def test_an_admin_adds_and_deletes_a_task_rule_and_others_may_not(
    admin_client, sales_client, marketer_client, tenant
):
    url = reverse("task_rule_list", args=[tenant.slug])
    data = {"stage": "sql", "title": "电话跟进", "due_hours": "24"}
    assert sales_client.post(url, data).status_code == 403
    assert marketer_client.get(url).status_code == 403
    assert not TaskRule.objects.for_tenant(tenant).exists()
    assert admin_client.post(url, {**data, "due_hours": "0"}).status_code == 422  # said why
    assert admin_client.post(url, data).status_code == 302
    saved = TaskRule.objects.for_tenant(tenant).get()
    assert (saved.stage, saved.title, saved.due_hours) == ("sql", "电话跟进", 24)
    assert "电话跟进" in admin_client.get(url).content.decode()
    delete = reverse("task_rule_delete", args=[tenant.slug, saved.pk])
    assert sales_client.post(delete).status_code == 403
    admin_client.post(delete)
    assert not TaskRule.objects.for_tenant(tenant).exists()


def test_contacts_an_import_creates_in_the_stage_get_their_task_too(tenant, admin, marketer):
    rule(tenant, admin, stage="sql", hours=24)
    job = imports.import_start(
        tenant=tenant, actor=marketer, file_name="客户.csv", language="en",
        content="姓名,手机,阶段\n甲,13900000001,sql\n乙,13900000002,lead\n丙,13900000003,\n".encode(),
    )  # fmt: skip
    job.mapping = {"0": "name", "1": "phone", "2": "stage"}
    job.save()
    imports.import_run(job=job)
    (task,) = Task.objects.for_tenant(tenant)
    assert task.contact.name == "甲" and task.due_at == task.contact.created_at + timedelta(
        hours=24
    )


def test_a_customer_turning_at_risk_gives_its_owner_a_task_once(tenant, admin, sales):
    task_rule_save(tenant=tenant, actor=admin, trigger=TaskRule.AT_RISK, title="回访：好久没来了",
                   due_hours=48)  # fmt: skip
    now = timezone.now()
    customer = ContactFactory(tenant=tenant, owner=sales, created_at=now - timedelta(days=400))
    Event.objects.create(tenant=tenant, contact=customer, kind="payment_received",
                         amount=Decimal("3680"), occurred_at=now - timedelta(days=10))  # fmt: skip
    grades_recompute(tenant=tenant, now=now)
    assert not Task.objects.for_tenant(tenant).exists()  # active: nothing to do yet
    later = now + timedelta(days=55)
    grades_recompute(tenant=tenant, now=later)
    (task,) = Task.objects.for_tenant(tenant)
    assert (task.contact, task.assignee, task.title) == (customer, sales, "回访：好久没来了")
    grades_recompute(tenant=tenant, now=later + timedelta(days=1))  # still at risk: no second
    assert Task.objects.for_tenant(tenant).count() == 1


def test_an_admin_adds_an_at_risk_rule_on_the_page(tenant, admin_client):
    response = admin_client.post(
        reverse("task_rule_list", args=[tenant.slug]),
        {"stage": "at_risk", "title": "挽回电话", "due_hours": "24"},
    )
    assert response.status_code == 302
    rule = TaskRule.objects.for_tenant(tenant).get()
    assert (rule.trigger, rule.stage, rule.title) == ("at_risk", "", "挽回电话")
    page = admin_client.get(reverse("task_rule_list", args=[tenant.slug])).content.decode()
    assert "when a customer turns at risk, due in 24 h" in page
