"""Who new contacts go to: the company's assignment rules ("contacts tagged 地推传单 go to 赵",
"every new contact, in turn among 赵 and 孙"), tried in order, for every contact created without
an owner, by the contact form, the API or an import, set-based.

The rotation lives in the rule's row (`turns`): a batch of N contacts takes N turns with one
UPDATE … RETURNING, which holds the row until the batch commits, so two workers never give the
same turn and a batch rolled back gives its turns back. An import takes them at the end of each
chunk (contacts_owners_settle), so that its chunks applied side by side do not wait on each
other for the whole of one.
"""

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _

from crm import bulk
from crm.audit import audit_record
from crm.models import AuditKind, Contact, Membership, Tenant
from crm.permissions import can_edit_rules
from crm.services import NotAllowed, ServiceError
from tagging.models import ContactTag, Tag

from .models import AssignmentRule, AssignmentRuleMember

# an audit entry names the contacts it gave when they are few (a form, the API, a small file)
LISTED = 100


def _rules_editor(actor: Membership | None) -> None:
    if not can_edit_rules(actor):
        raise NotAllowed(_("Only admins may change the rules."))


def rule_condition(tag_label: str | None) -> str:
    """What a rule answers, as its page and the audit log say it."""
    if tag_label is None:
        return _("every new contact")
    return _("contacts tagged “%(tag)s”") % {"tag": tag_label}


def _said(entry) -> str | None:
    """An assignment rule's entry (crm.audit's writers): what the rule answers, in the reader's
    words; None for another's, or one written before the tag was kept with it."""
    details = entry.details or {}
    if "assignment_rule" not in details or "tag" not in details:
        return None
    return rule_condition(details["tag"])


def audit_rule_subjects(tenant: Tenant):
    return _said


def audit_rule_actors(tenant: Tenant):
    def who(entry) -> str | None:
        said = _said(entry)
        return None if said is None else _("Assignment rule: %(rule)s") % {"rule": said}

    return who


def _changed(rule: AssignmentRule, actor: Membership | None, kind: AuditKind, change: str) -> None:
    label = rule.tag.label if rule.tag_id else None
    audit_record(tenant=rule.tenant, actor=actor, kind=kind, subject=rule_condition(label),
                 details={"assignment_rule": rule.pk, "change": change, "tag": label})  # fmt: skip


# --- the rules, as admins write them ------------------------------------------------------


@transaction.atomic
def assignment_rule_save(
    *, tenant: Tenant, actor: Membership | None, tag: Tag | None, members: list[Membership]
) -> AssignmentRule:
    """A rule after the company's others: contacts holding `tag` at their creation (None: every
    new contact) go to `members`, in turn when there are several."""
    _rules_editor(actor)
    if tag is not None and tag.tenant_id != tenant.pk:
        raise ServiceError(_("Choose a tag of this company."))
    if not members:
        raise ServiceError(_("Choose who gets the contacts."))
    if any(member.tenant_id != tenant.pk for member in members):
        raise ServiceError(_("Choose members of this company."))
    last = AssignmentRule.objects.for_tenant(tenant).aggregate(last=Max("position"))["last"]
    rule = AssignmentRule.objects.create(
        tenant=tenant, tag=tag, position=0 if last is None else last + 1
    )
    AssignmentRuleMember.objects.bulk_create(
        AssignmentRuleMember(tenant=tenant, rule=rule, member_id=pk)
        for pk in sorted({member.pk for member in members})
    )
    _changed(rule, actor, AuditKind.RULE_SAVED, "created")
    return rule


@transaction.atomic
def assignment_rule_set_active(
    *, rule: AssignmentRule, actor: Membership | None, active: bool
) -> None:
    _rules_editor(actor)
    AssignmentRule.objects.for_tenant(rule.tenant).filter(pk=rule.pk).update(active=active)
    rule.active = active
    _changed(rule, actor, AuditKind.RULE_SAVED, "activated" if active else "paused")


@transaction.atomic
def assignment_rule_move_up(*, rule: AssignmentRule, actor: Membership | None) -> None:
    """The rule is tried one place earlier (the first stays first)."""
    _rules_editor(actor)
    # locked in id order, as the assigning locks them: the two never wait on each other in turn
    rules = list(AssignmentRule.objects.for_tenant(rule.tenant).order_by("pk").select_for_update())
    rules.sort(key=lambda r: (r.position, r.pk))
    at = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    if at == 0:
        return
    rules[at - 1], rules[at] = rules[at], rules[at - 1]
    for position, each in enumerate(rules):
        each.position = position
    AssignmentRule.objects.bulk_update(rules, ["position"])
    _changed(rule, actor, AuditKind.RULE_SAVED, "moved_up")


@transaction.atomic
def assignment_rule_delete(*, rule: AssignmentRule, actor: Membership | None) -> None:
    """Contacts it gave keep their owners."""
    _rules_editor(actor)
    _changed(rule, actor, AuditKind.RULE_DELETED, "deleted")
    AssignmentRule.objects.for_tenant(rule.tenant).filter(pk=rule.pk).delete()


@dataclass(frozen=True)
class RuleRow:
    """A rule as its settings page shows it."""

    rule: AssignmentRule
    condition: str
    members: list[str]  # names, in the rotation's order
    next_member: str  # whose turn it is (several members)


def assignment_rule_list(
    *, tenant: Tenant, tag_labels: dict[int, str], member_names: dict[int, str]
) -> list[RuleRow]:
    """The company's rules in order, with the names the page already read: two queries."""
    rules = list(AssignmentRule.objects.for_tenant(tenant).order_by("position", "pk"))
    members: dict[int, list[int]] = defaultdict(list)
    rows = AssignmentRuleMember.objects.for_tenant(tenant).order_by("member_id")
    for rule_id, member_id in rows.values_list("rule_id", "member_id"):
        members[rule_id].append(member_id)
    listed = []
    for rule in rules:
        names = [member_names.get(pk, "") for pk in members[rule.pk]]
        label = tag_labels.get(rule.tag_id) if rule.tag_id else None
        turn = names[rule.turns % len(names)] if len(names) > 1 else ""
        listed.append(RuleRow(rule, rule_condition(label), names, turn))
    return listed


# --- the rules at work ----------------------------------------------------------------------


@dataclass(frozen=True)
class InForce:
    pk: int
    tag_id: int | None
    tag_label: str | None
    members: tuple[int, ...]  # in a fixed order (by membership): the rotation's order
    turns: int  # as read, without a lock: where a bulk creation's plan starts

    def member_at(self, turn: int) -> int:
        return self.members[turn % len(self.members)]


# (rule, member) -> the contacts the rule gave that member
Gave = dict[tuple[InForce, int], list[int]]


def rules_in_force(*, tenant: Tenant) -> list[InForce]:
    """The company's rules that are on and still have a member, in order: one query. A rule
    whose members all left the company has no row here, and is skipped."""
    rows = (
        AssignmentRuleMember.objects.for_tenant(tenant)
        .filter(rule__active=True)
        .order_by("rule__position", "rule_id", "member_id")
        .values_list("rule_id", "rule__tag_id", "rule__tag__label", "rule__turns", "member_id")
    )
    found: dict[int, tuple[int | None, str | None, int, list[int]]] = {}
    for rule_id, tag_id, label, turns, member_id in rows:
        found.setdefault(rule_id, (tag_id, label, turns, []))[3].append(member_id)
    return [InForce(pk, tag, label, tuple(members), turns)
            for pk, (tag, label, turns, members) in found.items()]  # fmt: skip


def _match(rules: list[InForce], contacts: list[Collection[int] | None]) -> dict[int, list[int]]:
    """The places in `contacts` (the tags each holds; None: it has an owner) each rule takes:
    the first rule that matches a contact takes it."""
    taken: dict[int, list[int]] = defaultdict(list)
    for place, tags in enumerate(contacts):
        if tags is None:
            continue
        for rule in rules:
            if rule.tag_id is None or rule.tag_id in tags:
                taken[rule.pk].append(place)
                break
    return taken


# The rule's next `n` turns, under its row's lock until the transaction ends; none if the rule
# was switched off or deleted meanwhile.
TAKE_TURNS = """
UPDATE activities_assignmentrule SET turns = turns + %s
WHERE tenant_id = %s AND id = %s AND active RETURNING turns - %s
"""


def _take_turns(tenant: Tenant, taken: dict[int, list[int]]) -> dict[int, int]:
    """Each rule's first turn of the run it takes; a rule switched off or deleted meanwhile
    takes none. In id order: two workers never wait on each other in a circle."""
    starts = {}
    with connection.cursor() as cursor:
        for rule_id in sorted(taken):
            count = len(taken[rule_id])
            cursor.execute(TAKE_TURNS, [count, tenant.pk, rule_id, count])
            row = cursor.fetchone()
            if row is not None:
                starts[rule_id] = row[0]
    return starts


def _give(
    tenant: Tenant, rules: list[InForce], contacts: list[Collection[int] | None]
) -> list[tuple[InForce, int] | None]:
    """Who each contact (the tags it holds; None: it has an owner), in creation order, goes
    to, its rule's turns taken at once: (rule, member) in the order of `contacts`, or None."""
    taken = _match(rules, contacts)
    by_pk = {rule.pk: rule for rule in rules}
    given: list[tuple[InForce, int] | None] = [None] * len(contacts)
    for rule_id, start in _take_turns(tenant, taken).items():
        rule = by_pk[rule_id]
        for turn, place in enumerate(taken[rule_id], start=start):
            given[place] = (rule, rule.member_at(turn))
    return given


def assignments_record(*, tenant: Tenant, gave: Gave) -> None:
    """The audit log's "owner assigned" entries: one per rule and member, by the rule."""
    if not gave:
        return
    names = {
        m.pk: m.display_name
        for m in Membership.objects.for_tenant(tenant)
        .filter(pk__in={member_id for _rule, member_id in gave})
        .select_related("user")
    }
    for (rule, member_id), contacts in gave.items():
        details = {"owner": member_id, "assignment_rule": rule.pk, "tag": rule.tag_label}
        if len(contacts) <= LISTED:
            details["contacts"] = contacts
        audit_record(
            tenant=tenant, actor=None, kind=AuditKind.BULK_ASSIGN,
            actor_label=_("Assignment rule: %(rule)s") % {"rule": rule_condition(rule.tag_label)},
            subject=names.get(member_id, ""), count=len(contacts), details=details,
        )  # fmt: skip


# --- one contact, or those just created: the contact form, the API --------------------------


def contacts_assign_new(*, tenant: Tenant, event: str, rows: QuerySet) -> None:
    """A change listener (crm.hooks.change_recorded), in the creation's transaction: the
    contacts just created without an owner (the contact form: those who asked no one before)
    get one from the company's rules, by the tags they already hold, in creation order; one
    UPDATE for them all. A company without rules pays one query."""
    if event != "contact.created" or rows.model is not Contact:
        return
    rules = rules_in_force(tenant=tenant)
    if not rules:
        return
    # the created contacts' own condition (ids, as an array): no second look-up of each
    new = list(rows.filter(owner__isnull=True).order_by("pk").values_list("pk", flat=True))
    if not new:
        return
    held: dict[int, set[int]] = defaultdict(set)
    tags = [rule.tag_id for rule in rules if rule.tag_id is not None]
    if tags:
        pairs = ContactTag.objects.for_tenant(tenant).filter(contact_id__any=new, tag_id__any=tags)
        for contact_id, tag_id in pairs.values_list("contact_id", "tag_id"):
            held[contact_id].add(tag_id)
    gave: Gave = defaultdict(list)
    for pk, each in zip(new, _give(tenant, rules, [held[pk] for pk in new]), strict=True):
        if each is not None:
            gave[each].append(pk)
    bulk.update_rows(Contact, ["owner_id"], [(pk, member) for (_r, member), ids in gave.items()
                                             for pk in ids])  # fmt: skip
    assignments_record(tenant=tenant, gave=gave)


@dataclass(frozen=True)
class Assigned:
    """Whom a rule gives a contact about to be created."""

    rule: InForce
    member: Membership

    def record(self, contact: Contact) -> None:
        gave = {(self.rule, self.member.pk): [contact.pk]}
        assignments_record(tenant=contact.tenant, gave=gave)


def new_contact_owner(*, tenant: Tenant, tags: list[Tag]) -> Assigned | None:
    """For one contact about to be created with `tags` (the API adds them only after creating
    it, too late for the listener): whom the rules give it, its turn taken in the caller's
    transaction. The caller creates it with that owner, then calls `record(contact)`."""
    rules = rules_in_force(tenant=tenant)
    (given,) = _give(tenant, rules, [{tag.pk for tag in tags}]) if rules else (None,)
    if given is None:
        return None
    rule, member_id = given
    member = Membership.objects.for_tenant(tenant).select_related("user").get(pk=member_id)
    return Assigned(rule, member)


# --- many contacts at once: an import's chunk ------------------------------------------------


@dataclass
class OwnersPlan:
    """Owners for contacts about to be created in bulk, in the order they will be written,
    planned from the rotations as they stood (nothing locked): `owner_ids` (None: nobody)."""

    tenant: Tenant
    rules: dict[int, InForce]
    taken: dict[int, list[int]]  # rule -> the places it took
    owner_ids: list[int | None]


def contacts_owners_plan(*, tenant: Tenant, tags: list[Collection[int] | None]) -> OwnersPlan:
    """For contacts about to be created, in order, each with the tags it will hold (None: it
    has an owner): whom the rules give each, from the rotations as they stand. An import writes
    its new people with these owners (an UPDATE after would rewrite every row and its
    indexes), and nothing is locked yet: the chunks it applies side by side stay side by side."""
    rules = rules_in_force(tenant=tenant) if any(t is not None for t in tags) else []
    taken = _match(rules, tags)
    by_pk = {rule.pk: rule for rule in rules}
    owner_ids: list[int | None] = [None] * len(tags)
    for rule_id, places in taken.items():
        rule = by_pk[rule_id]
        for turn, place in enumerate(places, start=rule.turns):
            owner_ids[place] = rule.member_at(turn)
    return OwnersPlan(tenant, by_pk, taken, owner_ids)


def contacts_owners_settle(*, plan: OwnersPlan, contact_ids: list[int]) -> None:
    """Once the planned contacts are written (`contact_ids`, in the plan's order), as late in
    their transaction as can be: each rule takes its turns (its row locked until the commit, so
    no other worker takes them), and what it gave is recorded. When another worker took turns
    in between, this run starts elsewhere in the rotation: each member's count is put right by
    moving fewer contacts than the rule has members (one UPDATE), not by moving them all."""
    owner_ids, moved = plan.owner_ids, []
    for rule_id, start in _take_turns(plan.tenant, plan.taken).items():
        rule = plan.rules[rule_id]
        if (start - rule.turns) % len(rule.members):
            moved += _rebalance(owner_ids, plan.taken[rule_id], rule, start)
    bulk.update_rows(Contact, ["owner_id"], [(contact_ids[p], owner_ids[p]) for p in moved])
    gave: Gave = defaultdict(list)
    for rule_id, places in plan.taken.items():
        for place in places:
            gave[(plan.rules[rule_id], owner_ids[place])].append(contact_ids[place])
    assignments_record(tenant=plan.tenant, gave=gave)


def _rebalance(owner_ids: list[int | None], places: list[int], rule: InForce, start: int):
    """The rule's contacts at `places` hold its turns from `start`: the members it gave too
    many of hand their last ones to those it gave too few. Returns the places changed."""
    want = Counter(rule.member_at(start + i) for i in range(len(places)))
    have = Counter(owner_ids[place] for place in places)
    surplus, short = have - want, list((want - have).elements())
    changed = []
    for place in reversed(places):
        if short and surplus[owner_ids[place]] > 0:
            surplus[owner_ids[place]] -= 1
            owner_ids[place] = short.pop()
            changed.append(place)
    return changed
