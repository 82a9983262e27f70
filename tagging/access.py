"""Tag-scheme rows reached by id: scoped to the member's tenant first, 404 otherwise."""

from django.http import Http404

from crm.access import get_scoped_or_404
from crm.models import Membership

from .models import Rule, Tag, TagAlias, TagGroup
from .selectors import event_kinds


def access_tag(membership: Membership, tag_id: int) -> Tag:
    qs = Tag.objects.for_tenant(membership.tenant).select_related("group")
    return get_scoped_or_404(qs, tag_id)


def access_tag_group(membership: Membership, group_id: int) -> TagGroup:
    return get_scoped_or_404(TagGroup.objects.for_tenant(membership.tenant), group_id)


def access_tag_alias(membership: Membership, alias_id: int) -> TagAlias:
    return get_scoped_or_404(TagAlias.objects.for_tenant(membership.tenant), alias_id)


def access_rule(membership: Membership, rule_id: int) -> Rule:
    return get_scoped_or_404(Rule.objects.for_tenant(membership.tenant), rule_id)


def access_event_kind(membership: Membership, key: str) -> str:
    """A kind of event the member's company can log (built in, or its own), by its key."""
    if key not in event_kinds(tenant=membership.tenant):
        raise Http404("No such kind of event.")
    return key
