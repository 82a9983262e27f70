"""Row-level security, the second wall between companies: every table of a TenantOwned model
shows and accepts only rows whose tenant_id is the connection's `app.tenant_id` (crm/scope.py).
Applied after every migrate, as the owner, so a new tenant table is covered the moment it
exists (a test checks every one). FORCE makes it hold for the tables' owner too; only a
superuser or a BYPASSRLS role (the migrating owner) passes it.
"""

from django.apps import apps
from django.db import connections
from psycopg import sql

from .models import TenantOwned

TENANT = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
USER = "user_id = NULLIF(current_setting('app.user_id', true), '')::bigint"
BY_HASH = "token_hash = NULLIF(current_setting('app.token_hash', true), '')"

# (who may see a row, who may write one) beyond its company, per table that needs more
EXTRA = {
    # login and the company switcher read a person's own memberships in every company
    "crm_membership": (USER, None),
    # the invited person sees and answers their invitations
    "crm_invitation": (USER, USER),
    # an API request names its token before it knows its company
    "tagging_apitoken": (BY_HASH, None),
}


def tenant_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantOwned) and model._meta.managed and not model._meta.proxy
    )


def apply_row_level_security(*, using: str = "default", **kwargs) -> None:
    with connections[using].cursor() as cursor:
        for table in tenant_tables():
            see, write = EXTRA.get(table, (None, None))
            using_clause = f"{TENANT} OR {see}" if see else TENANT
            check_clause = f"{TENANT} OR {write}" if write else TENANT
            name = sql.Identifier(table)
            cursor.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(name))
            cursor.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(name))
            cursor.execute(sql.SQL("DROP POLICY IF EXISTS tenant_isolation ON {}").format(name))
            cursor.execute(
                sql.SQL("CREATE POLICY tenant_isolation ON {} USING ({}) WITH CHECK ({})").format(
                    name, sql.SQL(using_clause), sql.SQL(check_clause)
                )
            )
