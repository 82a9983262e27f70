"""The dashboard's Team panel: a placeholder the page fetches after it is shown (htmx), so the
dashboard itself costs no query more; the figures come from team.views.team_panel."""

from crm.panels import Panel


def team_panel(request) -> Panel:
    return Panel("team/partials/team_panel_loading.html", {}, 30)
