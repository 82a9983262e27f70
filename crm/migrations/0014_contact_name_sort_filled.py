"""Existing contacts get their name's sort key, a batch at a time, each batch committed on its
own (a million contacts are ~200 short transactions, not one long lock); then the check that
every named contact has its key, and the list's index on it (tenant, key, id), built without
locking the table against writes. The index on (tenant, name, id) it replaces goes.

Runs as the tables' owner, which passes row-level security: it reads every company's contacts."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

from crm.sortkeys import name_sort_key

BATCH = 5000


def fill(apps, schema_editor):
    last = 0
    with schema_editor.connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id, name FROM crm_contact WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH]
            )
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.execute(
                "UPDATE crm_contact c SET name_sort = v.key"
                " FROM unnest(%s::bigint[], %s::text[]) AS v(id, key) WHERE c.id = v.id",
                [[pk for pk, _name in rows], [name_sort_key(name) for _pk, name in rows]],
            )
            last = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0013_contact_name_sort"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="contact",
            constraint=models.CheckConstraint(
                condition=models.Q(name="") | ~models.Q(name_sort=""),
                name="contact_name_sort_kept",
            ),
        ),
        AddIndexConcurrently(
            model_name="contact",
            index=models.Index(
                fields=["tenant", "name_sort", "id"], name="contact_tenant_name_sort"
            ),
        ),
        RemoveIndexConcurrently(model_name="contact", name="contact_tenant_name"),
    ]
