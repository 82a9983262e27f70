"""The stored counts keep the sum of their contacts' expected amounts (the board's value per
column), filled here from the contacts; the recompute keeps it from then on.

Runs as the tables' owner, which passes row-level security: it reads every company's contacts."""

from django.db import migrations, models

FILL = """
UPDATE lifecycle_funnelcount f SET amount = s.total
FROM (SELECT tenant_id, stage, status, sum(expected_amount) AS total FROM crm_contact
      WHERE expected_amount IS NOT NULL GROUP BY 1, 2, 3) s
WHERE f.tenant_id = s.tenant_id AND f.stage = s.stage AND f.status = s.status
"""


class Migration(migrations.Migration):
    dependencies = [
        # the sum is read from crm's index of the expected amounts
        ("crm", "0015_contact_indexes_for_team_and_board_values"),
        ("lifecycle", "0010_reach_counts_kept"),
    ]

    operations = [
        migrations.AddField(
            model_name="funnelcount",
            name="amount",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=18),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
