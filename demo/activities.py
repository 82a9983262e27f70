"""The demo company's calls, chats, meetings, visits and notes, so the timeline reads like a
salesperson's week."""

import random
from datetime import timedelta

from django.utils import timezone

from activities.assignment import assignment_rule_save
from activities.models import Activity, AssignmentRule, Notification, NotificationKind, Task
from crm.models import Contact, Membership, Tenant
from lifecycle.stages import RANK

# (kind, what was said or done, outcome), as a training school's sales team writes them
LINES = [
    ("call", "介绍了成人口语周末班，对上课时间比较关心", "有意向"),
    ("call", "打了两次没接", "未接通"),
    ("call", "回访体验课感受，觉得外教不错，想再比较一下价格", "稍后再联系"),
    ("wechat", "发了课程表和价格表，问能不能分期", "已发价格表"),
    ("wechat", "约了周六上午的体验课", "约了体验课"),
    ("wechat", "问了老学员优惠，转给了课程顾问", ""),
    ("meeting", "到店面谈，孩子和家长一起来，做了分级测试", "有意向"),
    ("visit", "去公司拜访 HR，聊企业英语培训的需求", "有意向"),
    ("note", "下午 6 点后方便联系，不要打工作时间", ""),
    ("note", "预算有限，优先推荐小班课", ""),
]


def seed_assignment_rule(tenant: Tenant, admin: Membership, sellers: list[Membership]) -> None:
    """New contacts without an owner shared in turn among the sales team (Settings →
    Assignment), as the admin would set it up. Once: a second run finds it there."""
    if sellers and not AssignmentRule.objects.for_tenant(tenant).exists():
        assignment_rule_save(tenant=tenant, actor=admin, tag=None, members=sellers)


def seed_sales_activities(tenant: Tenant, contact_ids: list[int], sellers: list[Membership]):
    """Two to four activities for most contacts past the first stages, by their owner (or one
    of `sellers`), spread between the contact's arrival and now."""
    rng = random.Random(f"funnel-demo-sales-activities-{tenant.slug}")  # noqa: S311 - demo data
    now = timezone.now()
    rows = []
    contacts = Contact.objects.for_tenant(tenant).filter(pk__in=contact_ids).order_by("pk")
    for contact in contacts:
        if RANK[contact.furthest_stage] < RANK["lead"] or rng.random() < 0.3:
            continue
        author_id = contact.owner_id or rng.choice(sellers).pk
        for _n in range(rng.randint(2, 4)):
            kind, text, outcome = rng.choice(LINES)
            at = min(contact.created_at + (now - contact.created_at) * rng.random(), now)
            rows.append(
                Activity(tenant=tenant, contact=contact, kind=kind, author_id=author_id,
                         text=text, outcome=outcome, occurred_at=at, created_at=at)
            )  # fmt: skip
    Activity.objects.bulk_create(rows, batch_size=1000)
    tasks = Task.objects.bulk_create(_tasks(tenant, contacts, sellers, rng, now), batch_size=1000)
    Notification.objects.bulk_create(_notifications(tenant, rows, tasks, sellers, rng, now))


def _notifications(tenant, activities, tasks, sellers, rng, now) -> list[Notification]:
    """What the sales team would find waiting: overdue tasks told as due, and a few notes that
    mention a colleague."""
    told = [
        Notification(tenant=tenant, member_id=t.assignee_id, contact_id=t.contact_id, task=t,
                     kind=NotificationKind.TASK_DUE, created_at=t.due_at)
        for t in tasks if t.done_at is None and t.due_at < now
    ]  # fmt: skip
    for task in tasks:
        if task.done_at is None and task.due_at < now:
            task.reminded_at = task.due_at
    Task.objects.bulk_update([t for t in tasks if t.reminded_at], ["reminded_at"], batch_size=1000)
    notes = [a for a in activities if a.kind == "note"][:6]
    for note in notes:
        colleague = rng.choice(sellers)
        if colleague.pk == note.author_id:
            continue
        note.text = f"@{colleague.display_name} {note.text}"
        note.save(update_fields=["text"])
        told.append(
            Notification(tenant=tenant, member=colleague, contact_id=note.contact_id,
                         activity=note, actor_id=note.author_id, kind=NotificationKind.MENTION,
                         created_at=note.occurred_at)
        )  # fmt: skip
    return told


TASKS = [
    "回电确认体验课时间", "发课程表和价格", "约到店面谈", "跟进付款", "回访上课感受",
    "邀请参加公开课",
]  # fmt: skip


def _tasks(tenant, contacts, sellers, rng, now) -> list[Task]:
    """Follow-ups for one contact in five: a few overdue, some due today, most ahead, and some
    done already (on the timeline)."""
    tasks = []
    for contact in contacts:
        if rng.random() > 0.2:
            continue
        due = now + timedelta(hours=rng.choice([-50, -26, -3, 2, 5, 20, 44, 70, 140]))
        done = rng.random() < 0.3
        assignee_id = contact.owner_id or rng.choice(sellers).pk
        tasks.append(
            Task(tenant=tenant, contact=contact, title=rng.choice(TASKS), due_at=due,
                 assignee_id=assignee_id, created_by_id=assignee_id,
                 created_at=min(due, now) - timedelta(days=1),
                 done_at=min(due, now) if done else None, done_by_id=assignee_id if done else None)
        )  # fmt: skip
    return tasks
