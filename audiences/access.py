from crm.access import get_scoped_or_404
from crm.models import Membership

from .models import Audience, AudienceSnapshot


def access_audience(membership: Membership, audience_id: int) -> Audience:
    return get_scoped_or_404(Audience.objects.for_tenant(membership.tenant), audience_id)


def access_snapshot(membership: Membership, snapshot_id: int) -> AudienceSnapshot:
    return get_scoped_or_404(AudienceSnapshot.objects.for_tenant(membership.tenant), snapshot_id)
