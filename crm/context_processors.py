from functools import lru_cache

from django.urls import get_script_prefix, reverse
from django.utils.functional import SimpleLazyObject

from .selectors import memberships_of_user

NAV_SECTIONS = {
    "board": "board",
    "contact": "contacts",
    "dashboard": "dashboard",
    "funnel": "dashboard",
    "audience": "audiences",
    "snapshot": "audiences",
    "import": "contacts",
    "my_tasks": "tasks",
    "at_risk": "tasks",  # where sales start the day, beside their tasks
    "notification": "notifications",
    "team": "team",
}
SETTINGS_PAGES = {"tenant_settings", "member_list", "member_add", "stage_settings",
                  "grading_settings"}  # fmt: skip
SETTINGS_PREFIXES = ("tag_", "rule_", "event_kind", "task_rule_", "assignment_rule_", "tier_")


def nav_section(request) -> str:
    """Which item of the main navigation the current page belongs to."""
    match = getattr(request, "resolver_match", None)
    name = (match.url_name or "") if match else ""
    if name in SETTINGS_PAGES or name.startswith(SETTINGS_PREFIXES):
        return "settings"
    return next((s for prefix, s in NAV_SECTIONS.items() if name.startswith(prefix)), "")


# The main navigation of a company's pages: the same on every page of a company, so reversed
# once per company (and site prefix) in each process rather than six times on every request.
NAV_PAGES = ("dashboard", "board", "contact_list", "my_tasks", "notification_list", "team",
             "audience_list", "tenant_settings", "tag_settings", "search")  # fmt: skip


@lru_cache(maxsize=4096)
def _nav(prefix: str, slug: str) -> dict[str, str]:
    return {name: reverse(name, args=[slug]) for name in NAV_PAGES}


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_tenant": None, "current_membership": None, "my_memberships": []}
    tenant = getattr(request, "tenant", None)
    return {
        "nav": _nav(get_script_prefix(), tenant.slug) if tenant else {},
        "nav_section": nav_section(request),
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": getattr(request, "membership", None),
        # A company's pages have them from TenantMiddleware; others read them if the header's
        # switcher asks, once per page.
        "my_memberships": getattr(request, "my_memberships", None)
        or SimpleLazyObject(lambda: list(memberships_of_user(user=user))),
    }
