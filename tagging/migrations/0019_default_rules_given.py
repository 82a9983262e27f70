"""Which default rules each company was given: the six of the seed it started with. A default
added since (a booked trial → MQL) is then offered on the rules page."""

import django.contrib.postgres.fields
from django.db import migrations, models

GIVEN = [
    "form_submitted",
    "price_list_downloaded",
    "consultation_call",
    "payment_intent",
    "payment_received",
    "referral_joined",
]


def given_before(apps, schema_editor):
    apps.get_model("tagging", "TaggingDefaults").objects.update(kinds=GIVEN)


class Migration(migrations.Migration):
    dependencies = [
        ("tagging", "0018_undo"),
    ]

    operations = [
        migrations.AddField(
            model_name="taggingdefaults",
            name="kinds",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=40), blank=True, default=list, size=None
            ),
        ),
        migrations.RunPython(given_before, migrations.RunPython.noop),
    ]
