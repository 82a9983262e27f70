"""Imports now belong to the spreadsheets app (same tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("spreadsheets", "0001_initial"),
        ("tagging", "0013_api_and_webhooks_to_integrations"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the tables stay as they are (db_table pins their names): only Django's state moves
            state_operations=[
                migrations.RemoveField(
                    model_name="importjob",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="importjob",
                    name="owner",
                ),
                migrations.RemoveField(
                    model_name="importjob",
                    name="tenant",
                ),
                migrations.DeleteModel(
                    name="ImportChunk",
                ),
                migrations.DeleteModel(
                    name="ImportJob",
                ),
            ],
        ),
    ]
