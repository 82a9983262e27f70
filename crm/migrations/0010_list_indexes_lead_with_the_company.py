"""Lists page along an index that leads with the company (issue 16): the API's contacts by id,
the frozen lists newest first."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # built without locking the table against writes (CREATE INDEX CONCURRENTLY)
    atomic = False

    dependencies = [
        ("crm", "0009_contact_merges_from_tagging"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="contact",
            index=models.Index(fields=["tenant", "id"], name="contact_tenant_id"),
        ),
    ]
