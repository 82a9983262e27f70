"""Audiences and their frozen lists (admins and marketers). Their exports are spreadsheets':
spreadsheets/views.py."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.access import access_saved_view
from crm.consent import REQUIRED_WORDS
from crm.pagination import keyset_page
from crm.permissions import (
    can_manage_audiences,
    permission_required,
)
from crm.savedviews import saved_views_visible
from crm.services import ServiceError
from lifecycle.selectors import stage_settings

from . import selectors, services
from .access import access_audience
from .forms import AudienceForm, FreezeForm
from .selectors import audiences_of, snapshots_of

# --- audiences (admins and marketers) --------------------------------------------------------


def _stage_labels(request) -> dict:
    return {k: s.display_label for k, s in stage_settings(tenant=request.tenant).items()}


@require_GET
@permission_required(can_manage_audiences)
def audience_list(request):
    context = {
        "audiences": audiences_of(tenant=request.tenant),
        "snapshots": snapshots_of(tenant=request.tenant),
    }
    return render(request, "audiences/audience_list.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(can_manage_audiences)
def audience_edit(request, audience_id: int | None = None):
    audience = access_audience(request.membership, audience_id) if audience_id else None
    initial = {"status": "active", "gate": "at_or_past"}
    lost = ""
    # "Start from a saved view" (?from_view=<id>): its filters fill the definition
    start = start_view = None
    if audience is None and request.GET.get("from_view"):
        start_view = access_saved_view(request.membership, request.GET["from_view"])
        start = services.audience_initial_from_view(view=start_view)
        initial = start.initial
    if audience is not None:
        fields = ("name", "gate", "stages", "status", "tag_any", "tag_all", "tag_none")
        initial = {field: getattr(audience, field) for field in fields}
        initial["tier_at_least"] = audience.tier_at_least_id
        initial["custom"] = audience.custom
        initial["consent_channel"] = audience.consent_channel
        # conditions whose field is gone: not in any box, so saving drops them (the form says so)
        lost = services.audience_custom_words(audience=audience).lost_listed
    form = AudienceForm(
        request.POST or None,
        tenant=request.tenant,
        stage_labels=_stage_labels(request),
        initial=initial,
    )
    if request.method == "POST" and "delete" in request.POST and audience is not None:
        services.audience_delete(audience=audience, actor=request.membership)
        messages.success(request, _("Audience deleted."))
        return redirect("audience_list", request.tenant.slug)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.audience_save(
                tenant=request.tenant, actor=request.membership, audience=audience,
                **form.cleaned_data,
            )  # fmt: skip
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Audience saved; its members are being computed."))
            return redirect("audience_detail", request.tenant.slug, saved.pk)
    context = {
        "audience": audience,
        "form": form,
        "start": start,
        "start_view": start_view,
        "custom_lost": lost,
        "saved_views": []
        if audience
        else saved_views_visible(member=request.membership).order_by("name", "pk"),
    }
    return render(request, "audiences/audience_form.html", context)


@require_GET
@permission_required(can_manage_audiences)
def audience_detail(request, audience_id: int):
    audience = access_audience(request.membership, audience_id)
    page = keyset_page(
        selectors.audience_members(audience=audience),
        ordering=("-id",),
        size=50,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    context = {
        "audience": audience,
        "stages": selectors.audience_stages(audience),
        "page": page,
        "recent": selectors.audience_recent_changes(audience=audience),
        "custom": services.audience_custom_words(audience=audience),
        "consent_required": REQUIRED_WORDS.get(audience.consent_channel, ""),
        "freeze_form": FreezeForm(initial={"name": f"{audience.name} {timezone.localdate()}"}),
    }
    return render(request, "audiences/audience_detail.html", context)


@require_POST
@permission_required(can_manage_audiences)
def audience_freeze(request, audience_id: int):
    audience = access_audience(request.membership, audience_id)
    form = FreezeForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    snapshot = services.audience_freeze(audience=audience, actor=request.membership, name=name)
    messages.success(
        request,
        ngettext(
            "Saved “%(name)s” with %(count)s contact.",
            "Saved “%(name)s” with %(count)s contacts.",
            snapshot.size,
        )
        % {"name": snapshot.name, "count": snapshot.size},
    )
    return redirect("audience_detail", request.tenant.slug, audience.pk)
