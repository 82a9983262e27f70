from crm.access import get_scoped_or_404
from crm.models import Membership

from .models import StageAlias


def access_stage_alias(membership: Membership, alias_id: int) -> StageAlias:
    return get_scoped_or_404(StageAlias.objects.for_tenant(membership.tenant), alias_id)
