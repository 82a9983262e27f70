from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = _("Grading")

    def ready(self) -> None:
        from crm import hooks
        from tagging.rules import event_logged

        from . import tasks  # noqa: F401 - registers the Celery tasks
        from .services import grades_after_event, grades_merged

        event_logged.register(grades_after_event)
        hooks.contacts_merging.register(grades_merged)
