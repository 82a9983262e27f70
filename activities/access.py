from django.http import Http404

from crm.access import access_contact, get_scoped_or_404
from crm.models import Membership

from .models import Activity, AssignmentRule, Task


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


def access_task(membership: Membership, task_id: int) -> Task:
    """A task of the member's company; 404 for missing and someone else's alike."""
    return get_scoped_or_404(Task.objects.for_tenant(membership.tenant), task_id)


def access_assignment_rule(membership: Membership, rule_id: int) -> AssignmentRule:
    """An assignment rule of the member's company; 404 for missing and someone else's alike."""
    qs = AssignmentRule.objects.for_tenant(membership.tenant).select_related("tenant", "tag")
    return get_scoped_or_404(qs, rule_id)
