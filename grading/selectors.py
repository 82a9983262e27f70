"""Reads of grading: the company's tiers, a contact's grade, the distribution the dashboard
shows, and the at-risk list sales work through."""

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Activity
from crm.caching import kept
from crm.models import Contact, Tenant
from tagging.models import Event
from tagging.selectors import event_kinds

from .models import ActivityStatus, ContactGrade, GradeChange, GradingSettings, Tier


# The company's tiers and thresholds are read on the contact page, the list and the dashboard,
# and changed rarely: each kept in the cache until an admin saves (services call
# scheme_changed).
def _tiers_key(tenant_id: int) -> str:
    return f"grading:tiers:{tenant_id}"


def _settings_key(tenant_id: int) -> str:
    return f"grading:settings:{tenant_id}"


def scheme_changed(*, tenant: Tenant) -> None:
    with contextlib.suppress(Exception):  # the cache is an optimisation (crm.caching)
        cache.delete_many([_tiers_key(tenant.pk), _settings_key(tenant.pk)])


def tiers_of(*, tenant: Tenant) -> list[Tier]:
    """The company's tiers, lowest threshold first."""
    return kept(_tiers_key(tenant.pk),
                lambda: list(Tier.objects.for_tenant(tenant).order_by("threshold")))  # fmt: skip


def settings_of(*, tenant: Tenant) -> GradingSettings:
    """The company's thresholds (the defaults, unsaved, until an admin saves theirs)."""
    saved = kept(
        _settings_key(tenant.pk),
        lambda: GradingSettings.objects.for_tenant(tenant).first() or "defaults",
    )
    return saved if isinstance(saved, GradingSettings) else GradingSettings(tenant=tenant)


@dataclass(frozen=True)
class Grade:
    """What a contact's page says of its grade."""

    tier: Tier | None
    status: str  # an ActivityStatus key
    paid: Decimal  # paid in the tiers' window (or in all)
    payments: int
    last_seen_at: datetime | None
    window_days: int | None
    next_tier: Tier | None  # the one above, to say how far it is

    @property
    def status_label(self) -> str:
        return str(ActivityStatus(self.status).label)

    @property
    def to_next(self):
        return self.next_tier.threshold - self.paid if self.next_tier else None


def status_by_age(*, contact: Contact, settings: GradingSettings, now: datetime) -> str:
    """The status of a contact that never did anything: new while young, then quiet."""
    young = contact.created_at >= now - timedelta(days=settings.new_days)
    return ActivityStatus.NEW if young else ActivityStatus.DORMANT


def contact_grade(*, contact: Contact, now: datetime | None = None) -> Grade:
    tenant = contact.tenant
    settings = settings_of(tenant=tenant)
    row = ContactGrade.objects.for_tenant(tenant).filter(contact=contact).first()
    tiers = tiers_of(tenant=tenant)
    tier = next((t for t in tiers if row and t.pk == row.tier_id), None)
    paid = row.paid if row else 0
    above = [t for t in tiers if t.threshold > paid]
    status = row.status if row else status_by_age(contact=contact, settings=settings,
                                                  now=now or timezone.now())  # fmt: skip
    return Grade(
        tier=tier,
        status=status,
        paid=paid,
        payments=row.payments if row else 0,
        last_seen_at=row.last_seen_at if row else None,
        window_days=settings.window_days,
        next_tier=above[0] if above else None,
    )


def tier_changes_of(*, contact: Contact, limit: int = 3) -> list[GradeChange]:
    """The contact's latest tier changes, newest first, with the figures behind each."""
    return list(
        GradeChange.objects.for_tenant(contact.tenant)
        .filter(contact=contact, what=GradeChange.What.TIER)
        .order_by("-created_at", "-id")[:limit]
    )


def tier_names_of(*, tenant: Tenant, contact_ids: list[int]) -> dict[int, str]:
    """{contact id: its tier's name} for the contacts holding one: one query (none when the
    company has no tiers)."""
    names = {tier.pk: tier.name for tier in tiers_of(tenant=tenant)}
    if not names or not contact_ids:
        return {}
    held = (
        ContactGrade.objects.for_tenant(tenant)
        .filter(contact_id__in=contact_ids, tier__isnull=False)
        .values_list("contact_id", "tier_id")
    )
    return {contact_id: names[tier_id] for contact_id, tier_id in held if tier_id in names}


# --- the dashboard's distribution -------------------------------------------------------------


def _distribution_key(tenant_id: int) -> str:
    return f"grading:distribution:{tenant_id}"


def distribution_changed(*, tenant: Tenant) -> None:
    """Grades were written or deleted (a recompute, a merge, contacts deleted): the dashboard
    counts again."""
    with contextlib.suppress(Exception):  # the cache is an optimisation (crm.caching)
        cache.delete(_distribution_key(tenant.pk))


@dataclass(frozen=True)
class Distribution:
    tiers: list[tuple[Tier, int]]  # each tier, highest first, and how many hold it
    statuses: list[tuple[str, str, int]]  # (status key, label, count) of graded contacts
    graded: int

    @property
    def tiered(self) -> int:
        return sum(n for _tier, n in self.tiers)

    def count_of(self, status: str) -> int:
        return next((n for key, _label, n in self.statuses if key == status), 0)

    @property
    def at_risk(self) -> int:
        return self.count_of(ActivityStatus.AT_RISK)


def grade_distribution(*, tenant: Tenant) -> Distribution:
    """How many customers hold each tier, and how many graded contacts are in each status:
    counted from the grades once per recompute (kept in the cache until one writes)."""

    def count() -> tuple[dict, dict]:
        rows = (
            ContactGrade.objects.for_tenant(tenant)
            .order_by()
            .values_list("tier_id", "status")
            .annotate(n=Count("id"))
        )
        tiers: dict = {}
        statuses: dict = {}
        for tier_id, status, n in rows:
            tiers[tier_id] = tiers.get(tier_id, 0) + n
            statuses[status] = statuses.get(status, 0) + n
        return tiers, statuses

    tier_counts, status_counts = kept(_distribution_key(tenant.pk), count, timeout=24 * 3600)
    tiers = tiers_of(tenant=tenant)
    return Distribution(
        tiers=[(tier, tier_counts.get(tier.pk, 0)) for tier in reversed(tiers)],
        statuses=[
            (key, str(label), status_counts.get(key, 0))
            for key, label in ActivityStatus.choices
            if key in status_counts
        ],  # fmt: skip
        graded=sum(status_counts.values()),
    )


# --- the contact list's filters ----------------------------------------------------------------


def grade_filter_condition(*, tenant: Tenant, tier: str = "", status: str = "") -> Q | None:
    """The contacts of a tier ("none": holding none; "<id>+": that tier or a higher one) and/or
    status, as a condition on Contact.
    New and quiet contacts without a grade are told by their age."""
    condition = Q()
    grades = ContactGrade.objects.for_tenant(tenant)
    if tier == "none":
        condition &= ~Q(pk__in=grades.filter(tier__isnull=False).values("contact_id"))
    elif tier.isdigit():
        condition &= Q(pk__in=grades.filter(tier_id=int(tier)).values("contact_id"))
    elif tier.endswith("+") and tier[:-1].isdigit():  # this tier or a higher one
        tiers = tiers_of(tenant=tenant)
        floor = next((t for t in tiers if t.pk == int(tier[:-1])), None)
        higher = [t.pk for t in tiers if floor and t.threshold >= floor.threshold]
        condition &= Q(pk__in=grades.filter(tier_id__in=higher).values("contact_id"))
    if status in ActivityStatus.values:
        graded = Q(pk__in=grades.filter(status=status).values("contact_id"))
        if status in (ActivityStatus.NEW, ActivityStatus.DORMANT):
            settings = settings_of(tenant=tenant)
            since = timezone.now() - timedelta(days=settings.new_days)
            by_age = (
                Q(created_at__gte=since)
                if status == ActivityStatus.NEW
                else Q(created_at__lt=since)
            )
            graded |= ~Q(pk__in=grades.values("contact_id")) & by_age
        condition &= graded
    return condition if condition else None


def contact_grade_filters(tenant: Tenant, filters) -> tuple[None, Q | None]:
    """The contact list's tier and activity filters (crm.selectors.register_contact_filter)."""
    if not (filters.tier or filters.activity):
        return None, None
    condition = grade_filter_condition(tenant=tenant, tier=filters.tier, status=filters.activity)
    # an unknown status or tier id matches nothing rather than everything
    return None, condition if condition is not None else Q(pk__in=[])


def grade_filter_choices(*, tenant: Tenant) -> dict[str, list[tuple[str, str]]]:
    """The list's tier filter (once the company has tiers) and activity filter."""
    tiers = tiers_of(tenant=tenant)
    choices = {"activity": [(key, str(label)) for key, label in ActivityStatus.choices]}
    if tiers:
        choices["tier"] = [*((str(t.pk), t.name) for t in reversed(tiers)),
                           ("none", str(_("No tier")))]  # fmt: skip
    return choices


# --- the at-risk list ---------------------------------------------------------------------------

AT_RISK_PAGE = 50


@dataclass
class AtRisk:
    grade: ContactGrade
    quiet_days: int  # days since the last payment or event
    last_event: Event | None
    last_activity: Activity | None


def at_risk_page(
    *,
    tenant: Tenant,
    owner_id: int | None = None,
    after: tuple[datetime, int] | None = None,
    now: datetime | None = None,
    limit: int = AT_RISK_PAGE,
) -> tuple[list[AtRisk], tuple[datetime, int] | None]:
    """Contacts at risk, the longest quiet first (only `owner_id`'s when given), each with what
    it last did and the last time someone of the company reached out; and where the next page
    starts (None: this is the last). Four queries a page, at any depth."""
    now = now or timezone.now()
    grades = (
        ContactGrade.objects.for_tenant(tenant)
        .filter(status=ActivityStatus.AT_RISK)
        .select_related("contact", "tier")
        .order_by("last_seen_at", "id")
    )
    if owner_id is not None:
        grades = grades.filter(contact__owner_id=owner_id)
    if after is not None:
        seen_at, pk = after
        grades = grades.filter(Q(last_seen_at__gt=seen_at) | Q(last_seen_at=seen_at, id__gt=pk))
    found = list(grades[: limit + 1])
    page = found[:limit]
    ids = [g.contact_id for g in page]
    events = {
        e.contact_id: e
        for e in Event.objects.for_tenant(tenant).filter(contact_id__in=ids)
        .order_by("contact_id", "-occurred_at", "-id").distinct("contact_id")
    } if ids else {}  # fmt: skip
    touches = {
        a.contact_id: a
        for a in Activity.objects.for_tenant(tenant).filter(contact_id__in=ids)
        .order_by("contact_id", "-occurred_at", "-id").distinct("contact_id")
    } if ids else {}  # fmt: skip
    kinds = event_kinds(tenant=tenant) if events else {}
    for event in events.values():
        event.kind_label = kinds.get(event.kind, event.kind)
    rows = [
        AtRisk(g, (now - g.last_seen_at).days if g.last_seen_at else 0,
               events.get(g.contact_id), touches.get(g.contact_id))
        for g in page
    ]  # fmt: skip
    more = (page[-1].last_seen_at, page[-1].pk) if len(found) > limit else None
    return rows, more
