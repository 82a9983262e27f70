"""How a view reaches a tenant-owned row by id: scoped first, 404 for missing and foreign alike."""

from django.http import Http404

from .models import Contact, Invitation, Membership


def get_scoped_or_404(queryset, object_id):
    try:
        return queryset.get(pk=int(object_id))
    except (ValueError, TypeError, queryset.model.DoesNotExist) as exc:
        raise Http404 from exc


def access_contact(membership: Membership, contact_id: int) -> Contact:
    qs = Contact.objects.for_tenant(membership.tenant).select_related("owner__user")
    contact = get_scoped_or_404(qs, contact_id)
    contact.tenant = membership.tenant  # the same company: no query when a panel reads it
    return contact


def access_membership(membership: Membership, membership_id: int) -> Membership:
    qs = Membership.objects.for_tenant(membership.tenant).select_related("user")
    return get_scoped_or_404(qs, membership_id)


def access_invitation(membership: Membership, invitation_id: int) -> Invitation:
    return get_scoped_or_404(Invitation.objects.for_tenant(membership.tenant), invitation_id)
