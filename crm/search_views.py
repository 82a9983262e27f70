"""The header's search: one box on every page of a company, and the page it opens with the
contacts, tags and audiences that match, each section from its own app (crm/panels.py: tagging
and audiences register theirs) and each linking on to where the rest is."""

from urllib.parse import urlencode

from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from . import selectors
from .http import id_url_maker, tenant_url
from .panels import Panel, search_panels

# what each section shows; the contact list, tag settings and audiences show the rest
SEARCH_FIRST = 10
TERM_LENGTH = 100  # as the contact list's search box


@require_GET
@vary_on_headers("HX-Request")
def search(request):
    term = request.GET.get("q", "").strip()[:TERM_LENGTH]
    context = {"term": term, "panels": search_panels(request, term) if term else []}
    if request.htmx and not request.htmx.boosted:
        return render(request, "crm/partials/search_results.html", context)
    return render(request, "crm/search.html", context)


def contacts_search_panel(request, term: str) -> Panel:
    found = selectors.contact_search_first(
        tenant=request.tenant, term=term, viewer=request.membership, limit=SEARCH_FIRST
    )
    contact_url = id_url_maker("contact_detail", request.tenant.slug)
    context = {
        "contacts": [{**row, "url": contact_url(row["id"])} for row in found[:SEARCH_FIRST]],
        "more": len(found) > SEARCH_FIRST,
        "list_url": f"{tenant_url(request, 'contact_list')}?{urlencode({'q': term})}",
    }
    return Panel("crm/partials/search_contacts.html", context, 10)
