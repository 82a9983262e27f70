"""Checking and applying an import's rows: each row becomes a person (a Record) or errors,
people the file lists twice are merged, and a chunk of people is created or updated set-based."""

import operator
import re
from dataclasses import dataclass, field, replace

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import bulk
from crm.models import CONTACT_FIELDS, Contact, Membership, Tenant
from crm.normalize import (
    normalize_email,
    normalize_phone_or_blank,
    normalize_text,
    normalize_wechat_id,
    phone_refusal,
)
from crm.services import change_recorded
from lifecycle import services as lifecycle
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.rules import stage_reachable
from lifecycle.selectors import stage_name_key, stage_names, stage_settings
from lifecycle.stages import RANK, REQUIREMENTS, Channel, Status

from .import_files import FIELDS  # noqa: F401
from .models import ContactTag, ImportJob, Tag, TagGroup, name_key, unique_key
from .selectors import tag_resolve

NORMALIZE = {
    "name": normalize_text,
    "email": normalize_email,
    "phone": normalize_phone_or_blank,  # "" if refused: the checker says why
    "wechat_id": normalize_wechat_id,
    "weibo": str.strip,
    "company": normalize_text,
    "source": normalize_text,
    "notes": str.strip,
}
# what a failed row's error code says: (column, reason), worded in the reader's language
TAG_SPLIT = re.compile(r"[,，;；、]")
IDENTITY = ("email", "phone", "wechat_id")


# --- checking and merging rows -----------------------------------------------------------


VALUES = CONTACT_FIELDS
# the longest text each field holds (notes: unlimited). Longer text is cut to fit, with a
# warning; an email or WeChat ID that long is refused instead, as cutting it would name someone
# else.
LIMITS = {name: Contact._meta.get_field(name).max_length for name in VALUES}
REFUSED_TOO_LONG = ("email", "wechat_id")
# the fields a stage's entry requirements read (lifecycle.stages.REQUIREMENTS)
REQUIRED_FIELDS = tuple(dict.fromkeys(n for _l, names, _m in REQUIREMENTS.values() for n in names))
# a subset of what Django's EmailValidator accepts, checked first because it is 10x faster
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z",
    re.ASCII,
)


@dataclass(slots=True)
class Record:
    """One person from the file: a row, or several rows that share a phone, email or WeChat."""

    rows: list[int]
    values: dict = field(default_factory=dict)
    tags: list[int] = field(default_factory=list)  # tag ids
    stage: str = ""
    owner: int | None = None  # a membership id

    def add_tags(self, tags: list[int], single: dict[int, int]) -> None:
        self.tags = with_tags(self.tags, tags, single)


def with_tags(held: list[int], tags: list[int], single: dict[int, int]) -> list[int]:
    """`held` plus `tags`; a tag of a one-at-a-time group (`single`: tag -> its group)
    replaces the one held before."""
    result = list(held)
    for tag in tags:
        if tag in result:
            continue
        if result and tag in single:
            result = [t for t in result if single.get(t) != single[tag]]
        result.append(tag)
    return result


def _stage_names(tenant: Tenant) -> dict[str, str]:
    """Every name the company's stages are known by, aliases included (lifecycle's resolver)."""
    return stage_names(tenant=tenant)


def _email_ok(value: str) -> bool:
    if len(value) <= 320 and _PLAIN_EMAIL.match(value):
        return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


class RowChecker:
    """Turns a row of the file into a Record, or into errors: {row, code, value}, worded by
    errors_shown when someone reads them."""

    def __init__(self, *, job: ImportJob):
        self.job = job
        self.tenant = job.tenant
        self.columns = [(int(i), name) for i, name in job.mapping.items()]
        self.stage_names = _stage_names(self.tenant)
        self.single = dict(
            Tag.objects.for_tenant(self.tenant)
            .filter(group__single_choice=True)
            .values_list("id", "group_id")
        )
        self.tags: dict[str, int | None] = {}  # each name is looked up once per import
        self.cells: dict[str, tuple[list[int], list[str]]] = {}
        self.stages: dict[str, str] = {}  # as written -> key
        self.errors: list[dict] = []
        self.warnings: list[dict] = []  # rows that land, but not quite as written
        # the mapped fields that hold at most so many characters
        self.limited = [(name, LIMITS[name]) for _i, name in self.columns if LIMITS.get(name)]
        # an owner column's cells, resolved once per distinct value; empty cells: job.owner
        self.members = member_keys(self.tenant) if "owner" in job.mapping.values() else {}
        self.owners: dict[str, int | str] = {}  # as written -> membership id or error code

    def tag(self, name: str) -> int | None:
        key = name_key(name)
        if key not in self.tags:
            tag = tag_resolve(tenant=self.tenant, name=name)
            if tag is None and self.job.create_tags:
                group, _made = TagGroup.objects.for_tenant(self.tenant).get_or_create(
                    tenant=self.tenant, key="import", defaults={"label": _("Imported")}
                )
                tag = Tag.objects.create(
                    tenant=self.tenant, group=group, label=name, label_key=key,
                    key=unique_key(Tag.objects.for_tenant(self.tenant), name),
                )  # fmt: skip
            self.tags[key] = tag.pk if tag else None
        return self.tags[key]

    def cell_tags(self, cell: str) -> tuple[list[int], list[str]]:
        """(tag ids, unknown names) of a tags cell; a file repeats the same few cells."""
        if cell not in self.cells:
            ids, unknown = [], []
            for name in TAG_SPLIT.split(cell):
                name = normalize_text(name)
                if name:
                    tag = self.tag(name)
                    if tag is None:
                        unknown.append(name)
                    else:
                        ids.append(tag)
            # a one-at-a-time group keeps the last of its tags the cell gives
            self.cells[cell] = (with_tags([], ids, self.single), unknown)
        return self.cells[cell]

    def fail(self, number: int, code: str, value: str = "") -> None:
        """Stored as a code: the reason is worded when shown, in the reader's language."""
        self.errors.append({"row": number, "code": code, "value": value})

    def check(self, number: int, row: list[str]) -> Record | None:
        values = dict.fromkeys(VALUES, "")
        raw = dict.fromkeys(("email", "phone", "stage", "tags", "owner"), "")
        width = len(row)
        for index, name in self.columns:  # only the mapped columns, read once
            if index < width and row[index]:
                raw[name] = row[index]
                if name in NORMALIZE:
                    values[name] = NORMALIZE[name](row[index])
        before = len(self.errors)
        cut = []
        for name, limit in self.limited:
            if len(values[name]) > limit:
                too_long = {
                    "row": number,
                    "code": f"too_long_{name}",
                    "value": str(len(values[name])),
                }
                if name in REFUSED_TOO_LONG:
                    self.errors.append(too_long)
                else:
                    cut.append(too_long)
                    values[name] = values[name][:limit]
        if (
            values["email"]
            and len(values["email"]) <= LIMITS["email"]
            and not _email_ok(values["email"])
        ):
            self.fail(number, "bad_email", raw["email"])
        if raw["phone"].strip() and not values["phone"]:
            self.fail(number, f"bad_phone_{phone_refusal(raw['phone'])}", raw["phone"])
        if not (values["email"] or raw["phone"].strip() or values["wechat_id"]):  # a bad one: above
            self.fail(number, "no_identity")
        stage = ""
        if raw["stage"]:
            if raw["stage"] not in self.stages:
                name = stage_name_key(raw["stage"])
                self.stages[raw["stage"]] = self.stage_names.get(name, "") if name else ""
            stage = self.stages[raw["stage"]]
            if not stage and raw["stage"].strip():
                self.fail(number, "unknown_stage", raw["stage"])
        tags: list[int] = []
        if raw["tags"]:
            tags, unknown = self.cell_tags(raw["tags"])
            for name in unknown:
                self.fail(number, "unknown_tag", name)
        owner = self.job.owner_id
        if raw["owner"].strip():
            if raw["owner"] not in self.owners:
                self.owners[raw["owner"]] = owner_resolve(self.members, raw["owner"])
            owner = self.owners[raw["owner"]]
            if isinstance(owner, str):
                self.fail(number, owner, raw["owner"])
        if len(self.errors) > before:
            return None
        self.warnings += cut
        # an empty name stays empty until the person is created (named after their phone,
        # email or WeChat ID then): a later row of the same person may give it
        return Record(rows=[number], values=values, tags=list(tags), stage=stage, owner=owner)


def _name_key(value: str) -> str:
    return "".join(normalize_text(value).split()).casefold()


def member_keys(tenant: Tenant) -> dict[tuple[str, str], int | None]:
    """How a file may name the company's members: ("exact", username or email) and ("name",
    display name, "first last" or "lastfirst", spaces ignored) -> membership id, or None when
    two members answer to it."""
    keys: dict[tuple[str, str], int | None] = {}

    def add(key: tuple[str, str], member_id: int) -> None:
        keys[key] = member_id if keys.get(key, member_id) == member_id else None

    for member in Membership.objects.for_tenant(tenant).select_related("user"):
        user = member.user
        add(("exact", user.username.casefold()), member.pk)
        if user.email:
            add(("exact", normalize_email(user.email)), member.pk)
        for name in {user.display_name, f"{user.first_name} {user.last_name}",
                     f"{user.last_name}{user.first_name}"}:  # fmt: skip
            if _name_key(name):
                add(("name", _name_key(name)), member.pk)
    return keys


def owner_resolve(keys: dict[tuple[str, str], int | None], cell: str) -> int | str:
    """The membership id an owner cell names, or the error code saying why none."""
    exact = normalize_text(cell).casefold()
    for key in (("exact", exact), ("exact", normalize_email(cell)), ("name", _name_key(cell))):
        if key in keys:
            return keys[key] if keys[key] is not None else "ambiguous_owner"
    return "unknown_owner"


def _email_conflict(a: dict, b: dict) -> bool:
    """Two people sharing an email, yet each with a name and a phone of their own (and no WeChat
    ID tying them): perhaps a family or an office sharing one address."""
    return bool(
        a["email"] and a["email"] == b["email"]
        and a["phone"] and b["phone"] and a["phone"] != b["phone"]
        and a["name"] and b["name"] and _name_key(a["name"]) != _name_key(b["name"])
        and not (a["wechat_id"] and a["wechat_id"] == b["wechat_id"])
    )  # fmt: skip


def merge_records(
    records: list[Record],
    single: dict[int, int],
    *,
    shared_email: bool = False,
    errors: list[dict] | None = None,
    warnings: list[dict] | None = None,
) -> list[Record]:
    """People who share a phone, email or WeChat ID in the file become one record: the first
    value of each field wins, tags add up, the furthest stage counts.

    Rows sharing an email but giving another name and another phone are a conflict: unless
    `shared_email` (the user ticked "merge rows that share an email"), every row of that person
    fails, naming the row it conflicts with (added to `errors`), and loses its `warnings`. With
    the tick they merge, and the merged row is warned that its name and phone were not kept."""
    errors = [] if errors is None else errors
    warnings = [] if warnings is None else warnings
    owner: dict[tuple[str, str], Record] = {}
    merged: list[Record] = []
    conflicted: dict[int, Record] = {}  # id(record) -> record
    partner: dict[int, int] = {}  # row -> the row it conflicts with
    for record in records:
        keys = [(k, record.values[k]) for k in IDENTITY if record.values[k]]
        target = next((owner[key] for key in keys if key in owner), None)
        if target is None:
            merged.append(record)
            target = record
        else:
            if _email_conflict(target.values, record.values):
                if shared_email:
                    warnings.append({"row": record.rows[0], "code": "merged_shared_email",
                                     "value": str(target.rows[0])})  # fmt: skip
                else:
                    conflicted[id(target)] = target
                    partner.update(dict.fromkeys(record.rows, target.rows[0]))
                    partner.setdefault(target.rows[0], record.rows[0])
            target.rows += record.rows
            for name, value in record.values.items():
                if value and not target.values.get(name):
                    target.values[name] = value
            target.add_tags(record.tags, single)
            target.owner = target.owner or record.owner
            if record.stage and (not target.stage or RANK[record.stage] > RANK[target.stage]):
                target.stage = record.stage
        for key in keys:
            owner.setdefault(key, target)
    if conflicted:
        failed = {}
        for group in conflicted.values():
            for row in group.rows:  # rows merged in by phone or WeChat: the group's partner
                failed[row] = partner.get(row, partner[group.rows[0]])
        errors += [{"row": row, "code": "email_conflict", "value": str(other)}
                   for row, other in failed.items()]  # fmt: skip
        errors.sort(key=operator.itemgetter("row"))
        warnings[:] = [w for w in warnings if w["row"] not in failed]
        merged = [record for record in merged if id(record) not in conflicted]
    return merged


# --- applying -------------------------------------------------------------------------------


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


def apply_chunk(
    job: ImportJob, records: list[Record], single: dict[int, int]
) -> tuple[int, int, int, int, list[int], list[dict]]:
    """Creates or updates the people of one chunk, set-based. Returns (created, updated,
    unchanged, merged, ids of the contacts created: the import's undo removes only those,
    the warnings of rows that landed not quite as written).
    `single` maps each tag of a one-at-a-time group to its group."""
    tenant = job.tenant
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
    reachable = _Reach(tenant)
    for record in records:
        keys = [(k, record.values[k]) for k in IDENTITY]
        match = next((existing[key] for key in keys if key in existing), None)
        if match is None:
            new_records.append(_as_created(record, reachable, warned))
            continue
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
        updated += changed
        unchanged += not changed

    now = timezone.now()
    actor_id = job.created_by_id
    fill_fields = [*VALUES, "owner_id", "updated_at"]
    bulk.update_rows(
        Contact,
        fill_fields,
        [(c.pk, *(getattr(c, f) for f in VALUES), c.owner_id, now) for c in filled.values()],
    )
    values_of = operator.itemgetter(*VALUES)
    new_ids = lifecycle.contacts_create_at_stages(
        tenant=tenant, actor=job.created_by, fields=[*VALUES, "owner_id"],
        rows=[(*values_of(r.values), r.owner) for r in new_records],
        stages=[r.stage for r in new_records], channel=Channel.IMPORT,
    )  # fmt: skip
    created = len(new_ids)
    by_tag: dict[int, list[int]] = {}
    for contact_id, tag_id in dropped:
        by_tag.setdefault(tag_id, []).append(contact_id)
    for tag_id, contact_ids in by_tag.items():
        ContactTag.objects.for_tenant(tenant).filter(
            tag_id=tag_id, contact_id__any=contact_ids
        ).delete()
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
    for stage, ids in moves.items():
        # forward only: the lifecycle service's table refuses backward moves for imports
        contacts_bulk_move(
            tenant=tenant, actor=job.created_by, contacts=ids, to_stage=stage,
            channel=Channel.IMPORT, quiet=True,
        )  # fmt: skip
    # each row is counted once: the person's first row as created, updated or unchanged, the
    # rows merged into it as merged
    merged = sum(len(record.rows) - 1 for record in records)
    return created, updated, unchanged, merged, new_ids, warned
