from django import template

from crm.undo import undo_offer_take

register = template.Library()


@register.inclusion_tag("crm/partials/undo_offer.html", takes_context=True)
def undo_offer(context) -> dict:
    """The Undo button for the action the member just made, once, while it may be undone."""
    request = context.get("request")
    return {
        "offer": undo_offer_take(request) if request is not None else None,
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
