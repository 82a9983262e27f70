"""Applying a chunk of checked people: created or updated set-based, tags and stages with them,
each chunk in its own transaction."""

import operator
from dataclasses import dataclass, field, replace

from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from activities.assignment import contacts_owners_plan, contacts_owners_settle
from crm import bulk
from crm.consent import consents_import
from crm.customfields import custom_fields_of
from crm.hooks import change_recorded
from crm.models import Contact, CustomField, Tenant
from crm.sortkeys import name_sort_key
from lifecycle import services as lifecycle
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.rules import stage_reachable
from lifecycle.selectors import stage_settings
from lifecycle.stages import RANK, Channel, Status
from tagging.models import ContactTag
from tagging.services import assignments_remove

from ..models import ImportJob
from .checking import (
    IDENTITY,
    LIMITS,
    REQUIRED_FIELDS,
    VALUES,
    Record,
    _email_conflict,
)
from .reading import FIELDS  # noqa: F401


class _Reach:
    """lifecycle's stage_reachable, asked once per (stage, fields filled) in a chunk."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.demanding = {s for s, setting in stage_settings(tenant=tenant).items()
                          if setting.requirements}  # fmt: skip
        self.known: dict[tuple[str, frozenset[str]], tuple[str, list[str]]] = {}

    def __call__(self, stage: str, filled: frozenset[str]) -> tuple[str, list[str]]:
        if stage not in self.demanding:
            return stage, []
        key = (stage, filled)
        if key not in self.known:
            self.known[key] = stage_reachable(tenant=self.tenant, to_stage=stage, filled=filled)
        return self.known[key]


def _contact_filled(contact: Contact) -> frozenset[str]:
    return frozenset(
        name
        for name in REQUIRED_FIELDS
        if getattr(contact, "owner_id" if name == "owner" else name) not in (None, "")
    )


def _contact_values(contact: Contact) -> dict:
    return {name: getattr(contact, name) for name in ("name", "email", "phone", "wechat_id")}


def _as_created(record: Record, reachable: _Reach, warned: list[dict]) -> Record:
    """The record as it is created: named after its phone, email or WeChat ID if the file gives
    no name, at the furthest stage up to its own whose requirements it meets (a warning says
    why it stopped short). A copy: a chunk applied again starts from the record as read."""
    values, stage = record.values, record.stage
    if not values["name"]:
        name = values["phone"] or values["email"] or values["wechat_id"]
        values = {**values, "name": name[: LIMITS["name"]]}
    if stage in reachable.demanding:
        filled = frozenset(name for name in REQUIRED_FIELDS if values.get(name))
        stage, missing = reachable(stage, (filled | {"owner"}) if record.owner else filled)
        if missing:
            warned.append({"row": record.rows[0], "code": "stage_lowered",
                           "value": f"{record.stage}|{stage}|{','.join(missing)}"})  # fmt: skip
    if values is record.values and stage == record.stage:
        return record
    return replace(record, values=values, stage=stage)


def warnings_begin(*, job: ImportJob, warnings: list[dict]) -> None:
    """A run's start: the checking's `warnings` replace an earlier run's (the chunks applied
    already keep theirs, on their own rows)."""
    ImportJob.objects.for_tenant(job.tenant).filter(pk=job.pk).update(warnings=warnings)
    job.warnings = warnings


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a chunk did."""

    created: int
    updated: int
    unchanged: int
    merged: int
    new_ids: list[int]  # the contacts created: the import's undo removes only those
    warnings: list[dict]  # rows that landed not quite as written
    # rows refused only now: a new person without a value of a required custom field
    errors: list[dict] = field(default_factory=list)
    failed: int = 0
    # {contact id: {key: value}}: the custom values written into people already here (each
    # key one they had no value of), which the import's undo takes back while they stand
    custom_filled: dict[int, dict] = field(default_factory=dict)


def _custom_refused(record: Record, missing: list[CustomField]) -> list[dict]:
    """A new person without a value of the required fields `missing`: each of their rows fails,
    worded as the check words an empty required field (again when shown)."""
    return [
        {"row": row, "code": "custom", "key": cf.key, "value": "",
         "reason": _("%(field)s is required.") % {"field": cf.label}}
        for row in record.rows for cf in missing
    ]  # fmt: skip


def apply_chunk(job: ImportJob, records: list[Record], single: dict[int, int]) -> Applied:
    """Creates or updates the people of one chunk, set-based (see Applied).
    `single` maps each tag of a one-at-a-time group to its group.

    Custom fields, as the built-in ones: a person already here gets the values of the fields
    they have none of, and keeps those they have (a warning names a value the file would have
    changed); a new person lacking a required field's value is not created (a row error)."""
    tenant = job.tenant
    custom_fields = custom_fields_of(tenant=tenant)
    field_keys = {cf.key for cf in custom_fields}  # a field deleted since the check is left out
    required = [cf for cf in custom_fields if cf.required]
    wanted = {key: [r.values[key] for r in records if r.values[key]] for key in IDENTITY}
    existing: dict[tuple[str, str], Contact] = {}
    # locked, so nobody edits them between reading and filling
    scope = Contact.objects.for_tenant(tenant)
    for contact in scope.filter(
        pk__any=bulk.ids_holding_any(Contact, tenant=tenant, wanted=wanted)
    ).select_for_update():
        for key in IDENTITY:
            if getattr(contact, key):
                existing[(key, getattr(contact, key))] = contact
    matched = {c.pk: c for c in existing.values()}
    held: dict[int, set[int]] = {}
    rows = ContactTag.objects.for_tenant(tenant).filter(contact_id__any=list(matched))
    for contact_id, tag_id in rows.values_list("contact_id", "tag_id"):
        held.setdefault(contact_id, set()).add(tag_id)

    created = updated = unchanged = 0
    new_records: list[Record] = []
    filled: dict[int, Contact] = {}
    moves: dict[str, list[int]] = {}
    tagging: list[tuple[int, int]] = []  # (contact id, tag id) for people already there
    dropped: list[tuple[int, int]] = []
    warned: list[dict] = []
    custom_filled: dict[int, dict] = {}
    consenting: list[tuple[int, str, bool]] = []  # (contact id, channel, granted)
    reachable = _Reach(tenant)
    for record in records:
        keys = [(k, record.values[k]) for k in IDENTITY]
        match = next((existing[key] for key in keys if key in existing), None)
        if match is None:
            new_records.append(record)
            continue
        consenting += [(match.pk, channel, said) for channel, said in record.consent.items()]
        changed = False
        email = record.values["email"]
        if (
            email
            and match.email == email
            and _email_conflict(_contact_values(match), record.values)
        ):
            warned.append({"row": record.rows[0], "code": "merged_existing", "value": match.name})
        for name, value in record.values.items():
            # never take a phone, email or WeChat ID another contact already holds
            if value and not getattr(match, name) and existing.get((name, value), match) is match:
                setattr(match, name, value)
                filled[match.pk] = match
                changed = True
        # an owner fills a contact without one; a contact that has one keeps theirs
        if record.owner and match.owner_id is None:
            match.owner_id = record.owner
            filled[match.pk] = match
            changed = True
        if record.stage and RANK[record.stage] > RANK[match.stage]:
            # as far forward as the contact, filled by the row, meets the stages' requirements
            stage, missing = reachable(record.stage, _contact_filled(match))
            moving = RANK[stage] > RANK[match.stage] and match.status == Status.ACTIVE
            if moving:
                moves.setdefault(stage, []).append(match.pk)
                changed = True
            if missing or not moving:
                code = "stage_lowered" if moving else "stage_kept"
                code = "stage_lost" if match.status == Status.LOST else code
                put = stage if moving else match.stage
                warned.append({"row": record.rows[0], "code": code,
                               "value": f"{record.stage}|{put}|{','.join(missing)}"})  # fmt: skip
        known = held.setdefault(match.pk, set())
        fresh = [t for t in record.tags if t not in known]
        for tag in fresh:
            if tag in single:  # a one-at-a-time group keeps only the tag the file gives
                others = {t for t in known if single.get(t) == single[tag]}
                dropped += [(match.pk, t) for t in others]
                known -= others
            known.add(tag)
        tagging += [(match.pk, t) for t in fresh]
        changed = changed or bool(fresh)
        held_custom = match.custom or {}
        adding = {}
        for key, value in record.custom.items():
            if key not in field_keys:
                continue
            if key not in held_custom:
                adding[key] = value
            elif held_custom[key] != value:
                warned.append({"row": record.rows[0], "code": "custom_kept", "key": key,
                               "value": value, "held": held_custom[key]})  # fmt: skip
        if adding:
            match.custom = {**held_custom, **adding}
            custom_filled.setdefault(match.pk, {}).update(adding)
            filled[match.pk] = match
            changed = True
        updated += changed
        unchanged += not changed

    errors: list[dict] = []
    refused: set[int] = set()  # id() of the records refused
    if required:
        creating = []
        for record in new_records:
            missing = [cf for cf in required if cf.key not in record.custom]
            if missing:
                errors += _custom_refused(record, missing)
                refused.add(id(record))
            else:
                creating.append(record)
        new_records = creating
    failed = sum(len(record.rows) for record in records if id(record) in refused)

    # owners for the new people the file gives none, from the company's assignment rules, by
    # the tags they come with: written with them (an owner may meet a stage's requirement)
    owners = contacts_owners_plan(tenant=tenant, tags=[None if r.owner else r.tags
                                                       for r in new_records])  # fmt: skip
    new_records = [
        _as_created(replace(r, owner=owner) if owner else r, reachable, warned)
        for r, owner in zip(new_records, owners.owner_ids, strict=True)
    ]
    now = timezone.now()
    actor_id = job.created_by_id
    # the name's sort key with the name (crm/sortkeys.py: cached per name and per character)
    fill_fields = [*VALUES, "name_sort", "owner_id", "custom", "updated_at"]
    bulk.update_rows(
        Contact,
        fill_fields,
        [(c.pk, *(getattr(c, f) for f in VALUES), name_sort_key(c.name), c.owner_id,
          Jsonb(c.custom), now)
         for c in filled.values()],
    )  # fmt: skip
    values_of = operator.itemgetter(*VALUES)
    # the custom values with the row itself: a contact created is untouched since (undo)
    new_ids = lifecycle.contacts_create_at_stages(
        tenant=tenant, actor=job.created_by, fields=[*VALUES, "name_sort", "owner_id", "custom"],
        rows=[(*values_of(r.values), name_sort_key(r.values["name"]), r.owner,
               Jsonb({k: v for k, v in r.custom.items() if k in field_keys}))
              for r in new_records],
        stages=[r.stage for r in new_records], channel=Channel.IMPORT,
    )  # fmt: skip
    created = len(new_ids)
    by_tag: dict[int, list[int]] = {}
    for contact_id, tag_id in dropped:
        by_tag.setdefault(tag_id, []).append(contact_id)
    held = ContactTag.objects.for_tenant(tenant)
    for tag_id, contact_ids in by_tag.items():
        assignments_remove(
            held.filter(tag_id=tag_id, contact_id__any=contact_ids),
            actor=job.created_by, channel=Channel.IMPORT,
        )  # fmt: skip
    tag_fields = ["tenant_id", "contact_id", "tag_id", "channel", "added_by_id", "created_at"]
    # brand-new people cannot hold a tag yet: straight COPY
    tagged = bulk.insert_rows(
        ContactTag,
        tag_fields,
        [
            (tenant.pk, pk, tag_id, Channel.IMPORT, actor_id, now)
            for pk, r in zip(new_ids, new_records, strict=True)
            for tag_id in r.tags
        ],
        returning_ids=True,
    )
    tagged += bulk.insert_rows(
        ContactTag,
        tag_fields,
        [(tenant.pk, pk, tag_id, Channel.IMPORT, actor_id, now) for pk, tag_id in tagging],
        ignore_conflicts=True,  # someone may have tagged them a moment ago
        returning_ids=True,
    )
    # the rotations' turns as late as the owners can be final for what hears of the new people
    # (task rules, webhooks): the rules' rows stay locked until this chunk commits
    contacts_owners_settle(plan=owners, contact_ids=new_ids)
    # webhooks (an outbox row per subscribed endpoint, written set-based in this transaction)
    change_recorded(
        tenant=tenant,
        event="contact.created",
        rows=Contact.objects.for_tenant(tenant)
        .filter(pk__any=new_ids)
        .values_list("id", "id", "created_at"),
    )
    change_recorded(
        tenant=tenant,
        event="contact.tagged",
        rows=ContactTag.objects.for_tenant(tenant)
        .filter(pk__any=tagged)
        .values_list("contact_id", "tag_id", "created_at"),
    )
    # consent the file gives (its own column per channel): the new people's and those already
    # here, each written only where it changes the person's state, marked with the import
    consenting += [
        (pk, channel, said)
        for pk, r in zip(new_ids, new_records, strict=True)
        for channel, said in r.consent.items()
    ]
    consents_import(tenant=tenant, actor=job.created_by, rows=consenting, import_job_id=job.pk,
                    subject=job.file_name)  # fmt: skip
    for stage, ids in moves.items():
        # forward only: the lifecycle service's table refuses backward moves for imports
        contacts_bulk_move(
            tenant=tenant, actor=job.created_by, contacts=ids, to_stage=stage,
            channel=Channel.IMPORT, quiet=True,
        )  # fmt: skip
    # each row is counted once: the person's first row as created, updated or unchanged, the
    # rows merged into it as merged
    # rows as merged (a person refused above counts as failed, every row of them)
    merged = sum(len(record.rows) - 1 for record in records if id(record) not in refused)
    return Applied(created=created, updated=updated, unchanged=unchanged, merged=merged,
                   new_ids=new_ids, warnings=warned, errors=errors, failed=failed,
                   custom_filled=custom_filled)  # fmt: skip
