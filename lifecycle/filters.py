"""What lifecycle adds to the contact list: a stage named by its label or an alias, in the stage
filter (a link, a bookmark, another system's address) or as the whole search text."""

from django.db.models import Q

from .selectors import stage_resolve
from .stages import RANK


def contact_stage_filters(tenant, filters) -> tuple[Q | None, Q | None]:
    also_matches = None
    if filters.q.strip():
        stage = stage_resolve(tenant=tenant, text=filters.q)
        if stage is not None:
            also_matches = Q(stage=stage)
    must_match = None
    if filters.stage and filters.stage not in RANK:  # a key is filtered by crm itself
        stage = stage_resolve(tenant=tenant, text=filters.stage)
        # a name no stage answers to matches nothing, rather than every contact
        must_match = Q(stage=stage) if stage is not None else Q(pk__in=[])
    return also_matches, must_match
