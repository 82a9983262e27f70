"""`migrate` as the role that owns the tables (DATABASE_OWNER_URL), whatever role the rest of
the app connects as; afterwards the application's role is granted what it needs (crm/grants.py,
on post_migrate)."""

from contextlib import contextmanager

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

OWNER_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


@contextmanager
def as_owner(alias: str):
    connection = connections[alias]
    saved = {key: connection.settings_dict.get(key) for key in OWNER_KEYS}
    connection.close()
    owner = settings.DATABASE_OWNER
    connection.settings_dict.update({key: owner.get(key) for key in OWNER_KEYS})
    # a URL without query parameters gives no OPTIONS; the backend wants a dict
    connection.settings_dict["OPTIONS"] = owner.get("OPTIONS") or {}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        name = connections[options["database"]].settings_dict["NAME"]
        if name != settings.DATABASE_OWNER["NAME"]:
            # a test database (pytest-django) or another alias: already the owner's
            return super().handle(*args, **options)
        with as_owner(options["database"]):
            return super().handle(*args, **options)
