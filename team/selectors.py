"""The team's figures, per member: the contacts they own by stage, the moves they made, the
conversions and revenue of their contacts in a period, and their open and overdue tasks.

A handful of GROUP BY queries whatever the team's size, each on an index that leads with the
company: contacts on contact_tenant_owner_stage, moves on stagechange_member_moves, conversions on
stagechange_entered, payments on event_kind, tasks on task_open_by_assignee. Narrowed to one
member (`only`), each query reads that member's rows alone.

Whose a figure is: contacts, conversions and revenue are the contact's owner's (as the contact
stands now: a contact handed over takes its history with it); moves are whoever made them, by
hand, in bulk or through the API (imports and rules are not a person's work); tasks are their
assignee's.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from activities.models import Task
from crm.models import Contact, Tenant
from crm.selectors import MemberName, member_names
from grading.models import PAYMENT_KIND
from lifecycle.models import StageChange
from lifecycle.stages import MEMBER_CHANNELS, ORDER, RANK, ChangeKind, Stage, Status
from tagging.models import Event

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Whole days in the company's time zone, `since` to `until` included: [start, end)."""

    since: date
    until: date
    start: datetime
    end: datetime

    @classmethod
    def of(cls, tenant: Tenant, since: date, until: date) -> "Period":
        zone = tenant.zoneinfo
        start = datetime.combine(since, time.min, tzinfo=zone)
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
        return cls(since, until, start, end)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


def company_today(*, tenant: Tenant) -> date:
    return timezone.localdate(timezone=tenant.zoneinfo)


def last_days(*, tenant: Tenant, days: int = DEFAULT_DAYS) -> Period:
    """The last `days` days up to today, today included, in the company's time zone."""
    today = company_today(tenant=tenant)
    return Period.of(tenant, today - timedelta(days=days - 1), today)


@dataclass
class MemberFigures:
    member: MemberName
    stages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))  # active
    contacts: int = 0  # every contact they own, lost ones too
    reached_sql: int = 0  # contacts they own that ever reached SQL, lost ones too
    won: int = 0  # of those, the ones that reached customer
    forward: int = 0
    back: int = 0
    conversions: int = 0  # their contacts moved into customer in the period
    revenue: Decimal = Decimal(0)  # payments of their contacts in the period
    payments: int = 0
    open_tasks: int = 0
    overdue_tasks: int = 0

    @property
    def owned(self) -> int:
        return sum(self.stages.values())

    @property
    def moves(self) -> int:
        return self.forward + self.back

    @property
    def win_rate(self) -> float | None:
        """Of their contacts that reached SQL, the share that reached customer."""
        return self.won / self.reached_sql if self.reached_sql else None

    @property
    def has_figures(self) -> bool:
        return any((self.contacts, self.moves, self.conversions, self.payments,
                    self.open_tasks))  # fmt: skip


def _owned(tenant: Tenant, only: int | None):
    """(owner, stage, status, furthest stage, count) of every owned contact: an index-only
    read of contact_tenant_owner_stage."""
    contacts = Contact.objects.for_tenant(tenant).filter(owner__isnull=False)
    if only is not None:
        contacts = contacts.filter(owner_id=only)
    return (
        contacts.order_by()
        .values_list("owner_id", "stage", "status", "furthest_stage")
        .annotate(n=Count("*"))
    )


def _moves(tenant: Tenant, period: Period, only: int | None):
    """(actor, from, to, count) of the moves members made in the period."""
    moves = StageChange.objects.for_tenant(tenant).filter(
        kind=ChangeKind.MOVED,
        actor__isnull=False,  # with kind, the condition of the partial index it reads
        created_at__gte=period.start,
        created_at__lt=period.end,
        channel__in=sorted(MEMBER_CHANNELS),
    )
    if only is not None:
        moves = moves.filter(actor_id=only)
    return moves.order_by().values_list("actor_id", "from_stage", "to_stage").annotate(n=Count("*"))


# Forward into customer from an earlier stage: a correction back from evangelist is no sale.
BEFORE_CUSTOMER = ORDER[: RANK[Stage.CUSTOMER]]


def _conversions(tenant: Tenant, period: Period, only: int | None):
    """(owner, contacts) of the contacts moved into customer in the period, by their owner.
    Rows a merge brought over are the merged record's: each person is counted once."""
    changes = StageChange.objects.for_tenant(tenant).filter(
        to_stage=Stage.CUSTOMER,
        created_at__gte=period.start,
        created_at__lt=period.end,
        kind=ChangeKind.MOVED,
        from_stage__in=BEFORE_CUSTOMER,
        merged_from_id__isnull=True,
    )
    changes = (changes.filter(contact__owner_id=only) if only is not None
               else changes.filter(contact__owner__isnull=False))  # fmt: skip
    return (
        changes.order_by()
        .values_list("contact__owner_id")
        .annotate(n=Count("contact_id", distinct=True))
    )


def _revenue(tenant: Tenant, period: Period, only: int | None):
    """(owner, total, payments) of the payments their contacts made in the period."""
    payments = Event.objects.for_tenant(tenant).filter(
        kind=PAYMENT_KIND, occurred_at__gte=period.start, occurred_at__lt=period.end
    )
    payments = (payments.filter(contact__owner_id=only) if only is not None
                else payments.filter(contact__owner__isnull=False))  # fmt: skip
    return (
        payments.order_by()
        .values_list("contact__owner_id")
        .annotate(total=Sum("amount"), n=Count("*"))
    )


def _tasks(tenant: Tenant, now: datetime, only: int | None):
    """(assignee, open, overdue) of the open tasks: an index-only read of their index."""
    tasks = Task.objects.for_tenant(tenant).filter(done_at__isnull=True, assignee__isnull=False)
    if only is not None:
        tasks = tasks.filter(assignee_id=only)
    return (
        tasks.order_by()
        .values_list("assignee_id")
        .annotate(n=Count("*"), overdue=Count("due_at", filter=Q(due_at__lt=now)))
    )


def team_figures(
    *,
    tenant: Tenant,
    period: Period,
    only: int | None = None,
    with_contacts: bool = True,
    now: datetime | None = None,
) -> list[MemberFigures]:
    """Each member's figures, in the company's order of members, for the members who have any
    (`only`: that member's row alone, shown even when all is zero). `with_contacts=False`
    leaves out the contacts they own by stage (the dashboard's compact panel)."""
    now = now or timezone.now()
    rows = {m.pk: MemberFigures(m) for m in member_names(tenant=tenant)
            if only is None or m.pk == only}  # fmt: skip
    if with_contacts:
        for owner_id, stage, status, furthest, n in _owned(tenant, only):
            if (row := rows.get(owner_id)) is None:
                continue
            row.contacts += n
            if status == Status.ACTIVE:
                row.stages[stage] += n
            if RANK[furthest] >= RANK[Stage.SQL]:
                row.reached_sql += n
                if RANK[furthest] >= RANK[Stage.CUSTOMER]:
                    row.won += n
    for actor_id, from_stage, to_stage, n in _moves(tenant, period, only):
        if (row := rows.get(actor_id)) is not None:
            if RANK[to_stage] > RANK.get(from_stage, -1):
                row.forward += n
            else:
                row.back += n
    for owner_id, n in _conversions(tenant, period, only):
        if (row := rows.get(owner_id)) is not None:
            row.conversions = n
    for owner_id, total, n in _revenue(tenant, period, only):
        if (row := rows.get(owner_id)) is not None:
            row.revenue, row.payments = total or Decimal(0), n
    for assignee_id, n, overdue in _tasks(tenant, now, only):
        if (row := rows.get(assignee_id)) is not None:
            row.open_tasks, row.overdue_tasks = n, overdue
    return [row for pk, row in rows.items() if pk == only or row.has_figures]
