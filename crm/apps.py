from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from . import lookups  # noqa: F401 - registers field__any
        from .audit import login_failed_recorded, login_locked_out_recorded

        # Logins happen inside Django and django-axes: their signals are the one place to hear
        # of failures. The receivers only append to the audit log.
        user_login_failed.connect(login_failed_recorded, dispatch_uid="audit-login-failed")
        user_locked_out.connect(login_locked_out_recorded, dispatch_uid="audit-locked-out")
