"""/api/v1/contacts/{id}/activities, /tasks and /events, and /tasks: what is done with a
contact, through the services the contact page uses (anyone in the company, as there)."""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from activities.access import access_task
from activities.models import Activity, ActivityKind, Task
from activities.services import activity_log, task_complete, task_create, task_reopen
from crm.models import Contact, Membership, Tenant
from crm.pagination import cursor_values, keyset_page
from crm.services import ServiceError
from tagging.models import Event
from tagging.selectors import event_kinds

from .api_schemas import (
    ActivityIn,
    ActivityOut,
    ActivityPage,
    EventPage,
    TaskIn,
    TaskOut,
    TaskPage,
)
from .endpoints import ERRORS, MAX_ID, PAGE_SIZE, _aware, _contact, _owner
from .endpoints import router as contacts_router
from .errors import known_query_only
from .schemas import ErrorOut

router = Router(tags=["activities and tasks"])
router.add_decorator(known_query_only)

NEWEST = ("-occurred_at", "-id")
BY_DUE = ("due_at", "id")


def _after(model, cursor: str | None, ordering: tuple[str, ...]) -> str | None:
    if cursor and cursor_values(model, cursor, ordering) is None:
        raise ServiceError(_("This cursor is not one of ours: start again without it."))
    return cursor or None


def _usernames(tenant: Tenant, ids) -> dict[int, str]:
    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return {}
    return dict(
        Membership.objects.for_tenant(tenant).filter(pk__in=ids).values_list("pk", "user__username")
    )


def _activities_out(tenant: Tenant, activities: list[Activity]) -> list[dict]:
    names = _usernames(tenant, (a.author_id for a in activities))
    labels = dict(ActivityKind.choices)
    return [
        {"id": a.pk, "contact_id": a.contact_id, "kind": a.kind,
         "kind_label": str(labels[a.kind]), "text": a.text, "outcome": a.outcome,
         "occurred_at": a.occurred_at, "author": names.get(a.author_id),
         "created_at": a.created_at}
        for a in activities
    ]  # fmt: skip


def _tasks_out(tenant: Tenant, tasks: list[Task]) -> list[dict]:
    names = _usernames(tenant, (pk for t in tasks for pk in (t.assignee_id, t.done_by_id)))
    contacts = dict(
        Contact.objects.for_tenant(tenant)
        .filter(pk__in={t.contact_id for t in tasks})
        .values_list("pk", "name")
    ) if tasks else {}  # fmt: skip
    return [
        {"id": t.pk, "contact_id": t.contact_id, "contact_name": contacts.get(t.contact_id, ""),
         "title": t.title, "due_at": t.due_at, "assignee": names.get(t.assignee_id),
         "done": t.done_at is not None, "done_at": t.done_at, "done_by": names.get(t.done_by_id),
         "created_at": t.created_at}
        for t in tasks
    ]  # fmt: skip


def _task(request, task_id: int) -> Task:
    if not 0 < task_id <= MAX_ID:
        raise Http404(_("No such task."))
    try:
        return access_task(request.membership, task_id)
    except Http404:
        raise Http404(_("No such task.")) from None


def _status_filter(tasks, status: str):
    if status == "open":
        return tasks.filter(done_at__isnull=True)
    if status == "done":
        return tasks.filter(done_at__isnull=False)
    if status == "all":
        return tasks
    raise ServiceError(_("Unknown status: open, done or all."))


# --- activities ---------------------------------------------------------------------------


@router.get("/contacts/{contact_id}/activities", response={200: ActivityPage, ERRORS: ErrorOut})
def list_activities(
    request,
    contact_id: int,
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(PAGE_SIZE, ge=1, le=200),
):
    """The contact's calls, meetings, WeChat chats, visits and notes, the latest first."""
    contact = _contact(request, contact_id)
    after = _after(Activity, cursor, NEWEST)
    activities = Activity.objects.for_tenant(contact.tenant).filter(contact=contact)
    page = keyset_page(activities, ordering=NEWEST, size=limit, after=after)
    return {"items": _activities_out(contact.tenant, page.items), "next": page.next_cursor}


@router.post("/contacts/{contact_id}/activities", response={201: ActivityOut, ERRORS: ErrorOut})
def log_activity(request, contact_id: int, payload: ActivityIn):
    """Logs a call, meeting, WeChat chat, visit or note as the token's member had it (text or
    outcome needed), as on the contact's page; with `follow_up`, the task it leads to, for
    the token's member."""
    contact = _contact(request, contact_id)
    follow_up = None
    if payload.follow_up is not None:
        follow_up = (payload.follow_up.title, _aware(payload.follow_up.due_at, contact.tenant))
    activity = activity_log(
        contact=contact, actor=request.membership, kind=payload.kind.value, text=payload.text,
        outcome=payload.outcome, occurred_at=_aware(payload.occurred_at, contact.tenant),
        follow_up=follow_up,
    )  # fmt: skip
    return Status(201, _activities_out(contact.tenant, [activity])[0])


# --- tasks --------------------------------------------------------------------------------


@router.get("/contacts/{contact_id}/tasks", response={200: TaskPage, ERRORS: ErrorOut})
def list_contact_tasks(
    request,
    contact_id: int,
    status: str = Query("open", description="open, done or all.", max_length=10),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(PAGE_SIZE, ge=1, le=200),
):
    """The contact's tasks by due time, the open ones unless `status` says otherwise."""
    contact = _contact(request, contact_id)
    tasks = _status_filter(Task.objects.for_tenant(contact.tenant).filter(contact=contact), status)
    page = keyset_page(tasks, ordering=BY_DUE, size=limit, after=_after(Task, cursor, BY_DUE))
    return {"items": _tasks_out(contact.tenant, page.items), "next": page.next_cursor}


@router.post("/contacts/{contact_id}/tasks", response={201: TaskOut, ERRORS: ErrorOut})
def create_task(request, contact_id: int, payload: TaskIn):
    """A follow-up for the contact, due at `due_at` (a time without a zone is the company's),
    for `assignee` (a username; default the token's member), who is told as on the pages."""
    contact = _contact(request, contact_id)
    if "assignee" in payload.model_fields_set and payload.assignee is None:
        assignee = None  # nobody yet, as the pages allow once a member leaves
    else:
        assignee = _owner(contact.tenant, payload.assignee) or request.membership
    task = task_create(
        contact=contact, actor=request.membership, title=payload.title,
        due_at=_aware(payload.due_at, contact.tenant), assignee=assignee,
    )  # fmt: skip
    return Status(201, _tasks_out(contact.tenant, [task])[0])


@router.get("/tasks", response={200: TaskPage, ERRORS: ErrorOut})
def list_tasks(
    request,
    assignee: str | None = Query(
        None, max_length=150, description="A member's username; `me`: the token's member."
    ),
    status: str = Query("open", description="open, done or all.", max_length=10),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(PAGE_SIZE, ge=1, le=200),
):
    """The company's tasks by due time (the open ones unless `status` says otherwise), all
    of them or one member's."""
    tenant = request.tenant
    tasks = _status_filter(Task.objects.for_tenant(tenant), status)
    if assignee == "me":
        tasks = tasks.filter(assignee=request.membership)
    elif assignee:
        tasks = tasks.filter(assignee=_owner(tenant, assignee))
    page = keyset_page(tasks, ordering=BY_DUE, size=limit, after=_after(Task, cursor, BY_DUE))
    return {"items": _tasks_out(tenant, page.items), "next": page.next_cursor}


@router.get("/tasks/{task_id}", response={200: TaskOut, ERRORS: ErrorOut})
def get_task(request, task_id: int):
    return _tasks_out(request.tenant, [_task(request, task_id)])[0]


@router.post("/tasks/{task_id}/complete", response={200: TaskOut, ERRORS: ErrorOut})
def complete_task(request, task_id: int):
    """Marks the task done. Done already: nothing changes (who and when stay)."""
    task = _task(request, task_id)
    task_complete(task=task, actor=request.membership)
    task.refresh_from_db()
    return _tasks_out(request.tenant, [task])[0]


@router.post("/tasks/{task_id}/reopen", response={200: TaskOut, ERRORS: ErrorOut})
def reopen_task(request, task_id: int):
    """Undoes a "done" given by mistake."""
    task = _task(request, task_id)
    task_reopen(task=task, actor=request.membership)
    task.refresh_from_db()
    return _tasks_out(request.tenant, [task])[0]


# --- events -------------------------------------------------------------------------------


# on the contacts' router: the same address takes POST there (one address, one Django pattern)
@contacts_router.get(
    "/contacts/{contact_id}/events",
    response={200: EventPage, ERRORS: ErrorOut},
    tags=["contacts"],
)
def list_events(
    request,
    contact_id: int,
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(PAGE_SIZE, ge=1, le=200),
):
    """What the contact did (forms, payments, visits…, as logged by hand, rules, imports or
    the API), the latest first."""
    contact = _contact(request, contact_id)
    after = _after(Event, cursor, NEWEST)
    events = Event.objects.for_tenant(contact.tenant).filter(contact=contact)
    page = keyset_page(events, ordering=NEWEST, size=limit, after=after)
    kinds = event_kinds(tenant=contact.tenant)
    names = _usernames(contact.tenant, (e.actor_id for e in page.items))
    return {
        "items": [
            {"id": e.pk, "kind": e.kind, "kind_label": str(kinds.get(e.kind, e.kind)),
             "amount": e.amount, "note": e.note, "occurred_at": e.occurred_at,
             "channel": e.channel, "external_id": e.external_id, "actor": names.get(e.actor_id)}
            for e in page.items
        ],
        "next": page.next_cursor,
    }  # fmt: skip
