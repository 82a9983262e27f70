from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaggingConfig(AppConfig):
    name = "tagging"
    verbose_name = _("Tagging")

    def ready(self) -> None:
        from crm.panels import register_panel
        from crm.selectors import register_contact_filter
        from crm.services import register_tenant_setup

        from .filters import contact_tag_filters
        from .panels import events_panel, tags_panel, timeline_panel
        from .services import rules_ensure_defaults

        register_contact_filter(contact_tag_filters)
        register_tenant_setup(rules_ensure_defaults)
        register_panel("contact", tags_panel)
        register_panel("contact", events_panel)
        register_panel("contact", timeline_panel)
