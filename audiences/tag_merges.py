"""A tag merged into another (tagging.services.tag_merge): the audiences that named the tag that
goes name the one that stays, so that none of them quietly loses its condition. Joined in through
crm.hooks (tag_merge_said, tags_merging): tagging sits below audiences and does not import it."""

from django.db.models import Q, QuerySet
from django.utils.translation import ngettext

from .models import Audience

TAG_LISTS = ("tag_any", "tag_all", "tag_none")


def audiences_naming_tag(*, tenant, tag_id: int) -> QuerySet[Audience]:
    """The company's audiences whose definition names the tag (any, all or none of)."""
    naming = Q()
    for name in TAG_LISTS:
        naming |= Q(**{f"{name}__contains": [tag_id]})
    return Audience.objects.for_tenant(tenant).filter(naming)


def audiences_tag_merge_said(*, source, target, said: list) -> None:
    """What the merge would change of the audiences, for the page that asks first."""
    count = audiences_naming_tag(tenant=source.tenant, tag_id=source.pk).count()
    if count:
        text = ngettext(
            "%(count)s audience that uses “%(source)s” will use “%(target)s”.",
            "%(count)s audiences that use “%(source)s” will use “%(target)s”.",
            count,
        )
        said.append(text % {"count": count, "source": source.label, "target": target.label})


def audiences_tags_merged(*, source, target) -> None:
    """In the merge's transaction: each audience naming `source` names `target` instead (once
    in each list), and is computed afresh; the merge itself notes the company as changed."""
    naming = audiences_naming_tag(tenant=source.tenant, tag_id=source.pk)
    for audience in naming.select_for_update():
        for name in TAG_LISTS:
            ids = getattr(audience, name)
            if source.pk in ids:
                setattr(audience, name, sorted({target.pk if i == source.pk else i for i in ids}))
        audience.computed_snapshot = ""  # a new definition: computed afresh
        audience.save(update_fields=[*TAG_LISTS, "computed_snapshot"])
