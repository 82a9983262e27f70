"""Who looks after which contacts: sales give contacts to a colleague from the list, picked or
all matching; an admin hands a leaving member's contacts and open tasks over in one step."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from activities.models import Task
from activities.services import task_complete, task_create
from crm.models import AuditEntry, AuditKind, Contact
from tests.factories import ContactFactory, MembershipFactory


def assign(client, tenant, **data):
    return client.post(reverse("contacts_bulk_assign", args=[tenant.slug]), data)


def owners(tenant) -> dict[str, int | None]:
    return dict(Contact.objects.for_tenant(tenant).values_list("name", "owner_id"))


def test_sales_give_the_picked_contacts_to_a_colleague(sales_client, tenant, sales, admin):
    mine = ContactFactory.create_batch(3, tenant=tenant, owner=sales)
    kept = ContactFactory(tenant=tenant, name="不动", owner=sales)
    answer = assign(sales_client, tenant, ids=[c.pk for c in mine], owner_to=admin.pk)
    assert answer.status_code == 302
    assert {c.pk: c.owner_id for c in Contact.objects.for_tenant(tenant)} == {
        **{c.pk: admin.pk for c in mine}, kept.pk: sales.pk,
    }  # fmt: skip
    entry = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.BULK_ASSIGN)
    assert (entry.actor, entry.count) == (sales, 3)


def test_all_contacts_matching_the_filters_go_to_one_owner(sales_client, tenant, sales, admin):
    ContactFactory.create_batch(4, tenant=tenant, stage="sql")
    ContactFactory.create_batch(2, tenant=tenant, stage="lead")
    assign(sales_client, tenant, scope="all", stage="sql", owner_to=sales.pk)
    by_stage = Contact.objects.for_tenant(tenant)
    assert set(by_stage.filter(stage="sql").values_list("owner_id", flat=True)) == {sales.pk}
    assert set(by_stage.filter(stage="lead").values_list("owner_id", flat=True)) == {None}


def test_nobody_takes_them_back_and_choosing_nothing_changes_nothing(sales_client, tenant, sales):
    contact = ContactFactory(tenant=tenant, owner=sales)
    assign(sales_client, tenant, ids=[contact.pk], owner_to="")
    contact.refresh_from_db()
    assert contact.owner_id == sales.pk
    assign(sales_client, tenant, ids=[contact.pk], owner_to="nobody")
    contact.refresh_from_db()
    assert contact.owner_id is None


def test_another_companys_member_or_contacts_are_never_reached(
    sales_client, tenant, sales, outsider, foreign_contact
):
    contact = ContactFactory(tenant=tenant, owner=sales)
    assign(sales_client, tenant, ids=[contact.pk], owner_to=outsider.pk)
    contact.refresh_from_db()
    assert contact.owner_id == sales.pk
    assign(sales_client, tenant, ids=[foreign_contact.pk, contact.pk], owner_to=sales.pk)
    foreign_contact.refresh_from_db()
    assert foreign_contact.owner_id is None


def test_an_admin_hands_a_leaving_members_contacts_and_open_tasks_over(
    admin_client, tenant, admin, sales
):
    leaving = MembershipFactory(tenant=tenant, role="sales")
    theirs = ContactFactory.create_batch(3, tenant=tenant, owner=leaving)
    other = ContactFactory(tenant=tenant, owner=admin)
    due = timezone.now() + timedelta(days=1)
    open_task = task_create(contact=theirs[0], actor=leaving, title="回电", due_at=due,
                            assignee=leaving)  # fmt: skip
    done_task = task_create(contact=theirs[1], actor=leaving, title="已完成", due_at=due,
                            assignee=leaving)  # fmt: skip
    task_complete(task=done_task, actor=leaving)
    answer = admin_client.post(
        reverse("member_hand_over", args=[tenant.slug, leaving.pk]), {"to": sales.pk}
    )
    assert answer.status_code == 302
    assert set(Contact.objects.for_tenant(tenant).filter(pk__in=[c.pk for c in theirs])
               .values_list("owner_id", flat=True)) == {sales.pk}  # fmt: skip
    other.refresh_from_db()
    assert other.owner_id == admin.pk
    assert Task.objects.get(pk=open_task.pk).assignee == sales
    assert Task.objects.get(pk=done_task.pk).assignee == leaving  # what they did stays theirs
    entry = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.WORK_HANDED_OVER)
    assert (entry.count, entry.details["tasks"], entry.details["to"]) == (3, 1, sales.pk)


def test_only_admins_hand_work_over_and_never_to_the_same_member(
    sales_client, admin_client, tenant, sales
):
    contact = ContactFactory(tenant=tenant, owner=sales)
    url = reverse("member_hand_over", args=[tenant.slug, sales.pk])
    assert sales_client.post(url, {"to": "nobody"}).status_code == 403
    admin_client.post(url, {"to": sales.pk})
    contact.refresh_from_db()
    assert contact.owner_id == sales.pk
    assert not AuditEntry.objects.for_tenant(tenant).filter(kind=AuditKind.WORK_HANDED_OVER)
