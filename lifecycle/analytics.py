"""The figures marketers read: stored counts, conversion, time in stage, losses, trends.

Recomputes are set-based and idempotent (they replace their rows) under a per-tenant lock, so
two workers running one at once give the same result. Pages read what is stored; a dashboard
narrowed by owner, tag or date computes its figures from that narrower set when asked.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from crm.models import Contact, Tenant
from crm.selectors import ContactFilters, contacts_matching

from .models import (
    FunnelCount,
    FunnelSnapshot,
    FunnelStats,
    HistoryChanged,
    ReachChange,
    ReachCount,
    StageChange,
    StageSpan,
    StageSpanCount,
)
from .stages import ORDER, RANK, LostReason, Status


def _lock(name: str, tenant: Tenant) -> None:
    """Serialises one kind of recompute per tenant (an advisory lock, released at commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)", [name, tenant.pk])


def stage_counts(contacts: QuerySet) -> dict[str, dict[str, int]]:
    counts = {stage: {Status.ACTIVE: 0, Status.LOST: 0} for stage in ORDER}
    for row in contacts.order_by().values("stage", "status").annotate(n=Count("id")):
        counts[row["stage"]][row["status"]] = row["n"]
    return counts


def stage_amounts(contacts: QuerySet) -> dict[tuple[str, str], Decimal]:
    """{(stage, status): the sum of the expected amounts}, from the contacts that have one (an
    index-only read of contact_tenant_amount for a whole company)."""
    rows = (
        contacts.filter(expected_amount__isnull=False)
        .order_by()
        .values_list("stage", "status")
        .annotate(total=Sum("expected_amount"))
    )
    return {(stage, status): total for stage, status, total in rows}


@transaction.atomic
def funnel_recompute(*, tenant: Tenant) -> list[FunnelCount]:
    """Counts per stage and status from the contacts themselves; replaces what is stored."""
    _lock("funnel", tenant)
    counts = stage_counts(Contact.objects.for_tenant(tenant))
    amounts = stage_amounts(Contact.objects.for_tenant(tenant))
    now = timezone.now()
    rows = [
        FunnelCount(
            tenant=tenant,
            stage=stage,
            status=status,
            count=counts[stage][status],
            amount=amounts.get((stage, status), 0),
            computed_at=now,
        )
        for stage in ORDER
        for status in Status.values
    ]
    return FunnelCount.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["tenant", "stage", "status"],
        update_fields=["count", "amount", "computed_at"],
    )


# The spans of some contacts' own chains: each stage a contact entered (the first one when it
# was created, unless a "created" row says where it started) until the stage it entered next.
# Rows a merge brought over (merged_from_id) were another record of the person: not its chain.
# Lost and reopen rows are not entries: a lost contact is still in its stage. `{ids}` is an SQL
# list of the contacts' ids (see _spans for the parameters' order).
SPANS = """
    entries AS (
        SELECT c.id AS contact_id, 'subscriber' AS stage, c.created_at AS at, 0 AS seq
        FROM crm_contact c
        WHERE c.id IN ({ids}) AND NOT EXISTS (
            SELECT 1 FROM lifecycle_stagechange f
            WHERE f.tenant_id = %s AND f.contact_id = c.id AND f.kind = 'created'
              AND f.merged_from_id IS NULL)
        UNION ALL
        SELECT sc.contact_id, sc.to_stage, sc.created_at, sc.id
        FROM lifecycle_stagechange sc
        WHERE sc.tenant_id = %s AND sc.kind IN ('moved', 'created')
          AND sc.merged_from_id IS NULL AND sc.contact_id IN ({ids})
    ), spans AS (
        SELECT contact_id, stage, EXTRACT(EPOCH FROM left_at - at)::float8 AS seconds
        FROM (SELECT contact_id, stage, at,
                     LEAD(at) OVER (PARTITION BY contact_id ORDER BY at, seq) AS left_at
              FROM entries) chain
        WHERE left_at IS NOT NULL
    )
"""


def _spans(ids_sql: str, ids_params: list, tenant_id: int) -> tuple[str, list]:
    """SPANS for the contacts `ids_sql` selects, and its parameters in order."""
    return SPANS.format(ids=ids_sql), [*ids_params, tenant_id, tenant_id, *ids_params]


def _time_in_stage(tenant: Tenant, contacts: QuerySet) -> dict[str, dict[str, float]]:
    """Median and 90th percentile of the time `contacts` spent in each stage before leaving it,
    computed from their history (a narrowed dashboard's set)."""
    ids_sql, ids_params = contacts.order_by().values("id").query.get_compiler("default").as_sql()
    spans, params = _spans(ids_sql, list(ids_params), tenant.pk)
    percentiles = """
        SELECT stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds), count(*)
        FROM spans GROUP BY stage
    """
    with connection.cursor() as cursor:
        # only our own SQL and the ORM's compiled, parameterised subquery
        cursor.execute(f"WITH {spans} {percentiles}", params)
        return {
            stage: {"p50": float(p50), "p90": float(p90), "n": n}
            for stage, p50, p90, n in cursor.fetchall()
        }


# --- The company's time in stage, kept up to date contact by contact ------------------------
# StageSpan holds every closed span of every contact; StageSpanCount how many fall in each
# bucket (a log scale, 100 buckets to a factor of e: each 1 % wider than the last). A recompute
# rebuilds only the spans of the contacts whose history changed since the last one (the rows
# the database wrote to HistoryChanged) and moves the counts by the difference. A percentile is
# then found by walking the counts to its bucket and reading the one or two spans it falls
# between off the index: the exact figure percentile_cont gives, without sorting the company.
# (Kept spans carry their bucket: a change of BUCKET needs every company rebuilt, e.g. by a
# migration setting FunnelStats.figures_kept to false.)
BUCKET = "floor(ln(1 + seconds) * 100)::smallint"
SPAN, SPAN_COUNT = StageSpan._meta.db_table, StageSpanCount._meta.db_table
CHANGED = HistoryChanged._meta.db_table
EVERY_CONTACT = "SELECT id FROM crm_contact WHERE tenant_id = %s"


def _build_spans(cursor, tenant_id: int) -> None:
    """The first time: every contact's spans from the history, and their counts."""
    # first: a change committed from now on stays named there, for the next recompute
    cursor.execute(f"DELETE FROM {CHANGED} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
    cursor.execute(f"DELETE FROM {SPAN} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
    cursor.execute(f"DELETE FROM {SPAN_COUNT} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
    spans, params = _spans(EVERY_CONTACT, [tenant_id], tenant_id)
    cursor.execute(
        f"WITH {spans} INSERT INTO {SPAN} (tenant_id, contact_id, stage, seconds, bucket) "  # noqa: S608
        f"SELECT %s, contact_id, stage, seconds, {BUCKET} FROM spans",
        [*params, tenant_id],
    )
    _recount_buckets(cursor, tenant_id)


def _recount_buckets(cursor, tenant_id: int) -> None:
    """The counts per bucket counted again from the kept spans."""
    cursor.execute(f"DELETE FROM {SPAN_COUNT} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
    cursor.execute(
        f"INSERT INTO {SPAN_COUNT} (tenant_id, stage, bucket, count) "  # noqa: S608
        f"SELECT %s, stage, bucket, count(*) FROM {SPAN} WHERE tenant_id = %s GROUP BY 1, 2, 3",
        [tenant_id, tenant_id],
    )


def _history_changed(cursor, tenant_id: int) -> set[int]:
    """The contacts whose history changed since the last recompute, taken: a change committed
    from now on stays named, for the next one. Call it before the history is read."""
    cursor.execute(
        f"DELETE FROM {CHANGED} WHERE tenant_id = %s RETURNING contact_id",  # noqa: S608
        [tenant_id],
    )
    return {contact_id for (contact_id,) in cursor.fetchall()}


def _spans_differing(cursor, tenant_id: int) -> set[int]:
    """Every contact's spans from the whole history, compared with the kept ones: the contacts
    whose differ (none, unless something wrote the history around the trigger)."""
    spans, params = _spans(EVERY_CONTACT, [tenant_id], tenant_id)
    cursor.execute(
        f"CREATE TEMPORARY TABLE spans_now ON COMMIT DROP AS WITH {spans} "  # noqa: S608
        "SELECT contact_id, stage, seconds FROM spans",
        params,
    )
    kept = f"SELECT contact_id, stage, seconds FROM {SPAN} WHERE tenant_id = %s"  # noqa: S608
    now = "SELECT contact_id, stage, seconds FROM spans_now"
    cursor.execute(
        f"SELECT DISTINCT contact_id FROM (({now} EXCEPT ALL {kept}) "  # noqa: S608
        f"UNION ALL ({kept} EXCEPT ALL {now})) differing",
        [tenant_id, tenant_id],
    )
    differing = {contact_id for (contact_id,) in cursor.fetchall()}
    cursor.execute("DROP TABLE spans_now")
    return differing


def _update_spans(cursor, tenant_id: int, contacts: set[int]) -> None:
    """The spans of `contacts` from their history, and the counts moved by the difference."""
    if not contacts:
        return
    changed = sorted(contacts)
    spans, params = _spans("SELECT unnest(%s::bigint[])", [changed], tenant_id)
    cursor.execute(
        f"""
        WITH gone AS (
            DELETE FROM {SPAN} WHERE tenant_id = %s AND contact_id = ANY(%s::bigint[])
            RETURNING stage, bucket
        ), {spans}, added AS (
            INSERT INTO {SPAN} (tenant_id, contact_id, stage, seconds, bucket)
            SELECT %s, contact_id, stage, seconds, {BUCKET} FROM spans
            RETURNING stage, bucket
        ), difference AS (
            SELECT stage, bucket, sum(d) AS d FROM (
                SELECT stage, bucket, -1 AS d FROM gone
                UNION ALL SELECT stage, bucket, 1 FROM added) both_sides
            GROUP BY stage, bucket
        )
        INSERT INTO {SPAN_COUNT} AS kept (tenant_id, stage, bucket, count)
        SELECT %s, stage, bucket, d FROM difference WHERE d <> 0
        ON CONFLICT (tenant_id, stage, bucket) DO UPDATE SET count = kept.count + EXCLUDED.count
        """,  # noqa: S608 - our own SQL; every value is a parameter
        [tenant_id, changed, *params, tenant_id, tenant_id],
    )
    cursor.execute(
        f"DELETE FROM {SPAN_COUNT} WHERE tenant_id = %s AND count = 0",  # noqa: S608
        [tenant_id],
    )


def _rank_place(counts: list[tuple[int, int]], rank: int) -> tuple[int, int]:
    """The span of 0-based `rank` among spans counted per bucket (ascending): its bucket, and
    how many spans of that bucket lie below it."""
    seen = 0
    for bucket, count in counts:
        if rank < seen + count:
            return bucket, rank - seen
        seen += count
    raise ValueError("rank beyond the spans counted")


# The length of the span at a place (stage, bucket, how many below it in the bucket), for many
# places at once. A bucket whose shortest and longest spans are equal (a bulk move of an import:
# thousands of the same length) answers from two index probes; else the index is read to it.
SPAN_AT = f"""
SELECT CASE WHEN ends.shortest = ends.longest THEN ends.shortest ELSE (
           SELECT seconds FROM {SPAN}
           WHERE tenant_id = %(tenant)s AND stage = q.stage AND bucket = q.bucket
           ORDER BY seconds OFFSET q.below LIMIT 1) END
FROM unnest(%(stages)s::text[], %(buckets)s::smallint[], %(below)s::int[])
     WITH ORDINALITY AS q (stage, bucket, below, i)
CROSS JOIN LATERAL (
    SELECT (SELECT min(seconds) FROM {SPAN} WHERE tenant_id = %(tenant)s AND stage = q.stage
              AND bucket = q.bucket) AS shortest,
           (SELECT max(seconds) FROM {SPAN} WHERE tenant_id = %(tenant)s AND stage = q.stage
              AND bucket = q.bucket) AS longest
) AS ends
ORDER BY q.i
"""  # noqa: S608 - our own table names; every value is a parameter


def _kept_time_in_stage(cursor, tenant_id: int) -> dict[str, dict[str, float]]:
    """What _time_in_stage gives for the whole company, from the kept spans: percentile_cont's
    figure, interpolated between the spans of the two ranks around p × (n − 1)."""
    cursor.execute(
        f"SELECT stage, bucket, count FROM {SPAN_COUNT} "  # noqa: S608
        "WHERE tenant_id = %s AND count > 0 ORDER BY stage, bucket",
        [tenant_id],
    )
    buckets: dict[str, list[tuple[int, int]]] = {}
    for stage, bucket, count in cursor.fetchall():
        buckets.setdefault(stage, []).append((bucket, count))
    figures: dict[str, dict] = {}
    places: dict[tuple[str, int], tuple[int, int]] = {}  # (stage, rank) -> (bucket, below)
    for stage, counts in buckets.items():
        n = sum(count for _bucket, count in counts)
        figures[stage] = {"n": n}
        for p in (0.5, 0.9):
            rank = p * (n - 1)
            for whole in {int(rank), min(int(rank) + 1, n - 1)}:
                places[stage, whole] = _rank_place(counts, whole)
    wanted = list(places)
    cursor.execute(SPAN_AT, {
        "tenant": tenant_id,
        "stages": [stage for stage, _rank in wanted],
        "buckets": [places[key][0] for key in wanted],
        "below": [places[key][1] for key in wanted],
    })  # fmt: skip
    seconds = {key: value for key, (value,) in zip(wanted, cursor.fetchall(), strict=True)}
    for stage, figure in figures.items():
        for p in (0.5, 0.9):
            rank = p * (figure["n"] - 1)
            low = seconds[stage, int(rank)]
            high = seconds[stage, min(int(rank) + 1, figure["n"] - 1)]
            figure[f"p{round(p * 100)}"] = low + (rank - int(rank)) * (high - low)
    return figures


REACH_KEYS = ("furthest_stage", "status", "stage", "lost_reason")


def _reach_and_losses(rows) -> dict:
    """Conversion stage to stage (of those who ever reached s, the share who reached the next)
    and losses by stage and reason, from counts of (furthest stage, status, stage, lost
    reason)."""
    furthest: dict[str, int] = {}
    lost: dict[str, dict[str, int]] = {}
    for furthest_stage, status, stage, reason, n in rows:
        furthest[furthest_stage] = furthest.get(furthest_stage, 0) + n
        if status == Status.LOST and n:
            by_reason = lost.setdefault(stage, {})
            key = reason or LostReason.OTHER
            by_reason[key] = by_reason.get(key, 0) + n
    reached = {
        stage: sum(n for f, n in furthest.items() if RANK[f] >= RANK[stage]) for stage in ORDER
    }
    conversion = {
        stage: (reached[ORDER[i + 1]] / reached[stage]) if reached[stage] else None
        for i, stage in enumerate(ORDER[:-1])
    }
    return {"reached": reached, "conversion": conversion, "lost": lost,
            "contacts": sum(furthest.values())}  # fmt: skip


# --- The company's reach, kept from the differences the database writes ---------------------
REACH, REACH_CHANGE = ReachCount._meta.db_table, ReachChange._meta.db_table
COLUMNS = ", ".join(REACH_KEYS)


def _count_reach(cursor, tenant_id: int) -> None:
    """The reach counted from the contacts, replacing what is kept. The differences written so
    far are taken in the same statement: what it counts and what it takes are the same moment's,
    and a change committed after is left for the next recompute to add."""
    cursor.execute(f"DELETE FROM {REACH} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
    cursor.execute(
        f"""
        WITH taken AS (DELETE FROM {REACH_CHANGE} WHERE tenant_id = %(tenant)s)
        INSERT INTO {REACH} (tenant_id, {COLUMNS}, count)
        SELECT %(tenant)s, {COLUMNS}, count(*) FROM crm_contact WHERE tenant_id = %(tenant)s
        GROUP BY {COLUMNS}
        """,  # noqa: S608 - our own SQL; every value is a parameter
        {"tenant": tenant_id},
    )


def _update_reach(cursor, tenant_id: int) -> None:
    """The differences written since the last recompute, taken and added to the kept reach."""
    cursor.execute(
        f"""
        WITH taken AS (
            DELETE FROM {REACH_CHANGE} WHERE tenant_id = %(tenant)s
            RETURNING {COLUMNS}, difference
        ), summed AS (
            SELECT {COLUMNS}, sum(difference) AS difference FROM taken GROUP BY {COLUMNS}
        )
        INSERT INTO {REACH} AS kept (tenant_id, {COLUMNS}, count)
        SELECT %(tenant)s, {COLUMNS}, difference FROM summed WHERE difference <> 0
        ON CONFLICT (tenant_id, {COLUMNS}) DO UPDATE SET count = kept.count + EXCLUDED.count
        """,  # noqa: S608 - our own SQL; every value is a parameter
        {"tenant": tenant_id},
    )
    cursor.execute(f"DELETE FROM {REACH} WHERE tenant_id = %s AND count = 0", [tenant_id])  # noqa: S608


def _kept_reach(cursor, tenant_id: int) -> list[tuple]:
    cursor.execute(
        f"SELECT {COLUMNS}, count FROM {REACH} WHERE tenant_id = %s",  # noqa: S608
        [tenant_id],
    )
    return cursor.fetchall()


def funnel_stats_compute(*, tenant: Tenant, contacts: QuerySet) -> dict:
    """Conversion, time in stage and losses of a set of a tenant's contacts, from scratch."""
    counts = contacts.order_by().values_list(*REACH_KEYS).annotate(n=Count("id"))
    return {**_reach_and_losses(counts), "time_in_stage": _time_in_stage(tenant, contacts)}


@transaction.atomic
def funnel_stats_recompute(*, tenant: Tenant, rebuild: bool = False) -> FunnelStats:
    """The company's statistics, without reading it all: the reach moved by the differences
    written since the last run, the time in stage brought up to date for the contacts whose
    history changed (both counted from every contact the first time). With `rebuild` (beat,
    nightly) the reach is counted afresh and every contact's spans checked against the whole
    history, any that differ rewritten."""
    _lock("funnel-stats", tenant)
    kept = FunnelStats.objects.for_tenant(tenant).filter(figures_kept=True).exists()
    with connection.cursor() as cursor:
        if not kept:
            _build_spans(cursor, tenant.pk)
            _count_reach(cursor, tenant.pk)
        else:
            changed = _history_changed(cursor, tenant.pk)
            if rebuild:
                changed |= _spans_differing(cursor, tenant.pk)
            _update_spans(cursor, tenant.pk, changed)
            if rebuild:
                _recount_buckets(cursor, tenant.pk)
                _count_reach(cursor, tenant.pk)
            else:
                _update_reach(cursor, tenant.pk)
        data = {**_reach_and_losses(_kept_reach(cursor, tenant.pk)),
                "time_in_stage": _kept_time_in_stage(cursor, tenant.pk)}  # fmt: skip
    stats, _created = FunnelStats.objects.for_tenant(tenant).update_or_create(
        tenant=tenant, defaults={"data": data, "computed_at": timezone.now(), "figures_kept": True}
    )
    return stats


def _snapshot_rows(tenant: Tenant, day: date, counts: dict) -> list[FunnelSnapshot]:
    return [
        FunnelSnapshot(
            tenant=tenant,
            day=day,
            stage=stage,
            active=counts[stage][Status.ACTIVE],
            lost=counts[stage][Status.LOST],
        )  # fmt: skip
        for stage in ORDER
    ]


def _store_snapshots(rows: list[FunnelSnapshot]) -> None:
    FunnelSnapshot.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["tenant", "day", "stage"],
        update_fields=["active", "lost"],
    )


@transaction.atomic
def funnel_snapshot(*, tenant: Tenant, day: date) -> None:
    """Stores the funnel as it stands now as `day`'s figure (replacing an earlier one)."""
    _lock("funnel-snapshot", tenant)
    _store_snapshots(_snapshot_rows(tenant, day, stage_counts(Contact.objects.for_tenant(tenant))))


def funnel_backfill_snapshots(*, tenant: Tenant, days: int = 30) -> None:
    """Rebuilds the last `days` daily figures from the history (for demo data and new
    installs). Reads every contact's history once, so it is for small tenants and tools."""
    today = timezone.localdate(timezone=tenant.zoneinfo)
    contacts = list(Contact.objects.for_tenant(tenant).values_list("id", "created_at"))
    history: dict[int, list] = {}
    changes = (
        StageChange.objects.for_tenant(tenant)
        .filter(merged_from_id__isnull=True)  # each contact's own chain (see _time_in_stage)
        .order_by("created_at", "id")
        .values_list("contact_id", "created_at", "to_stage", "to_status")
    )
    for contact_id, at, stage, status in changes:
        history.setdefault(contact_id, []).append((at, stage, status))
    rows = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        end = timezone.make_aware(
            timezone.datetime.combine(day + timedelta(days=1), timezone.datetime.min.time()),
            tenant.zoneinfo,
        )
        counts = {stage: {Status.ACTIVE: 0, Status.LOST: 0} for stage in ORDER}
        for contact_id, created_at in contacts:
            if created_at >= end:
                continue
            stage, status = ORDER[0], Status.ACTIVE
            for at, to_stage, to_status in history.get(contact_id, ()):
                if at >= end:
                    break
                stage, status = to_stage, to_status
            counts[stage][status] += 1
        rows += _snapshot_rows(tenant, day, counts)
    _store_snapshots(rows)


# What a dashboard reads of the stored figures, in one round trip: the counts, the statistics and
# 30 days of trend. Written by hand (a dashboard is opened often): each part is its company's.
STORED_FIGURES = """
SELECT (SELECT json_agg(json_build_array(stage, status, count, computed_at))
          FROM lifecycle_funnelcount WHERE tenant_id = %(tenant)s AND NOT %(trend_only)s),
       (SELECT json_build_array(data, computed_at)
          FROM lifecycle_funnelstats WHERE tenant_id = %(tenant)s AND NOT %(trend_only)s),
       (SELECT json_agg(json_build_array(day, stage, active) ORDER BY day)
          FROM lifecycle_funnelsnapshot WHERE tenant_id = %(tenant)s AND day >= %(since)s)
"""


def _stored_figures(tenant: Tenant, since: date, *, trend_only: bool) -> tuple[list, list, list]:
    """(counts as (stage, status, count, computed_at)), [stats data, computed_at] or None, and
    the trend as (day, stage, active) from `since`, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(STORED_FIGURES, {"tenant": tenant.pk, "since": since,
                                        "trend_only": trend_only})  # fmt: skip
        counts, stats, trend = cursor.fetchone()
    counts = [
        (stage, status, n, datetime.fromisoformat(at)) for stage, status, n, at in counts or []
    ]
    stats = [stats[0], datetime.fromisoformat(stats[1])] if stats else None
    trend = [(date.fromisoformat(day), stage, active) for day, stage, active in trend or []]
    return counts, stats, trend


def dashboard_figures(
    *, tenant: Tenant, owner=None, tag_id: int | None = None, since=None, until=None
) -> dict:
    """What the dashboard shows. The whole company: read from stored results (no scan of the
    tenant). Narrowed by owner, tag or creation date: computed from that narrower set."""
    narrowed = any(x is not None for x in (owner, tag_id, since, until))
    month_ago = timezone.localdate(timezone=tenant.zoneinfo) - timedelta(days=30)
    counts_rows, stats_row, snapshots = _stored_figures(tenant, month_ago, trend_only=narrowed)
    trend: dict[str, list[int]] = {stage: [] for stage in ORDER}
    days: list[date] = []
    for day, stage, active in snapshots:
        if not days or days[-1] != day:
            days.append(day)
        trend[stage].append(active)
    figures = {"narrowed": narrowed, "trend": trend, "trend_days": days}
    if not narrowed:
        counts = {stage: {Status.ACTIVE: 0, Status.LOST: 0} for stage in ORDER}
        computed_at = None
        for stage, status, count, at in counts_rows:
            counts[stage][status] = count
            computed_at = max(computed_at, at) if computed_at else at
        figures.update(
            counts=counts,
            counts_at=computed_at,
            stats=stats_row[0] if stats_row else None,
            stats_at=stats_row[1] if stats_row else None,
        )
        return figures
    filters = ContactFilters(tag_any=(tag_id,) if tag_id is not None else ())
    contacts = contacts_matching(tenant=tenant, filters=filters, viewer=None)
    if owner is not None:
        contacts = contacts.filter(owner=owner)
    if since is not None:
        contacts = contacts.filter(created_at__date__gte=since)
    if until is not None:
        contacts = contacts.filter(created_at__date__lte=until)
    now = timezone.now()
    figures.update(
        counts=stage_counts(contacts),
        counts_at=now,
        stats=funnel_stats_compute(tenant=tenant, contacts=contacts),
        stats_at=now,
    )
    return figures
