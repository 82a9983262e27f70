from django import template

from ..selectors import COUNTED, HeaderCounts, header_counts

register = template.Library()


@register.simple_tag
def header_counts_of(member) -> HeaderCounts:
    """The header's counts: the member's overdue tasks and unread notifications (one query)."""
    return header_counts(member=member) if member is not None else HeaderCounts(0, 0)


@register.filter
def count_shown(count: int) -> str:
    return f"{COUNTED}+" if count > COUNTED else str(count)
