"""An index of the moves members made, by time (the team's figures: who moved what in a
period), built without locking the history against writes. Imports' "created" rows and rules'
moves, most of the history, are not in it."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("lifecycle", "0011_funnelcount_amount"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="stagechange",
            index=models.Index(
                condition=models.Q(("actor__isnull", False), ("kind", "moved")),
                fields=["tenant", "created_at", "actor"],
                name="stagechange_member_moves",
            ),
        ),
    ]
