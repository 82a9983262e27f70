"""The contact page's consent section (crm/consent.py): each channel's state, and a grant or a
withdrawal recorded by hand."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .access import access_contact
from .consent import CHANNELS, channel_label, consent_history, consent_set, consent_states
from .http import tenant_url
from .models import ConsentSource
from .panels import Panel
from .permissions import can_grant_consent
from .services import NotAllowed, ServiceError


def consent_context(contact, **extra) -> dict:
    return {
        "contact": contact,
        "consent_states": consent_states(contact=contact),
        "consent_history": consent_history(contact=contact),
        **extra,
    }


def consent_panel(request, contact) -> Panel:
    return Panel("crm/partials/consent_panel.html", consent_context(contact), 22)


def _answer(request, contact, **extra):
    if request.htmx:
        return render(request, "crm/partials/consent_panel.html", consent_context(contact, **extra))
    for level, key in ((messages.success, "message"), (messages.error, "error")):
        if extra.get(key):
            level(request, extra[key])
    return redirect(tenant_url(request, "contact_detail", contact.pk))


@require_POST
def contact_consent(request, contact_id: int):
    """Records the contact's consent on a channel as granted (granted=1) or withdrawn (0)."""
    contact = access_contact(request.membership, contact_id)
    channel, granted = request.POST.get("channel", ""), request.POST.get("granted", "")
    if channel not in CHANNELS or granted not in ("0", "1"):
        return _answer(request, contact, error=_("Choose a channel and grant or withdraw."))
    granted = granted == "1"
    if granted and not can_grant_consent(request.membership):
        raise PermissionDenied(
            _("Only admins and marketers may record that a contact agreed to be contacted.")
        )
    try:
        row = consent_set(contact=contact, channel=channel, granted=granted,
                          actor=request.membership, source=ConsentSource.HAND)  # fmt: skip
    except NotAllowed as refused:
        raise PermissionDenied(refused.message) from None
    except ServiceError as refused:
        return _answer(request, contact, error=refused.message)
    words = {"channel": channel_label(channel)}
    if row is None:
        message = (_("Consent for %(channel)s was already granted.") if granted
                   else _("Consent for %(channel)s was already withdrawn.")) % words  # fmt: skip
    else:
        message = (_("Consent for %(channel)s recorded as granted.") if granted
                   else _("Consent for %(channel)s recorded as withdrawn.")) % words  # fmt: skip
    return _answer(request, contact, message=message)
