"""The contact page's activity form and timeline."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from crm.access import access_contact
from crm.http import tenant_url
from crm.services import ServiceError

from . import services
from .access import access_activity
from .forms import ActivityForm
from .panels import activity_context, timeline_context

FORM = "activities/partials/activity_form.html"
TIMELINE = "activities/partials/timeline.html"
OLDER = "activities/partials/timeline_entries.html"


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
            activity = services.activity_log(
                contact=contact, actor=request.membership, **form.cleaned_data
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            done = _("Logged: %(kind)s.") % {"kind": activity.get_kind_display()}
            if request.htmx:  # a fresh form, and the timeline reloads itself
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
