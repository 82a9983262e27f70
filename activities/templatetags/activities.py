from django import template

from ..selectors import OVERDUE_SHOWN, overdue_count

register = template.Library()


@register.simple_tag
def overdue_tasks(member) -> int:
    """The header's count of the member's overdue tasks (one count on an index)."""
    return overdue_count(member=member) if member is not None else 0


@register.filter
def count_shown(count: int) -> str:
    return f"{OVERDUE_SHOWN}+" if count > OVERDUE_SHOWN else str(count)
