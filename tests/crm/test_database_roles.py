"""The application connects as a role that may read and write rows but owns nothing: migrate
(as the owner) grants it what it needs, and nothing more."""

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from crm.models import Contact
from crm.scope import tenant_scope
from tests.conftest import APP_ROLE
from tests.factories import ContactFactory


def test_migrate_creates_the_application_role_and_lets_it_use_every_table(as_app_role, tenant):
    ContactFactory(tenant=tenant, name="张伟")
    as_app_role()
    with tenant_scope(tenant):
        names = list(Contact.objects.for_tenant(tenant).values_list("name", flat=True))
        ContactFactory(tenant=tenant, name="李娜")  # writes, sequences included
    assert names == ["张伟"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (APP_ROLE,)


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE crm_contact ADD COLUMN x int",
        "DROP TABLE crm_contact",
        "CREATE TABLE x (y int)",
    ],
)
def test_the_application_role_cannot_change_the_schema(as_app_role, statement):
    as_app_role()
    with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


@pytest.mark.django_db(transaction=True)
def test_migrate_connects_as_the_owner_named_by_a_url_without_parameters(settings):
    """`make bench` names the owner as postgres://postgres@host/db: no query string, no OPTIONS."""
    from crm.management.commands.migrate import as_owner

    owner = {key: value for key, value in settings.DATABASE_OWNER.items() if key != "OPTIONS"}
    owner["NAME"] = connection.settings_dict["NAME"]
    # the embedded server's socket folder travels as ?host=…: as HOST it names the same server
    owner["HOST"] = owner["HOST"] or settings.DATABASE_OWNER.get("OPTIONS", {}).get("host", "")
    settings.DATABASE_OWNER = owner
    with as_owner("default"), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (owner["USER"],)
