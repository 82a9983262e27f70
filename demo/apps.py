from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo company `make run` loads (seed_demo): it may import every app."""

    name = "demo"
    verbose_name = _("Demo")
