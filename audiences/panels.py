"""What audiences add to crm's pages: the header's search finds them by name, for the members
who may see audiences at all."""

from crm.panels import Panel
from crm.permissions import can_manage_audiences

from .selectors import audiences_named

SEARCH_FIRST = 10  # a company has a few dozen: the audience list shows them all


def audiences_search_panel(request, term: str) -> Panel | None:
    if not can_manage_audiences(request.membership):
        return None
    audiences = audiences_named(tenant=request.tenant, term=term, limit=SEARCH_FIRST)
    return Panel("audiences/partials/search_audiences.html", {"audiences": audiences}, 30)
