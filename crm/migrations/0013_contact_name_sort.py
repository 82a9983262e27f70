"""Names sort by pinyin (issue 17): a sort key kept with each contact's name
(crm/sortkeys.py). Added empty here; 0014 fills it and indexes it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0012_phone_tail_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="name_sort",
            field=models.CharField(db_collation="C", default="", editable=False, max_length=181),
            preserve_default=False,
        ),
    ]
