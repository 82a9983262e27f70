from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = _("Grading")

    def ready(self) -> None:
        from crm import hooks
        from crm.panels import register_panel
        from crm.selectors import (
            register_contact_filter,
            register_grade_choices,
            register_tier_names,
        )
        from tagging.rules import event_logged

        from . import tasks  # noqa: F401 - registers the Celery tasks
        from .panels import distribution_panel, grade_panel
        from .selectors import contact_grade_filters, grade_filter_choices, tier_names_of
        from .services import grades_after_event, grades_deleted, grades_merged

        event_logged.register(grades_after_event)
        hooks.contacts_merging.register(grades_merged)
        hooks.contacts_deleted.register(grades_deleted)
        register_panel("contact", grade_panel)
        register_panel("dashboard", distribution_panel)
        register_contact_filter(contact_grade_filters)
        register_grade_choices(grade_filter_choices)
        register_tier_names(tier_names_of)
