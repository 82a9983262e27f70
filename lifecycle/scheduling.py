"""After a committed change, the stored funnel, statistics and audiences are recomputed by
Celery: debounced per tenant (a burst of moves costs one recompute, not thousands), never
blocking or failing the change itself, with beat's periodic full recompute as the backstop.
The queueing itself is crm.queueing's, shared with webhooks and imports."""

from django.db import connection, transaction

from crm.queueing import enqueue, enqueued_task_started

# task name -> seconds to wait for more changes before recomputing. Apps above lifecycle add
# theirs at start-up (recompute_register): audiences, whose members hang on stages and tags.
DEBOUNCE = {
    "lifecycle.tasks.recompute_funnel": 2,
    "lifecycle.tasks.recompute_funnel_stats": 60,
}
# what to recompute when only tags changed (the funnel's figures do not depend on them)
ON_TAGS: set[str] = set()


def recompute_register(task_name: str, *, wait: float, on_tags: bool) -> None:
    DEBOUNCE[task_name] = wait
    if on_tags:
        ON_TAGS.add(task_name)


def tenant_changed(tenant_id: int, *, funnel: bool = True) -> None:
    """Call inside the transaction that changed contacts, stages or tags (funnel=False when
    only tags changed: the funnel's figures do not depend on them). Notes the transaction as
    one that changed the company (TenantChanged), so a recompute can tell it has nothing to do."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO lifecycle_tenantchanged (tenant_id, xid) "
            "VALUES (%s, pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING",
            [tenant_id],
        )
    transaction.on_commit(lambda: schedule_recomputes(tenant_id, funnel=funnel))


def reading_snapshot() -> str:
    """Which transactions this statement sees (PostgreSQL's pg_snapshot, as text): taken
    before a recompute reads anything, everything it then reads includes at least those.
    Its own transaction is counted as not seen: a change it makes after this (a test, or a
    caller that changes and recomputes in one transaction) is read by the next recompute."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text, pg_current_xact_id()::text")
        snapshot, own = cursor.fetchone()
    xmin, xmax, running = snapshot.split(":")
    own_xid = int(own)
    # every transaction from the snapshot's horizon (xmax: none of them seen) to its own
    unseen = {own_xid, *range(int(xmax), own_xid), *(int(x) for x in running.split(",") if x)}
    return (
        f"{min(int(xmin), own_xid)}:{max(int(xmax), own_xid + 1)}:"
        f"{','.join(map(str, sorted(unseen)))}"
    )


def changed_since(tenant_id: int, snapshot: str) -> bool:
    """Whether a transaction that changed the company is one `snapshot` (reading_snapshot)
    did not see: committed after it, or running while it was taken. Blank: never read."""
    if not snapshot:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM lifecycle_tenantchanged WHERE tenant_id = %(tenant)s "
            "AND xid >= pg_snapshot_xmin(%(seen)s::pg_snapshot)::text::bigint "
            "AND NOT pg_visible_in_snapshot(xid::text::xid8, %(seen)s::pg_snapshot))",
            {"tenant": tenant_id, "seen": snapshot},
        )
        return cursor.fetchone()[0]


def seen_changes_forget(tenant_id: int, *, snapshots: list[str]) -> None:
    """Forgets the changes every reader's snapshot saw (with no reader, every committed one):
    they can tell no reader anything new."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM lifecycle_tenantchanged c WHERE tenant_id = %s AND NOT EXISTS ("
            "SELECT 1 FROM unnest(%s::text[]) s "
            "WHERE NOT pg_visible_in_snapshot(c.xid::text::xid8, s::pg_snapshot))",
            [tenant_id, snapshots],
        )


def schedule_recomputes(tenant_id: int, *, funnel: bool = True) -> int:
    """Enqueues each recompute unless one is already waiting for this tenant. Returns how many
    were enqueued. Inline (no broker), each runs now."""
    chosen = [name for name in DEBOUNCE if funnel or name in ON_TAGS]
    return sum(
        # the key outlives the countdown: a lost message holds the tenant back 5 minutes at
        # most, and beat's full recompute runs every 5 minutes anyway
        enqueue(name, tenant_id, tenant_id=tenant_id, countdown=DEBOUNCE[name],
                debounce=DEBOUNCE[name] + 300)
        for name in chosen
    )  # fmt: skip


def contacts_added_or_deleted(*, tenant) -> None:
    """crm's hooks: a contact was added or contacts were deleted, the stored figures follow."""
    tenant_changed(tenant.pk)


def task_started(task_name: str, tenant_id: int) -> None:
    enqueued_task_started(task_name, tenant_id)
