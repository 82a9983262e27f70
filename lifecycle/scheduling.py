"""After a committed change, the stored funnel, statistics and audiences are recomputed by
Celery: debounced per tenant (a burst of moves costs one recompute, not thousands), never
blocking or failing the change itself, with beat's periodic full recompute as the backstop.
The queueing itself is crm.queueing's, shared with webhooks and imports."""

from django.db import transaction

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
    only tags changed: the funnel's figures do not depend on them)."""
    transaction.on_commit(lambda: schedule_recomputes(tenant_id, funnel=funnel))


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


def contacts_deleted(*, tenant) -> None:
    """crm's hook: contacts were deleted, the stored figures follow."""
    tenant_changed(tenant.pk)


def task_started(task_name: str, tenant_id: int) -> None:
    enqueued_task_started(task_name, tenant_id)
