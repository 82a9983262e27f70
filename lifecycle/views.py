"""The board, bulk actions and stage settings. Moving one contact is move_views'; audiences are
an app of their own."""

from dataclasses import replace

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import access_undo
from crm.forms import ContactFilterForm
from crm.http import safe_next, tenant_url
from crm.permissions import (
    can_edit_stage_settings,
    permission_required,
)
from crm.selectors import contact_list
from crm.undo import BULK_MOVE, undo_offer_keep
from crm.words import labelled

from . import aliases, bulk_moves, services, undo
from .access import access_stage_alias
from .cards import CARD_FIELDS, CardWriter
from .forms import (
    BulkForm,
    StageAliasForm,
    StageSettingForm,
)
from .panels import funnel_dashboard_context
from .selectors import (
    board_cards,
    board_first_pages,
    funnel_counts,
    owner_stage_counts,
    stage_aliases,
    stage_settings,
)
from .stages import ORDER, RANK

BOARD_PAGE = 20


@require_GET
def board(request):
    owner = "me" if request.GET.get("owner") == "me" else ""
    counts, computed_at = funnel_counts(tenant=request.tenant)
    if owner == "me":
        counts = owner_stage_counts(tenant=request.tenant, owner=request.membership)
    writer = CardWriter(request, owner=owner)
    pages = board_first_pages(
        tenant=request.tenant, viewer=request.membership, owner=owner, size=BOARD_PAGE
    )
    writer.know_tiers([values["id"] for page in pages.values() for values in page.items])
    columns = [
        {"stage": stage, "count": counts[stage].active, "amount": counts[stage].amount,
         "page": replace(pages[stage], items=writer.cards(pages[stage].items, tiers_known=True))}
        for stage in ORDER
    ]  # fmt: skip
    context = {"columns": columns, "owner": owner, "computed_at": computed_at}
    return render(request, "lifecycle/board.html", context)


@require_GET
def board_column(request, stage: str):
    if stage not in RANK:
        raise Http404
    owner = "me" if request.GET.get("owner") == "me" else ""
    page = board_cards(
        tenant=request.tenant,
        stage=stage,
        viewer=request.membership,
        fields=CARD_FIELDS,
        owner=owner,
        after=request.GET.get("after"),
        size=BOARD_PAGE,
    )
    page = replace(page, items=CardWriter(request, owner=owner).cards(page.items))
    context = {"column": {"stage": stage, "page": page}, "owner": owner}
    return render(request, "lifecycle/partials/board_cards.html", context)


def _bulk_summary(request, result, done_message: str) -> None:
    (messages.success if result.done else messages.warning)(request, done_message)
    separator = pgettext("between names in a list", ", ")
    for message, count, sample in result.skipped.values():
        names = separator.join(c.name for c in sample)
        more = _(" and %(n)s more") % {"n": count - len(sample)} if count > len(sample) else ""
        messages.warning(
            request,
            ngettext(
                "Skipped %(count)s contact, %(why)s: %(names)s%(more)s",
                "Skipped %(count)s contacts, %(why)s: %(names)s%(more)s",
                count,
            )
            % {"count": count, "why": message, "names": names, "more": more},
        )


@require_POST
def bulk_action(request):
    form = BulkForm(request.POST)
    back = safe_next(request, reverse("contact_list", args=[request.tenant.slug]))
    if not form.is_valid():
        for error in form.non_field_errors() or [_("Check the bulk action and try again.")]:
            messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    if data["scope"] == "all":
        contacts = contact_list(
            tenant=request.tenant, filters=form.filters(), viewer=request.membership
        )
    else:
        contacts = data["ids"]
    try:
        if data["action"] == "move":
            result = bulk_moves.contacts_bulk_move(
                tenant=request.tenant,
                actor=request.membership,
                contacts=contacts,
                to_stage=data["to_stage"],
                reason=data["reason"],
                undoable=True,
            )
            if result.undo:
                url = tenant_url(request, "contacts_bulk_undo", result.undo.pk)
                undo_offer_keep(request, result.undo, url)
            label = stage_settings(tenant=request.tenant)[data["to_stage"]].display_label
            done = ngettext(
                "Moved %(count)s contact to “%(stage)s”.",
                "Moved %(count)s contacts to “%(stage)s”.",
                result.done,
            ) % {"count": result.done, "stage": label}
        else:
            result = bulk_moves.contacts_bulk_mark_lost(
                tenant=request.tenant,
                actor=request.membership,
                contacts=contacts,
                lost_reason=data["lost_reason"],
                note=data["note"] or data["reason"],
            )
            done = ngettext(
                "Marked %(count)s contact lost.", "Marked %(count)s contacts lost.", result.done
            ) % {"count": result.done}
    except services.ServiceError as error:
        messages.error(request, error.message)
        return redirect(back)
    _bulk_summary(request, result, done)
    return redirect(back)


@require_POST
def bulk_undo(request, undo_id: int):
    """The member's last bulk move, taken back while it may be (lifecycle.undo)."""
    action = access_undo(request.membership, undo_id, kinds=(BULK_MOVE,))
    back = safe_next(request, tenant_url(request, "contact_list"))
    try:
        done = undo.contacts_bulk_move_undo(undo=action, actor=request.membership)
    except services.ServiceError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(
        request,
        ngettext(
            "Undone: %(count)s contact is back in the stage it was in.",
            "Undone: %(count)s contacts are back in the stages they were in.",
            done,
        )
        % {"count": done},
    )
    return redirect(back)


@require_GET
def bulk_count(request):
    form = ContactFilterForm(request.GET)
    count = contact_list(
        tenant=request.tenant, filters=form.filters(), viewer=request.membership
    ).count()
    return render(request, "lifecycle/partials/bulk_all.html", {"count": count})


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_stage_settings)
@vary_on_headers("HX-Request")
def stage_settings_edit(request):
    current = stage_settings(tenant=request.tenant)
    forms_by_stage = {
        stage: StageSettingForm(
            request.POST or None,
            prefix=stage,
            initial={
                "label": setting.label,
                "entry_criteria": setting.entry_criteria,
                "colour": setting.display_colour,
                "requirements": setting.requirements,
            },
        )
        for stage, setting in current.items()
    }
    if request.method == "POST" and all(f.is_valid() for f in forms_by_stage.values()):
        rows = {stage: f.cleaned_data for stage, f in forms_by_stage.items()}
        try:
            services.stage_settings_save(tenant=request.tenant, actor=request.membership, rows=rows)
        except services.ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Stages saved."))
            return redirect("stage_settings", request.tenant.slug)
    rows = [(current[stage], forms_by_stage[stage]) for stage in ORDER]
    named = stage_aliases(tenant=request.tenant)
    alias_rows = [(current[stage], named[stage]) for stage in ORDER]
    status = 400 if request.method == "POST" else 200
    context = {"rows": rows, "alias_rows": alias_rows}
    return render(request, "lifecycle/stage_settings.html", context, status=status)


def _alias_result(request, action, success: str):
    try:
        action()
    except services.ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect(reverse("stage_settings", args=[request.tenant.slug]) + "#aliases")


@require_POST
@permission_required(can_edit_stage_settings)
def stage_alias_add(request, stage: str):
    if stage not in RANK:
        raise Http404
    form = StageAliasForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("name", []):
            messages.error(request, labelled(form.fields["name"].label, error))
        return redirect(reverse("stage_settings", args=[request.tenant.slug]) + "#aliases")
    name = " ".join(form.cleaned_data["name"].split())
    return _alias_result(
        request,
        lambda: aliases.stage_alias_add(
            tenant=request.tenant, actor=request.membership, stage=stage, name=name
        ),
        _("Alias “%(name)s” added.") % {"name": name},
    )


@require_POST
@permission_required(can_edit_stage_settings)
def stage_alias_remove(request, alias_id: int):
    alias = access_stage_alias(request.membership, alias_id)
    return _alias_result(
        request,
        lambda: aliases.stage_alias_remove(alias=alias, actor=request.membership),
        _("Alias “%(name)s” removed.") % {"name": alias.name},
    )


@require_GET
def funnel_panel(request):
    """The dashboard's funnel alone, for its periodic refresh."""
    return render(
        request, "lifecycle/partials/funnel_summary.html", funnel_dashboard_context(request)
    )
