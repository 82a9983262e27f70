"""Moving one contact: to another stage, lost, active again. A move is made on the contact page
or on the board, with htmx or as a plain form; each of those answers in its own way, and each
way is one class below (moved, refused, or asked to fill in what the stage requires)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event

from crm.access import access_contact
from crm.forms import add_duplicate_errors
from crm.http import safe_next
from crm.services import DuplicateContactError

from . import services
from .cards import CardWriter, card_values
from .forms import CompleteMoveForm, LostForm, MoveForm, ReopenForm
from .panels import stage_panel_context
from .selectors import counts_after_move, funnel_counts, owner_stage_counts, stage_settings
from .stages import REQUIREMENTS


class PlainAnswer:
    """A form posted without htmx: a message, and back to the page the move was made on."""

    def __init__(self, request, origin: str):
        self.request, self.origin = request, origin

    def back(self, contact):
        detail = reverse("contact_detail", args=[self.request.tenant.slug, contact.pk])
        return redirect(safe_next(self.request, detail))

    def moved(self, contact, message: str, *, change=None, filled: bool = False):
        messages.success(self.request, message)
        return self.back(contact)

    def refused(self, contact, message: str, **kept):
        """`kept`: the stage panel's forms as the user filled them (htmx answers show them)."""
        messages.error(self.request, message)
        return self.back(contact)

    def ask(self, contact, form, to_stage: str, *, status: int = 200):
        """The stage asks for fields or a reason first: a page with the form."""
        return render(self.request, "lifecycle/complete_move.html",
                      self.asking(contact, form, to_stage), status=status)  # fmt: skip

    def asking(self, contact, form, to_stage: str) -> dict:
        return {"contact": contact, "form": form, "to_stage": to_stage, "origin": self.origin,
                "next": safe_next(self.request, "")}  # fmt: skip


class ContactPageAnswer(PlainAnswer):
    """htmx on the contact page: its stage panel is swapped in place."""

    def moved(self, contact, message: str, *, change=None, filled: bool = False):
        if filled:  # fields on the page changed too: show the whole page again
            messages.success(self.request, message)
            detail = reverse("contact_detail", args=[self.request.tenant.slug, contact.pk])
            return HttpResponseClientRedirect(detail)
        context = stage_panel_context(self.request, contact, message=message)
        response = render(self.request, "lifecycle/partials/stage_panel.html", context)
        # Other panels of the contact page (its history) refresh themselves on this.
        return trigger_client_event(response, "contact-changed")

    def refused(self, contact, message: str, **kept):
        context = stage_panel_context(self.request, contact, error=message, **kept)
        return render(self.request, "lifecycle/partials/stage_panel.html", context)

    def ask(self, contact, form, to_stage: str, *, status: int = 200):
        """In the dialog; 200 even when the form has errors: htmx only swaps successes in."""
        context = self.asking(contact, form, to_stage)
        response = render(self.request, "lifecycle/partials/complete_move.html", context)
        return retarget(reswap(response, "innerHTML"), "#dialog")


class BoardAnswer(ContactPageAnswer):
    """htmx on the board: the card moves and the column counts change; a refusal shows above
    the board; a question opens in the same dialog as on the contact page."""

    @property
    def mine(self) -> bool:
        return self.request.POST.get("owner") == "me"

    def _card(self, contact):
        writer = CardWriter(self.request, owner="me" if self.mine else "")
        writer.know_tiers([contact.pk])
        return writer.card(card_values(contact), just_moved=True)

    def moved(self, contact, message: str, *, change=None, filled: bool = False):
        if self.mine:
            counts = owner_stage_counts(tenant=self.request.tenant, owner=self.request.membership)
        else:
            counts = counts_after_move(
                tenant=self.request.tenant, change=change, amount=contact.expected_amount
            )
        card = self._card(contact)
        context = {"contact": contact, "card": card, "counts": counts, "message": message}
        return render(self.request, "lifecycle/partials/board_moved.html", context)

    def refused(self, contact, message: str, **kept):
        context = {"error": message}
        if self.request.POST.get("version") != str(contact.stage_version):
            # The card showed the contact as it was (someone moved it since): it goes where the
            # contact is now, or leaves the board if the contact is lost or no longer one's own.
            tenant, member = self.request.tenant, self.request.membership
            shown = not contact.is_lost and (not self.mine or contact.owner_id == member.pk)
            counts = (owner_stage_counts(tenant=tenant, owner=member) if self.mine
                      else funnel_counts(tenant=tenant)[0])  # fmt: skip
            context |= {"contact": contact, "card": self._card(contact) if shown else None,
                        "counts": counts}  # fmt: skip
        response = render(self.request, "lifecycle/partials/board_message.html", context)
        return retarget(reswap(response, "innerHTML"), "#board-messages")


def answer_for(request, *, origin: str | None = None) -> PlainAnswer:
    if origin is None:
        origin = "board" if request.POST.get("origin") == "board" else "detail"
    if not request.htmx:
        return PlainAnswer(request, origin)
    return BoardAnswer(request, origin) if origin == "board" else ContactPageAnswer(request, origin)


def _completing(request) -> CompleteMoveForm | None:
    """The dialog's form, when the move comes back with the fields the stage asked for."""
    if not request.POST.get("complete"):
        return None
    return CompleteMoveForm(
        request.POST,
        tenant=request.tenant,
        missing=[k for k in request.POST.getlist("missing") if k in REQUIREMENTS],
        needs_reason=request.POST.get("needs_reason") == "1",
    )


@require_POST
def contact_move(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    answer = answer_for(request)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return answer.refused(contact, form.refusal(_("Choose a stage to move to.")))
    to_stage, reason = form.cleaned_data["to_stage"], form.cleaned_data["reason"]
    completing, fill = _completing(request), None
    if completing is not None:
        if not completing.is_valid():
            return answer.ask(contact, completing, to_stage, status=400)
        fill = completing.fill_values()
        reason = completing.cleaned_data.get("reason") or reason
    try:
        change = services.contact_stage_move(
            contact=contact, actor=request.membership, to_stage=to_stage, reason=reason,
            expected_version=form.cleaned_data["version"], fill=fill,
        )  # fmt: skip
    except DuplicateContactError as error:
        if completing is None:
            return answer.refused(contact, error.message)
        add_duplicate_errors(completing, error, tenant=request.tenant)
        return answer.ask(contact, completing, to_stage, status=400)
    except services.MissingRequirements as missing:
        ask = CompleteMoveForm(tenant=request.tenant, missing=missing.missing, needs_reason=False)
        return answer.ask(contact, ask, to_stage)
    except services.MoveRefused as refused:
        if refused.code == "reason_required":
            ask = CompleteMoveForm(tenant=request.tenant, missing=[], needs_reason=True)
            return answer.ask(contact, ask, to_stage)
        return answer.refused(access_contact(request.membership, contact_id), refused.message)
    except services.ServiceError as error:
        return answer.refused(contact, error.message)
    contact = access_contact(request.membership, contact_id)
    label = stage_settings(tenant=request.tenant)[to_stage].display_label
    message = _("%(name)s moved to “%(stage)s”.") % {"name": contact.name, "stage": label}
    return answer.moved(contact, message, change=change, filled=bool(fill))


@require_POST
def contact_lost(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    answer = answer_for(request, origin="detail")  # marked lost on the contact page only
    form = LostForm(request.POST)
    kept = {"lost_form": form, "lost_open": True}  # a refusal reopens it as it was filled
    if not form.is_valid():
        message = form.refusal(_("Choose why the contact was lost."))
        if "note" in form.errors:
            message = form.errors["note"][0]
        return answer.refused(contact, message, **kept)
    try:
        services.contact_mark_lost(
            contact=contact, actor=request.membership,
            lost_reason=form.cleaned_data["lost_reason"], note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        )  # fmt: skip
    except services.ServiceError as error:
        # as it is now (someone may have moved it meanwhile), with what the user chose
        return answer.refused(access_contact(request.membership, contact_id), error.message, **kept)
    contact = access_contact(request.membership, contact_id)
    return answer.moved(contact, _("%(name)s is marked lost.") % {"name": contact.name})


@require_POST
def contact_reopen(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    answer = answer_for(request, origin="detail")
    form = ReopenForm(request.POST)
    if not form.is_valid():
        message = form.refusal(_("The reason is too long: 500 characters at most."))
        return answer.refused(contact, message)
    try:
        services.contact_reopen(
            contact=contact, actor=request.membership, reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )  # fmt: skip
    except services.ServiceError as error:
        return answer.refused(contact, error.message)
    contact = access_contact(request.membership, contact_id)
    return answer.moved(contact, _("%(name)s is active again.") % {"name": contact.name})
