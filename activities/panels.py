from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.panels import Panel
from crm.selectors import member_names
from lifecycle.selectors import stage_settings
from tagging.selectors import event_kinds

from .entries import Reader, timeline_items
from .forms import OUTCOMES, ActivityForm, TaskForm
from .models import ActivityKind
from .selectors import SHOWN, Cursor, contact_open_tasks, contact_timeline

FILTERS = (
    ("", _("Everything")), ("activities", _("All activities")), *ActivityKind.choices,
    ("task", _("Tasks done")), ("event", _("Events")), ("stage", _("Stage changes")),
    ("tags", _("Tags")),
)  # fmt: skip


def activity_panel(request, contact) -> Panel:
    return Panel("activities/partials/activity_form.html", activity_context(contact), 35)


def activity_context(contact, form: ActivityForm | None = None, **extra) -> dict:
    form = form or ActivityForm()
    return {"contact": contact, "activity_form": form, "outcomes": OUTCOMES, **extra}


def timeline_panel(request, contact) -> Panel:
    return Panel("activities/partials/timeline.html", timeline_context(request, contact), 40)


def _names_kinds(page) -> bool:
    """Whether the page says kinds of events: events, and moves by rules named by their kind."""
    return page.has("event") or any(
        entry.kind == "stage" and entry.item.rule_kind for entry in page.entries
    )


def timeline_context(request, contact) -> dict:
    """The timeline as the address asks: `shown` narrows it, `after` pages back in time."""
    shown = request.GET.get("shown", "")
    shown = shown if shown in SHOWN else ""
    after = Cursor.parse(request.GET.get("after"))
    page = contact_timeline(contact=contact, shown=shown, after=after, names=_names(request))
    tenant = request.tenant
    reader = Reader(
        slug=tenant.slug,
        contact_id=contact.pk,
        member_id=request.membership.pk,
        csrf_token=get_token(request),
        stage_labels={key: s.display_label for key, s in stage_settings(tenant=tenant).items()},
        kind_labels=event_kinds(tenant=tenant) if _names_kinds(page) else {},
    )
    return {
        "contact": contact,
        "page": page,
        "items": timeline_items(page.entries, reader),
        "shown": shown,
        "after": after,
        "filters": FILTERS,
    }


def tasks_panel(request, contact) -> Panel:
    return Panel("activities/partials/tasks_panel.html", tasks_context(request, contact), 33)


def members_of(request) -> list:
    """The company's members by name, read once per request (the task form, the timeline)."""
    if not hasattr(request, "_member_names"):
        request._member_names = member_names(tenant=request.tenant)
    return request._member_names


def task_form(request, data=None) -> TaskForm:
    return TaskForm(data, members=members_of(request), me=request.membership.pk)


def tasks_context(request, contact, form: TaskForm | None = None, **extra) -> dict:
    return {
        "contact": contact,
        "tasks": contact_open_tasks(contact=contact, names=_names(request)),
        "task_form": form or task_form(request),
        "now": timezone.now(),
        **extra,
    }


def _names(request) -> dict[int, str]:
    return {member.pk: member.display_name for member in members_of(request)}
