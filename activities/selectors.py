"""A contact's timeline: activities, events and stage changes, newest first, a page at a time."""

from dataclasses import dataclass
from datetime import datetime

from crm.models import Contact
from crm.rawreads import tenant_rows
from crm.selectors import member_names
from lifecycle.models import StageChange
from tagging.models import Event

from .models import Activity, ActivityKind

PAGE = 30
# What the timeline can be narrowed to: every activity, one kind of activity, events, moves.
SHOWN = ("activities", *ActivityKind.values, "event", "stage")


@dataclass(frozen=True)
class Source:
    kind: str  # an entry's kind on the timeline
    model: type
    at: str  # the column that places a row in time
    rank: int  # orders rows of the same instant: activities first, then events, then moves


SOURCES = (
    Source("activity", Activity, "occurred_at", 3),
    Source("event", Event, "occurred_at", 2),
    Source("stage", StageChange, "created_at", 1),
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
    kind: str  # "activity", "event" or "stage"
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
    return [(source, "TRUE", []) for source in SOURCES if shown in ("", source.kind)]


def contact_timeline(
    *, contact: Contact, shown: str = "", after: Cursor | None = None, limit: int = PAGE
) -> TimelinePage:
    """`limit` entries of the contact's timeline after `after` (None: the newest), of the kinds
    `shown` ("" for all, else one of SHOWN). Each source is read along its own index, at most
    `limit` + 1 rows, so a page costs the same at any depth. Who did each entry is named from the
    company's members (one small query) rather than joined to every row."""
    rows: list[tuple[Source, object]] = []
    for source, condition, params in _shown_sources(shown if shown in SHOWN else ""):
        where, cursor_params = _after(source, after)
        found = tenant_rows(
            source.model, tenant_id=contact.tenant_id,
            where=f'r."contact_id" = %s AND {condition} AND {where}',
            params=[contact.pk, *params, *cursor_params],
            order_by=f'r."{source.at}" DESC, r."id" DESC', limit=limit + 1,
        )  # fmt: skip
        rows += [(source, row) for row in found]
    rows.sort(key=lambda pair: (getattr(pair[1], pair[0].at), pair[0].rank, pair[1].pk),
              reverse=True)  # fmt: skip
    names = {m.pk: m.display_name for m in member_names(tenant=contact.tenant)} if rows else {}
    entries = []
    for source, row in rows[:limit]:
        who = row.author_id if source.kind == "activity" else row.actor_id
        entries.append(TimelineEntry(getattr(row, source.at), source.kind, row, names.get(who),
                                     source.rank))  # fmt: skip
    more = entries[-1].cursor if len(rows) > limit else None
    return TimelinePage(entries, more)
