from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils.http import urlencode

from crm.panels import Panel
from crm.permissions import can_mark_lost

from .analytics import dashboard_figures
from .forms import DashboardFilterForm, LostForm, MoveForm
from .selectors import stage_settings
from .stages import Status, moves_for
from .templatetags.lifecycle import duration, lost_reason_label, percent


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
    return {
        "funnel_rows": funnel_rows(request, figures, list_filters(form)),
        "figures": figures,
        "dashboard_form": form,
        "dashboard_query": request.GET.urlencode(),
    }


def list_filters(form: DashboardFilterForm | None) -> dict | None:
    """What a stage's link to the contact list adds so the list shows the contacts the row
    counted: the owner and the tag the dashboard is narrowed to. None when it is narrowed by
    creation date, which the list cannot filter on (the row then has no link)."""
    if form is None or not form.is_valid():
        return {}
    data = form.cleaned_data
    if data.get("since") or data.get("until"):
        return None
    extra = {"owner": data.get("owner"), "tag_any": data.get("tag")}
    return {name: value for name, value in extra.items() if value}


def funnel_rows(request, figures: dict, filters: dict | None) -> list[dict]:
    """The funnel table's rows, every cell's text worked out here once: in the template, each
    of its ~60 cells cost a lookup and a filter or two."""
    counts = figures["counts"]
    widest = max([c[Status.ACTIVE] for c in counts.values()] + [1])
    stats = figures["stats"] or {}
    reached, conversion, times, lost = (
        stats.get(name) or {} for name in ("reached", "conversion", "time_in_stage", "lost")
    )
    settings = stage_settings(tenant=request.tenant)
    list_url = reverse("contact_list", args=[request.tenant.slug])
    rows = []
    for stage in counts:
        active, lost_here = counts[stage][Status.ACTIVE], counts[stage][Status.LOST]
        time = times.get(stage)
        rows.append({
            "stage": stage,
            "label": settings[stage].display_label,
            "colour": settings[stage].display_colour,
            "list_url": (
                f"{list_url}?{urlencode({'stage': stage, 'status': 'active', **filters})}"
                if filters is not None else ""
            ),
            "width": round(100 * active / widest),
            "active": intcomma(active),
            "reached": intcomma(reached[stage]) if reached.get(stage) is not None else "—",
            "conversion": percent(conversion.get(stage)),
            "time": f"{duration(time['p50'])} / {duration(time['p90'])}" if time else "—",
            "lost": intcomma(lost_here) if lost_here else "",
            "lost_reasons": "".join(
                f"· {lost_reason_label(reason)} {n} "
                for reason, n in sorted((lost.get(stage) or {}).items())
            ),
            "trend": sparkline(figures["trend"].get(stage, [])),
        })  # fmt: skip
    return rows


def sparkline(values: list[int], width: int = 120, height: int = 24) -> str:
    """SVG polyline points for a small trend line, drawn by the server. The line spans the
    month's range, or a tenth of its top if that is wider: scaled from zero, a stage holding
    600,000 that gained 5,000 drew flat; a change of a few in thousands still draws flat."""
    if len(values) < 2:
        return ""
    top = max(values)
    span = max(top - min(values), top / 10, 1)
    bottom = top - span
    step = width / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - ((v - bottom) / span) * (height - 2) - 1:.1f}"
        for i, v in enumerate(values)
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
