"""The API's tokens and webhooks now belong to the integrations app (same tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("tagging", "0012_chunk_warnings"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the tables stay as they are (db_table pins their names): only Django's state moves
            state_operations=[
                migrations.RemoveField(
                    model_name="webhookdelivery",
                    name="endpoint",
                ),
                migrations.RemoveField(
                    model_name="webhookdelivery",
                    name="tenant",
                ),
                migrations.RemoveField(
                    model_name="webhookendpoint",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="webhookendpoint",
                    name="tenant",
                ),
                migrations.DeleteModel(
                    name="ApiToken",
                ),
                migrations.DeleteModel(
                    name="WebhookDelivery",
                ),
                migrations.DeleteModel(
                    name="WebhookEndpoint",
                ),
            ],
        ),
    ]
