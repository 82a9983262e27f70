"""A tag merged into another (tagging.services.tag_merge): saved views of the contact list that
filter by the tag that goes filter by the one that stays, instead of opening without it. Joined
in through crm.hooks (tag_merge_said, tags_merging), as the apps above crm are."""

from django.db.models import Q, QuerySet
from django.utils.translation import ngettext

from .models import SavedView

TAG_PARAMS = ("tag_any", "tag_all", "tag_none")  # the list's tag filters, ids as text


def saved_views_naming_tag(*, tenant, tag_id: int) -> QuerySet[SavedView]:
    """The company's saved views, private ones too, whose filters name the tag."""
    naming = Q()
    for name in TAG_PARAMS:
        naming |= Q(**{f"params__{name}__contains": [str(tag_id)]})
    return SavedView.objects.for_tenant(tenant).filter(naming)


def saved_views_tag_merge_said(*, source, target, said: list) -> None:
    """What the merge would change of the saved views, for the page that asks first."""
    count = saved_views_naming_tag(tenant=source.tenant, tag_id=source.pk).count()
    if count:
        text = ngettext(
            "%(count)s saved view that filters by “%(source)s” will filter by “%(target)s”.",
            "%(count)s saved views that filter by “%(source)s” will filter by “%(target)s”.",
            count,
        )
        said.append(text % {"count": count, "source": source.label, "target": target.label})


def saved_views_tags_merged(*, source, target) -> None:
    """In the merge's transaction: each view naming `source` names `target` instead, once."""
    old, new = str(source.pk), str(target.pk)
    naming = saved_views_naming_tag(tenant=source.tenant, tag_id=source.pk)
    for view in naming.select_for_update():
        params = dict(view.params)
        for name in TAG_PARAMS:
            values = params.get(name) or []
            if old in values:
                merged = [new if value == old else value for value in values]
                params[name] = sorted(set(merged), key=merged.index)
        view.params = params
        view.save(update_fields=["params", "updated_at"])
