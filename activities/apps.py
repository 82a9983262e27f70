from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        from crm import hooks
        from crm.audit import register_audit_actor, register_audit_subject
        from crm.models import AuditKind
        from crm.panels import register_panel

        from .assignment import audit_rule_actors, audit_rule_subjects, contacts_assign_new
        from .panels import activity_panel, tasks_panel, timeline_panel
        from .services import contact_activities_merged, member_tasks_handed_over, tasks_from_moves

        register_panel("contact", tasks_panel)
        register_panel("contact", activity_panel)
        register_panel("contact", timeline_panel)
        hooks.contacts_merging.register(contact_activities_merged)
        hooks.work_handed_over.register(member_tasks_handed_over)
        # owners first: the tasks the task rules give new contacts are their owners'
        hooks.change_recorded.register(contacts_assign_new)
        hooks.change_recorded.register(tasks_from_moves)
        # the audit log names an assignment rule in the reader's words
        register_audit_subject((AuditKind.RULE_SAVED, AuditKind.RULE_DELETED), audit_rule_subjects)
        register_audit_actor((AuditKind.BULK_ASSIGN,), audit_rule_actors)
