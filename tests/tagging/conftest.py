import pytest

from tagging.models import Tag, TagGroup, name_key


@pytest.fixture
def make_tag(tenant):
    """make_tag("来源", "地推") → the tag, creating its group when needed."""

    def _make(group_label: str, label: str, *, single_choice: bool = False, on=None) -> Tag:
        group, _ = TagGroup.objects.get_or_create(
            tenant=on or tenant,
            label=group_label,
            defaults={"single_choice": single_choice, "key": group_label},
        )
        return Tag.objects.create(
            tenant=on or tenant, group=group, key=label, label=label, label_key=name_key(label)
        )

    return _make
