"""Work handed to Celery once the change that asks for it has committed: one helper for every
caller (the funnel and audience recomputes, webhooks, imports).

Tasks are named, not imported: a service never imports the tasks module that imports it, so
there is no cycle to hide inside a function. Without a broker (CELERY_TASK_ALWAYS_EAGER) the
task runs at once. With `debounce`, a burst of changes enqueues the task once per tenant: the
first call takes a key in the cache and enqueues, later calls find the key and stop; the task
calls `enqueued_task_started` first thing, so changes made while it runs schedule the next run.
Nothing here ever fails the change that asked: a broker or cache outage is logged, and beat's
backstops (the periodic recompute, the webhook sweep, the stalled-import requeue) catch up.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from crm.celery import app

logger = logging.getLogger(__name__)


def waiting_key(task_name: str, tenant_id: int) -> str:
    return f"task-waiting:{task_name}:{tenant_id}"


def enqueue(
    task_name: str,
    *args,
    tenant_id: int,
    countdown: float = 0,
    debounce: float | None = None,
) -> bool:
    """Sends `task_name(*args)` to run in `countdown` seconds (now, inline, without a broker).
    `debounce`: seconds the cache key holds a burst back (the task clears it when it starts).
    Returns whether it was sent."""
    try:
        task = app.tasks[task_name]
        if settings.CELERY_TASK_ALWAYS_EAGER:
            task.delay(*args)
            return True
        if debounce is not None and not cache.add(
            waiting_key(task_name, tenant_id), 1, timeout=debounce
        ):
            return False  # already waiting to run for this tenant
        try:
            task.apply_async(args=list(args), countdown=countdown)
        except Exception:
            if debounce is not None:  # not sent: the next change may try again
                enqueued_task_started(task_name, tenant_id)
            raise
        return True
    except Exception:  # a broker or cache outage must never undo or fail a saved change
        logger.warning(
            "Could not enqueue %s for tenant %s; beat's backstop will catch up.",
            task_name,
            tenant_id,
            exc_info=True,
        )
        return False


def enqueue_on_commit(
    task_name: str,
    *args,
    tenant_id: int,
    countdown: float = 0,
    debounce: float | None = None,
) -> None:
    """`enqueue`, once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: enqueue(
            task_name, *args, tenant_id=tenant_id, countdown=countdown, debounce=debounce
        )
    )


def enqueued_task_started(task_name: str, tenant_id: int) -> None:
    """First thing a debounced task does: the next change schedules it again."""
    try:
        cache.delete(waiting_key(task_name, tenant_id))
    except Exception:
        logger.warning("Cache unavailable while starting %s", task_name, exc_info=True)
