from crm.access import get_scoped_or_404
from crm.models import Membership

from .models import Tier


def access_tier(membership: Membership, tier_id: int) -> Tier:
    """A tier of the member's company; 404 for missing and someone else's alike."""
    return get_scoped_or_404(Tier.objects.for_tenant(membership.tenant), tier_id)
