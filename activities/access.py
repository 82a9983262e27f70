from django.http import Http404

from crm.access import access_contact
from crm.models import Membership

from .models import Activity


def access_activity(membership: Membership, contact_id: int, activity_id: int) -> Activity:
    """An activity of a contact the member may see; 404 for missing and someone else's alike."""
    contact = access_contact(membership, contact_id)
    activity = (
        Activity.objects.for_tenant(membership.tenant)
        .filter(pk=activity_id, contact=contact)
        .first()
    )
    if activity is None:
        raise Http404
    return activity
