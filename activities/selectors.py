"""A contact's timeline: activities, events and stage changes, newest first, a page at a time."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from crm.models import Contact, Membership
from crm.rawreads import tenant_rows
from crm.selectors import member_names
from lifecycle.models import StageChange
from tagging.models import ContactTag, Event, Tag, TagRemoval

from .models import Activity, ActivityKind, Notification, Task

PAGE = 20  # the latest entries; "Older" pages on
# What the timeline can be narrowed to: every activity, one kind of activity, events, moves, tags.
SHOWN = ("activities", *ActivityKind.values, "task", "event", "stage", "tags")
TAGS = ("tagged", "untagged")


@dataclass(frozen=True)
class Source:
    kind: str  # an entry's kind on the timeline
    model: type
    at: str  # the column that places a row in time
    rank: int  # orders rows of the same instant: tasks done first, activities, events, moves, tags
    who: str  # the column naming the member who did it
    condition: str = "TRUE"  # which of the table's rows are entries


SOURCES = (
    Source("activity", Activity, "occurred_at", 6, "author_id"),
    Source("task", Task, "done_at", 7, "done_by_id", 'r."done_at" IS NOT NULL'),
    Source("event", Event, "occurred_at", 5, "actor_id"),
    Source("stage", StageChange, "created_at", 4, "actor_id"),
    Source("untagged", TagRemoval, "removed_at", 3, "removed_by_id"),
    Source("tagged", ContactTag, "created_at", 2, "added_by_id"),  # the tags it holds
    Source("tagged", TagRemoval, "added_at", 1, "added_by_id"),  # and the ones since taken off
)
RANKS = {source.rank for source in SOURCES}


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the next one starts just after (at, rank, id), going back in time."""

    at: datetime
    rank: int
    id: int

    def __str__(self) -> str:
        return f"{self.at.isoformat()}~{self.rank}~{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> "Cursor | None":
        """None for anything not written by __str__: a hand-edited address starts at the top."""
        try:
            at, rank, pk = (text or "").split("~")
            cursor = cls(datetime.fromisoformat(at), int(rank), int(pk))
        except ValueError:
            return None
        return cursor if cursor.at.tzinfo and cursor.rank in RANKS else None


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "activity", "task" (done), "event", "stage", "tagged" or "untagged"
    item: object
    actor: str | None  # the member who did it, as shown; None: a rule, an import, or gone
    rank: int = 0

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.rank, self.item.pk)


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    more: Cursor | None  # where the next (older) page starts; None: this is the oldest

    def has(self, kind: str) -> bool:
        return any(entry.kind == kind for entry in self.entries)


def _after(source: Source, cursor: Cursor | None) -> tuple[str, list]:
    """SQL for the rows of `source` that come after `cursor`, newest first by (at, rank, id)."""
    if cursor is None:
        return "TRUE", []
    at = f'r."{source.at}"'
    if source.rank < cursor.rank:
        return f"{at} <= %s", [cursor.at]
    if source.rank > cursor.rank:
        return f"{at} < %s", [cursor.at]
    return f'({at}, r."id") < (%s, %s)', [cursor.at, cursor.id]


def _shown_sources(shown: str) -> list[tuple[Source, str, list]]:
    """Each source the filter `shown` keeps, with its extra condition."""
    if shown in ActivityKind.values:
        return [(SOURCES[0], 'r."kind" = %s', [shown])]
    if shown == "activities":
        return [(SOURCES[0], "TRUE", [])]
    kinds = TAGS if shown == "tags" else (shown,)
    return [(source, "TRUE", []) for source in SOURCES if shown == "" or source.kind in kinds]


def contact_timeline(
    *,
    contact: Contact,
    shown: str = "",
    after: Cursor | None = None,
    limit: int = PAGE,
    names: dict[int, str] | None = None,
) -> TimelinePage:
    """`limit` entries of the contact's timeline after `after` (None: the newest), of the kinds
    `shown` ("" for all, else one of SHOWN). One query finds the page's entries, each source read
    along its own index (at most `limit` + 1 rows each, so a page costs the same at any depth);
    then each table with entries on the page is read by id. Who did each entry is named from
    `names` (the company's members, read once if not given) rather than joined to every row."""
    probes, params = [], []
    for source, condition, extra in _shown_sources(shown if shown in SHOWN else ""):
        where, cursor_params = _after(source, after)
        table = source.model._meta.db_table
        probes.append(
            f'(SELECT {source.rank} AS rank, r."{source.at}" AS at, r."id" FROM "{table}" r '  # noqa: S608
            f'WHERE r."tenant_id" = %s AND r."contact_id" = %s AND {source.condition} '
            f'AND {condition} AND {where} ORDER BY r."{source.at}" DESC, r."id" DESC LIMIT %s)'
        )
        params += [contact.tenant_id, contact.pk, *extra, *cursor_params, limit + 1]
    with connection.cursor() as cursor:
        union = " UNION ALL ".join(probes)
        cursor.execute(f"SELECT * FROM ({union}) e ORDER BY at DESC, rank DESC, id DESC LIMIT %s",  # noqa: S608
                       [*params, limit + 1])  # fmt: skip
        found = cursor.fetchall()
    by_rank = {source.rank: source for source in SOURCES}
    wanted: dict[type, set[int]] = {}
    for rank, _at, pk in found[:limit]:
        wanted.setdefault(by_rank[rank].model, set()).add(pk)
    loaded = {
        model: {
            row.pk: row
            for row in tenant_rows(
                model,
                tenant_id=contact.tenant_id,
                where='r."id" = ANY(%s)',
                params=[list(ids)],
                order_by='r."id"',
            )
        }  # fmt: skip
        for model, ids in wanted.items()
    }
    held = list(loaded.get(ContactTag, {}).values())
    if held:  # a tag the contact holds is named as it is called now
        labels = dict(
            Tag.objects.for_tenant(contact.tenant)
            .filter(pk__in={row.tag_id for row in held})
            .values_list("pk", "label")
        )
        for row in held:
            row.label = labels.get(row.tag_id, "")
    if names is None and found:
        names = {m.pk: m.display_name for m in member_names(tenant=contact.tenant)}
    entries = []
    for rank, _at, pk in found[:limit]:
        source = by_rank[rank]
        row = loaded[source.model][pk]
        who = (names or {}).get(getattr(row, source.who))
        entries.append(TimelineEntry(getattr(row, source.at), source.kind, row, who, rank))
    more = entries[-1].cursor if len(found) > limit else None
    return TimelinePage(entries, more)


# --- tasks ------------------------------------------------------------------------------------

LISTED = 100  # tasks shown per section of "my tasks"; the count says how many more


@dataclass
class TaskSection:
    key: str  # "overdue", "today", "upcoming"
    tasks: list[Task]
    count: int


def _named(tasks: list[Task], tenant) -> list[Task]:
    """Each task with its contact's name, read in one query (a contact page's task names its
    contact already; "my tasks" lists many)."""
    names = dict(
        Contact.objects.for_tenant(tenant)
        .filter(pk__in={t.contact_id for t in tasks})
        .values_list("pk", "name")
    ) if tasks else {}  # fmt: skip
    for task in tasks:
        task.contact_name = names.get(task.contact_id, "")
    return tasks


def my_tasks(*, member: Membership, now: datetime | None = None) -> list[TaskSection]:
    """The member's open tasks: overdue (oldest first), due today, and upcoming."""
    now = now or timezone.now()
    end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=59, microsecond=999999)
    open_tasks = Task.objects.for_tenant(member.tenant).filter(
        assignee=member, done_at__isnull=True
    )
    spans = (
        ("overdue", Q(due_at__lt=now)),
        ("today", Q(due_at__gte=now, due_at__lte=end_of_day)),
        ("upcoming", Q(due_at__gt=end_of_day)),
    )
    sections = []
    for key, span in spans:
        tasks = list(open_tasks.filter(span).order_by("due_at", "id")[: LISTED + 1])
        count = len(tasks) if len(tasks) <= LISTED else open_tasks.filter(span).count()
        sections.append(TaskSection(key, _named(tasks[:LISTED], member.tenant), count))
    return sections


COUNTED = 99  # the header says "99+" beyond: every page asks, so each count is bounded

# The header's two counts, one round trip: the member's overdue open tasks and unread
# notifications, each a walk of at most COUNTED + 1 entries of a partial index.
HEADER_COUNTS = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM activities_task
         WHERE tenant_id = %(tenant)s AND assignee_id = %(member)s AND done_at IS NULL
           AND due_at < %(now)s LIMIT %(limit)s) o),
       (SELECT count(*) FROM (SELECT 1 FROM activities_notification
         WHERE tenant_id = %(tenant)s AND member_id = %(member)s AND read_at IS NULL
         LIMIT %(limit)s) u)
"""


@dataclass(frozen=True)
class HeaderCounts:
    overdue: int
    unread: int


def header_counts(*, member: Membership, now: datetime | None = None) -> HeaderCounts:
    params = {"tenant": member.tenant_id, "member": member.pk, "now": now or timezone.now(),
              "limit": COUNTED + 1}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(HEADER_COUNTS, params)
        return HeaderCounts(*cursor.fetchone())


def overdue_count(*, member: Membership, now: datetime | None = None) -> int:
    """How many of the member's open tasks are past due, up to COUNTED + 1."""
    return header_counts(member=member, now=now).overdue


def member_notifications(*, member: Membership, limit: int = 50) -> list[Notification]:
    """The member's latest notifications, newest first, with what each is about."""
    return list(
        Notification.objects.for_tenant(member.tenant)
        .filter(member=member)
        .select_related("contact", "actor__user", "task", "activity")
        .order_by("-created_at", "-id")[:limit]
    )


def contact_open_tasks(*, contact: Contact, names: dict[int, str]) -> list[Task]:
    """The contact's open tasks by due time, each with its assignee's name from `names`."""
    tasks = list(
        Task.objects.for_tenant(contact.tenant)
        .filter(contact=contact, done_at__isnull=True)
        .order_by("due_at", "id")[:LISTED]
    )
    for task in tasks:
        task.assignee_name = names.get(task.assignee_id, "")
    return tasks
