from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaggingConfig(AppConfig):
    name = "tagging"
    verbose_name = _("Tagging")

    def ready(self) -> None:
        from crm import hooks
        from crm.audit import register_audit_subject
        from crm.models import AuditKind
        from crm.panels import register_panel
        from crm.selectors import (
            register_contact_filter,
            register_tag_choices,
            register_tag_labels,
        )

        from .filters import contact_tag_filters
        from .panels import events_panel, tags_panel, tags_search_panel
        from .rules import rule_audit_subjects, rules_ensure_defaults
        from .selectors import tag_choices, tag_labels_of
        from .services import contact_tags_merged

        register_contact_filter(contact_tag_filters)
        hooks.tenant_setup.register(rules_ensure_defaults)
        register_panel("contact", tags_panel)
        register_panel("contact", events_panel)
        register_panel("search", tags_search_panel)
        hooks.contacts_merging.register(contact_tags_merged)
        register_tag_choices(tag_choices)
        register_tag_labels(tag_labels_of)
        register_audit_subject((AuditKind.RULE_SAVED, AuditKind.RULE_DELETED), rule_audit_subjects)
