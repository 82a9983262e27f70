"""Reads for tags, events and rules. Every query starts from `for_tenant`."""

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet

from crm.caching import kept
from crm.hooks import tag_merge_said
from crm.models import Contact, Tenant, person_name
from lifecycle.rules import requirements_missing
from lifecycle.stages import RANK, Channel, Status

from .events import BUILTIN_KINDS
from .models import (
    ContactTag,
    Event,
    EventKind,
    Rule,
    Tag,
    TagAlias,
    TagGroup,
    name_key,
)


def tag_groups(*, tenant: Tenant) -> list[TagGroup]:
    """Groups with their tags (and aliases), in order: one query each, whatever the size."""
    tags = Tag.objects.for_tenant(tenant).prefetch_related(
        Prefetch("aliases", queryset=TagAlias.objects.for_tenant(tenant))
    )
    return list(
        TagGroup.objects.for_tenant(tenant).prefetch_related(Prefetch("tags", queryset=tags))
    )


def tag_list(*, tenant: Tenant) -> QuerySet[Tag]:
    return (
        Tag.objects.for_tenant(tenant)
        .select_related("group")
        .order_by("group__position", "group__label", "position", "label")
    )


def tag_position_last(*, group: TagGroup) -> int:
    """The place a tag added to `group` takes: after its last."""
    top = Tag.objects.for_tenant(group.tenant).filter(group=group).aggregate(top=Max("position"))
    return 0 if top["top"] is None else top["top"] + 1


def tag_group_tags(*, group: TagGroup) -> list[Tag]:
    """One group's tags in their order, with their aliases (its rows on the tags page)."""
    tenant = group.tenant
    return list(
        Tag.objects.for_tenant(tenant)
        .filter(group=group)
        .select_related("group")
        .prefetch_related(Prefetch("aliases", queryset=TagAlias.objects.for_tenant(tenant)))
    )


@dataclass(frozen=True, slots=True)
class TagOption:
    pk: int
    label: str
    group_label: str


# The company's tags for its menus (the list's filters, the bulk bar), in the settings' order.
# Written by hand: the contact list asks on every page.
TAG_MENU = """
SELECT t.id, t.label, g.label FROM tagging_tag t JOIN tagging_taggroup g ON g.id = t.group_id
WHERE t.tenant_id = %s ORDER BY g.position, g.label, t.position, t.label
"""


def tag_menu(*, tenant: Tenant) -> list[TagOption]:
    with connection.cursor() as cursor:
        cursor.execute(TAG_MENU, [tenant.pk])
        return [TagOption(*row) for row in cursor.fetchall()]


def tag_choices(*, tenant: Tenant) -> list[tuple[int, str]]:
    """The company's tags for a form's select: (pk, "group · tag"), in the settings' order."""
    return [(t.pk, f"{t.group.label} · {t.label}")
            for t in Tag.objects.for_tenant(tenant).select_related("group")
            .order_by("group__position", "group__label", "position", "label")]  # fmt: skip


# The labels of the tags a page of contacts holds. Written by hand: the contact list and the API
# ask on every page, and the ORM spent more building this query than PostgreSQL running it.
TAG_LABELS_OF = """
SELECT ct.contact_id, t.label FROM tagging_contacttag ct
JOIN tagging_tag t ON t.id = ct.tag_id JOIN tagging_taggroup g ON g.id = t.group_id
WHERE ct.tenant_id = %s AND ct.contact_id = ANY(%s::bigint[])
ORDER BY g.position, g.label, t.position, t.label
"""


def tag_labels_of(*, tenant: Tenant, contact_ids: list[int]) -> dict[int, list[str]]:
    """The labels of the tags each of these contacts holds, in one query (crm's list rows), in
    the order the contact page shows them: by group, as the tag settings order the groups."""
    labels: dict[int, list[str]] = {}
    if not contact_ids:
        return labels
    with connection.cursor() as cursor:
        cursor.execute(TAG_LABELS_OF, [tenant.pk, [int(pk) for pk in contact_ids]])
        for contact_id, label in cursor.fetchall():
            labels.setdefault(contact_id, []).append(label)
    return labels


def tag_usage(*, tenant: Tenant) -> dict[int, int]:
    """How many contacts hold each tag (for the tags page and delete confirmations)."""
    rows = ContactTag.objects.for_tenant(tenant).order_by().values("tag_id").annotate(n=Count("id"))
    return {row["tag_id"]: row["n"] for row in rows}


def tag_resolve(*, tenant: Tenant, name: str) -> Tag | None:
    """The tag a name means: its label or one of its aliases, case and spaces ignored."""
    key = name_key(name)
    if not key:
        return None
    tag = Tag.objects.for_tenant(tenant).select_related("group").filter(label_key=key).first()
    if tag is None:
        alias = (
            TagAlias.objects.for_tenant(tenant).select_related("tag__group").filter(name_key=key)
        ).first()
        tag = alias.tag if alias else None
    return tag


def tag_suggest(
    *, tenant: Tenant, term: str, exclude_contact: Contact | None = None, limit: int = 8
) -> list[Tag]:
    """Tags whose name, an alias or the group's name contains what was typed (a tenant has
    tens or hundreds of tags, so a contains-match is cheap), minus those the contact holds."""
    key = name_key(term)
    tags = tag_list(tenant=tenant)
    if key:
        by_alias = TagAlias.objects.for_tenant(tenant).filter(name_key__contains=key)
        tags = tags.filter(
            Q(label_key__contains=key)
            | Q(group__label__icontains=term.strip())
            | Q(pk__in=by_alias.values("tag_id"))
        )
    if exclude_contact is not None:
        held = ContactTag.objects.for_tenant(tenant).filter(contact=exclude_contact)
        tags = tags.exclude(pk__in=held.values("tag_id"))
    return list(tags[:limit])


@dataclass(frozen=True, slots=True)
class HeldTag:
    """A tag on a contact as its page shows it: which, in what colour, put there how and when."""

    tag_id: int
    label: str
    group_label: str
    colour: str  # the tag's own, else its group's
    channel: str
    created_at: datetime
    rule_name: str | None  # set when a rule added it
    added_by: str | None  # who added it by hand, as shown
    # a rule without a name of its own added it: what its title is made of (tagging.outcomes)
    rule_title_key: dict | None = None

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label if self.channel in Channel.values else self.channel


# Written by hand: every contact page shows them, and the ORM's four joined models cost more
# than the query.
CONTACT_TAGS = """
SELECT ct.tag_id, t.label, g.label, coalesce(nullif(t.colour, ''), g.colour), ct.channel,
       ct.created_at, r.name, r.event_kind, r.to_stage, u.first_name, u.last_name, u.username
FROM tagging_contacttag ct
JOIN tagging_tag t ON t.id = ct.tag_id
JOIN tagging_taggroup g ON g.id = t.group_id
LEFT JOIN tagging_rule r ON r.id = ct.rule_id
LEFT JOIN crm_membership m ON m.id = ct.added_by_id AND m.tenant_id = ct.tenant_id
LEFT JOIN crm_user u ON u.id = m.user_id
WHERE ct.tenant_id = %s AND ct.contact_id = %s
ORDER BY g.position, g.label, t.position, t.label
"""


def contact_tags(*, contact: Contact) -> list[HeldTag]:
    with connection.cursor() as cursor:
        cursor.execute(CONTACT_TAGS, [contact.tenant_id, contact.pk])
        return [
            HeldTag(tag_id, label, group, colour, channel, at, rule,
                    person_name(first, last, username) if username else None,
                    {"kind": kind, "to": to_stage} if rule == "" else None)
            for tag_id, label, group, colour, channel, at, rule, kind, to_stage, first, last,
            username in cursor.fetchall()
        ]  # fmt: skip


def _event_kinds_key(tenant_id: int) -> str:
    return f"event-kinds:{tenant_id}"


def event_kinds_changed(*, tenant: Tenant) -> None:
    """Called by the services that add, rename or remove a kind, once their transaction commits
    (and at once)."""
    cache.delete(_event_kinds_key(tenant.pk))
    transaction.on_commit(lambda: cache.delete(_event_kinds_key(tenant.pk)))


def event_kind_names(*, tenant: Tenant) -> dict[str, str]:
    """The names the company gave: its own kinds', and built-in kinds it renamed (a row under
    the built-in key). Kept in the cache until a kind is added, renamed or removed."""
    return kept(
        _event_kinds_key(tenant.pk),
        lambda: dict(EventKind.objects.for_tenant(tenant).values_list("key", "label")),
    )


def event_kinds(*, tenant: Tenant) -> dict[str, str]:
    """Every kind a tenant can log, key -> name: the built-in ones (translated, or as the
    company renamed them) and its own. The contact page asks twice (the event form, the
    timeline) and kinds rarely change, so the company's names are kept in the cache."""
    kinds = {key: str(label) for key, label in BUILTIN_KINDS.items()}
    kinds.update(event_kind_names(tenant=tenant))
    return kinds


def event_kind_usage(*, tenant: Tenant, key: str) -> tuple[int, int]:
    """(events, rules) of this kind: what keeps a kind from being removed."""
    events = Event.objects.for_tenant(tenant).filter(kind=key).count()
    return events, Rule.objects.for_tenant(tenant).filter(event_kind=key).count()


def rules_for_kind(*, tenant: Tenant, kind: str) -> list[Rule]:
    return list(
        Rule.objects.for_tenant(tenant)
        .filter(event_kind=kind, active=True)
        .prefetch_related("add_tags", "remove_tags")
    )


def event_amount_needed(*, contact: Contact, kind: str) -> str | None:
    """The stage a rule of this kind would move the contact to if only the event brought an
    amount (the stage needs an expected amount, and that is all it lacks), or None. The event
    form asks for the amount then, rather than log a payment intent that moves nobody."""
    if contact.status != Status.ACTIVE:
        return None
    for rule in rules_for_kind(tenant=contact.tenant, kind=kind):
        if not rule.to_stage or RANK[rule.to_stage] <= RANK[contact.stage]:
            continue
        if requirements_missing(contact=contact, to_stage=rule.to_stage) == ["expected_amount"]:
            return rule.to_stage
    return None


def rule_list(*, tenant: Tenant) -> list[Rule]:
    return list(Rule.objects.for_tenant(tenant).prefetch_related("add_tags", "remove_tags"))


def tag_filter_condition(*, tenant: Tenant, any_of=(), all_of=(), none_of=()) -> Q:
    """Contacts holding any / all / none of these tags, as EXISTS on the (tenant, contact, tag)
    index, so the list stays on its keyset index at any size."""

    def holds(tag_ids) -> Exists:
        return Exists(
            ContactTag.objects.for_tenant(tenant).filter(
                contact_id=OuterRef("pk"), tag_id__in=list(tag_ids)
            )
        )

    condition = Q()
    if any_of:
        condition &= Q(holds(any_of))
    for tag_id in all_of:
        condition &= Q(holds([tag_id]))
    if none_of:
        condition &= ~Q(holds(none_of))
    return condition


@dataclass(frozen=True)
class MergePreview:
    """What merging `source` into `target` would do, counted before anyone confirms it."""

    source_held: int  # contacts carrying the tag that goes
    both: int  # of them, those carrying the one that stays already
    target_held: int  # contacts carrying the one that stays, now
    aliases: int  # the source's own aliases, which move to the target
    rules: int  # rules adding or removing the source, which will use the target
    clash: int  # contacts whose one-at-a-time tag the merge would have to take off (refused)
    # what the apps above tagging would change (audiences naming it), in the reader's words
    said: tuple[str, ...] = ()

    @property
    def moved(self) -> int:
        return self.source_held - self.both

    @property
    def target_after(self) -> int:
        return self.target_held + self.moved


def tag_merge_clash(*, source: Tag, target: Tag) -> int:
    """How many contacts with `source` hold another tag of `target`'s group when that group
    keeps one tag at a time: the merge would take one off, so it is refused."""
    if not target.group.single_choice:
        return 0
    assignments = ContactTag.objects.for_tenant(source.tenant)
    return (
        assignments.filter(contact_id__in=assignments.filter(tag=source).values("contact_id"))
        .filter(tag__group=target.group)
        .exclude(tag__in=[source, target])
        .values("contact_id")
        .distinct()
        .count()
    )


def tag_merge_preview(*, source: Tag, target: Tag) -> MergePreview:
    tenant = source.tenant
    said: list[str] = []
    tag_merge_said(source=source, target=target, said=said)
    assignments = ContactTag.objects.for_tenant(tenant)
    with_target = assignments.filter(tag=target, contact_id=OuterRef("contact_id"))
    held = assignments.filter(tag=source).aggregate(
        source_held=Count("id"), both=Count("id", filter=Exists(with_target))
    )
    rules = Rule.objects.for_tenant(tenant).filter(Q(add_tags=source) | Q(remove_tags=source))
    return MergePreview(
        source_held=held["source_held"],
        both=held["both"],
        target_held=assignments.filter(tag=target).count(),
        aliases=TagAlias.objects.for_tenant(tenant).filter(tag=source).count(),
        rules=rules.distinct().count(),
        clash=tag_merge_clash(source=source, target=target),
        said=tuple(said),
    )
