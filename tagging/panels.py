from dataclasses import replace

from crm.panels import Panel
from lifecycle.selectors import stage_settings

from .forms import EventForm
from .outcomes import title_from_key
from .selectors import contact_tags, event_kinds, tag_suggest


def tags_panel(request, contact) -> Panel:
    return Panel("tagging/partials/tags_panel.html", tags_panel_context(request, contact), 20)


def tags_panel_context(request, contact, **extra) -> dict:
    held = contact_tags(contact=contact)
    if any(tag.rule_title_key for tag in held):  # a built-in rule, named in the reader's words
        kinds = event_kinds(tenant=request.tenant)
        stages = {key: s.display_label for key, s in stage_settings(tenant=request.tenant).items()}
        held = [
            replace(tag, rule_name=title_from_key(tag.rule_title_key, kinds, stages))
            if tag.rule_title_key
            else tag
            for tag in held
        ]
    return {"contact": contact, "contact_tags": held, **extra}


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
