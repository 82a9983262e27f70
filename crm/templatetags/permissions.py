from django import template

from crm.permissions import CAPABILITIES

register = template.Library()


@register.filter
def can(membership, capability: str) -> bool:
    """{% if current_membership|can:"import" %}: a capability of crm.permissions by name. An
    unknown name is an error, so a misspelt one never hides a button silently."""
    return CAPABILITIES[capability](membership or None)
