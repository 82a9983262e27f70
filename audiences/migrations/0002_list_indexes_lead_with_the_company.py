"""Lists page along an index that leads with the company (issue 16): the API's audiences by
id, the frozen lists newest first."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # built without locking the table against writes (CREATE INDEX CONCURRENTLY)
    atomic = False

    dependencies = [
        ("audiences", "0001_initial"),
        ("crm", "0010_list_indexes_lead_with_the_company"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="audience",
            index=models.Index(fields=["tenant", "id"], name="audience_tenant_id"),
        ),
        AddIndexConcurrently(
            model_name="audiencesnapshot",
            index=models.Index(fields=["tenant", "-created_at"], name="audiencesnapshot_recent"),
        ),
    ]
