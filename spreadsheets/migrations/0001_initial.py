"""Spreadsheet imports (ImportJob, ImportChunk), moved here from tagging with their tables."""

import django.contrib.postgres.fields
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def content_types_moved(apps, schema_editor):
    """The moved models keep their content types (and anything pointing at them)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="tagging", model__in=['importjob', 'importchunk']).update(app_label="spreadsheets")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('tagging', '0013_api_and_webhooks_to_integrations'),
        ('crm', '0008_audit_import_undone'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the tables stay as they are (db_table pins their names): only Django's state moves
            state_operations=[
            migrations.CreateModel(
                name='ImportJob',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('file_name', models.CharField(max_length=255)),
                    ('content', models.BinaryField()),
                    ('kind', models.CharField(max_length=8)),
                    ('encoding', models.CharField(blank=True, max_length=20)),
                    ('language', models.CharField(default='zh-hans', max_length=10)),
                    ('mapping', models.JSONField(blank=True, default=dict)),
                    ('create_tags', models.BooleanField(default=False)),
                    ('status', models.CharField(choices=[('pending', 'Waiting for the mapping'), ('queued', 'Queued'), ('running', 'Importing'), ('done', 'Done'), ('expired', 'Expired, upload again'), ('failed', 'Stopped')], default='pending', max_length=10)),
                    ('total', models.PositiveIntegerField(default=0)),
                    ('done', models.PositiveIntegerField(default=0)),
                    ('created', models.PositiveIntegerField(default=0)),
                    ('updated', models.PositiveIntegerField(default=0)),
                    ('skipped', models.PositiveIntegerField(default=0)),
                    ('merged', models.PositiveIntegerField(default=0)),
                    ('failed', models.PositiveIntegerField(default=0)),
                    ('errors', models.JSONField(blank=True, default=list)),
                    ('warnings', models.JSONField(blank=True, default=list)),
                    ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                    ('attempts', models.PositiveSmallIntegerField(default=0)),
                    ('failure', models.CharField(blank=True, max_length=40)),
                    ('header_row', models.PositiveIntegerField(default=1)),
                    ('merge_shared_email', models.BooleanField(default=False)),
                    ('undone_at', models.DateTimeField(blank=True, null=True)),
                    ('undone', models.PositiveIntegerField(default=0)),
                    ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='crm.membership')),
                    ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='crm.membership')),
                    ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='crm.tenant')),
                ],
                options={
                    'db_table': 'tagging_importjob',
                    'ordering': ['-created_at'],
                },
            ),
            migrations.CreateModel(
                name='ImportChunk',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('number', models.PositiveIntegerField()),
                    ('rows', models.PositiveIntegerField()),
                    ('created', models.PositiveIntegerField()),
                    ('updated', models.PositiveIntegerField()),
                    ('skipped', models.PositiveIntegerField()),
                    ('merged', models.PositiveIntegerField(default=0)),
                    ('created_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), blank=True, default=list, size=None)),
                    ('warnings', models.JSONField(blank=True, default=list)),
                    ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='crm.tenant')),
                    ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='chunks', to='spreadsheets.importjob')),
                ],
                options={
                    'db_table': 'tagging_importchunk',
                },
            ),
            migrations.AddIndex(
                model_name='importjob',
                index=models.Index(fields=['tenant', 'status', 'created_at'], name='importjob_waiting'),
            ),
            migrations.AddConstraint(
                model_name='importchunk',
                constraint=models.UniqueConstraint(fields=('tenant', 'job', 'number'), name='importchunk_once'),
            ),
            ],
        ),
        migrations.RunPython(content_types_moved, migrations.RunPython.noop),
    ]
