from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "audiences"
    verbose_name = _("Audiences")

    def ready(self) -> None:
        from crm import hooks
        from crm.panels import register_panel
        from lifecycle.scheduling import recompute_register

        from . import tasks
        from .panels import audiences_search_panel
        from .services import audiences_consent_changed, audiences_custom_values_changed
        from .tag_merges import audiences_tag_merge_said, audiences_tags_merged

        # after any change of contacts, stages or tags, 3 s for the burst to end
        recompute_register(tasks.recompute_audiences.name, wait=3, on_tags=True)
        register_panel("search", audiences_search_panel)
        # pickers: a tag merged into another, the audiences naming it follow
        hooks.tag_merge_said.register(audiences_tag_merge_said)
        hooks.tags_merging.register(audiences_tags_merged)
        # fieldsio: contacts' custom values changed, the audiences filtering on them follow
        hooks.custom_values_changed.register(audiences_custom_values_changed)
        # consent: a withdrawal leaves the audiences requiring that channel
        hooks.consent_changed.register(audiences_consent_changed)
