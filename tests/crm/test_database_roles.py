"""The application connects as a role that may read and write rows but owns nothing: migrate
(as the owner) grants it what it needs, and nothing more."""

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from crm.grants import grant_application_role
from crm.models import Contact
from tests.factories import ContactFactory

APP_ROLE = "funnel_test_app"


@pytest.fixture
def app_role(settings, db):
    settings.DATABASE_APP_USER, settings.DATABASE_APP_PASSWORD = APP_ROLE, "not-used"
    grant_application_role(using="default")
    yield APP_ROLE


def as_role(role: str):
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{role}"')


def test_migrate_creates_the_application_role_and_lets_it_use_every_table(app_role, tenant):
    ContactFactory(tenant=tenant, name="张伟")
    as_role(app_role)
    assert list(Contact.objects.for_tenant(tenant).values_list("name", flat=True)) == ["张伟"]
    ContactFactory(tenant=tenant, name="李娜")  # writes, sequences included
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
def test_the_application_role_cannot_change_the_schema(app_role, statement):
    as_role(app_role)
    with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
