"""The Team page (every member; admins and marketers see everyone's figures, the others their
own) and the dashboard's compact panel of the last 30 days."""

from datetime import date, timedelta

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm.caching import kept
from crm.permissions import can_view_team
from lifecycle.selectors import stage_settings
from lifecycle.stages import ORDER, Stage
from lifecycle.templatetags.lifecycle import percent, yuan

from .forms import PeriodForm
from .selectors import MemberFigures, Period, company_today, last_days, team_figures

PANEL_SECONDS = 60  # the dashboard's panel is read from the cache for a minute


def _viewer_scope(request) -> int | None:
    """None: everyone's figures; else the only member whose the viewer may see (their own)."""
    return None if can_view_team(request.membership) else request.membership.pk


def _shortcuts(today: date) -> list[tuple[str, str]]:
    """(label, query) of the periods people ask for most."""
    month = today.replace(day=1)
    last_month_end = month - timedelta(days=1)
    periods = [
        (_("Last 7 days"), today - timedelta(days=6), today),
        (_("Last 30 days"), today - timedelta(days=29), today),
        (_("Last 90 days"), today - timedelta(days=89), today),
        (_("This month"), month, today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
    ]
    return [(label, f"from={since.isoformat()}&to={until.isoformat()}")
            for label, since, until in periods]  # fmt: skip


def team_rows(request, rows: list[MemberFigures]) -> list[dict]:
    """Each row's cells worked out once, with links to the contacts a figure counts (the list
    filters by owner, stage and status; moves, conversions and payments have no list)."""
    contacts = reverse("contact_list", args=[request.tenant.slug])
    own_tasks = reverse("my_tasks", args=[request.tenant.slug])
    shown = []
    for row in rows:
        owner = f"{contacts}?owner={row.member.pk}"
        shown.append({
            "name": row.member.display_name,
            "url": owner,
            "stages": [(row.stages[stage], f"{owner}&stage={stage}&status=active")
                       for stage in ORDER],
            "active": row.owned,
            "active_url": f"{owner}&status=active",
            "forward": row.forward,
            "back": row.back,
            "conversions": row.conversions,
            "rate": percent(row.win_rate),
            "reached_sql": row.reached_sql,
            "won": row.won,
            "revenue": yuan(row.revenue),
            "payments": row.payments,
            "open_tasks": row.open_tasks,
            "overdue_tasks": row.overdue_tasks,
            "tasks_url": own_tasks if row.member.pk == request.membership.pk else "",
        })  # fmt: skip
    return shown


@require_GET
def team(request):
    form = PeriodForm(request.GET, tenant=request.tenant)
    today = company_today(tenant=request.tenant)
    labels = {stage: s.display_label for stage, s in stage_settings(tenant=request.tenant).items()}
    context = {
        "everyone": _viewer_scope(request) is None,
        "today": today.isoformat(),
        "shortcuts": _shortcuts(today),
        "stage_labels": list(labels.values()),
        "sql_label": labels[Stage.SQL],
        "customer_label": labels[Stage.CUSTOMER],
    }
    if not form.is_valid():
        context.update(errors=form.messages(), shown=form.shown(), rows=None)
        return render(request, "team/team.html", context, status=400)
    rows = team_figures(tenant=request.tenant, period=form.period, only=_viewer_scope(request))
    context.update(shown=form.shown(), period=form.period, rows=team_rows(request, rows))
    return render(request, "team/team.html", context)


def _panel_figures(request, period: Period) -> list[MemberFigures]:
    only = _viewer_scope(request)
    key = f"team-panel:{request.tenant.pk}:{only or 'all'}:{period.until.isoformat()}"
    return kept(
        key,
        lambda: team_figures(tenant=request.tenant, period=period, only=only, with_contacts=False),
        timeout=PANEL_SECONDS,
    )


@require_GET
def team_panel(request):
    """The dashboard's Team panel, loaded after the page (htmx): the last 30 days, compact."""
    period = last_days(tenant=request.tenant)
    rows = _panel_figures(request, period)
    context = {
        "rows": team_rows(request, rows),
        "everyone": _viewer_scope(request) is None,
        "period": period,
    }
    return render(request, "team/partials/team_panel.html", context)
