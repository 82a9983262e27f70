import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun, worker_init

from crm.scope import task_scope_enter, task_scope_leave

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Row-level security: a task for one company sees that company only, and leaves the
# connection as it found it (inline tasks run inside a request).
task_prerun.connect(task_scope_enter, weak=False, dispatch_uid="scope-enter")
task_postrun.connect(task_scope_leave, weak=False, dispatch_uid="scope-leave")


@worker_init.connect(weak=False, dispatch_uid="scope-after-django-fixup")
def _scope_after_django_fixup(**_signal) -> None:
    """In a worker, Celery's Django fixup closes the database connections before each task (a
    task_prerun receiver it connects at worker_init, just before this one runs). The company
    must be set after that, on the connection the task will use: else the task sees nothing."""
    task_prerun.disconnect(dispatch_uid="scope-enter")
    task_prerun.connect(task_scope_enter, weak=False, dispatch_uid="scope-enter")


app.conf.beat_schedule = {
    # The backstop: repairs whatever a lost message or a broker outage missed.
    "recompute-everything": {
        "task": "lifecycle.tasks.recompute_everything",
        "schedule": 5 * 60,
    },
    # Webhook retries whose pause is over, and anything a lost message or dead worker left.
    "deliver-webhooks": {
        "task": "tagging.api.tasks.deliver_due_webhooks",
        "schedule": 60,
    },
    # Today's funnel for the trend chart; the last run of each day is that day's figure.
    "snapshot-funnels": {
        "task": "lifecycle.tasks.snapshot_funnels",
        "schedule": 60 * 60,
    },
    # Each company's kept time in stage checked against its whole history, while few people
    # work: the recomputes in between read only the contacts whose history changed.
    "rebuild-funnel-stats": {
        "task": "lifecycle.tasks.rebuild_funnel_stats",
        "schedule": crontab(hour=3, minute=30),
    },
    # Imports whose worker died mid-import (their beat stopped) are queued again.
    "requeue-stalled-imports": {
        "task": "tagging.tasks.requeue_stalled_imports",
        "schedule": 60,
    },
    # Tasks now due: their assignees are told (a notification), once.
    "remind-due-tasks": {
        "task": "activities.tasks.remind_due_tasks",
        "schedule": 60,
    },
    # Tiers over a trailing window slide, and quiet customers turn at risk with no event to
    # say so: every company graded again while few people work.
    "grade-every-company": {
        "task": "grading.tasks.grade_every_company",
        "schedule": crontab(hour=3, minute=50),
    },
    # Undos whose minute is over, with the rows they kept (a bulk move's contacts…).
    "expire-undos": {
        "task": "crm.tasks.expire_undos",
        "schedule": 60 * 60,
    },
    # Company deletions a dead worker left unfinished continue (crm/deletion.py).
    "resume-company-deletions": {
        "task": "crm.tasks.company_deletions_resume",
        "schedule": 10 * 60,
    },
    # Uploads left waiting for their columns over a day lose their file.
    "expire-waiting-uploads": {
        "task": "tagging.tasks.expire_waiting_uploads",
        "schedule": 60 * 60,
    },
}
