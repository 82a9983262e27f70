from django.utils.translation import gettext_lazy as _

from crm.panels import Panel
from tagging.selectors import event_kinds

from .forms import OUTCOMES, ActivityForm
from .models import ActivityKind
from .selectors import SHOWN, Cursor, contact_timeline

FILTERS = (
    ("", _("Everything")), ("activities", _("All activities")), *ActivityKind.choices,
    ("event", _("Events")), ("stage", _("Stage changes")), ("tags", _("Tags")),
)  # fmt: skip


def activity_panel(request, contact) -> Panel:
    return Panel("activities/partials/activity_form.html", activity_context(contact), 35)


def activity_context(contact, form: ActivityForm | None = None, **extra) -> dict:
    form = form or ActivityForm()
    return {"contact": contact, "activity_form": form, "outcomes": OUTCOMES, **extra}


def timeline_panel(request, contact) -> Panel:
    return Panel("activities/partials/timeline.html", timeline_context(request, contact), 40)


def timeline_context(request, contact) -> dict:
    """The timeline as the address asks: `shown` narrows it, `after` pages back in time."""
    shown = request.GET.get("shown", "")
    shown = shown if shown in SHOWN else ""
    after = Cursor.parse(request.GET.get("after"))
    return {
        "contact": contact,
        "page": contact_timeline(contact=contact, shown=shown, after=after),
        "shown": shown,
        "after": after,
        "filters": FILTERS,
        "kind_labels": event_kinds(tenant=request.tenant),
    }
