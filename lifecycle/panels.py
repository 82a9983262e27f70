from crm.panels import Panel

from .forms import LostForm, MoveForm
from .selectors import stage_history
from .stages import moves_for


def funnel_panel(request, contact) -> Panel:
    """The contact page's stage, move menu, lost/reopen and timeline."""
    return Panel(
        template="lifecycle/partials/stage_panel.html",
        context=stage_panel_context(request, contact),
        order=10,
    )


def stage_panel_context(request, contact, **extra) -> dict:
    role = request.membership.role
    return {
        "contact": contact,
        "moves": moves_for(role=role, from_stage=contact.stage),
        "may_correct": role in ("admin", "sales"),
        "history": stage_history(contact=contact),
        "lost_form": LostForm(),
        "move_form": MoveForm(),
        **extra,
    }
