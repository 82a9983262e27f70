"""Merging duplicates by hand: the likely duplicates of a contact, and the merge page where
each field is chosen. Who may merge which pair is crm.merges' to say."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from . import merges
from .access import access_contact
from .http import tenant_url
from .models import Contact
from .services import NotAllowed, ServiceError


@require_GET
def contact_duplicates(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    candidates = merges.likely_duplicates(contact=contact)
    context = {
        "contact": contact,
        "candidates": candidates,
        # admins any of them, sales those sharing a channel, marketers none
        "mergeable": merges.mergeable(
            actor=request.membership, contact=contact, candidates=candidates
        ),
    }
    return render(request, "crm/contact_duplicates.html", context)


@require_http_methods(["GET", "POST"])
def contact_merge(request, contact_id: int, other_id: int):
    """Keeps `contact_id`, removes `other_id`; the page's swap link asks the same with the two
    the other way round (each is merely the other's address). `from` names the contact whose
    duplicates page the member came from, for Cancel."""
    survivor = access_contact(request.membership, contact_id)
    merged = access_contact(request.membership, other_id)
    if survivor.pk == merged.pk:
        raise Http404
    started = request.GET.get("from")
    started = merged if started == str(merged.pk) else survivor
    refusal = None
    if request.method == "POST":
        take = {f for f in merges.MERGE_FIELDS if request.POST.get(f) == "other"}
        try:
            kept = merges.contact_merge(
                survivor=survivor, merged=merged, actor=request.membership, take_from_merged=take
            )
        except NotAllowed as error:
            refusal = error.message
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("“%(merged)s” (#%(merged_id)s) was merged into “%(kept)s” (#%(kept_id)s).")
                % {
                    "merged": merged.name,
                    "merged_id": merged.pk,
                    "kept": kept.name,
                    "kept_id": kept.pk,
                },  # fmt: skip
            )
            return redirect(tenant_url(request, "contact_detail", kept.pk))
    else:  # say so before the choosing, not after
        try:
            merges.merge_check(actor=request.membership, survivor=survivor, merged=merged)
        except NotAllowed as error:
            refusal = error.message
    rows = [
        (name, Contact._meta.get_field(name).verbose_name, getattr(survivor, name),
         getattr(merged, name))
        for name in merges.MERGE_FIELDS
    ]  # fmt: skip
    context = {
        "survivor": survivor,
        "merged": merged,
        "rows": rows,
        "custom_rows": merges.merge_custom_rows(survivor=survivor, merged=merged),
        "refusal": refusal,
        "started": started,
    }
    return render(request, "crm/contact_merge.html", context, status=403 if refusal else 200)
