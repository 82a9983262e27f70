"""After a committed change, the stored funnel, statistics and audiences are recomputed by
Celery: debounced per tenant (a burst of moves costs one recompute, not thousands), never
blocking or failing the change itself, with beat's periodic full recompute as the backstop."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# task name -> seconds to wait for more changes before recomputing
DEBOUNCE = {
    "lifecycle.tasks.recompute_funnel": 2,
    "lifecycle.tasks.recompute_audiences": 3,
    "lifecycle.tasks.recompute_funnel_stats": 60,
}


def debounce_key(task_name: str, tenant_id: int) -> str:
    return f"recompute-scheduled:{task_name}:{tenant_id}"


def tenant_changed(tenant_id: int, *, funnel: bool = True) -> None:
    """Call inside the transaction that changed contacts, stages or tags (funnel=False when
    only tags changed: the funnel's figures do not depend on them)."""
    transaction.on_commit(lambda: schedule_recomputes(tenant_id, funnel=funnel))


def schedule_recomputes(tenant_id: int, *, funnel: bool = True) -> int:
    """Enqueues each recompute unless one is already waiting for this tenant. Returns how many
    were enqueued. Inline (no broker), each runs now."""
    from . import tasks

    chosen = [tasks.recompute_audiences]
    if funnel:
        chosen = [tasks.recompute_funnel, *chosen, tasks.recompute_funnel_stats]
    enqueued = 0
    for task in chosen:
        try:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                task.delay(tenant_id)
                enqueued += 1
                continue
            countdown = DEBOUNCE[task.name]
            # cache.add is atomic: only the first change of a burst enqueues; the task clears
            # the key when it starts, so changes made while it runs schedule the next one.
            if cache.add(debounce_key(task.name, tenant_id), 1, timeout=countdown + 300):
                task.apply_async(args=[tenant_id], countdown=countdown)
                enqueued += 1
        except Exception:  # a broker or cache outage must never undo or fail a saved change
            logger.warning(
                "Could not schedule %s for tenant %s; the periodic recompute will catch up.",
                task.name,
                tenant_id,
                exc_info=True,
            )
    return enqueued


def task_started(task_name: str, tenant_id: int) -> None:
    try:
        cache.delete(debounce_key(task_name, tenant_id))
    except Exception:
        logger.warning("Cache unavailable while starting %s", task_name, exc_info=True)
