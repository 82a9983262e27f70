"""A message already waiting in Redis names its task as it was sent. Moving a task's code to
another module or app must not rename it, or a worker drops the messages queued before a deploy
(Celery answers "Received unregistered task"). These names are the contract with the queues."""

from crm.celery import app

SENT_BY_NAME = {
    "lifecycle.tasks.recompute_funnel",
    "lifecycle.tasks.recompute_funnel_stats",
    "lifecycle.tasks.recompute_audiences",
    "lifecycle.tasks.recompute_everything",
    "lifecycle.tasks.snapshot_funnels",
    "lifecycle.tasks.rebuild_funnel_stats",
    "tagging.tasks.run_import",
    "spreadsheets.tasks.analyze_imported_tables",
    "tagging.tasks.requeue_stalled_imports",
    "tagging.tasks.expire_waiting_uploads",
    "tagging.api.tasks.deliver_webhooks",
    "tagging.api.tasks.deliver_due_webhooks",
    "activities.tasks.remind_due_tasks",
    "grading.tasks.recompute_grades",
    "grading.tasks.recompute_contact_grades",
    "grading.tasks.grade_every_company",
    "crm.tasks.expire_undos",
    "crm.tasks.company_deletion_continue",
    "crm.tasks.company_deletions_resume",
}


def test_every_task_a_queued_message_may_name_is_still_registered():
    app.loader.import_default_modules()  # what a worker does first: every app's tasks module
    # (other test modules may register tasks of their own, under tests.)
    ours = {name for name in app.tasks if not name.startswith(("celery.", "tests."))}
    assert ours == SENT_BY_NAME


def test_beat_sends_only_registered_tasks():
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} <= SENT_BY_NAME
