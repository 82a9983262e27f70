"""ContactMerge, the record of two contacts merged, moved here from tagging with its table."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def content_types_moved(apps, schema_editor):
    """The moved models keep their content types (and anything pointing at them)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="tagging", model__in=["contactmerge"]).update(
        app_label="crm"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("tagging", "0014_imports_to_spreadsheets"),
        ("crm", "0008_audit_import_undone"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the tables stay as they are (db_table pins their names): only Django's state moves
            state_operations=[
                migrations.CreateModel(
                    name="ContactMerge",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("merged_name", models.CharField(max_length=200)),
                        ("merged_data", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "actor",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="crm.membership",
                            ),
                        ),
                        (
                            "survivor",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="crm.contact",
                                verbose_name="kept contact",
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="crm.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "tagging_contactmerge",
                        "indexes": [
                            models.Index(
                                fields=["tenant", "survivor"], name="contactmerge_survivor"
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_moved, migrations.RunPython.noop),
    ]
