from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "audiences"
    verbose_name = _("Audiences")

    def ready(self) -> None:
        from crm.panels import register_panel
        from lifecycle.scheduling import recompute_register

        from . import tasks
        from .panels import audiences_search_panel

        # after any change of contacts, stages or tags, 3 s for the burst to end
        recompute_register(tasks.recompute_audiences.name, wait=3, on_tags=True)
        register_panel("search", audiences_search_panel)
