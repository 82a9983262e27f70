from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpreadsheetsConfig(AppConfig):
    name = "spreadsheets"
    verbose_name = _("Imports and exports")

    def ready(self) -> None:
        from . import tasks as _tasks  # noqa: F401 - registers the Celery tasks, enqueued by name
