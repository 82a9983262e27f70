"""Undo: the last destructive action of a page (a tag taken off a contact, a bulk tag, a bulk
move) may be undone, exactly, for a short while (UNDO_WINDOW).

The action opens an Undo in its own transaction (undo_open) and its app keeps beside it, row by
row, what it changed (lifecycle.MoveUndoRow: each contact's stage before; tagging.TagUndoRow:
each assignment put on or taken off). Undoing (the app's service) takes the Undo (undo_take),
puts back exactly those rows or, when any of them changed since, refuses and changes nothing,
then closes it (undo_close). Only the member who acted may undo (crm.permissions.can_undo). A
member has one at a time: the next action's replaces it, and expired ones are cleared away then.

The page after the action offers it: the view keeps the offer in the session for the next page
(undo_offer_keep), whose base template shows it once (crm.templatetags.undo).
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .audit import audit_record
from .models import AuditKind, Membership, Tenant, Undo
from .permissions import can_undo
from .services import NotAllowed, ServiceError

UNDO_WINDOW = timedelta(seconds=60)

TAG_REMOVE, BULK_TAG, BULK_MOVE = "tag_remove", "bulk_tag", "bulk_move"


def undo_open(*, tenant: Tenant, actor: Membership | None, kind: str, details: dict) -> Undo | None:
    """A new undoable action of `actor` (None, the system's: a rule's, an import's, is not
    offered), in the caller's transaction. The member's previous one and every expired one of
    the company go, with the rows kept for them."""
    if actor is None:
        return None
    now = timezone.now()
    Undo.objects.for_tenant(tenant).filter(Q(actor=actor) | Q(expires_at__lte=now)).delete()
    return Undo.objects.create(
        tenant=tenant, actor=actor, kind=kind, details=details, created_at=now,
        expires_at=now + UNDO_WINDOW,
    )  # fmt: skip


def undos_expire(*, tenant: Tenant) -> int:
    """The company's undos whose time is up go, with the rows kept for them: the next action
    clears them too, but a company that stops acting would keep a big bulk move's rows. Returns
    how many went."""
    expired = Undo.objects.for_tenant(tenant).filter(expires_at__lte=timezone.now())
    return expired.delete()[1].get(Undo._meta.label, 0)


def undo_counted(undo: Undo | None, count: int) -> Undo | None:
    """What the action changed, counted once it is done: an action that changed nothing leaves
    nothing to undo."""
    if undo is None:
        return None
    if not count:
        undo.delete()
        return None
    undo.count = count
    undo.save(update_fields=["count"])
    return undo


def undo_take(*, undo: Undo, actor: Membership) -> Undo:
    """The Undo, locked until the caller's transaction ends, if `actor` may undo it now; else a
    ServiceError that says why, and nothing is changed."""
    locked = Undo.objects.for_tenant(undo.tenant).select_for_update().filter(pk=undo.pk).first()
    if locked is None:
        raise ServiceError(_("This can no longer be undone: a later action took its place."))
    if locked.undone_at is not None:
        raise ServiceError(_("This was undone already."))
    if locked.actor_id != actor.pk:
        raise NotAllowed(_("Only the member who did it may undo it."))
    if not can_undo(actor, locked, now=timezone.now()):
        raise ServiceError(_("The time to undo this has passed: nothing was changed."))
    return locked


def undo_close(undo: Undo, *, actor: Membership, subject: str, count: int) -> None:
    """Marks `undo` done (its rows are the app's to delete) and records it in the audit log."""
    undo.undone_at = timezone.now()
    undo.save(update_fields=["undone_at"])
    audit_record(tenant=undo.tenant, actor=actor, kind=AuditKind.UNDONE, subject=subject,
                 count=count, details={"undid": undo.kind, **undo.details})  # fmt: skip


class ChangedSince(ServiceError):
    """Some of what the action changed has changed again: nothing is undone."""

    def __init__(self, count: int, names: list[str]):
        listed = pgettext("between names in a list", ", ").join(names)
        super().__init__(
            _(
                "Nothing was undone: %(count)s of these contacts changed since (%(names)s). "
                "Change them by hand if need be."
            )
            % {"count": count, "names": listed}
            if listed
            else _("Nothing was undone: %(count)s of these contacts changed or went since.")
            % {"count": count}
        )
        self.count = count


# --- the views' side: offering it on the next page --------------------------------------------

OFFER = "undo_offer"


def undo_offer_keep(request, undo: Undo | None, url: str) -> None:
    """Offers `undo` on the next page the member sees (where the action's view sends them)."""
    if undo is None:
        request.session.pop(OFFER, None)
        return
    request.session[OFFER] = {"url": url, "until": undo.expires_at.timestamp()}


def undo_seconds_left(undo: Undo) -> int:
    return max(0, int((undo.expires_at - timezone.now()).total_seconds()))


def undo_offer_take(request) -> dict | None:
    """The offer kept for this page, taken (a page shows it once), unless its time is up."""
    session = getattr(request, "session", None)
    if session is None or OFFER not in session:
        return None
    offer = session.pop(OFFER)
    seconds = offer["until"] - timezone.now().timestamp()
    if seconds <= 0:
        return None
    return {"url": offer["url"], "seconds": int(seconds)}
