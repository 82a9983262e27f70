"""Merges now belong to crm (same table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0009_contact_merges_from_tagging"),
        ("tagging", "0014_imports_to_spreadsheets"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the tables stay as they are (db_table pins their names): only Django's state moves
            state_operations=[
                migrations.DeleteModel(
                    name="ContactMerge",
                ),
            ],
        ),
    ]
