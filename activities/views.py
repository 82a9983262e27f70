"""A salesperson's day on the pages: the activity form and timeline, tasks, "my tasks",
notifications, and the admins' task rules and assignment rules."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from crm.access import access_contact, get_scoped_or_404
from crm.http import tenant_url
from crm.models import Membership
from crm.permissions import can_edit_rules, permission_required
from crm.selectors import member_names
from crm.services import ServiceError
from lifecycle.selectors import stage_settings
from tagging.models import Tag
from tagging.selectors import tag_choices

from . import assignment, selectors, services
from .access import access_activity, access_assignment_rule, access_task
from .forms import ActivityForm, AssignmentRuleForm, TaskRuleForm
from .models import TaskRule
from .panels import activity_context, task_form, tasks_context, timeline_context

FORM = "activities/partials/activity_form.html"
TIMELINE = "activities/partials/timeline.html"
OLDER = "activities/partials/timeline_entries.html"
TASKS = "activities/partials/tasks_panel.html"
ROW = "activities/partials/task_row.html"


def member_of(tenant, member_id: int):
    """The company's member `member_id` (the form offered only them), or None."""
    return Membership.objects.for_tenant(tenant).select_related("user").filter(pk=member_id).first()


@require_GET
def contact_timeline(request, contact_id: int):
    """The timeline panel; with `after` (the "Older" link), just the next page's entries."""
    contact = access_contact(request.membership, contact_id)
    context = timeline_context(request, contact)
    older = request.htmx and context["after"] is not None
    response = render(request, OLDER if older else TIMELINE, context)
    response["Vary"] = "HX-Request"
    return response


@require_POST
def contact_activity_log(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            data = form.cleaned_data
            activity = services.activity_log(
                contact=contact, actor=request.membership, kind=data["kind"],
                text=data["text"], outcome=data["outcome"], occurred_at=data["occurred_at"],
                follow_up=form.follow_up_task(),
            )  # fmt: skip
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            done = _("Logged: %(kind)s.") % {"kind": activity.get_kind_display()}
            if form.follow_up_task():
                done += " " + _("Task added: %(title)s.") % {"title": form.follow_up_task()[0]}
            if request.htmx:  # a fresh form, and the timeline and tasks reload themselves
                context = activity_context(contact, done=done)
                response = render(request, FORM, context)
                return trigger_client_event(response, "contact-changed")
            messages.success(request, done)
            return redirect(tenant_url(request, "contact_detail", contact.pk))
    if request.htmx:  # what was typed stays, with the reason beside it
        return render(request, FORM, activity_context(contact, form))
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(tenant_url(request, "contact_detail", contact.pk))


@require_POST
def contact_activity_remove(request, contact_id: int, activity_id: int):
    activity = access_activity(request.membership, contact_id, activity_id)
    try:
        services.activity_remove(activity=activity, actor=request.membership)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Activity removed."))
    if request.htmx:  # the timeline as it now stands; the message shows with the next page
        return render(request, TIMELINE, timeline_context(request, activity.contact))
    return redirect(tenant_url(request, "contact_detail", contact_id))


@require_http_methods(["GET", "POST"])
def contact_task_add(request, contact_id: int):
    """The contact's tasks panel (GET: it reloads itself after a change), and a task added."""
    contact = access_contact(request.membership, contact_id)
    if request.method == "GET":
        return render(request, TASKS, tasks_context(request, contact))
    form = task_form(request, request.POST)
    if form.is_valid():
        assignee = member_of(request.tenant, form.cleaned_data["assignee"])
        try:
            task = services.task_create(
                contact=contact, actor=request.membership, title=form.cleaned_data["title"],
                due_at=form.cleaned_data["due_time"], assignee=assignee,
            )  # fmt: skip
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            done = _("Task added: %(title)s.") % {"title": task.title}
            if request.htmx:
                return render(request, TASKS, tasks_context(request, contact, done=done))
            messages.success(request, done)
            return redirect(tenant_url(request, "contact_detail", contact.pk))
    if request.htmx:  # what was typed stays, with the reason beside it
        return render(request, TASKS, tasks_context(request, contact, form))
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(tenant_url(request, "contact_detail", contact.pk))


def _task_answer(request, task):
    """The task's row, as it now stands (the timeline, if shown, reloads itself)."""
    task.refresh_from_db()
    task.assignee_name = task.assignee.display_name if task.assignee_id else ""
    listed = request.POST.get("next") == "mine"
    if not request.htmx:
        back = tenant_url(request, "my_tasks") if listed else None
        return redirect(back or tenant_url(request, "contact_detail", task.contact_id))
    context = {"task": task, "now": timezone.now(), "listed": listed}
    response = render(request, ROW, context)
    return trigger_client_event(response, "contact-changed")


@require_POST
def task_done(request, task_id: int):
    task = access_task(request.membership, task_id)
    services.task_complete(task=task, actor=request.membership)
    return _task_answer(request, task)


@require_POST
def task_reopen(request, task_id: int):
    task = access_task(request.membership, task_id)
    services.task_reopen(task=task, actor=request.membership)
    return _task_answer(request, task)


@require_GET
def my_tasks(request):
    context = {"sections": selectors.my_tasks(member=request.membership), "now": timezone.now()}
    return render(request, "activities/task_list.html", context)


# --- task rules (admins) ------------------------------------------------------------------------


def _rules_page(request, form=None, status=200):
    names = {k: s.display_label for k, s in stage_settings(tenant=request.tenant).items()}
    context = {
        "rules": list(TaskRule.objects.for_tenant(request.tenant).order_by("stage", "id")),
        "form": form or TaskRuleForm(stage_names=names),
        "stage_names": names,
    }
    return render(request, "activities/task_rule_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_rules)
def task_rule_list(request):
    if request.method == "GET":
        return _rules_page(request)
    names = {k: s.display_label for k, s in stage_settings(tenant=request.tenant).items()}
    form = TaskRuleForm(request.POST, stage_names=names)
    if form.is_valid():
        try:
            services.task_rule_save(tenant=request.tenant, actor=request.membership,
                                    **form.cleaned_data)  # fmt: skip
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Task rule added."))
            return redirect(tenant_url(request, "task_rule_list"))
    return _rules_page(request, form, status=422)


@require_POST
@permission_required(can_edit_rules)
def task_rule_delete(request, task_rule_id: int):
    rule = get_scoped_or_404(TaskRule.objects.for_tenant(request.tenant), task_rule_id)
    services.task_rule_delete(rule=rule, actor=request.membership)
    messages.success(request, _("Task rule deleted."))
    return redirect(tenant_url(request, "task_rule_list"))


# --- assignment rules (admins) ----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_rules)
def assignment_rule_list(request):
    """Settings → Assignment: the rules in order, and a rule added after them."""
    tenant = request.tenant
    tags, members = tag_choices(tenant=tenant), member_names(tenant=tenant)
    form = AssignmentRuleForm(request.POST or None, tags=tags, members=members)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data  # ids the form offered: the company's own tags and members
        tag = Tag.objects.for_tenant(tenant).filter(pk=data["tag"]).first() if data["tag"] else None
        chosen = list(Membership.objects.for_tenant(tenant).filter(pk__in=data["members"]))
        try:
            assignment.assignment_rule_save(tenant=tenant, actor=request.membership, tag=tag,
                                            members=chosen)  # fmt: skip
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Assignment rule added."))
            return redirect(tenant_url(request, "assignment_rule_list"))
    rules = assignment.assignment_rule_list(
        tenant=tenant, tag_labels=dict(tags), member_names={m.pk: m.display_name for m in members}
    )
    status = 422 if request.method == "POST" else 200
    return render(request, "activities/assignment_rule_list.html",
                  {"rules": rules, "form": form}, status=status)  # fmt: skip


@require_POST
@permission_required(can_edit_rules)
def assignment_rule_active(request, assignment_rule_id: int):
    rule = access_assignment_rule(request.membership, assignment_rule_id)
    active = request.POST.get("active") == "1"
    assignment.assignment_rule_set_active(rule=rule, actor=request.membership, active=active)
    messages.success(request, _("Assignment rule on.") if active else _("Assignment rule off."))
    return redirect(tenant_url(request, "assignment_rule_list"))


@require_POST
@permission_required(can_edit_rules)
def assignment_rule_up(request, assignment_rule_id: int):
    rule = access_assignment_rule(request.membership, assignment_rule_id)
    assignment.assignment_rule_move_up(rule=rule, actor=request.membership)
    return redirect(tenant_url(request, "assignment_rule_list"))


@require_POST
@permission_required(can_edit_rules)
def assignment_rule_delete(request, assignment_rule_id: int):
    rule = access_assignment_rule(request.membership, assignment_rule_id)
    assignment.assignment_rule_delete(rule=rule, actor=request.membership)
    messages.success(request, _("Assignment rule deleted."))
    return redirect(tenant_url(request, "assignment_rule_list"))


@require_GET
def notification_list(request):
    """The member's notifications, newest first, the unread ones marked as such."""
    notifications = selectors.member_notifications(member=request.membership)
    return render(request, "activities/notification_list.html", {"notifications": notifications})


@require_POST
def notifications_mark_read(request):
    services.notifications_read(member=request.membership)
    return redirect(tenant_url(request, "notification_list"))
