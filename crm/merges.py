"""Merging two contacts by hand: fields chosen one by one; custom-field values kept, the other
contact's filling the gaps; tags and events moved to the contact that stays; the furthest stage
kept; the merge recorded (ContactMerge and the audit log).

The merged contact's stage changes are kept on the survivor, marked "merged from": its timeline
shows them, but they are not the survivor's chain (its stage_version counts only its own rows)
and analytics skip them, so a person's progress is counted once.

Who may merge (DESIGN.md, Roles): admins, the role that may delete contacts, any two; sales only
two the duplicate finder lists; marketers never. Checked here, on the locked rows.
"""

import unicodedata

from django.db import transaction
from django.db.models import BigIntegerField, Q, Value
from django.forms.models import model_to_dict
from django.utils.translation import gettext as _

from .audit import audit_record
from .customfields import custom_fields_of, value_display
from .hooks import change_recorded, contacts_merging
from .models import CONTACT_FIELDS, AuditKind, Contact, ContactMerge, CustomField, Membership
from .permissions import can_merge, can_merge_any
from .services import ERASED, NotAllowed, ServiceError

MERGE_FIELDS = (*CONTACT_FIELDS, "owner", "expected_amount")
UNIQUE = ("phone", "email", "wechat_id")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _shared_channel_condition(contact: Contact) -> Q:
    """The same phone ending, email name or WeChat ID written differently (phones, emails and
    WeChat IDs are unique, so a duplicate always differs somewhere). Symmetric: if B matches
    A's condition, A matches B's. A contact with no channel matches nobody."""
    condition = Q(pk__in=[])
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", contact.phone) if ch.isdigit())
    if len(digits) >= 8:
        # a number stored before normalisation may still be written in full-width digits
        # (the data migration keeps one that would collide): either way of writing matches
        ending = digits[-8:]
        condition |= Q(phone__endswith=ending) | Q(phone__endswith=ending.translate(FULL_WIDTH))
    if contact.email:
        condition |= Q(email__prefix=contact.email.split("@")[0] + "@")
    if contact.wechat_id:
        condition |= Q(wechat_id__iexact=contact.wechat_id)
    return condition


def _duplicate_condition(contact: Contact) -> Q:
    """What the duplicates page lists: a shared channel, or the same name."""
    return Q(name=contact.name) | _shared_channel_condition(contact)


def likely_duplicates(*, contact: Contact, limit: int = 10) -> list[Contact]:
    """Contacts that may be the same person (what the duplicates page lists)."""
    return list(
        Contact.objects.for_tenant(contact.tenant)
        .filter(_duplicate_condition(contact))
        .exclude(pk=contact.pk)
        .select_related("owner__user")
        .order_by("-updated_at")[:limit]
    )


def share_a_channel(*, contact: Contact, other: Contact) -> bool:
    """Whether `other` shares a phone, email or WeChat ID with `contact` (written alike), the
    likely duplicates sales staff may merge; a shared name alone is not enough."""
    return (
        Contact.objects.for_tenant(contact.tenant)
        .filter(_shared_channel_condition(contact), pk=other.pk)
        .exclude(pk=contact.pk)
        .exists()
    )


def mergeable(*, actor: Membership | None, contact: Contact, candidates: list[Contact]) -> set:
    """The ids among `candidates` the actor may merge with `contact` (the page's buttons)."""
    if not may_merge(actor=actor):
        return set()
    if can_merge_any(actor):
        return {c.pk for c in candidates}
    return set(
        Contact.objects.for_tenant(contact.tenant)
        .filter(_shared_channel_condition(contact), pk__in=[c.pk for c in candidates])
        .values_list("pk", flat=True)
    )


def merge_custom_rows(*, survivor: Contact, merged: Contact) -> list[tuple[str, str, str, bool]]:
    """The company's own fields either contact holds, as the merge page shows them: (name, the
    kept contact's value, the other's, whether the other's fills the gap). No choice: the kept
    contact's values stay, the other's fill the fields it has none of."""
    mine, theirs = survivor.custom or {}, merged.custom or {}
    fields = [
        f for f in custom_fields_of(tenant=survivor.tenant) if f.key in mine or f.key in theirs
    ]
    names = {}
    if any(f.kind == CustomField.Kind.MEMBER for f in fields):
        members = Membership.objects.for_tenant(survivor.tenant).select_related("user")
        names = {member.pk: member.display_name for member in members}
    return [
        (f.label, value_display(f, mine.get(f.key), member_names=names),
         value_display(f, theirs.get(f.key), member_names=names), f.key not in mine)
        for f in fields
    ]  # fmt: skip


def may_merge(*, actor: Membership | None) -> bool:
    """Whether the actor's role may merge any contacts at all (pages show the merge buttons)."""
    return can_merge(actor)


def merge_check(*, actor: Membership | None, survivor: Contact, merged: Contact) -> None:
    """Raises NotAllowed unless the actor may merge these two (read as they are stored now)."""
    if not may_merge(actor=actor) or actor.tenant_id != survivor.tenant_id:
        raise NotAllowed(_("Only admins and sales staff may merge contacts."))
    if can_merge_any(actor):
        return
    if not share_a_channel(contact=survivor, other=merged):
        raise NotAllowed(
            _(
                "Sales staff may merge only two contacts that share a phone, email or WeChat ID. "
                "Ask an admin to merge these two."
            )
        )


@transaction.atomic
def contact_merge(
    *, survivor: Contact, merged: Contact, actor: Membership, take_from_merged: set[str]
) -> Contact:
    """Keeps `survivor`, taking the fields named in `take_from_merged` from `merged`, and
    deletes `merged` once everything it held has moved over. A refusal changes nothing."""
    if not may_merge(actor=actor):  # before any lock: marketers never merge
        raise NotAllowed(_("Only admins and sales staff may merge contacts."))
    if survivor.pk == merged.pk or survivor.tenant_id != merged.tenant_id:
        raise ServiceError(_("Choose two different contacts of this company."))
    if survivor.erased_at is not None or merged.erased_at is not None:
        raise ServiceError(str(ERASED))  # an erased person is not made whole again by a merge
    tenant = survivor.tenant
    # Both rows locked in one statement, in id order, so two merges of one pair cannot deadlock.
    locked = {
        c.pk: c
        for c in Contact.objects.for_tenant(tenant)
        .select_for_update()
        .filter(pk__in=[survivor.pk, merged.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ServiceError(
            _(
                "One of the two contacts was just merged or deleted by someone else. "
                "Nothing was changed."
            )
        )
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    merge_check(actor=actor, survivor=survivor, merged=merged)
    snapshot = {k: str(v) if v is not None else "" for k, v in model_to_dict(merged).items()}
    snapshot["custom"] = merged.custom or {}  # its values as they were, each kind in its form
    chosen = {name: getattr(merged, name) for name in MERGE_FIELDS if name in take_from_merged}
    # free the unique channels on the contact that goes before the one that stays takes them
    Contact.objects.for_tenant(tenant).filter(pk=merged.pk).update(phone="", email="", wechat_id="")
    for name, value in chosen.items():
        setattr(survivor, name, value)
    for name in UNIQUE:  # a channel the survivor lacks is never lost
        if not getattr(survivor, name) and snapshot.get(name):
            setattr(survivor, name, snapshot[name])
    # the company's own fields: the kept contact's values stay, the other's fill the fields it
    # has none of (what it held besides stays in the merge's record); the audiences filtering
    # on them follow, as after any merge (lifecycle's merge step)
    survivor.custom = {**(merged.custom or {}), **(survivor.custom or {})}
    survivor.save(update_fields=[*MERGE_FIELDS, "custom", "updated_at"])

    contacts_merging(survivor=survivor, merged=merged, actor=actor)
    merged_pk, merged_name = merged.pk, merged.name
    merge = ContactMerge.objects.create(
        tenant=tenant, survivor=survivor, merged_name=merged.name, merged_data=snapshot,
        actor=actor,
    )  # fmt: skip
    # the company's systems hear of it (webhooks: contact.merged, both ids), with the merge
    change_recorded(tenant=tenant, event="contact.merged",
                    rows=ContactMerge.objects.for_tenant(tenant).filter(pk=merge.pk).values_list(
                        "survivor_id", Value(merged_pk, output_field=BigIntegerField()),
                        "created_at"))  # fmt: skip
    merged.delete()
    survivor.refresh_from_db()
    audit_record(
        tenant=tenant, actor=actor, kind=AuditKind.CONTACTS_MERGED, subject=survivor.name,
        details={"kept": survivor.pk, "merged": merged_pk, "merged_name": merged_name},
    )  # fmt: skip
    return survivor
