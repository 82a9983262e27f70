"""The figures marketers read: stored counts, conversion, time in stage, losses, trends.

Recomputes are set-based and idempotent (they replace their rows) under a per-tenant lock, so
two workers running one at once give the same result. Pages read what is stored; a dashboard
narrowed by owner, tag or date computes its figures from that narrower set when asked.
"""

from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from crm.models import Contact, Tenant
from crm.selectors import ContactFilters, contacts_matching

from .models import FunnelCount, FunnelSnapshot, FunnelStats, StageChange
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


@transaction.atomic
def funnel_recompute(*, tenant: Tenant) -> list[FunnelCount]:
    """Counts per stage and status from the contacts themselves; replaces what is stored."""
    _lock("funnel", tenant)
    counts = stage_counts(Contact.objects.for_tenant(tenant))
    now = timezone.now()
    rows = [
        FunnelCount(
            tenant=tenant, stage=stage, status=status, count=counts[stage][status], computed_at=now
        )  # fmt: skip
        for stage in ORDER
        for status in Status.values
    ]
    return FunnelCount.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["tenant", "stage", "status"],
        update_fields=["count", "computed_at"],
    )


def _time_in_stage(tenant: Tenant, contacts: QuerySet) -> dict[str, dict[str, float]]:
    """Median and 90th percentile of the time contacts spent in each stage before leaving it,
    from the history (a contact's first stage starts when it was created). Each contact's own
    chain only: rows a merge brought over (merged_from_id) were another record of the person."""
    ids_sql, ids_params = contacts.order_by().values("id").query.get_compiler("default").as_sql()
    spans = f"""
        WITH entries AS (
            SELECT c.id AS contact_id, 'subscriber' AS stage, c.created_at AS at, 0 AS seq
            FROM crm_contact c
            WHERE c.id IN ({ids_sql}) AND NOT EXISTS (
                SELECT 1 FROM lifecycle_stagechange f
                WHERE f.tenant_id = %s AND f.contact_id = c.id AND f.kind = 'created'
                  AND f.merged_from_id IS NULL)
            UNION ALL
            SELECT sc.contact_id, sc.to_stage, sc.created_at, sc.id
            FROM lifecycle_stagechange sc
            WHERE sc.tenant_id = %s AND sc.kind IN ('moved', 'created')
              AND sc.merged_from_id IS NULL AND sc.contact_id IN ({ids_sql})
        ), spans AS (
            SELECT stage, at, LEAD(at) OVER (PARTITION BY contact_id ORDER BY at, seq) AS left_at
            FROM entries
        )
    """  # noqa: S608 - only our own SQL and the ORM's compiled, parameterised subquery
    params = [*ids_params, tenant.pk, tenant.pk, *ids_params]
    percentiles = """
        SELECT stage,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM left_at - at)),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM left_at - at)),
               count(*)
        FROM spans WHERE left_at IS NOT NULL GROUP BY stage
    """
    with connection.cursor() as cursor:
        cursor.execute(spans + percentiles, params)
        return {
            stage: {"p50": float(p50), "p90": float(p90), "n": n}
            for stage, p50, p90, n in cursor.fetchall()
        }


def funnel_stats_compute(*, tenant: Tenant, contacts: QuerySet) -> dict:
    """Conversion stage to stage (of those who ever reached s, the share who reached the next),
    time in stage, and losses by stage and reason, for a set of a tenant's contacts."""
    furthest = dict(contacts.order_by().values_list("furthest_stage").annotate(n=Count("id")))
    reached = {
        stage: sum(n for f, n in furthest.items() if RANK[f] >= RANK[stage]) for stage in ORDER
    }
    conversion = {
        stage: (reached[ORDER[i + 1]] / reached[stage]) if reached[stage] else None
        for i, stage in enumerate(ORDER[:-1])
    }
    lost: dict[str, dict[str, int]] = {}
    rows = contacts.filter(status=Status.LOST).order_by().values_list("stage", "lost_reason")
    for stage, reason, n in rows.annotate(n=Count("id")):
        lost.setdefault(stage, {})[reason or LostReason.OTHER] = n
    return {
        "reached": reached,
        "conversion": conversion,
        "time_in_stage": _time_in_stage(tenant, contacts),
        "lost": lost,
        "contacts": sum(furthest.values()),
    }


@transaction.atomic
def funnel_stats_recompute(*, tenant: Tenant) -> FunnelStats:
    _lock("funnel-stats", tenant)
    data = funnel_stats_compute(tenant=tenant, contacts=Contact.objects.for_tenant(tenant))
    stats, _created = FunnelStats.objects.for_tenant(tenant).update_or_create(
        tenant=tenant, defaults={"data": data, "computed_at": timezone.now()}
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
