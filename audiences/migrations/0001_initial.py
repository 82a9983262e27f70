"""Audiences, their members and changes, and the frozen lists, moved here from lifecycle with their tables."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def content_types_moved(apps, schema_editor):
    """The moved models keep their content types (and anything pointing at them)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(
        app_label="lifecycle",
        model__in=[
            "audience",
            "audiencemember",
            "audiencechange",
            "audiencesnapshot",
            "audiencesnapshotmember",
        ],
    ).update(app_label="audiences")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("lifecycle", "0007_stage_aliases"),
        ("crm", "0008_audit_import_undone"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the tables stay as they are (db_table pins their names): only Django's state moves
            state_operations=[
                migrations.CreateModel(
                    name="Audience",
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
                        (
                            "name",
                            models.CharField(max_length=100, verbose_name="name of the audience"),
                        ),
                        (
                            "gate",
                            models.CharField(
                                choices=[
                                    ("at_or_past", "At or past a stage"),
                                    ("exact", "Exactly these stages"),
                                ],
                                default="at_or_past",
                                max_length=12,
                                verbose_name="stage gate",
                            ),
                        ),
                        ("stages", models.JSONField(default=list, verbose_name="stages")),
                        (
                            "status",
                            models.CharField(blank=True, max_length=8, verbose_name="status"),
                        ),
                        ("tag_any", models.JSONField(blank=True, default=list)),
                        ("tag_all", models.JSONField(blank=True, default=list)),
                        ("tag_none", models.JSONField(blank=True, default=list)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("size", models.PositiveIntegerField(default=0)),
                        ("computed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="crm.membership",
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
                        "db_table": "lifecycle_audience",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="AudienceChange",
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
                        (
                            "change",
                            models.CharField(
                                choices=[("entered", "Joined"), ("left", "Left")], max_length=8
                            ),
                        ),
                        ("at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "audience",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="changes",
                                to="audiences.audience",
                            ),
                        ),
                        (
                            "contact",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="crm.contact",
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="crm.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "lifecycle_audiencechange",
                    },
                ),
                migrations.CreateModel(
                    name="AudienceMember",
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
                        ("joined_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "audience",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="members",
                                to="audiences.audience",
                            ),
                        ),
                        (
                            "contact",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="crm.contact",
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
                        "db_table": "lifecycle_audiencemember",
                    },
                ),
                migrations.CreateModel(
                    name="AudienceSnapshot",
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
                        ("name", models.CharField(max_length=100, verbose_name="name of the list")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("size", models.PositiveIntegerField(default=0)),
                        (
                            "audience",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="snapshots",
                                to="audiences.audience",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="crm.membership",
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
                        "db_table": "lifecycle_audiencesnapshot",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="AudienceSnapshotMember",
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
                        (
                            "contact",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="crm.contact",
                            ),
                        ),
                        (
                            "snapshot",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="members",
                                to="audiences.audiencesnapshot",
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
                        "db_table": "lifecycle_audiencesnapshotmember",
                    },
                ),
                migrations.AddConstraint(
                    model_name="audience",
                    constraint=models.UniqueConstraint(
                        fields=("tenant", "name"), name="audience_unique_name"
                    ),
                ),
                migrations.AddIndex(
                    model_name="audiencechange",
                    index=models.Index(
                        fields=["tenant", "audience", "-at"], name="audiencechange_recent"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="audiencemember",
                    constraint=models.UniqueConstraint(
                        fields=("tenant", "audience", "contact"), name="audiencemember_unique"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="audiencesnapshotmember",
                    constraint=models.UniqueConstraint(
                        fields=("tenant", "snapshot", "contact"), name="snapshotmember_unique"
                    ),
                ),
            ],
        ),
        migrations.RunPython(content_types_moved, migrations.RunPython.noop),
    ]
