from crm.panels import Panel

from .forms import EventForm
from .selectors import contact_tags


def tags_panel(request, contact) -> Panel:
    return Panel("tagging/partials/tags_panel.html", tags_panel_context(request, contact), 20)


def tags_panel_context(request, contact, **extra) -> dict:
    return {"contact": contact, "contact_tags": contact_tags(contact=contact), **extra}


def events_panel(request, contact) -> Panel:
    form = EventForm(tenant=request.tenant)
    return Panel("tagging/partials/event_form.html", {"contact": contact, "event_form": form}, 30)
