from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = _("Lifecycle")

    def ready(self) -> None:
        from crm import hooks
        from crm.panels import register_panel
        from crm.selectors import register_contact_filter, register_stored_counts

        from . import tasks as _tasks  # noqa: F401 - registers the Celery tasks, enqueued by name
        from .filters import contact_stage_filters
        from .panels import funnel_summary_panel, stage_panel
        from .scheduling import contacts_added_or_deleted
        from .selectors import contact_counts_stored
        from .services import contact_funnel_merged

        register_contact_filter(contact_stage_filters)
        register_stored_counts(contact_counts_stored)
        register_panel("contact", stage_panel)
        register_panel("dashboard", funnel_summary_panel)
        hooks.contacts_merging.register(contact_funnel_merged)
        hooks.contacts_deleted.register(contacts_added_or_deleted)
        hooks.contact_added.register(contacts_added_or_deleted)
