"""Grading's panels on crm's pages: the contact's tier and status, the dashboard's distribution."""

from crm.panels import Panel

from .selectors import contact_grade, grade_distribution, tier_changes_of


def grade_panel(request, contact) -> Panel:
    grade = contact_grade(contact=contact)
    # a contact that never paid has no tier to have changed
    changes = tier_changes_of(contact=contact) if grade.payments or grade.tier else []
    return Panel("grading/partials/grade_panel.html", {"grade": grade, "changes": changes}, 12)


def distribution_panel(request) -> Panel | None:
    distribution = grade_distribution(tenant=request.tenant)
    if not distribution.tiers and not distribution.graded:
        return None  # nothing graded yet, and no scheme to show
    largest = max([n for _tier, n in distribution.tiers] + [1])
    return Panel(
        "grading/partials/distribution.html",
        {
            "distribution": distribution,
            "bars": [(tier, n, round(n * 100 / largest)) for tier, n in distribution.tiers],
        },
        20,
    )
