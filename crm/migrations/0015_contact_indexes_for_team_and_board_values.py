"""Two indexes for the figures of issue 17 (item 6), built without locking the contacts against
writes: a member's contacts with their funnel fields (the team's contacts by owner and stage
read from the index alone; it replaces the index on (tenant, owner), which it serves as well),
and the board's value per column (the expected amounts of the few contacts that have one)."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0014_contact_name_sort_filled"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="contact",
            index=models.Index(
                fields=["tenant", "owner", "status", "stage", "furthest_stage"],
                name="contact_tenant_owner_stage",
            ),
        ),
        RemoveIndexConcurrently(model_name="contact", name="contact_tenant_owner"),
        AddIndexConcurrently(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("expected_amount__isnull", False)),
                fields=["tenant", "status", "stage"],
                include=("expected_amount",),
                name="contact_tenant_amount",
            ),
        ),
    ]
