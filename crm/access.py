"""How a view reaches a tenant-owned row by id: scoped first, 404 for missing and foreign alike."""

from django.db import connection
from django.db.models import Q
from django.http import Http404

from .models import Contact, CustomField, Invitation, Membership, SavedView, Undo, User
from .rawreads import from_row, model_columns, width


def get_scoped_or_404(queryset, object_id):
    try:
        return queryset.get(pk=int(object_id))
    except (ValueError, TypeError, queryset.model.DoesNotExist) as exc:
        raise Http404 from exc


# A contact of the member's company with its owner and the owner's user, as select_related would
# give them: every contact page and every action on a contact asks, so it is written by hand.
CONTACT_WITH_OWNER = f"""
SELECT {model_columns(Contact, "c")}, {model_columns(Membership, "m")}, {model_columns(User, "u")}
FROM crm_contact c
LEFT JOIN crm_membership m ON m.id = c.owner_id AND m.tenant_id = c.tenant_id
LEFT JOIN crm_user u ON u.id = m.user_id
WHERE c.tenant_id = %s AND c.id = %s
"""  # noqa: S608 - column names from our own models


def access_contact(membership: Membership, contact_id: int) -> Contact:
    """The member's company's contact `contact_id` (with its owner), or 404."""
    try:
        contact_id = int(contact_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    if not -(2**63) <= contact_id < 2**63:  # beyond bigint: no such row (as the ORM answers)
        raise Http404
    with connection.cursor() as cursor:
        cursor.execute(CONTACT_WITH_OWNER, [membership.tenant_id, contact_id])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    contact_end, owner_end = width(Contact), width(Contact) + width(Membership)
    contact = from_row(Contact, row[:contact_end])
    contact.tenant = membership.tenant  # the same company: no query when a panel reads it
    if contact.owner_id is not None and row[contact_end] is not None:
        owner = from_row(Membership, row[contact_end:owner_end])
        owner.user = from_row(User, row[owner_end:])
        contact.owner = owner
    return contact


def access_membership(membership: Membership, membership_id: int) -> Membership:
    qs = Membership.objects.for_tenant(membership.tenant).select_related("user")
    return get_scoped_or_404(qs, membership_id)


def access_invitation(membership: Membership, invitation_id: int) -> Invitation:
    return get_scoped_or_404(Invitation.objects.for_tenant(membership.tenant), invitation_id)


def access_undo(membership: Membership, undo_id: int, *, kinds: tuple[str, ...]) -> Undo:
    """The member's own undoable action `undo_id` of one of `kinds`, or 404: a colleague's is
    as unknown as another company's."""
    undos = Undo.objects.for_tenant(membership.tenant).filter(actor=membership, kind__in=kinds)
    return get_scoped_or_404(undos, undo_id)


def access_saved_view(membership: Membership, view_id: int) -> SavedView:
    """A saved view the member may open (their own, or one shared with the company), or 404:
    a colleague's private view is as unknown as another company's."""
    views = SavedView.objects.for_tenant(membership.tenant).filter(
        Q(owner=membership) | Q(shared=True)
    )
    return get_scoped_or_404(views.select_related("owner__user"), view_id)


def access_custom_field(membership: Membership, field_id: int) -> CustomField:
    """One of the member's company's custom fields, or 404."""
    return get_scoped_or_404(CustomField.objects.for_tenant(membership.tenant), field_id)
