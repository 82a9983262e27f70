from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from crm import hooks

        from . import tasks as _tasks  # noqa: F401 - registers the Celery tasks, enqueued by name
        from .webhooks import deliveries_record

        hooks.change_recorded.register(deliveries_record)
