"""A real Celery worker for the kill -9 test (test_import_resilience.py): it imports in small,
slowed-down chunks, so that it can be killed with some of them committed and others not.

    python -m tests.spreadsheets.import_worker QUEUE

DATABASE_URL names the test database, IMPORT_TEST_ROLE the role to connect as (the test
settings otherwise connect as the tables' owner); IMPORT_TEST_CHUNK and IMPORT_TEST_PAUSE the
chunk size and the pause before each chunk.
"""

import os
import sys
import time


def main(queue: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.test_settings")
    import django
    from django.conf import settings

    if role := os.environ.get("IMPORT_TEST_ROLE"):
        # as in production: a role row-level security applies to
        settings.DATABASES["default"] = {**settings.DATABASES["default"], "USER": role}
    django.setup()

    from crm.celery import app
    from spreadsheets.imports import jobs as imports

    imports.CHUNK = int(os.environ.get("IMPORT_TEST_CHUNK", "30"))
    pause = float(os.environ.get("IMPORT_TEST_PAUSE", "0.3"))
    apply_chunk = imports.apply_chunk

    def slowly(*args, **kwargs):
        time.sleep(pause)
        return apply_chunk(*args, **kwargs)

    imports.apply_chunk = slowly
    # a worker as in production: what it enqueues goes to the broker (and this queue)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    app.worker_main(
        ["worker", "--queues", queue, "--concurrency", "1", "--pool", "prefork",
         "--without-mingle", "--without-gossip", "--loglevel", "INFO",
         "--hostname", f"imports-{os.getpid()}@%h"]
    )  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1])
