"""What tagging adds to the contact list: tag filters, and tag names (or aliases) in the search."""

from django.db.models import Q

from .selectors import tag_filter_condition, tag_resolve


def contact_tag_filters(tenant, filters) -> tuple[Q | None, Q | None]:
    also_matches = None
    if filters.q.strip():
        tag = tag_resolve(tenant=tenant, name=filters.q)
        if tag is not None:
            also_matches = tag_filter_condition(tenant=tenant, any_of=[tag.pk])
    must_match = None
    if filters.tag_any or filters.tag_all or filters.tag_none:
        must_match = tag_filter_condition(
            tenant=tenant,
            any_of=filters.tag_any,
            all_of=filters.tag_all,
            none_of=filters.tag_none,
        )
    return also_matches, must_match
