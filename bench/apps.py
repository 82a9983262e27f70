from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenchConfig(AppConfig):
    """`make bench`: each benchmark builds its data and times our code against bare SQL. It may
    import every app."""

    name = "bench"
    verbose_name = _("Benchmarks")
