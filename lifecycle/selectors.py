"""Reads for the funnel: the tenant's stage words, history, stored counts, board columns."""

import contextlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, QuerySet

from crm.models import Contact, Membership, Tenant
from crm.pagination import KeysetPage, keyset_page

from .models import FunnelCount, StageChange, StageSetting
from .stages import DEFAULT_REQUIREMENTS, ORDER, Status

BOARD_ORDERING = ("-stage_entered_at", "-id")


def _settings_cache_key(tenant_id: int) -> str:
    return f"stage-settings:{tenant_id}"


def stage_settings_changed(*, tenant: Tenant) -> None:
    """Called by the one service that writes them."""
    cache.delete(_settings_cache_key(tenant.pk))


def stage_settings(*, tenant: Tenant) -> dict[str, StageSetting]:
    """The tenant's setting for each of the seven stages, in funnel order (defaults unsaved).
    Read on nearly every page and changed rarely, so kept in the cache until an admin saves."""
    key = _settings_cache_key(tenant.pk)
    try:
        saved = cache.get(key)
    except Exception:  # the cache is an optimisation: without it, read the rows
        saved = None
    if saved is None:
        saved = {s.stage: s for s in StageSetting.objects.for_tenant(tenant)}
        with contextlib.suppress(Exception):  # see above
            cache.set(key, saved, timeout=3600)
    return {
        stage: saved.get(stage)
        or StageSetting(
            tenant=tenant, stage=stage, requirements=DEFAULT_REQUIREMENTS.get(stage, [])
        )
        for stage in ORDER
    }


def stage_history(*, contact: Contact) -> list[StageChange]:
    return list(
        StageChange.objects.for_tenant(contact.tenant)
        .filter(contact=contact)
        .select_related("actor__user")
        .order_by("-created_at", "-id")
    )


@dataclass
class StageCount:
    active: int
    lost: int


def funnel_counts(*, tenant: Tenant) -> tuple[dict[str, StageCount], object]:
    """Stored counts per stage and when they were computed (None: never yet)."""
    counts = {stage: StageCount(0, 0) for stage in ORDER}
    computed_at = None
    for row in FunnelCount.objects.for_tenant(tenant):
        setattr(counts[row.stage], row.status, row.count)
        computed_at = max(computed_at, row.computed_at) if computed_at else row.computed_at
    return counts, computed_at


def counts_after_move(*, tenant: Tenant, change: StageChange) -> dict[str, StageCount]:
    """Stored counts as they are once `change` is counted: if the recompute has not run yet
    (a real worker, a moment later), the one move is added to what is stored."""
    counts, computed_at = funnel_counts(tenant=tenant)
    if computed_at is None or computed_at < change.created_at:
        if change.from_status == Status.ACTIVE:
            counts[change.from_stage].active = max(counts[change.from_stage].active - 1, 0)
        if change.to_status == Status.ACTIVE:
            counts[change.to_stage].active += 1
    return counts


def owner_stage_counts(*, tenant: Tenant, owner: Membership) -> dict[str, StageCount]:
    """Live counts of one member's contacts: bounded by what one person owns, not the tenant."""
    counts = {stage: StageCount(0, 0) for stage in ORDER}
    rows = (
        Contact.objects.for_tenant(tenant)
        .filter(owner=owner)
        .order_by()
        .values("stage", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        setattr(counts[row["stage"]], row["status"], row["n"])
    return counts


def board_cards(
    *,
    tenant: Tenant,
    stage: str,
    viewer: Membership,
    owner: str = "",
    after: str | None = None,
    size: int = 20,
) -> KeysetPage:
    qs: QuerySet = (
        Contact.objects.for_tenant(tenant)
        .filter(status=Status.ACTIVE, stage=stage)
        .select_related("owner__user")
    )
    if owner == "me":
        qs = qs.filter(owner=viewer)
    return keyset_page(qs, ordering=BOARD_ORDERING, size=size, after=after)
