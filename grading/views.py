"""Grading on the pages: Settings → Tiers (the scheme and the thresholds, admins) and the
at-risk list (everyone; sales start from their own)."""

from datetime import datetime

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.http import tenant_url
from crm.permissions import can_edit_company_settings, permission_required
from crm.selectors import member_names
from crm.services import ServiceError

from . import selectors, services
from .access import access_tier
from .forms import GradingSettingsForm, TierForm


def _tiers_page(request, *, form=None, settings_form=None, editing=None, status=200):
    tenant = request.tenant
    settings = selectors.settings_of(tenant=tenant)
    context = {
        "tiers": selectors.tiers_of(tenant=tenant),
        "distribution": selectors.grade_distribution(tenant=tenant),
        "form": form or TierForm(),
        "settings_form": settings_form or GradingSettingsForm(instance=settings),
        "grading": settings,
        "editing": editing,
    }
    return render(request, "grading/tier_list.html", context, status=status)


def _save_tier(request, form, tier=None):
    """The form's tier saved, or the page again with what was wrong."""
    if form.is_valid():
        try:
            services.tier_save(tenant=request.tenant, actor=request.membership, tier=tier,
                               **form.cleaned_data)  # fmt: skip
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Tier saved. Customers are graded again in a moment."))
            return redirect(tenant_url(request, "tier_list"))
    return _tiers_page(request, form=form, editing=tier, status=422)


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_company_settings)
def tier_list(request):
    if request.method == "GET":
        return _tiers_page(request)
    return _save_tier(request, TierForm(request.POST))


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_company_settings)
def tier_edit(request, tier_id: int):
    tier = access_tier(request.membership, tier_id)
    if request.method == "GET":
        initial = {name: getattr(tier, name) for name in TierForm.base_fields}
        return _tiers_page(request, form=TierForm(initial=initial), editing=tier)
    return _save_tier(request, TierForm(request.POST), tier)


@require_POST
@permission_required(can_edit_company_settings)
def tier_delete(request, tier_id: int):
    tier = access_tier(request.membership, tier_id)
    try:
        services.tier_delete(tier=tier, actor=request.membership)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Tier “%(name)s” deleted.") % {"name": tier.name})
    return redirect(tenant_url(request, "tier_list"))


@require_POST
@permission_required(can_edit_company_settings)
def grading_settings(request):
    settings = selectors.settings_of(tenant=request.tenant)
    form = GradingSettingsForm(request.POST, instance=settings)
    if form.is_valid():
        try:
            services.grading_settings_save(tenant=request.tenant, actor=request.membership,
                                           **form.cleaned_data)  # fmt: skip
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Thresholds saved. Customers are graded again."))
            return redirect(tenant_url(request, "tier_list"))
    # a ModelForm's is_valid() wrote the bad values onto the instance: show the saved ones
    return _tiers_page(request, settings_form=form, status=422)


def _after(text: str | None) -> tuple[datetime, int] | None:
    """Where the "More" link said the next page starts; anything else starts at the top."""
    try:
        at, pk = (text or "").split("~")
        moment = datetime.fromisoformat(at)
        return (moment, int(pk)) if moment.tzinfo else None
    except ValueError:
        return None


@require_GET
def at_risk_list(request):
    """Customers drifting away, the longest quiet first; `?owner=me` narrows it to one's own."""
    mine = request.GET.get("owner") == "me"
    rows, more = selectors.at_risk_page(
        tenant=request.tenant,
        owner_id=request.membership.pk if mine else None,
        after=_after(request.GET.get("after")),
    )
    names = {m.pk: m.display_name for m in member_names(tenant=request.tenant)}
    context = {
        "rows": rows,
        "more": f"{more[0].isoformat()}~{more[1]}" if more else "",
        "mine": mine,
        "names": names,
        "grading": selectors.settings_of(tenant=request.tenant),
        "total": selectors.grade_distribution(tenant=request.tenant).count_of("at_risk"),
    }
    return render(request, "grading/at_risk_list.html", context)
