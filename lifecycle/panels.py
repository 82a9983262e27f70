from crm.panels import Panel

from .forms import LostForm, MoveForm
from .selectors import funnel_counts
from .stages import moves_for


def funnel_summary_panel(request) -> Panel:
    """The dashboard's funnel: stored counts per stage under the tenant's labels."""
    counts, computed_at = funnel_counts(tenant=request.tenant)
    widest = max([c.active for c in counts.values()] + [1])
    rows = [
        {"stage": stage, "count": count, "width": round(100 * count.active / widest)}
        for stage, count in counts.items()
    ]
    return Panel(
        template="lifecycle/partials/funnel_summary.html",
        context={"funnel_rows": rows, "computed_at": computed_at},
        order=10,
    )


def stage_panel(request, contact) -> Panel:
    """The contact page's stage, move menu, lost/reopen and timeline."""
    return Panel(
        template="lifecycle/partials/stage_panel.html",
        context=stage_panel_context(request, contact),
        order=10,
    )


def stage_panel_context(request, contact, **extra) -> dict:
    role = request.membership.role
    moves = moves_for(role=role, from_stage=contact.stage)
    return {
        "contact": contact,
        "moves": moves,
        "default_move": next((stage for stage, forward in moves if forward), None),
        "may_correct": role in ("admin", "sales"),
        "lost_form": LostForm(),
        "move_form": MoveForm(),
        **extra,
    }
