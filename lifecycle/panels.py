from crm.panels import Panel
from crm.permissions import can_mark_lost

from .analytics import dashboard_figures
from .forms import DashboardFilterForm, LostForm, MoveForm
from .stages import Status, moves_for


def funnel_summary_panel(request) -> Panel:
    """The dashboard's funnel, conversion, time in stage, losses and 30-day trend."""
    return Panel(
        template="lifecycle/partials/funnel_summary.html",
        context=funnel_dashboard_context(request),
        order=10,
    )


def funnel_dashboard_context(request) -> dict:
    # The filter form costs two queries (members, tags): built only when asked for.
    form = None
    narrow = {}
    if request.GET:
        form = DashboardFilterForm(request.GET, tenant=request.tenant)
        narrow = form.narrowing(viewer=request.membership) if form.is_valid() else {}
    figures = dashboard_figures(tenant=request.tenant, **narrow)
    counts = figures["counts"]
    widest = max([c[Status.ACTIVE] for c in counts.values()] + [1])
    stats = figures["stats"] or {}
    rows = [
        {
            "stage": stage,
            "active": counts[stage][Status.ACTIVE],
            "lost": counts[stage][Status.LOST],
            "width": round(100 * counts[stage][Status.ACTIVE] / widest),
            "reached": (stats.get("reached") or {}).get(stage),
            "conversion": (stats.get("conversion") or {}).get(stage),
            "time": (stats.get("time_in_stage") or {}).get(stage),
            "lost_reasons": sorted(((stats.get("lost") or {}).get(stage) or {}).items()),
            "trend": sparkline(figures["trend"].get(stage, [])),
        }
        for stage in counts
    ]
    return {
        "funnel_rows": rows,
        "figures": figures,
        "dashboard_form": form,
        "dashboard_query": request.GET.urlencode(),
    }


def sparkline(values: list[int], width: int = 120, height: int = 24) -> str:
    """SVG polyline points for a small trend line, drawn by the server."""
    if len(values) < 2:
        return ""
    top = max(values) or 1
    step = width / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - (v / top) * (height - 2) - 1:.1f}" for i, v in enumerate(values)
    )


def stage_panel(request, contact) -> Panel:
    """The contact page's stage, move menu, lost/reopen and timeline."""
    return Panel(
        template="lifecycle/partials/stage_panel.html",
        context=stage_panel_context(request, contact),
        order=10,
    )


def stage_panel_context(request, contact, **extra) -> dict:
    moves = moves_for(role=request.membership.role, from_stage=contact.stage)
    return {
        "contact": contact,
        "moves": moves,
        "default_move": next((stage for stage, forward in moves if forward), None),
        "may_correct": can_mark_lost(request.membership),
        "lost_form": LostForm(),
        "move_form": MoveForm(),
        **extra,
    }
