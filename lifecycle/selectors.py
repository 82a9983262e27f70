"""Reads for the funnel: the tenant's stage words, history, stored counts, board columns."""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.utils import translation

from crm.caching import kept
from crm.models import Contact, Membership, Tenant
from crm.normalize import normalize_text
from crm.pagination import KeysetPage, first_page, keyset_page

from .models import FunnelCount, StageAlias, StageChange, StageSetting
from .stages import DEFAULT_REQUIREMENTS, ORDER, Stage, Status

BOARD_ORDERING = ("-stage_entered_at", "-id")


def _settings_cache_key(tenant_id: int) -> str:
    return f"stage-settings:{tenant_id}"


def _names_cache_key(tenant_id: int) -> str:
    return f"stage-names:{tenant_id}"


def stage_settings_changed(*, tenant: Tenant) -> None:
    """Called by the services that write them (labels and aliases)."""
    cache.delete_many([_settings_cache_key(tenant.pk), _names_cache_key(tenant.pk)])


def stage_settings(*, tenant: Tenant) -> dict[str, StageSetting]:
    """The tenant's setting for each of the seven stages, in funnel order (defaults unsaved).
    Read on nearly every page and changed rarely, so kept in the cache until an admin saves."""
    saved = kept(
        _settings_cache_key(tenant.pk),
        lambda: {s.stage: s for s in StageSetting.objects.for_tenant(tenant)},
    )
    return {
        stage: saved.get(stage)
        or StageSetting(
            tenant=tenant, stage=stage, requirements=DEFAULT_REQUIREMENTS.get(stage, [])
        )
        for stage in ORDER
    }


# "02-潜客" is also understood as "潜客": the numbering offices put before a stage's name
_NUMBERING = re.compile(r"^\d+\s*[-_.、 ]\s*")


def stage_name_key(text: str) -> str:
    """How stage names are compared: full-width letters, digits and dashes as their ASCII twins
    (NFKC, as phones are), spaces folded, case ignored."""
    return normalize_text(unicodedata.normalize("NFKC", text or "")).casefold()


def default_stage_names(stage: str) -> set[str]:
    """The standard name of a stage in every language we speak."""
    names = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names.add(str(Stage(stage).label))
    return names


def _stage_names_of(labels: dict[str, str], aliases: list[tuple[str, str]]) -> dict[str, str]:
    """Name key -> stage key. Later layers win where two stages could claim a name: the
    numbering-less forms, the standard names, the aliases, the company's labels, the keys."""
    names: dict[str, str] = {}
    for stage, label in labels.items():
        names.setdefault(stage_name_key(_NUMBERING.sub("", label)), stage)
    for stage, alias_key in aliases:
        names.setdefault(stage_name_key(_NUMBERING.sub("", alias_key)), stage)
    for stage in ORDER:
        names.update(dict.fromkeys(map(stage_name_key, default_stage_names(stage)), stage))
    names.update((alias_key, stage) for stage, alias_key in aliases)
    names.update((stage_name_key(label), stage) for stage, label in labels.items() if label)
    names.update((stage, stage) for stage in ORDER)
    names.pop("", None)
    return names


def stage_names(*, tenant: Tenant, fresh: bool = False) -> dict[str, str]:
    """Every name the company's stages are known by (stage_name_key form) -> the stage key:
    its key, the company's label with and without its numbering ("02-"), the standard names in
    both languages and the aliases. Cached with the stage settings; `fresh` reads the rows (the
    services check names with it, under their lock)."""

    def read() -> dict[str, str]:
        if fresh:
            labels = dict(StageSetting.objects.for_tenant(tenant).values_list("stage", "label"))
        else:
            labels = {stage: s.label for stage, s in stage_settings(tenant=tenant).items()}
        aliases = list(StageAlias.objects.for_tenant(tenant).values_list("stage", "name_key"))
        return _stage_names_of(labels, aliases)

    return read() if fresh else kept(_names_cache_key(tenant.pk), read)


def stage_resolve(*, tenant: Tenant, text: str) -> str | None:
    """The stage a name means for this company, or None: a key, the label (with or without its
    "02-"), a standard name in Chinese or English, or an alias; case and spaces ignored."""
    return stage_names(tenant=tenant).get(stage_name_key(text or ""))


def stage_aliases(*, tenant: Tenant) -> dict[str, list[StageAlias]]:
    """Each stage's aliases, for the stage settings page (one query)."""
    found: dict[str, list[StageAlias]] = {stage: [] for stage in ORDER}
    for alias in StageAlias.objects.for_tenant(tenant).order_by("name", "id"):
        found[alias.stage].append(alias)
    return found


@dataclass
class StageCount:
    active: int
    lost: int
    amount: Decimal = Decimal(0)  # the sum of the active contacts' expected amounts


def funnel_counts(*, tenant: Tenant) -> tuple[dict[str, StageCount], object]:
    """Stored counts per stage and when they were computed (None: never yet)."""
    counts = {stage: StageCount(0, 0) for stage in ORDER}
    computed_at = None
    for row in FunnelCount.objects.for_tenant(tenant):
        setattr(counts[row.stage], row.status, row.count)
        if row.status == Status.ACTIVE:
            counts[row.stage].amount = row.amount
        computed_at = max(computed_at, row.computed_at) if computed_at else row.computed_at
    return counts, computed_at


def contact_counts_stored(*, tenant: Tenant) -> dict[tuple[str, str], int] | None:
    """The stored counts as {(stage, status): count}, for the contact list's total (crm reads
    them through register_stored_counts); None before the first recompute stored any."""
    counts, computed_at = funnel_counts(tenant=tenant)
    if computed_at is None:
        return None
    return {(stage, status): getattr(count, status)
            for stage, count in counts.items() for status in Status.values}  # fmt: skip


def counts_after_move(
    *, tenant: Tenant, change: StageChange, amount: Decimal | None = None
) -> dict[str, StageCount]:
    """Stored counts as they are once `change` is counted: if the recompute has not run yet
    (a real worker, a moment later), the one move (and the contact's expected `amount`) is
    added to what is stored."""
    counts, computed_at = funnel_counts(tenant=tenant)
    if computed_at is None or computed_at < change.created_at:
        amount = amount or Decimal(0)
        if change.from_status == Status.ACTIVE:
            left = counts[change.from_stage]
            left.active = max(left.active - 1, 0)
            left.amount = max(left.amount - amount, Decimal(0))
        if change.to_status == Status.ACTIVE:
            counts[change.to_stage].active += 1
            counts[change.to_stage].amount += amount
    return counts


def owner_stage_counts(*, tenant: Tenant, owner: Membership) -> dict[str, StageCount]:
    """Live counts (and expected amounts) of one member's contacts: bounded by what one person
    owns, not the tenant."""
    counts = {stage: StageCount(0, 0) for stage in ORDER}
    rows = (
        Contact.objects.for_tenant(tenant)
        .filter(owner=owner)
        .order_by()
        .values("stage", "status")
        .annotate(n=Count("id"), amount=Sum("expected_amount"))
    )
    for row in rows:
        count = counts[row["stage"]]
        setattr(count, row["status"], row["n"])
        if row["status"] == Status.ACTIVE:
            count.amount = row["amount"] or Decimal(0)
    return counts


# Each column's first page of the board in one statement: per stage, its latest active arrivals
# along the (tenant, status, stage, stage_entered_at, id) index. Seven ORM queries cost ~3 ms of
# Python on every board; this one a tenth of that. The company is named here as for_tenant()
# would (and row-level security checks it again).
BOARD_FIRST_PAGES = """
SELECT c.id, c.name, s.stage, c.stage_version, c.stage_entered_at, c.owner_id
FROM unnest(%(stages)s::text[]) AS s(stage)
CROSS JOIN LATERAL (
    SELECT id, name, stage_version, stage_entered_at, owner_id FROM crm_contact
    WHERE tenant_id = %(tenant)s AND status = 'active' AND stage = s.stage
      AND (%(owner)s::bigint IS NULL OR owner_id = %(owner)s::bigint)
    ORDER BY stage_entered_at DESC, id DESC
    LIMIT %(size)s + 1
) c
"""
BOARD_FIELDS = ("id", "name", "stage", "stage_version", "stage_entered_at", "owner_id")


def board_first_pages(
    *, tenant: Tenant, viewer: Membership, owner: str = "", size: int = 20
) -> dict[str, KeysetPage]:
    """The first page of every column, as plain values of BOARD_FIELDS: {stage: page}."""
    with connection.cursor() as cursor:
        cursor.execute(BOARD_FIRST_PAGES, {
            "stages": list(ORDER), "tenant": tenant.pk, "size": size,
            "owner": viewer.pk if owner == "me" else None,
        })  # fmt: skip
        rows = [dict(zip(BOARD_FIELDS, row, strict=True)) for row in cursor.fetchall()]
    columns: dict[str, list[dict]] = {stage: [] for stage in ORDER}
    for row in rows:
        columns[row["stage"]].append(row)
    return {stage: first_page(found, ordering=BOARD_ORDERING, size=size)
            for stage, found in columns.items()}  # fmt: skip


def board_cards(
    *,
    tenant: Tenant,
    stage: str,
    viewer: Membership,
    fields: tuple[str, ...],
    owner: str = "",
    after: str | None = None,
    size: int = 20,
) -> KeysetPage:
    """A board column's page: active contacts in `stage`, latest arrivals first, as plain
    values of `fields` (lifecycle/cards.py writes the cards)."""
    qs: QuerySet = Contact.objects.for_tenant(tenant).filter(status=Status.ACTIVE, stage=stage)
    if owner == "me":
        qs = qs.filter(owner=viewer)
    fields = tuple(dict.fromkeys((*fields, "stage_entered_at", "id")))  # the cursor's too
    return keyset_page(qs.values(*fields), ordering=BOARD_ORDERING, size=size, after=after)
