"""Events (a form filled, a payment, a visit) and the rules they trigger: kinds of events, the
rules themselves, and logging an event, which runs the rules of its kind."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.audit import audit_record
from crm.hooks import Hook
from crm.models import AuditKind, Contact, Membership, Tenant
from crm.permissions import can_edit_rules
from crm.services import ServiceError
from lifecycle import services as lifecycle
from lifecycle.selectors import stage_settings
from lifecycle.stages import RANK, Channel

from .events import BUILTIN_KINDS, DEFAULT_RULES
from .models import (
    Event,
    EventKind,
    Rule,
    Tag,
    TaggingDefaults,
    name_key,
)
from .outcomes import RuleOutcome, rule_title_key, stored_rule_title, title_from_key
from .selectors import event_kind_usage, event_kinds, event_kinds_changed, rules_for_kind
from .services import capability_required, contact_tag_add, contact_tag_remove, fields_checked


@transaction.atomic
def event_kind_create(*, tenant: Tenant, actor: Membership | None, label: str) -> EventKind:
    capability_required(actor, can_edit_rules, _("Only admins may add kinds of events."))
    label = " ".join((label or "").split())
    if not label:
        raise ServiceError(_("A kind of event needs a name."))
    key = slugify(label) or f"kind-{EventKind.objects.for_tenant(tenant).count() + 1}"
    if key in event_kinds(tenant=tenant) or label in event_kinds(tenant=tenant).values():
        raise ServiceError(_("There is already a kind of event “%(label)s”.") % {"label": label})
    kind = EventKind.objects.create(tenant=tenant, key=key[:40], label=label)
    event_kinds_changed(tenant=tenant)
    return kind


def _kind_name_taken(tenant: Tenant, key: str, label: str) -> bool:
    named = name_key(label)
    return any(other != key and name_key(name) == named
               for other, name in event_kinds(tenant=tenant).items())  # fmt: skip


@transaction.atomic
def event_kind_rename(*, tenant: Tenant, actor: Membership | None, key: str, label: str) -> str:
    """Gives a kind of event another name, the one every page shows; its key, which events,
    rules, imports and the API store, stays as it is. A built-in kind given no name takes its
    built-in one again, in each reader's language. Returns the name shown now."""
    capability_required(actor, can_edit_rules, _("Only admins may change kinds of events."))
    if key not in event_kinds(tenant=tenant):
        raise ServiceError(_("Unknown kind of event."))
    label = " ".join((label or "").split())
    named = EventKind.objects.for_tenant(tenant).filter(key=key)
    if not label:
        if key not in BUILTIN_KINDS:
            raise ServiceError(_("A kind of event needs a name."))
        named.delete()
    else:
        if _kind_name_taken(tenant, key, label):
            raise ServiceError(
                _("There is already a kind of event “%(label)s”.") % {"label": label}
            )
        kind = named.select_for_update().first() or EventKind(tenant=tenant, key=key)
        kind.label = label
        fields_checked(kind)
        kind.save()
    event_kinds_changed(tenant=tenant)
    return label or str(BUILTIN_KINDS[key])


@transaction.atomic
def event_kind_remove(*, tenant: Tenant, actor: Membership | None, key: str) -> str:
    """Removes one of the company's own kinds of event, while no event and no rule uses it.
    Built-in kinds stay (grading counts payments by theirs; the API and imports name them):
    they can be renamed. Returns the name it had."""
    capability_required(actor, can_edit_rules, _("Only admins may change kinds of events."))
    label = event_kinds(tenant=tenant).get(key)
    if label is None:
        raise ServiceError(_("Unknown kind of event."))
    if key in BUILTIN_KINDS:
        raise ServiceError(
            _("“%(kind)s” is built in: it can be renamed, not removed.") % {"kind": label}
        )
    kind = EventKind.objects.for_tenant(tenant).select_for_update().get(key=key)
    events, rules = event_kind_usage(tenant=tenant, key=key)
    if events:
        raise ServiceError(
            ngettext(
                "%(count)s event uses this kind: it cannot be removed while it does.",
                "%(count)s events use this kind: it cannot be removed while they do.",
                events,
            )
            % {"count": events}
        )
    if rules:
        raise ServiceError(
            ngettext(
                "%(count)s rule runs when this happens: delete it, or have it run on another "
                "kind, before removing this one.",
                "%(count)s rules run when this happens: delete them, or have them run on "
                "another kind, before removing this one.",
                rules,
            )
            % {"count": rules}
        )
    kind.delete()
    event_kinds_changed(tenant=tenant)
    return label


def rules_defaults_offered(*, tenant: Tenant) -> list[tuple[str, str]]:
    """The default rules (kind, stage) the company was never given: all of them for a company
    that has none yet, and those added to the product since it got its own."""
    marker = TaggingDefaults.objects.for_tenant(tenant).first()
    given = set(marker.kinds) if marker else set()
    return [(kind, stage) for kind, stage in DEFAULT_RULES if kind not in given]


@transaction.atomic
def rules_ensure_defaults(*, tenant: Tenant) -> None:
    """Gives a new tenant the default rules, once; rules an admin deleted stay deleted. A
    company that has them already gets a default added later only when an admin asks
    (rules_add_defaults): a new rule moving its contacts is its admins' decision."""
    _marker, created = TaggingDefaults.objects.get_or_create(tenant=tenant)
    if created:
        rules_add_defaults(tenant=tenant, actor=None)


@transaction.atomic
def rules_add_defaults(*, tenant: Tenant, actor: Membership | None) -> tuple[list[Rule], list[str]]:
    """Adds the default rules the company was never given (rules_defaults_offered), each once.
    A kind the company already has a rule moving contacts for keeps its own rule: no second
    one beside it. Returns (the rules added, the kinds skipped)."""
    if actor is not None:
        capability_required(actor, can_edit_rules, _("Only admins may change the rules."))
    marker, _created = (
        TaggingDefaults.objects.for_tenant(tenant).select_for_update().get_or_create(tenant=tenant)
    )
    given = set(marker.kinds)
    rules = Rule.objects.for_tenant(tenant)
    moving = set(rules.exclude(to_stage="").values_list("event_kind", flat=True))
    position = rules.count()
    added, skipped = [], []
    for kind, stage in DEFAULT_RULES:
        if kind in given:
            continue
        given.add(kind)
        if kind in moving:
            skipped.append(kind)
            continue
        # No name: shown as "what happens → stage" in the reader's language and current labels.
        rule = Rule.objects.create(
            tenant=tenant, name="", event_kind=kind, to_stage=stage, position=position
        )
        position += 1
        added.append(rule)
        if actor is not None:  # an admin's choice: the audit log says who added which
            audit_record(
                tenant=tenant, actor=actor, kind=AuditKind.RULE_SAVED,
                subject=stored_rule_title(rule, tenant),
                details={"rule": rule.pk, "created": True, "event": kind, "to": stage,
                         "add": [], "remove": [], "active": True, **_title_key(rule)},
            )  # fmt: skip
    marker.kinds = [kind for kind, _stage in DEFAULT_RULES if kind in given]
    marker.save(update_fields=["kinds"])
    return added, skipped


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
    capability_required(actor, can_edit_rules, _("Only admins may change the rules."))
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
    fields_checked(rule)
    rule.save()
    rule.add_tags.set(add_tags)
    rule.remove_tags.set(remove_tags)
    audit_record(
        tenant=tenant, actor=actor, kind=AuditKind.RULE_SAVED,
        subject=stored_rule_title(rule, tenant),
        details={"rule": rule.pk, "created": created, "event": event_kind, "to": to_stage,
                 "add": [t.label for t in add_tags], "remove": [t.label for t in remove_tags],
                 "active": active, **_title_key(rule)},
    )  # fmt: skip
    return rule


def _title_key(rule: Rule) -> dict:
    """For the audit log: a rule without a name of its own is named in the reader's words."""
    key = rule_title_key(rule)
    return {"title_key": key} if key else {}


def rule_audit_subjects(tenant: Tenant):
    """The audit log's subjects of rule entries (crm.audit.register_audit_subject)."""
    kinds = event_kinds(tenant=tenant)
    stages = {key: s.display_label for key, s in stage_settings(tenant=tenant).items()}

    def subject(entry) -> str | None:
        key = (entry.details or {}).get("title_key")
        return title_from_key(key, kinds, stages) if isinstance(key, dict) else None

    return subject


@transaction.atomic
def rule_delete(*, rule: Rule, actor: Membership | None) -> None:
    capability_required(actor, can_edit_rules, _("Only admins may change the rules."))
    title = stored_rule_title(rule, rule.tenant)
    audit_record(tenant=rule.tenant, actor=actor, kind=AuditKind.RULE_DELETED, subject=title,
                 details={"rule": rule.pk, **_title_key(rule)})  # fmt: skip
    rule.delete()


def _apply_rule(rule: Rule, event: Event, contact: Contact) -> dict:
    """Runs one rule for one event. Every effect is recorded with the rule as the actor; what
    cannot apply says why. Never backward: the lifecycle service refuses that for rules.
    The outcome is stored as codes (tagging.outcomes puts it into the reader's words)."""
    title_key = rule_title_key(rule)
    outcome = RuleOutcome(
        rule_id=rule.pk, name=stored_rule_title(rule, contact.tenant), title_key=title_key
    )
    if rule.to_stage:
        fill = {}
        if event.amount is not None and contact.expected_amount is None:
            fill["expected_amount"] = event.amount
        try:
            lifecycle.contact_stage_move(
                contact=contact, actor=None, to_stage=rule.to_stage, channel=Channel.RULE,
                actor_label=outcome.name, fill=fill or None,
                rule_kind=rule.event_kind if title_key else "",
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


# tenant=, event=: an event was recorded and its rules ran, in its transaction (grading: the
# contact's tier and activity status follow what it paid and did).
event_logged = Hook()


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
    event_logged(tenant=tenant, event=event)
    return event, True
