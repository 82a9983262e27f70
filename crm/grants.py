"""What the application's role may do: read and write rows, never own or alter a table. Run
after every `migrate` (post_migrate), as the owner, so new tables are covered at once."""

from django.conf import settings
from django.db import ProgrammingError, connections, transaction
from psycopg import sql


def grant_application_role(*, using: str = "default", **kwargs) -> None:
    app_role = settings.DATABASE_APP_USER
    connection = connections[using]
    if not app_role or connection.settings_dict["USER"] == app_role:
        return  # one role for everything (a CI or test database): nothing to grant
    role = sql.Identifier(app_role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
        missing = cursor.fetchone() is None
    if missing:  # a fresh server (docker compose): the owner creates it
        create = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            role, sql.Literal(settings.DATABASE_APP_PASSWORD or None)
        )
        try:
            with transaction.atomic(using=using), connection.cursor() as cursor:
                cursor.execute(create)
        except ProgrammingError:  # created a moment ago by another process
            pass
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}"),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}"),
        # the functions kept from everyone else (contains-search's, crm_contacts_containing)
        sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}"),
    ]
    if connection.pg_version >= 170000:
        # ANALYZE after a big import; before 17 only the owner may, and imports skip it
        statements.append(sql.SQL("GRANT MAINTAIN ON ALL TABLES IN SCHEMA public TO {}"))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.format(role))
