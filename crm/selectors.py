"""Reads. Every tenant-owned query starts from `for_tenant`."""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from lifecycle.stages import RANK, Status

from .customfields import CustomCondition, conditions_q, custom_fields_cached
from .models import Contact, Invitation, Membership, Role, Tenant, User, person_name
from .normalize import normalize_email, normalize_wechat_id, phone_search_prefix
from .pagination import KeysetPage
from .rawreads import from_row, model_columns, width

CONTACT_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-updated": ("-updated_at", "-id"),
    # by pinyin (crm/sortkeys.py): 安, 白, 陈, 丁 …, Latin-lettered names among them
    "name": ("name_sort", "id"),
    "-name": ("-name_sort", "-id"),
    "-stage_since": ("-stage_entered_at", "-id"),
    "stage_since": ("stage_entered_at", "id"),
}
DEFAULT_CONTACT_SORT = "-created"


# Every signed-in page of a company asks this, so it is written by hand and the rows are made
# into models directly: the ORM spent three times as long building the query. The person is the
# scope here (row-level security shows them their own memberships).
MEMBERSHIPS_OF_USER = f"""
SELECT {model_columns(Membership, "m")}, {model_columns(Tenant, "t")}
FROM crm_membership m JOIN crm_tenant t ON t.id = m.tenant_id
WHERE m.user_id = %s ORDER BY t.name, t.id
"""  # noqa: S608 - column names from our own models


def membership_for_user(
    *, user: User, tenant_slug: str
) -> tuple[Membership | None, list[Membership]]:
    """The user's membership of the company at `tenant_slug` (None if they have none), and all
    their memberships for the header's company switcher: one query for both, on every page."""
    with connection.cursor() as cursor:
        cursor.execute(MEMBERSHIPS_OF_USER, [user.pk])
        rows = cursor.fetchall()
    split = width(Membership)
    memberships, found = [], None
    for row in rows:
        membership = from_row(Membership, row[:split])
        membership.tenant = from_row(Tenant, row[split:])
        membership.user = user  # the same person: no join, and no second copy of them
        if membership.tenant.deletion_started_at is not None:
            continue  # being deleted (crm/deletion.py): nobody enters it any more
        memberships.append(membership)
        if membership.tenant.slug == tenant_slug:
            found = membership
    return found, memberships


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .filter(tenant__deletion_started_at__isnull=True)  # being deleted: not offered
        .select_related("tenant")
        .order_by("tenant__name")
    )


def invitations_open_for(*, user: User) -> QuerySet[Invitation]:
    """What companies ask this user to join: shown after login, until answered or expired."""
    # The user is the scope here: each row names its own company.
    return (
        Invitation.objects.filter(
            user=user, status=Invitation.PENDING, expires_at__gt=timezone.now()
        )
        .select_related("tenant", "invited_by__user")
        .order_by("-created_at")
    )


def invitations_pending(*, tenant: Tenant) -> QuerySet[Invitation]:
    return (
        Invitation.objects.for_tenant(tenant)
        .filter(status=Invitation.PENDING, expires_at__gt=timezone.now())
        .select_related("user")
        .order_by("-created_at")
    )


def member_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return (
        Membership.objects.for_tenant(tenant)
        .select_related("user")
        .order_by("role", "user__username")
    )


@dataclass(frozen=True, slots=True)
class MemberName:
    pk: int
    display_name: str


# A company's people by name, written by hand: the contact list shows them on every page (its
# owner filter, each row's owner) and the ORM cost more than the query.
MEMBER_NAMES = """
SELECT m.id, u.first_name, u.last_name, u.username FROM crm_membership m
JOIN crm_user u ON u.id = m.user_id
WHERE m.tenant_id = %s ORDER BY m.role, u.username
"""


def member_names(*, tenant: Tenant) -> list[MemberName]:
    """The company's members as (pk, display_name), in member_list's order."""
    with connection.cursor() as cursor:
        cursor.execute(MEMBER_NAMES, [tenant.pk])
        return [MemberName(pk, person_name(first, last, username))
                for pk, first, last, username in cursor.fetchall()]  # fmt: skip


def admin_count(*, tenant: Tenant) -> int:
    return Membership.objects.for_tenant(tenant).filter(role=Role.ADMIN).count()


@dataclass(frozen=True)
class ContactFilters:
    q: str = ""
    owner: str = ""  # "", "me", "none", or a membership id
    stage: str = ""  # "" or a stage key
    stages: tuple[str, ...] = ()  # any of these stages (audiences' stage gates)
    status: str = ""  # "", "active" or "lost"
    tag_any: tuple[int, ...] = ()
    tag_all: tuple[int, ...] = ()
    tag_none: tuple[int, ...] = ()
    tier: str = ""  # "", "none" or a tier id (grading's filter reads it)
    activity: str = ""  # "" or an activity status key (grading's)
    custom: tuple[CustomCondition, ...] = ()  # the company's own fields (crm/customfields.py)
    # the list's chosen columns (crm/columns.py): None for its usual ones; not a filter
    columns: tuple[str, ...] | None = None
    sort: str = DEFAULT_CONTACT_SORT

    @property
    def active(self) -> bool:
        """Whether anything narrows the list."""
        return any(
            (self.q.strip(), self.owner, self.stage, self.status, self.tag_any, self.tag_all,
             self.tag_none, self.tier, self.activity, self.custom)
        )  # fmt: skip


# Other apps add conditions to the contact list (tagging: tag filters, tag names in the search).
# A provider takes (tenant, filters) and returns (also_matches_search, must_match), Q or None.
_filter_providers: list = []


def register_contact_filter(provider) -> None:
    if provider not in _filter_providers:
        _filter_providers.append(provider)


# The company's tags as choices (pk, "group · tag") for forms below tagging (the dashboard's
# filter): tagging registers the provider at start-up.
_tag_choices: list = []


def register_tag_choices(provider) -> None:
    _tag_choices[:] = [provider]


def tag_choices(*, tenant: Tenant) -> list[tuple[int, str]]:
    return _tag_choices[0](tenant=tenant) if _tag_choices else []


def tag_filters_known(*, tenant: Tenant, filters: ContactFilters) -> tuple[ContactFilters, int]:
    """The list's tag filters less the tags the company no longer has (a link to a deleted or
    merged tag's contacts would show nobody, or everybody, without a word), and how many were
    left out, for the list to say so."""
    asked = (*filters.tag_any, *filters.tag_all, *filters.tag_none)
    if not asked:
        return filters, 0
    known = {pk for pk, _label in tag_choices(tenant=tenant)}
    gone = len({pk for pk in asked if pk not in known})
    if not gone:
        return filters, 0
    kept = {name: tuple(pk for pk in getattr(filters, name) if pk in known)
            for name in ("tag_any", "tag_all", "tag_none")}  # fmt: skip
    return replace(filters, **kept), gone


# The choices of the list's tier and activity filters (grading provides them): {field: [(value,
# label)]}, the field's options in order; none without a provider.
_grade_choices: list = []


def register_grade_choices(provider) -> None:
    _grade_choices[:] = [provider]


def grade_choices(*, tenant: Tenant) -> dict[str, list[tuple[str, str]]]:
    return _grade_choices[0](tenant=tenant) if _grade_choices else {}


# The name of the tier each contact holds, for list rows and board cards: grading provides it.
_tier_names: list = []


def register_tier_names(provider) -> None:
    _tier_names[:] = [provider]


def tier_names_of(*, tenant: Tenant, contact_ids: list[int]) -> dict[int, str]:
    return _tier_names[0](tenant=tenant, contact_ids=contact_ids) if _tier_names else {}


# The labels of the tags each contact holds, for a page of list rows: tagging provides them.
_tag_labels: list = []


def register_tag_labels(provider) -> None:
    _tag_labels[:] = [provider]


def tag_labels_of(*, tenant: Tenant, contact_ids: list[int]) -> dict[int, list[str]]:
    """{contact id: [tag label, …]} in one query, the labels in the tag settings' order."""
    return _tag_labels[0](tenant=tenant, contact_ids=contact_ids) if _tag_labels else {}


# the last digits of a phone: "尾号 9371", or four to eight digits on their own
PHONE_TAIL = re.compile(r"(?:尾号|手机尾号)\s*(\d{3,8})|(\d{4,8})")


def _nfkc_digits(term: str) -> str:
    return unicodedata.normalize("NFKC", term).strip()


# A contains-search with up to this many matches is sought by their ids; with more, the list
# walks its own order and meets a page of them within a few thousand rows (at 600,000
# contacts), where fetching each match would cost more (make bench: contains-search).
CONTAINS_SEEK_LIMIT = 5000


def contains_seekable(term: str) -> bool:
    """Whether the contains-search index has keys for `term` (crm_text_grams: three characters,
    or two of which one is not ASCII, such as 小雨); shorter terms are matched by prefix only."""
    folded = unicodedata.normalize("NFKC", term.strip()).lower()
    return len(folded) >= 3 or (len(folded) == 2 and not folded.isascii())


def contact_ids_containing(*, tenant: Tenant, term: str) -> list[int] | None:
    """The ids of the company's contacts whose name, company, email, WeChat ID or notes contain
    `term` (case and width aside), from the index; None if there are more than
    CONTAINS_SEEK_LIMIT (or the index's statistics say far more hold its one key), or if the
    connection is not set to this company (a shell, a test as the owner): the function reads
    the company from the connection, as row-level security does."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT searched_tenant, ids FROM crm_contacts_containing(%s, %s)",
            [term.strip(), CONTAINS_SEEK_LIMIT + 1],
        )
        searched, ids = cursor.fetchone()
    if searched != tenant.pk or ids is None or len(ids) > CONTAINS_SEEK_LIMIT:
        return None
    return ids


def contains_condition(term: str) -> Q:
    """The contact's text contains `term`, checked row by row (what the index answers, for a
    term too common to fetch match by match)."""
    text = Func(F("name"), F("company"), F("email"), F("wechat_id"), F("notes"),
                function="crm_contact_text", output_field=TextField())  # fmt: skip
    needle = Func(Value(term.strip()), function="crm_fold", output_field=TextField())
    return Q(GreaterThan(StrIndex(text, needle), 0))


def contact_search_condition(term: str, *, tenant: Tenant) -> Q:
    """Contains on name, company, email, WeChat ID and notes (from the index while the matches
    are few, crm_contacts_containing); prefix on name, email, phone and WeChat ID; the phone's
    last digits. Each is served by an index."""
    term = term.strip()
    condition = (
        Q(name__prefix=term)
        | Q(email__prefix=normalize_email(term))
        | Q(wechat_id__prefix=normalize_wechat_id(term))
    )
    if contains_seekable(term):
        ids = contact_ids_containing(tenant=tenant, term=term)
        if ids is None:
            condition |= contains_condition(term)
        elif ids:
            condition |= Q(pk__among=ids)
    # "" unless the term reads as (the start of) a phone number, full-width digits included
    prefix = phone_search_prefix(term)
    if len(prefix.lstrip("+")) >= 3:
        condition |= Q(phone__prefix=prefix)
    # "尾号9371" or "9371": the number's last digits, the start of the phone written backwards
    tail = PHONE_TAIL.fullmatch(_nfkc_digits(term))
    if tail:
        digits = tail.group(1) or tail.group(2)
        condition |= Q(phone_tail__prefix=digits[::-1])
    return condition


def contact_list(*, tenant: Tenant, filters: ContactFilters, viewer: Membership | None) -> QuerySet:
    # Tags shown in the list come by reverse relation: two queries per page, whatever its size.
    return (
        contacts_matching(tenant=tenant, filters=filters, viewer=viewer)
        .select_related("owner__user")
        .prefetch_related("contact_tags__tag")
    )


# What a row of the contact list shows, and what its sorts and cursors need.
CONTACT_ROW_FIELDS = (
    "id", "name", "name_sort", "stage", "status", "stage_entered_at", "company", "phone",
    "email", "wechat_id", "owner_id", "created_at", "updated_at",
)  # fmt: skip


def contact_list_rows(
    *, tenant: Tenant, filters: ContactFilters, viewer: Membership | None, custom: bool = False
) -> QuerySet:
    """The contact list's rows as plain values, no model per row (crm/rows.py presents them);
    `custom`: with each row's custom values, for the columns of the company's own fields."""
    return contacts_matching(tenant=tenant, filters=filters, viewer=viewer).values(
        *CONTACT_ROW_FIELDS, *(("custom",) if custom else ())
    )


def contact_search_first(
    *, tenant: Tenant, term: str, viewer: Membership | None, limit: int
) -> list[dict]:
    """The header's search: the newest `limit` contacts the list's search finds for `term`, and
    one more if there are others (never a count)."""
    matching = contacts_matching(tenant=tenant, filters=ContactFilters(q=term), viewer=viewer)
    return list(
        matching.order_by(*CONTACT_SORTS[DEFAULT_CONTACT_SORT]).values(
            "id", "name", "company", "phone", "email"
        )[: limit + 1]
    )


def contacts_matching(
    *, tenant: Tenant, filters: ContactFilters, viewer: Membership | None
) -> QuerySet:
    """The contacts the filters let through, as a plain queryset (for counting and figures)."""
    qs = Contact.objects.for_tenant(tenant)
    search = contact_search_condition(filters.q, tenant=tenant) if filters.q.strip() else None
    for provider in _filter_providers:
        also_matches, must_match = provider(tenant, filters)
        if search is not None and also_matches is not None:
            search |= also_matches
        if must_match is not None:
            qs = qs.filter(must_match)
    if search is not None:
        qs = qs.filter(search)
    if filters.owner == "me":
        qs = qs.filter(owner=viewer)
    elif filters.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif filters.owner.isdigit():
        qs = qs.filter(owner_id=int(filters.owner))
    if filters.stage in RANK:
        qs = qs.filter(stage=filters.stage)
    if filters.stages:
        qs = qs.filter(stage__in=[stage for stage in filters.stages if stage in RANK])
    if filters.status in Status.values:
        qs = qs.filter(status=filters.status)
    if filters.custom:
        fields = custom_fields_cached(tenant=tenant)
        matched = conditions_q(tenant=tenant, conditions=filters.custom, fields=fields,
                               seek_rare=True)[0]  # fmt: skip
        qs = qs.filter(matched)
    return qs


# The list's total. A COUNT reads every matching row (a second at a million contacts), so a
# page view never runs one: the whole list on one page counts itself; otherwise the stored
# counts per stage and status answer when nothing else narrows the list (lifecycle keeps them
# and registers their reader at start-up); otherwise the person asks, and the count stops at
# COUNT_LIMIT.
COUNT_LIMIT = 10_000
_stored_counts: list = []


def register_stored_counts(provider) -> None:
    """`provider(tenant=)` returns {(stage, status): count}, or None before any is stored."""
    _stored_counts[:] = [provider]


@dataclass(frozen=True, slots=True)
class ContactTotal:
    count: int
    more: bool = False  # counting stopped at `count`: there are more


def contact_total_stored(*, tenant: Tenant, filters: ContactFilters) -> ContactTotal | None:
    """The total from the stored counts, if no filter but a stage (its key) and a status
    narrows the list; None if it has to be counted."""
    others = replace(filters, q=filters.q.strip(), stage="", status="", sort=DEFAULT_CONTACT_SORT)
    if others != ContactFilters() or (filters.stage and filters.stage not in RANK):
        return None
    stored = _stored_counts[0](tenant=tenant) if _stored_counts else None
    if stored is None:
        return None
    return ContactTotal(
        sum(count for (stage, status), count in stored.items()
            if filters.stage in ("", stage) and filters.status in ("", status))
    )  # fmt: skip


def contact_list_total(
    *, tenant: Tenant, filters: ContactFilters, page: KeysetPage
) -> ContactTotal | None:
    """The total a page of the list shows without counting contacts; None: a button counts."""
    if not (page.has_next or page.has_prev):
        return ContactTotal(len(page.items))
    return contact_total_stored(tenant=tenant, filters=filters)


def contact_count(
    *, tenant: Tenant, filters: ContactFilters, viewer: Membership | None
) -> ContactTotal:
    """How many contacts the filters let through, asked for: from the stored counts if they
    know, else counted up to COUNT_LIMIT (SELECT count(*) FROM (… LIMIT 10001))."""
    stored = contact_total_stored(tenant=tenant, filters=filters)
    if stored is not None:
        return stored
    matching = contacts_matching(tenant=tenant, filters=filters, viewer=viewer)
    counted = matching.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    return ContactTotal(min(counted, COUNT_LIMIT), more=counted > COUNT_LIMIT)


def contacts_scoped(*, tenant: Tenant, contacts: QuerySet | Iterable[int]) -> QuerySet:
    """Bulk actions take a filtered queryset ("all matching") or picked ids; both end scoped."""
    scope = Contact.objects.for_tenant(tenant)
    if isinstance(contacts, QuerySet):
        return scope.filter(pk__in=contacts.order_by().values("pk"))
    return scope.filter(pk__any=[int(pk) for pk in contacts])


def contact_recent(*, tenant: Tenant, limit: int = 8) -> list[Contact]:
    return list(
        Contact.objects.for_tenant(tenant)
        .select_related("owner__user")
        .order_by("-updated_at", "-id")[:limit]
    )


def contact_duplicates(
    *, tenant: Tenant, email: str, phone: str, wechat_id: str, exclude_id: int | None = None
) -> dict[str, Contact]:
    """Which existing contact already holds each of these channels: {field: contact}."""
    wanted = {"email": email, "phone": phone, "wechat_id": wechat_id}
    condition = Q()
    for name, value in wanted.items():
        if value:
            condition |= Q(**{name: value})
    if not condition:
        return {}
    qs = Contact.objects.for_tenant(tenant).filter(condition)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    found: dict[str, Contact] = {}
    for contact in qs[:3]:
        for name, value in wanted.items():
            if value and getattr(contact, name) == value:
                found.setdefault(name, contact)
    return found
