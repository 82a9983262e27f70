from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PersonalDataConfig(AppConfig):
    """A person's own data, as PIPL and GDPR let them ask for it: everything held about a
    contact (an access request) and erasing them. Last of the apps: it reads what each holds."""

    name = "personaldata"
    verbose_name = _("Personal data")
