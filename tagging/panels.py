from crm.panels import Panel

from .forms import EventForm
from .selectors import contact_tags, tag_suggest


def tags_panel(request, contact) -> Panel:
    return Panel("tagging/partials/tags_panel.html", tags_panel_context(request, contact), 20)


def tags_panel_context(request, contact, **extra) -> dict:
    return {"contact": contact, "contact_tags": contact_tags(contact=contact), **extra}


def events_panel(request, contact) -> Panel:
    form = EventForm(tenant=request.tenant)
    return Panel("tagging/partials/event_form.html", {"contact": contact, "event_form": form}, 30)


# what the header's search shows; tag settings list them all
SEARCH_FIRST = 10


def tags_search_panel(request, term: str) -> Panel:
    """The header's search: tags whose name, an alias or their group's name contains it."""
    tags = tag_suggest(tenant=request.tenant, term=term, limit=SEARCH_FIRST + 1)
    return Panel(
        "tagging/partials/search_tags.html",
        {"tags": tags[:SEARCH_FIRST], "more": len(tags) > SEARCH_FIRST},
        20,
    )
