from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = _("Lifecycle")

    def ready(self) -> None:
        from crm.panels import register_contact_panel

        from .panels import funnel_panel

        register_contact_panel(funnel_panel)
