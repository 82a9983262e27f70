"""A member hears of what concerns them: an @-mention in someone's note, a task someone gave
them, a task of theirs now due; the header counts what is unread."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from activities.models import Notification, Task
from activities.services import activity_log, task_complete, task_create, tasks_remind_due
from activities.tasks import remind_due_tasks
from integrations.models import WebhookDelivery
from integrations.webhooks import delivery_payload
from tests.factories import ContactFactory
from tests.integrations.test_webhooks import endpoint_for


def unread(member) -> list[str]:
    return list(
        Notification.objects.for_tenant(member.tenant)
        .filter(member=member, read_at__isnull=True)
        .values_list("kind", flat=True)
    )


def test_an_at_mention_tells_the_member_named_and_never_the_writer(
    sales, marketer, admin, contact, outsider
):
    name = marketer.display_name
    activity_log(contact=contact, actor=sales, kind="note",
                 text=f"@{name} 这位客户想要企业培训方案，@{sales.user.username} 先跟进；"
                      f"@{outsider.user.username} 不是本公司的")  # fmt: skip
    assert unread(marketer) == ["mention"]
    assert unread(sales) == [] and unread(admin) == []
    assert not Notification.objects.filter(member=outsider).exists()


def test_the_header_counts_unread_and_the_page_reads_them(
    sales_client, marketer_client, tenant, sales, marketer, contact
):
    activity_log(contact=contact, actor=marketer, kind="note",
                 text=f"@{sales.user.username} 请今天回电")  # fmt: skip
    dashboard = reverse("dashboard", args=[tenant.slug])
    assert 'title="1 unread"' in sales_client.get(dashboard).content.decode()
    page = sales_client.get(reverse("notification_list", args=[tenant.slug])).content.decode()
    assert "mentioned you about" in page and "请今天回电" in page and "New" in page
    assert unread(sales) == ["mention"]  # reading the page changes nothing (a GET)
    sales_client.post(reverse("notifications_mark_read", args=[tenant.slug]))
    assert unread(sales) == []
    assert 'title="1 unread"' not in sales_client.get(dashboard).content.decode()


def test_a_task_given_to_someone_else_tells_them_and_ones_own_does_not(
    tenant, sales, admin, contact
):
    due = timezone.now() + timedelta(days=1)
    task_create(contact=contact, actor=admin, title="回电", due_at=due, assignee=sales)
    task_create(contact=contact, actor=sales, title="自己的", due_at=due, assignee=sales)
    assert unread(sales) == ["task_given"]
    assert unread(admin) == []


def test_a_task_now_due_is_told_to_its_assignee_once(tenant, sales, contact):
    now = timezone.now()
    due = task_create(contact=contact, actor=sales, title="到期", due_at=now - timedelta(minutes=1),
                      assignee=sales)  # fmt: skip
    task_create(contact=contact, actor=sales, title="还没到", due_at=now + timedelta(hours=1),
                assignee=sales)  # fmt: skip
    finished = task_create(contact=contact, actor=sales, title="做完了",
                           due_at=now - timedelta(hours=1), assignee=sales)  # fmt: skip
    task_complete(task=finished, actor=sales)
    task_create(contact=contact, actor=sales, title="没人负责", due_at=now - timedelta(hours=1),
                assignee=None)  # fmt: skip
    remind_due_tasks()  # beat, every minute
    remind_due_tasks()  # and again: nothing twice
    told = Notification.objects.for_tenant(tenant).filter(kind="task_due")
    assert list(told.values_list("task_id", "member_id")) == [(due.pk, sales.pk)]
    assert Task.objects.get(pk=due.pk).reminded_at is not None
    assert tasks_remind_due(tenant=tenant) == 0


def test_notifications_are_each_members_own(sales_client, tenant, sales, admin):
    contact = ContactFactory(tenant=tenant)
    activity_log(contact=contact, actor=sales, kind="note", text=f"@{admin.user.username} 看看")
    page = sales_client.get(reverse("notification_list", args=[tenant.slug])).content.decode()
    assert "看看" not in page
    assert unread(admin) == ["mention"]


def test_a_task_now_due_is_also_sent_to_the_companys_task_due_webhook(tenant, sales, contact):
    endpoint = endpoint_for(tenant, "https://example.com/hook", events=["task.due"])
    task = task_create(contact=contact, actor=sales, title="回电确认", assignee=sales,
                       due_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    tasks_remind_due(tenant=tenant)
    (delivery,) = WebhookDelivery.objects.for_tenant(tenant).filter(endpoint=endpoint)
    assert (delivery.event, delivery.ref_id, delivery.contact_id) == ("task.due", task.pk,
                                                                       contact.pk)  # fmt: skip
    payload = delivery_payload(delivery)
    assert payload["type"] == "task.due"
    assert payload["data"]["task"]["title"] == "回电确认"
    assert payload["data"]["task"]["assignee"] == sales.display_name
    tasks_remind_due(tenant=tenant)  # told once: no second delivery
    assert WebhookDelivery.objects.for_tenant(tenant).filter(endpoint=endpoint).count() == 1
