from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from crm.services import register_change_listener

        from . import tasks as _tasks  # noqa: F401 - registers the Celery tasks, enqueued by name
        from .webhooks import deliveries_record

        register_change_listener(deliveries_record)
