"""ApiToken, WebhookEndpoint and WebhookDelivery, moved here from tagging with their tables."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def content_types_moved(apps, schema_editor):
    """The moved models keep their content types (and anything pointing at them)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(
        app_label="tagging", model__in=["apitoken", "webhookendpoint", "webhookdelivery"]
    ).update(app_label="integrations")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("tagging", "0012_chunk_warnings"),
        ("crm", "0008_audit_import_undone"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the tables stay as they are (db_table pins their names): only Django's state moves
            state_operations=[
                migrations.CreateModel(
                    name="WebhookEndpoint",
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
                        ("url", models.URLField(max_length=500, verbose_name="address (URL)")),
                        ("events", models.JSONField(default=list, verbose_name="events")),
                        (
                            "description",
                            models.CharField(
                                blank=True, max_length=200, verbose_name="description"
                            ),
                        ),
                        ("secret", models.CharField(editable=False, max_length=80)),
                        ("active", models.BooleanField(default=True, verbose_name="active")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
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
                        "db_table": "tagging_webhookendpoint",
                        "ordering": ["created_at", "id"],
                    },
                ),
                migrations.CreateModel(
                    name="WebhookDelivery",
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
                            "event",
                            models.CharField(
                                choices=[
                                    ("contact.created", "A contact was created"),
                                    ("contact.stage_changed", "A contact moved to another stage"),
                                    ("contact.tagged", "A contact was tagged"),
                                    ("audience.entered", "A contact entered an audience"),
                                    ("audience.left", "A contact left an audience"),
                                ],
                                max_length=40,
                            ),
                        ),
                        ("contact_id", models.BigIntegerField()),
                        ("ref_id", models.BigIntegerField(blank=True, null=True)),
                        ("occurred_at", models.DateTimeField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Waiting"),
                                    ("delivered", "Delivered"),
                                    ("failed", "Gave up"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("last_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("last_error", models.CharField(blank=True, max_length=500)),
                        ("delivered_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="crm.tenant",
                            ),
                        ),
                        (
                            "endpoint",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deliveries",
                                to="integrations.webhookendpoint",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "tagging_webhookdelivery",
                    },
                ),
                migrations.CreateModel(
                    name="ApiToken",
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
                        ("name", models.CharField(max_length=100, verbose_name="token name")),
                        ("prefix", models.CharField(editable=False, max_length=16)),
                        (
                            "token_hash",
                            models.CharField(editable=False, max_length=64, unique=True),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
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
                            "membership",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="crm.membership",
                                verbose_name="member",
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
                        "db_table": "tagging_apitoken",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["tenant", "-created_at"], name="apitoken_tenant_created"
                            )
                        ],
                    },
                ),
                migrations.AddIndex(
                    model_name="webhookendpoint",
                    index=models.Index(fields=["tenant", "active"], name="webhookendpoint_active"),
                ),
                migrations.AddIndex(
                    model_name="webhookdelivery",
                    index=models.Index(
                        fields=["tenant", "status", "next_attempt_at"], name="webhookdelivery_due"
                    ),
                ),
                migrations.AddIndex(
                    model_name="webhookdelivery",
                    index=models.Index(
                        fields=["tenant", "endpoint", "-created_at", "-id"],
                        name="webhookdelivery_log",
                    ),
                ),
            ],
        ),
        migrations.RunPython(content_types_moved, migrations.RunPython.noop),
    ]
