"""Audiences now belong to the audiences app (same tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0001_initial"),
        ("lifecycle", "0007_stage_aliases"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the tables stay as they are (db_table pins their names): only Django's state moves
            state_operations=[
                migrations.RemoveField(
                    model_name="audiencechange",
                    name="audience",
                ),
                migrations.RemoveField(
                    model_name="audiencesnapshot",
                    name="audience",
                ),
                migrations.RemoveField(
                    model_name="audiencemember",
                    name="audience",
                ),
                migrations.RemoveField(
                    model_name="audiencechange",
                    name="contact",
                ),
                migrations.RemoveField(
                    model_name="audiencechange",
                    name="tenant",
                ),
                migrations.RemoveField(
                    model_name="audiencemember",
                    name="contact",
                ),
                migrations.RemoveField(
                    model_name="audiencemember",
                    name="tenant",
                ),
                migrations.RemoveField(
                    model_name="audiencesnapshot",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="audiencesnapshot",
                    name="tenant",
                ),
                migrations.RemoveField(
                    model_name="audiencesnapshotmember",
                    name="snapshot",
                ),
                migrations.RemoveField(
                    model_name="audiencesnapshotmember",
                    name="contact",
                ),
                migrations.RemoveField(
                    model_name="audiencesnapshotmember",
                    name="tenant",
                ),
                migrations.DeleteModel(
                    name="Audience",
                ),
                migrations.DeleteModel(
                    name="AudienceChange",
                ),
                migrations.DeleteModel(
                    name="AudienceMember",
                ),
                migrations.DeleteModel(
                    name="AudienceSnapshot",
                ),
                migrations.DeleteModel(
                    name="AudienceSnapshotMember",
                ),
            ],
        ),
    ]
