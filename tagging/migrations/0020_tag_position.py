"""A tag's place in its group (issue 20, item 7a). Existing tags keep the order they were shown
in (by name), except a group that is a known ladder: tiers 普通, 银卡, 金卡, 铂金 and intents
高意向, 中意向, 低意向 (the demo's) or high, medium, low go in the ladder's order, and the group's
other tags after them, by name."""

from django.db import migrations, models

LADDERS = [
    ("普通", "银卡", "金卡", "铂金"),
    ("高意向", "中意向", "低意向"),
    ("高", "中", "低"),
    ("high", "medium", "low"),
]


def ladder_rank(labels: list[str]) -> dict[str, int]:
    """label_key -> rank in the first ladder the group holds two or more steps of."""
    held = set(labels)
    for ladder in LADDERS:
        steps = [step.casefold() for step in ladder]
        if len(held & set(steps)) >= 2:
            return {step: rank for rank, step in enumerate(steps)}
    return {}


def forwards(apps, schema_editor):
    Tag = apps.get_model("tagging", "Tag")
    changed = []
    group_ids = Tag.objects.values_list("group_id", flat=True).distinct().order_by("group_id")
    for group_id in list(group_ids):
        # the order the pages showed them in: by name, as the database sorts names
        tags = list(Tag.objects.filter(group_id=group_id).order_by("label", "pk"))
        ranks = ladder_rank([tag.label_key for tag in tags])
        first = len(ranks)
        ordered = sorted(
            enumerate(tags), key=lambda pair: (ranks.get(pair[1].label_key, first), pair[0])
        )
        for position, (_shown, tag) in enumerate(ordered):
            tag.position = position
            changed.append(tag)
    Tag.objects.bulk_update(changed, ["position"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("tagging", "0019_default_rules_given"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="tag",
            options={"ordering": ["position", "label"]},
        ),
        migrations.AddField(
            model_name="tag",
            name="position",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
    ]
