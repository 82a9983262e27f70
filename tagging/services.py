"""Writes for tags, events and rules. Keyword-only, atomic, taking domain objects."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from crm import bulk
from crm.audit import audit_record
from crm.models import AuditKind, Contact, Membership, Tenant
from crm.permissions import can_edit_rules, can_edit_tag_scheme
from crm.selectors import contacts_scoped
from crm.services import ServiceError, change_recorded
from lifecycle import services as lifecycle
from lifecycle.scheduling import tenant_changed
from lifecycle.stages import RANK, Channel

from .events import DEFAULT_RULES
from .models import (
    ContactTag,
    Event,
    EventKind,
    Rule,
    Tag,
    TagAlias,
    TaggingDefaults,
    TagGroup,
    name_key,
    unique_key,
)
from .outcomes import RuleOutcome, stored_rule_title
from .selectors import event_kinds, rules_for_kind, tag_resolve


def _require(actor: Membership | None, capability: Callable, message: str) -> None:
    """`actor` None: the system (a rule, an import, a command), which may."""
    if actor is not None and not capability(actor):
        raise ServiceError(message)


def _require_scheme_editor(actor: Membership | None) -> None:
    _require(actor, can_edit_tag_scheme, _("Only admins and marketers may change the tags."))


def _lock_names(tenant: Tenant) -> None:
    """Serialises tag naming in a tenant: labels and aliases are unique across both tables."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()


def _check_name_free(tenant: Tenant, name: str, *, except_tag: Tag | None = None) -> str:
    key = name_key(name)
    if not key:
        raise ServiceError(_("A tag needs a name."))
    if len(key) > 60:
        raise ServiceError(_("A tag name has at most 60 characters."))
    taken = tag_resolve(tenant=tenant, name=name)
    if taken is not None and taken != except_tag:
        raise ServiceError(
            _("“%(name)s” is already the name or an alias of the tag “%(tag)s”.")
            % {"name": " ".join(name.split()), "tag": taken.label}
        )
    return key


def _clean(obj) -> None:
    try:
        obj.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc


# --- the tag scheme -----------------------------------------------------------------------


@transaction.atomic
def tag_group_save(
    *,
    tenant: Tenant,
    actor: Membership | None,
    group: TagGroup | None = None,
    label: str,
    description: str = "",
    colour: str = "#667085",
    single_choice: bool = False,
) -> TagGroup:
    _require_scheme_editor(actor)
    label = " ".join((label or "").split())
    if not label:
        raise ServiceError(_("A tag group needs a name."))
    clash = TagGroup.objects.for_tenant(tenant).filter(label=label)
    if group is not None:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise ServiceError(_("There is already a tag group “%(label)s”.") % {"label": label})
    if group is not None and single_choice and not group.single_choice:
        several = _contacts_with_several(tenant, group)
        if several:
            raise ServiceError(
                _(
                    "%(count)s contacts hold more than one tag of “%(group)s”: leave only one "
                    "on each before making it one-at-a-time."
                )
                % {"count": several, "group": group.label}
            )
    if group is None:
        groups = TagGroup.objects.for_tenant(tenant)
        group = TagGroup(tenant=tenant, position=groups.count(), key=unique_key(groups, label))
    group.label, group.description, group.colour = label, description.strip(), colour
    group.single_choice = single_choice
    _clean(group)
    group.save()
    return group


@transaction.atomic
def tag_group_delete(*, group: TagGroup, actor: Membership | None) -> None:
    _require_scheme_editor(actor)
    if Tag.objects.for_tenant(group.tenant).filter(group=group).exists():
        raise ServiceError(_("Move or delete the group's tags first."))
    group.delete()


@transaction.atomic
def tag_create(
    *,
    tenant: Tenant,
    actor: Membership | None,
    group: TagGroup,
    label: str,
    colour: str = "",
    description: str = "",
) -> Tag:
    _require_scheme_editor(actor)
    if group.tenant_id != tenant.pk:
        raise ServiceError(_("Choose a group of this company."))
    _lock_names(tenant)
    key = _check_name_free(tenant, label)
    tag = Tag(tenant=tenant, group=group, label=" ".join(label.split()), label_key=key,
              key=unique_key(Tag.objects.for_tenant(tenant), label), colour=colour,
              description=description.strip())  # fmt: skip
    _clean(tag)
    tag.save()
    return tag


@transaction.atomic
def tag_update(
    *,
    tag: Tag,
    actor: Membership | None,
    label: str,
    group: TagGroup,
    colour: str = "",
    description: str = "",
) -> Tag:
    _require_scheme_editor(actor)
    if group.tenant_id != tag.tenant_id:
        raise ServiceError(_("Choose a group of this company."))
    _lock_names(tag.tenant)
    tag.label_key = _check_name_free(tag.tenant, label, except_tag=tag)
    tag.label, tag.group, tag.colour = " ".join(label.split()), group, colour
    tag.description = description.strip()
    _clean(tag)
    tag.save()
    return tag


@transaction.atomic
def tag_alias_add(*, tag: Tag, actor: Membership | None, name: str) -> TagAlias:
    _require_scheme_editor(actor)
    _lock_names(tag.tenant)
    key = _check_name_free(tag.tenant, name)
    return TagAlias.objects.create(
        tenant=tag.tenant, tag=tag, name=" ".join(name.split()), name_key=key
    )


@transaction.atomic
def tag_alias_remove(*, alias: TagAlias, actor: Membership | None) -> None:
    _require_scheme_editor(actor)
    alias.delete()


@transaction.atomic
def tag_merge(*, source: Tag, target: Tag, actor: Membership | None) -> int:
    """Folds `source` into `target`: its contacts get `target` (nothing lost), its name and
    aliases become aliases of `target`, rules that used it use `target`. Returns contacts moved."""
    _require_scheme_editor(actor)
    if source == target:
        raise ServiceError(_("Choose another tag to merge into."))
    if source.tenant_id != target.tenant_id:
        raise ServiceError(_("Choose a tag of this company."))
    tenant = source.tenant
    _lock_names(tenant)
    assignments = ContactTag.objects.for_tenant(tenant)
    if target.group.single_choice:
        # Nothing may be lost: a contact holding `source` and another tag of target's
        # one-at-a-time group would have to lose one of them.
        clash = (
            assignments.filter(contact_id__in=assignments.filter(tag=source).values("contact_id"))
            .filter(tag__group=target.group)
            .exclude(tag__in=[source, target])
            .values("contact_id")
            .distinct()
            .count()
        )
        if clash:
            raise ServiceError(
                _(
                    "%(count)s contacts with “%(source)s” also hold another tag of "
                    "“%(group)s”, which keeps one tag at a time: merging would remove one. "
                    "Nothing was changed."
                )
                % {"count": clash, "source": source.label, "group": target.group.label}
            )
    already = assignments.filter(tag=target).values("contact_id")
    moved = assignments.filter(tag=source).exclude(contact_id__in=already).update(tag=target)
    assignments.filter(tag=source).delete()
    for rule in Rule.objects.for_tenant(tenant).filter(add_tags=source):
        rule.add_tags.remove(source)
        rule.add_tags.add(target)
    for rule in Rule.objects.for_tenant(tenant).filter(remove_tags=source):
        rule.remove_tags.remove(source)
        rule.remove_tags.add(target)
    TagAlias.objects.for_tenant(tenant).filter(tag=source).update(tag=target)
    label, key = source.label, source.label_key
    tenant_changed(tenant.pk, funnel=False)
    source.delete()
    TagAlias.objects.create(tenant=tenant, tag=target, name=label, name_key=key)
    return moved


def _contacts_with_several(tenant: Tenant, group: TagGroup) -> int:
    """How many contacts hold more than one tag of `group`."""
    return (
        ContactTag.objects.for_tenant(tenant)
        .filter(tag__group=group)
        .values("contact_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


@transaction.atomic
def tag_delete(*, tag: Tag, actor: Membership | None) -> int:
    """Deletes a tag and its assignments. Returns how many contacts held it."""
    _require_scheme_editor(actor)
    held = ContactTag.objects.for_tenant(tag.tenant).filter(tag=tag).count()
    tenant_changed(tag.tenant_id, funnel=False)
    tag.delete()
    return held


# --- tags on contacts --------------------------------------------------------------------


@dataclass
class TagAdded:
    added: bool
    replaced: list[str]  # labels of the one-at-a-time group's tag it took the place of

    def __bool__(self) -> bool:
        return self.added


@transaction.atomic
def contact_tag_add(
    *,
    contact: Contact,
    tag: Tag,
    actor: Membership | None,
    channel: str = Channel.UI,
    rule: Rule | None = None,
) -> TagAdded:
    """Puts a tag on a contact (replacing its group's other tag when the group keeps one at a
    time). False-y when the contact already had it."""
    if tag.tenant_id != contact.tenant_id:
        raise ServiceError(_("Choose a tag of this company."))
    tenant = contact.tenant
    held = ContactTag.objects.for_tenant(tenant).filter(contact=contact)
    if held.filter(tag=tag).exists():
        return TagAdded(False, [])
    replaced = []
    if tag.group.single_choice:
        others = held.filter(tag__group_id=tag.group_id)
        replaced = list(others.values_list("tag__label", flat=True))
        others.delete()
    try:
        with transaction.atomic():
            assignment = ContactTag.objects.create(
                tenant=tenant, contact=contact, tag=tag, channel=channel, added_by=actor, rule=rule
            )
    except IntegrityError:
        return TagAdded(False, [])  # added at that moment by someone else: the contact has it
    _tagged(tenant, ContactTag.objects.for_tenant(tenant).filter(pk=assignment.pk))
    tenant_changed(tenant.pk, funnel=False)
    return TagAdded(True, replaced)


def _tagged(tenant: Tenant, assignments: QuerySet) -> None:
    change_recorded(
        tenant=tenant,
        event="contact.tagged",
        rows=assignments.values_list("contact_id", "tag_id", "created_at"),
    )


@transaction.atomic
def contact_tag_remove(
    *, contact: Contact, tag: Tag, actor: Membership | None, channel: str = Channel.UI
) -> bool:
    deleted, _detail = (
        ContactTag.objects.for_tenant(contact.tenant).filter(contact=contact, tag=tag).delete()
    )
    if deleted:
        tenant_changed(contact.tenant_id, funnel=False)
    return bool(deleted)


@transaction.atomic
def contacts_bulk_tag(
    *,
    tenant: Tenant,
    actor: Membership | None,
    contacts: QuerySet | Iterable[int],
    tag: Tag,
    add: bool,
    channel: str = Channel.BULK,
) -> int:
    """Adds or removes one tag on many contacts, set-based. Returns how many changed."""
    if tag.tenant_id != tenant.pk:
        raise ServiceError(_("Choose a tag of this company."))
    scope = contacts_scoped(tenant=tenant, contacts=contacts)
    assignments = ContactTag.objects.for_tenant(tenant)
    tenant_changed(tenant.pk, funnel=False)
    if not add:
        deleted, _detail = assignments.filter(tag=tag, contact_id__in=scope.values("pk")).delete()
        audit_record(tenant=tenant, actor=actor, kind=AuditKind.BULK_TAG, subject=tag.label,
                     count=deleted, details={"tag": tag.pk, "add": False})  # fmt: skip
        return deleted
    missing = scope.exclude(pk__in=assignments.filter(tag=tag).values("contact_id"))
    ids = list(missing.values_list("pk", flat=True))
    if tag.group.single_choice:
        assignments.filter(contact_id__in=ids, tag__group_id=tag.group_id).delete()
    now = timezone.now()
    actor_id = actor.pk if actor is not None else None
    # the ids of the rows written (someone may have tagged a few of them a moment ago)
    written = bulk.insert_rows(
        ContactTag,
        ["tenant_id", "contact_id", "tag_id", "channel", "added_by_id", "created_at"],
        [(tenant.pk, pk, tag.pk, channel, actor_id, now) for pk in ids],
        ignore_conflicts=True,
        returning_ids=True,
    )
    if written:
        _tagged(tenant, assignments.filter(pk__any=written))
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.BULK_TAG, subject=tag.label,
                 count=len(written), details={"tag": tag.pk, "add": True})  # fmt: skip
    return len(written)


# --- events and rules --------------------------------------------------------------------


@transaction.atomic
def event_kind_create(*, tenant: Tenant, actor: Membership | None, label: str) -> EventKind:
    _require(actor, can_edit_rules, _("Only admins may add kinds of events."))
    label = " ".join((label or "").split())
    if not label:
        raise ServiceError(_("A kind of event needs a name."))
    key = slugify(label) or f"kind-{EventKind.objects.for_tenant(tenant).count() + 1}"
    if key in event_kinds(tenant=tenant) or label in event_kinds(tenant=tenant).values():
        raise ServiceError(_("There is already a kind of event “%(label)s”.") % {"label": label})
    return EventKind.objects.create(tenant=tenant, key=key[:40], label=label)


def rules_defaults_given(*, tenant: Tenant) -> bool:
    return TaggingDefaults.objects.for_tenant(tenant).exists()


@transaction.atomic
def rules_ensure_defaults(*, tenant: Tenant) -> None:
    """Gives a tenant the seed's six rules, once; rules an admin deleted stay deleted."""
    _marker, created = TaggingDefaults.objects.get_or_create(tenant=tenant)
    if not created:
        return
    for position, (kind, stage) in enumerate(DEFAULT_RULES):
        # No name: shown as "what happens → stage" in the reader's language and current labels.
        Rule.objects.create(
            tenant=tenant, name="", event_kind=kind, to_stage=stage, position=position
        )


@transaction.atomic
def rule_save(
    *,
    tenant: Tenant,
    actor: Membership | None,
    rule: Rule | None = None,
    name: str,
    event_kind: str,
    to_stage: str = "",
    add_tags: Iterable[Tag] = (),
    remove_tags: Iterable[Tag] = (),
    active: bool = True,
) -> Rule:
    _require(actor, can_edit_rules, _("Only admins may change the rules."))
    add_tags, remove_tags = list(add_tags), list(remove_tags)
    if event_kind not in event_kinds(tenant=tenant):
        raise ServiceError(_("Choose what happens for the rule to run."))
    if to_stage and to_stage not in RANK:
        raise ServiceError(_("Unknown stage."))
    if not (to_stage or add_tags or remove_tags):
        raise ServiceError(_("A rule needs something to do: a stage, tags to add or to remove."))
    if set(add_tags) & set(remove_tags):
        raise ServiceError(_("A rule cannot both add and remove the same tag."))
    if any(tag.tenant_id != tenant.pk for tag in add_tags + remove_tags):
        raise ServiceError(_("Choose tags of this company."))
    created = rule is None
    rule = rule or Rule(tenant=tenant, position=Rule.objects.for_tenant(tenant).count())
    rule.name = " ".join((name or "").split())
    rule.event_kind, rule.to_stage, rule.active = event_kind, to_stage, active
    _clean(rule)
    rule.save()
    rule.add_tags.set(add_tags)
    rule.remove_tags.set(remove_tags)
    audit_record(
        tenant=tenant, actor=actor, kind=AuditKind.RULE_SAVED,
        subject=stored_rule_title(rule, tenant),
        details={"rule": rule.pk, "created": created, "event": event_kind, "to": to_stage,
                 "add": [t.label for t in add_tags], "remove": [t.label for t in remove_tags],
                 "active": active},
    )  # fmt: skip
    return rule


@transaction.atomic
def rule_delete(*, rule: Rule, actor: Membership | None) -> None:
    _require(actor, can_edit_rules, _("Only admins may change the rules."))
    title = stored_rule_title(rule, rule.tenant)
    audit_record(tenant=rule.tenant, actor=actor, kind=AuditKind.RULE_DELETED, subject=title,
                 details={"rule": rule.pk})  # fmt: skip
    rule.delete()


def _apply_rule(rule: Rule, event: Event, contact: Contact) -> dict:
    """Runs one rule for one event. Every effect is recorded with the rule as the actor; what
    cannot apply says why. Never backward: the lifecycle service refuses that for rules.
    The outcome is stored as codes (tagging.outcomes puts it into the reader's words)."""
    outcome = RuleOutcome(rule_id=rule.pk, name=stored_rule_title(rule, contact.tenant))
    if rule.to_stage:
        fill = {}
        if event.amount is not None and contact.expected_amount is None:
            fill["expected_amount"] = event.amount
        try:
            lifecycle.contact_stage_move(
                contact=contact, actor=None, to_stage=rule.to_stage, channel=Channel.RULE,
                actor_label=outcome.name, fill=fill or None,
            )  # fmt: skip
            outcome.moved(rule.to_stage)
        except lifecycle.MissingRequirements as missing:
            outcome.not_moved("missing", missing.missing)
        except lifecycle.MoveRefused as refused:
            outcome.not_moved(refused.code)
    for tag in rule.add_tags.all():
        if contact_tag_add(contact=contact, tag=tag, actor=None, channel=Channel.RULE, rule=rule):
            outcome.tagged(tag.label)
    for tag in rule.remove_tags.all():
        if contact_tag_remove(contact=contact, tag=tag, actor=None, channel=Channel.RULE):
            outcome.untagged(tag.label)
    return outcome.stored()


# an event's time may run a little ahead of ours (the sender's clock)
EVENT_CLOCK_SKEW = timedelta(minutes=5)


def _seen_before(event: Event, contact: Contact) -> Event:
    if event.contact_id != contact.pk:
        raise ServiceError(_("This external_id was already used for another contact."))
    return event


@transaction.atomic
def event_log(
    *,
    contact: Contact,
    actor: Membership | None,
    kind: str,
    amount: Decimal | None = None,
    note: str = "",
    occurred_at: datetime | None = None,
    channel: str = Channel.UI,
    external_id: str = "",
) -> tuple[Event, bool]:
    """Records what a contact did and runs the tenant's rules for it.

    The same event arriving twice (same external id) is recorded once; its rules do not run
    again; an external id already used for another contact is refused. Returns (event,
    created)."""
    tenant = contact.tenant
    if kind not in event_kinds(tenant=tenant):
        raise ServiceError(_("Unknown kind of event."))
    if amount is not None and amount < 0:
        raise ServiceError(_("An amount cannot be negative."))
    if occurred_at is not None and occurred_at > timezone.now() + EVENT_CLOCK_SKEW:
        raise ServiceError(_("An event cannot be in the future."))
    external_id = (external_id or "").strip()
    if external_id:
        seen = Event.objects.for_tenant(tenant).filter(external_id=external_id).first()
        if seen is not None:
            return _seen_before(seen, contact), False
    rules_ensure_defaults(tenant=tenant)
    event = Event(
        tenant=tenant, contact=contact, kind=kind, amount=amount, note=(note or "").strip(),
        occurred_at=occurred_at or timezone.now(), actor=actor, channel=channel,
        external_id=external_id,
    )  # fmt: skip
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:  # the same event, sent twice at once
        seen = Event.objects.for_tenant(tenant).get(external_id=external_id)
        return _seen_before(seen, contact), False
    contact = Contact.objects.for_tenant(tenant).get(pk=contact.pk)
    event.outcome = [
        _apply_rule(rule, event, contact) for rule in rules_for_kind(tenant=tenant, kind=kind)
    ]
    event.save(update_fields=["outcome"])
    return event, True
