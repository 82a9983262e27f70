from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamConfig(AppConfig):
    name = "team"
    verbose_name = _("Team")

    def ready(self) -> None:
        from crm.panels import register_panel

        from .panels import team_panel

        register_panel("dashboard", team_panel)
