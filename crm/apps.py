from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed
        from django.db.models.signals import post_migrate

        from . import (
            lookups,  # noqa: F401 - registers __any, __among and __prefix
            tasks,  # noqa: F401 - registers the Celery tasks, enqueued by name
        )
        from .audit import login_failed_recorded, login_locked_out_recorded
        from .consent import consents_merging
        from .consent_views import consent_panel
        from .grants import grant_application_role
        from .hooks import contacts_merging, tag_merge_said, tags_merging
        from .panels import register_panel
        from .rls import apply_row_level_security
        from .saved_view_tags import saved_views_tag_merge_said, saved_views_tags_merged
        from .search_views import contacts_search_panel

        # Logins happen inside Django and django-axes: their signals are the one place to hear
        # of failures. The receivers only append to the audit log.
        user_login_failed.connect(login_failed_recorded, dispatch_uid="audit-login-failed")
        user_locked_out.connect(login_locked_out_recorded, dispatch_uid="audit-locked-out")
        # After every migrate, as the owner: the application's role may use the new tables.
        post_migrate.connect(grant_application_role, sender=self, dispatch_uid="grant-app-role")
        post_migrate.connect(apply_row_level_security, sender=self, dispatch_uid="rls")
        register_panel("search", contacts_search_panel)  # the header's search: contacts first
        register_panel("contact", consent_panel)  # consent per channel (crm/consent.py)
        contacts_merging.register(consents_merging)  # the merged contact's consent history
        # pickers: a tag merged into another, the saved views filtering by it follow
        tag_merge_said.register(saved_views_tag_merge_said)
        tags_merging.register(saved_views_tags_merged)
