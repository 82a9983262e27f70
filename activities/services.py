"""Writes of a salesperson's day: activities, tasks and the rules that write tasks."""

from datetime import datetime, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.hooks import change_recorded
from crm.models import Contact, Membership, Tenant
from crm.permissions import can_edit_rules
from crm.services import ERASED, NotAllowed, ServiceError
from lifecycle.stages import ORDER, RANK

from .models import Activity, ActivityKind, Notification, NotificationKind, Task, TaskRule

# a clock a few minutes fast still logs "now"; anything later is a plan, not something that happened
FUTURE_SLACK = timedelta(minutes=5)


def activity_removable(*, activity: Activity, member: Membership | None) -> bool:
    """Who wrote an activity may take it back; nobody else rewrites what they said."""
    return member is not None and activity.author_id == member.pk


@transaction.atomic
def activity_log(
    *,
    contact: Contact,
    actor: Membership,
    kind: str,
    text: str = "",
    outcome: str = "",
    occurred_at: datetime | None = None,
    follow_up: tuple[str, datetime] | None = None,
) -> Activity:
    """Records a call, meeting, WeChat chat, visit or note with `contact`, as `actor` had it;
    with `follow_up` (what, when), the task it leads to, for `actor`, in the same step."""
    if contact.erased_at is not None:  # no new words about a person erased (personaldata)
        raise ServiceError(str(ERASED))
    if kind not in ActivityKind.values:
        raise ServiceError(_("Choose what kind of activity this was."))
    text, outcome = text.strip(), outcome.strip()
    if not (text or outcome):
        raise ServiceError(_("Write what was said or done, or its outcome."))
    if len(text) > 5000 or len(outcome) > 200:
        raise ServiceError(
            _("That is too long: at most 5,000 characters, and 200 for the outcome.")
        )
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + FUTURE_SLACK:
        raise ServiceError(_("That time is still to come: log what has happened."))
    activity = Activity.objects.create(
        tenant_id=contact.tenant_id, contact=contact, kind=kind, occurred_at=occurred_at,
        author=actor, text=text, outcome=outcome,
    )  # fmt: skip
    # the company's systems hear of it (webhooks subscribed to activity.logged), with the change
    change_recorded(tenant=contact.tenant, event="activity.logged",
                    rows=Activity.objects.for_tenant(contact.tenant).filter(pk=activity.pk)
                    .values_list("contact_id", "id", "created_at"))  # fmt: skip
    mentioned = [m for m in members_mentioned(contact.tenant, text) if m != actor.pk]
    # told, each once, who the text names (never oneself)
    Notification.objects.bulk_create(
        Notification(tenant_id=contact.tenant_id, member_id=member_id, contact=contact,
                     kind=NotificationKind.MENTION, actor=actor, activity=activity)
        for member_id in mentioned
    )  # fmt: skip
    if follow_up is not None:
        title, due_at = follow_up
        task_create(contact=contact, actor=actor, title=title, due_at=due_at, assignee=actor,
                    activity=activity)  # fmt: skip
    return activity


@transaction.atomic
def activity_remove(*, activity: Activity, actor: Membership) -> None:
    if not activity_removable(activity=activity, member=actor):
        raise ServiceError(_("Only who logged an activity may remove it."))
    Activity.objects.for_tenant(actor.tenant).filter(pk=activity.pk).delete()


def contact_activities_merged(
    *, survivor: Contact, merged: Contact, actor: Membership | None
) -> None:
    """A merge (crm.merges, inside its transaction): what was said and done with the merged
    contact, and its tasks, open and done, stay on record, on the one that stays."""
    Activity.objects.for_tenant(survivor.tenant).filter(contact=merged).update(contact=survivor)
    Task.objects.for_tenant(survivor.tenant).filter(contact=merged).update(contact=survivor)


def _check_task(*, contact: Contact, title: str, assignee: Membership | None) -> str:
    if contact.erased_at is not None:
        raise ServiceError(str(ERASED))
    title = " ".join(title.split())
    if not title:
        raise ServiceError(_("Say what is to be done."))
    if len(title) > 200:
        raise ServiceError(_("That is too long: at most 200 characters."))
    if assignee is not None and assignee.tenant_id != contact.tenant_id:
        raise ServiceError(_("Choose a member of this company."))
    return title


@transaction.atomic
def task_create(
    *,
    contact: Contact,
    actor: Membership | None,
    title: str,
    due_at: datetime,
    assignee: Membership | None,
    activity: Activity | None = None,
) -> Task:
    """A follow-up for `contact`, due at `due_at`, for `assignee` (None: nobody yet). A time
    already past is allowed: it shows as overdue, as a task written down late is."""
    title = _check_task(contact=contact, title=title, assignee=assignee)
    task = Task.objects.create(
        tenant_id=contact.tenant_id, contact=contact, title=title, due_at=due_at,
        assignee=assignee, created_by=actor, activity=activity,
    )  # fmt: skip
    _tasks_created(contact.tenant, [task.pk])
    if assignee is not None and assignee != actor:  # someone else's: they are told
        Notification.objects.create(
            tenant_id=contact.tenant_id, member=assignee, contact=contact,
            kind=NotificationKind.TASK_GIVEN, actor=actor, task=task,
        )  # fmt: skip
    return task


def _tasks_created(tenant: Tenant, ids: list[int]) -> None:
    """task.created for the company's systems (webhooks), in the creation's transaction."""
    if ids:  # one parameter however many a rule gave (an import's thousands)
        created = Task.objects.for_tenant(tenant).filter(
            pk__in=RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])
        )
        change_recorded(tenant=tenant, event="task.created",
                        rows=created.values_list("contact_id", "id", "created_at"))  # fmt: skip


@transaction.atomic
def task_complete(*, task: Task, actor: Membership) -> bool:
    """Marks the task done (once: a second click, or someone else's, changes nothing). Returns
    whether this call did it."""
    return bool(
        Task.objects.for_tenant(actor.tenant)
        .filter(pk=task.pk, done_at__isnull=True)
        .update(done_at=timezone.now(), done_by=actor)
    )


@transaction.atomic
def task_reopen(*, task: Task, actor: Membership) -> bool:
    """Undoes a "done" clicked by mistake."""
    return bool(
        Task.objects.for_tenant(actor.tenant)
        .filter(pk=task.pk, done_at__isnull=False)
        .update(done_at=None, done_by=None)
    )


def member_tasks_handed_over(*, tenant, member: Membership, to: Membership | None, moved: dict):
    """A member's work handed over (crm): their open tasks go with their contacts."""
    moved["tasks"] = (
        Task.objects.for_tenant(tenant)
        .filter(assignee=member, done_at__isnull=True)
        .update(assignee=to)
    )


# --- task rules -----------------------------------------------------------------------------


def _rules_editor(actor: Membership | None) -> None:
    if not can_edit_rules(actor):
        raise NotAllowed(_("Only admins may change the rules."))


@transaction.atomic
def task_rule_save(
    *,
    tenant: Tenant,
    actor: Membership | None,
    stage: str = "",
    title: str,
    due_hours: int,
    trigger: str = TaskRule.STAGE_REACHED,
) -> TaskRule:
    """A rule on reaching `stage`, or (trigger AT_RISK) on a customer turning at risk."""
    _rules_editor(actor)
    if trigger == TaskRule.AT_RISK:
        stage = ""
    elif trigger != TaskRule.STAGE_REACHED or stage not in RANK:
        raise ServiceError(_("Unknown stage."))
    title = " ".join(title.split())
    if not title or len(title) > 200:
        raise ServiceError(_("Say what is to be done, in at most 200 characters."))
    if not 1 <= due_hours <= 720:
        raise ServiceError(_("Due in 1 to 720 hours (30 days)."))
    return TaskRule.objects.create(
        tenant=tenant, trigger=trigger, stage=stage, title=title, due_hours=due_hours
    )


@transaction.atomic
def task_rule_delete(*, rule: TaskRule, actor: Membership | None) -> None:
    _rules_editor(actor)
    TaskRule.objects.for_tenant(rule.tenant).filter(pk=rule.pk).delete()


# For each forward move to a stage a task rule names, the rule's task for the contact's owner
# (or nobody), due that many hours after the move: one statement for any number of moves.
TASKS_FROM_MOVES = """
INSERT INTO activities_task (tenant_id, contact_id, title, due_at, assignee_id, created_by_id,
                             created_at)
SELECT sc.tenant_id, sc.contact_id, r.title, sc.created_at + make_interval(hours => r.due_hours),
       c.owner_id, NULL, %s
FROM lifecycle_stagechange sc
JOIN activities_taskrule r ON r.tenant_id = sc.tenant_id AND sc.to_stage = r.stage
JOIN crm_contact c ON c.id = sc.contact_id AND c.tenant_id = sc.tenant_id
WHERE sc.tenant_id = %s AND sc.kind = 'moved' AND sc.id IN ({ids})
  AND array_position(%s::text[], sc.to_stage::text)
      > array_position(%s::text[], sc.from_stage::text)
RETURNING id
"""


# The same for contacts created at a later stage (an import, the API): they reached it too.
TASKS_FROM_ARRIVALS = """
INSERT INTO activities_task (tenant_id, contact_id, title, due_at, assignee_id, created_by_id,
                             created_at)
SELECT c.tenant_id, c.id, r.title, c.created_at + make_interval(hours => r.due_hours),
       c.owner_id, NULL, %s
FROM crm_contact c JOIN activities_taskrule r USING (tenant_id, stage)
WHERE c.tenant_id = %s AND c.id IN ({ids}) AND c.stage <> %s
RETURNING id
"""


def tasks_from_moves(*, tenant: Tenant, event: str, rows: QuerySet) -> None:
    """A change listener (crm.hooks.change_recorded), in the change's transaction: the tasks
    the company's task rules give for the contacts moved forward into a stage, or created in
    one past the first."""
    if event not in ("contact.stage_changed", "contact.created"):
        return
    if not TaskRule.objects.for_tenant(tenant).exists():  # most companies, most changes
        return
    try:
        ids, params = rows.values("id").query.sql_with_params()
    except EmptyResultSet:
        return
    order = list(ORDER)
    with connection.cursor() as cursor:
        if event == "contact.created":
            cursor.execute(TASKS_FROM_ARRIVALS.format(ids=ids),
                           [timezone.now(), tenant.pk, *params, ORDER[0]])  # fmt: skip
        else:
            cursor.execute(TASKS_FROM_MOVES.format(ids=ids),
                           [timezone.now(), tenant.pk, *params, order, order])  # fmt: skip
        created = [pk for (pk,) in cursor.fetchall()]
    _tasks_created(tenant, created)


TASKS_FOR_AT_RISK = """
INSERT INTO activities_task (tenant_id, contact_id, title, due_at, assignee_id, created_by_id,
                             created_at)
SELECT c.tenant_id, c.id, r.title, %(now)s + make_interval(hours => r.due_hours), c.owner_id,
       NULL, %(now)s
FROM crm_contact c
JOIN activities_taskrule r ON r.tenant_id = c.tenant_id AND r.trigger = 'at_risk'
WHERE c.tenant_id = %(tenant)s AND c.id = ANY(%(ids)s::bigint[])
RETURNING id
"""


def tasks_for_customers_at_risk(*, tenant: Tenant, contact_ids: list[int]) -> int:
    """The tasks the company's "customer turns at risk" rules give, one per rule and contact,
    for its owner (or nobody), due that many hours from now: one statement for any number.
    Called by grading's recompute, in its transaction, for the contacts that just turned."""
    if not contact_ids:
        return 0
    params = {"now": timezone.now(), "tenant": tenant.pk, "ids": list(contact_ids)}
    with connection.cursor() as cursor:
        cursor.execute(TASKS_FOR_AT_RISK, params)
        created = [pk for (pk,) in cursor.fetchall()]
    _tasks_created(tenant, created)
    return len(created)


# --- notifications ----------------------------------------------------------------------------


def _mention_key(name: str) -> str:
    return "".join(name.split()).casefold()


def members_mentioned(tenant: Tenant, text: str) -> list[int]:
    """The members `text` names with an @: "@李营销", "@li" (display name without spaces, or
    username), in the order of the company's members."""
    if "@" not in text:
        return []
    said = _mention_key(text)
    members = Membership.objects.for_tenant(tenant).select_related("user").order_by("pk")
    return [
        member.pk
        for member in members
        if any(f"@{key}" in said for key in {_mention_key(member.display_name),
                                             _mention_key(member.user.username)} if key)
    ]  # fmt: skip


UNASSIGNED_DUE_SINCE = timedelta(days=1)  # beat runs every minute: a day is ample


@transaction.atomic
def tasks_remind_due(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Each open task now due is told to its assignee once (a notification), set-based; beat
    asks every minute. The company's systems hear of each (webhooks: task.due), a task nobody
    is assigned to too. Returns how many fell due."""
    now = now or timezone.now()
    due = list(
        Task.objects.for_tenant(tenant)
        .filter(done_at__isnull=True, reminded_at__isnull=True, due_at__lte=now)
        # a task nobody holds is announced only when it just fell due: those overdue from
        # before task.due covered them are not sent all at once
        .filter(Q(assignee__isnull=False) | Q(due_at__gte=now - UNASSIGNED_DUE_SINCE))
        .select_for_update(skip_locked=True)
        .values_list("pk", "assignee_id", "contact_id")
    )
    if not due:
        return 0
    Notification.objects.bulk_create(
        Notification(tenant=tenant, member_id=member_id, contact_id=contact_id, task_id=pk,
                     kind=NotificationKind.TASK_DUE)
        for pk, member_id, contact_id in due
        if member_id is not None
    )  # fmt: skip
    told = Task.objects.for_tenant(tenant).filter(pk__in=[pk for pk, _m, _c in due])
    told.update(reminded_at=now)
    # the company's systems hear of it too (webhooks subscribed to task.due)
    change_recorded(tenant=tenant, event="task.due",
                    rows=told.values_list("contact_id", "id", "due_at"))  # fmt: skip
    return len(due)


@transaction.atomic
def notifications_read(*, member: Membership) -> int:
    return (
        Notification.objects.for_tenant(member.tenant)
        .filter(member=member, read_at__isnull=True)
        .update(read_at=timezone.now())
    )
