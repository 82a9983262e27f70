"""Checking an import's rows: each row becomes a person (a Record) or errors, and people the
file lists twice are merged. Applying them is applying.py's."""

import operator
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from crm.consent import consent_word
from crm.customfields import custom_fields_of, value_clean
from crm.models import CONTACT_FIELDS, Contact, CustomField, Membership, Tenant
from crm.normalize import (
    normalize_email,
    normalize_phone_or_blank,
    normalize_text,
    normalize_wechat_id,
    phone_refusal,
)
from lifecycle.selectors import stage_name_key, stage_names
from lifecycle.stages import RANK, REQUIREMENTS
from tagging.models import Tag, TagGroup, name_key, unique_key
from tagging.selectors import tag_position_last, tag_resolve

from ..models import ImportJob
from .formulas import UNCALCULATED
from .reading import CONSENT, CUSTOM, GROUP

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
OTHERS = (CUSTOM, GROUP)  # targets that are the company's: its fields, its tag groups
TAG_LABEL_MAX = Tag._meta.get_field("label").max_length
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
    # the company's own fields the row fills: {key: value in its JSON form}, empty cells absent
    custom: dict = field(default_factory=dict)
    # consent to be contacted the row says: {channel: True (yes) or False (no)}
    consent: dict = field(default_factory=dict)

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

    def __init__(self, *, job: ImportJob, header: list[str] | None = None):
        self.job = job
        self.tenant = job.tenant
        mapped = [(int(i), name) for i, name in job.mapping.items()]
        # an Excel file's mapped columns, where a formula may have no result saved: named by
        # their header (`header`, the file's) when the row is reported
        self.formula_columns = sorted(i for i, name in mapped if name) if job.kind == "xlsx" else []
        self.header = header or []
        self.columns = [(i, name) for i, name in mapped  # our own fields
                        if not name.startswith(OTHERS) and name not in CONSENT]  # fmt: skip
        # tag groups mapped to a column (one deleted since is left out)
        groups = {g.key: g for g in TagGroup.objects.for_tenant(self.tenant)} if any(
            name.startswith(GROUP) for _i, name in mapped) else {}  # fmt: skip
        self.group_columns = [
            (i, groups[name.removeprefix(GROUP)]) for i, name in mapped
            if name.startswith(GROUP) and name.removeprefix(GROUP) in groups
        ]  # fmt: skip
        self.group_cells: dict[tuple[int, str], tuple[list[int], list[dict]]] = {}
        self.consent_columns = [(i, CONSENT[name]) for i, name in mapped if name in CONSENT]
        # the company's own fields mapped to a column (one deleted since is left out)
        fields = {cf.key: cf for cf in custom_fields_of(tenant=self.tenant)}
        self.custom_columns = [
            (i, fields[name.removeprefix(CUSTOM)]) for i, name in mapped
            if name.startswith(CUSTOM) and name.removeprefix(CUSTOM) in fields
        ]  # fmt: skip
        self.custom_cells: dict[tuple[str, str], tuple[Any, dict]] = {}  # (key, cell) -> result
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
        members = "owner" in job.mapping.values() or any(
            cf.kind == CustomField.Kind.MEMBER for _i, cf in self.custom_columns
        )
        self.members = member_keys(self.tenant) if members else {}
        self.owners: dict[str, int | str] = {}  # as written -> membership id or error code

    def tag(self, name: str) -> int | None:
        key = name_key(name)
        if key not in self.tags:
            tag = tag_resolve(tenant=self.tenant, name=name)
            if tag is None and self.job.create_tags and len(name) <= TAG_LABEL_MAX:
                group, _made = TagGroup.objects.for_tenant(self.tenant).get_or_create(
                    tenant=self.tenant, key="import", defaults={"label": _("Imported")}
                )
                tag = Tag.objects.create(
                    tenant=self.tenant, group=group, label=name, label_key=key,
                    key=unique_key(Tag.objects.for_tenant(self.tenant), name),
                    position=tag_position_last(group=group),
                )  # fmt: skip
            self.tags[key] = tag.pk if tag else None
        return self.tags[key]

    def group_cell(self, group: TagGroup, cell: str) -> tuple[list[int], list[dict]]:
        """(tag ids, refusals) of a cell of a column mapped to `group`: each name, split as in a
        tags column, is one of the group's tags by name or alias; else refused (its row is
        reported), or created in the group when the import creates unknown tags. A file
        repeats the same few cells: each is resolved once."""
        if (group.pk, cell) not in self.group_cells:
            ids, refused = [], []
            for name in TAG_SPLIT.split(cell):
                name = normalize_text(name)
                if not name:
                    continue
                tag = tag_resolve(tenant=self.tenant, name=name)
                if tag is None and self.job.create_tags and len(name) <= TAG_LABEL_MAX:
                    tag = Tag.objects.create(
                        tenant=self.tenant, group=group, label=name, label_key=name_key(name),
                        key=unique_key(Tag.objects.for_tenant(self.tenant), name),
                        position=tag_position_last(group=group),
                    )  # fmt: skip
                    self.tags[name_key(name)] = tag.pk  # a tags column finds it too
                said = {"value": name, "group": group.key, "label": group.label}
                if tag is None:
                    long = len(name) > TAG_LABEL_MAX  # never created: said so
                    refused.append({"code": f"group_{'tag_too_long' if long else 'unknown_tag'}",
                                    **said})  # fmt: skip
                elif tag.group_id != group.pk:
                    refused.append({"code": "group_other_tag", **said, "other": tag.group.label})
                else:
                    ids.append(tag.pk)
            # a one-at-a-time group keeps the last of its tags the cell gives
            self.group_cells[(group.pk, cell)] = (with_tags([], ids, self.single), refused)
        return self.group_cells[(group.pk, cell)]

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
        for index in self.formula_columns:
            if index < width and row[index] is UNCALCULATED:  # not read as an empty cell
                heading = self.header[index] if index < len(self.header) else ""
                self.errors.append({"row": number, "code": "formula", "value": heading,
                                    "column": index + 1})  # fmt: skip
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
        formula = len(self.errors) > before  # said so: not also "no phone, email or WeChat"
        if not (formula or values["email"] or raw["phone"].strip() or values["wechat_id"]):
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
        for index, group in self.group_columns:  # before the tags column: its new tags first
            cell = row[index] if index < width else ""
            if cell.strip():
                ids, refused = self.group_cell(group, cell)
                self.errors += [{"row": number, **refusal} for refusal in refused]
                tags = with_tags(tags, ids, self.single)
        if raw["tags"]:
            found, unknown = self.cell_tags(raw["tags"])
            tags = with_tags(tags, found, self.single) if tags else found  # found: never changed
            for name in unknown:  # a name too long for a tag is never created: said so
                self.fail(number, "tag_too_long" if len(name) > TAG_LABEL_MAX else "unknown_tag",
                          name)  # fmt: skip
        owner = self.job.owner_id
        if raw["owner"].strip():
            if raw["owner"] not in self.owners:
                self.owners[raw["owner"]] = owner_resolve(self.members, raw["owner"])
            owner = self.owners[raw["owner"]]
            if isinstance(owner, str):
                self.fail(number, owner, raw["owner"])
        custom = {}
        for index, cf in self.custom_columns:
            cell = row[index] if index < width else ""
            if not cell.strip():
                continue  # an empty cell writes nothing (a required field: checked when applied)
            value, refused = self.custom_value(cf, cell)
            if refused:
                self.errors.append({"row": number, **refused})
            else:
                custom[cf.key] = value
        consent = {}
        for index, channel in self.consent_columns:
            cell = row[index].strip() if index < width else ""
            if not cell:
                continue  # an empty cell says nothing: the contact's consent stays as it is
            said = consent_word(cell)
            if said is None:  # neither yes nor no: refused by name, never guessed
                self.fail(number, f"bad_consent_{channel}", cell[:100])
            else:
                consent[channel] = said
        if len(self.errors) > before:
            return None
        self.warnings += cut
        # an empty name stays empty until the person is created (named after their phone,
        # email or WeChat ID then): a later row of the same person may give it
        return Record(rows=[number], values=values, tags=list(tags), stage=stage, owner=owner,
                      custom=custom, consent=consent)  # fmt: skip

    def custom_value(self, cf: CustomField, cell: str) -> tuple[Any, dict]:
        """(the value in its JSON form, {}) or (None, the error without its row): an error
        keeps the field's key and the cell, and is worded again when shown; `reason` is the
        words of the import's language, for a field deleted since. A file repeats the same
        few values of a date, a choice or a member: each is checked once."""
        cached = (cf.key, cell)
        if cached in self.custom_cells:
            return self.custom_cells[cached]
        refused: dict = {}
        value = None
        if cf.kind == CustomField.Kind.MEMBER:  # named as an owner column names members
            found = owner_resolve(self.members, cell)
            if isinstance(found, str):
                refused = {"code": "custom", "key": cf.key, "value": cell[:200], "why": found,
                           "reason": custom_member_refusal(found, cf.label, cell)}  # fmt: skip
            else:
                value = found
        else:
            try:
                value = value_clean(cf, cell)
            except ValidationError as exc:
                refused = {"code": "custom", "key": cf.key, "value": cell[:200],
                           "reason": " ".join(exc.messages)}  # fmt: skip
        if cf.kind not in (CustomField.Kind.TEXT, CustomField.Kind.LONG_TEXT, CustomField.Kind.URL):
            self.custom_cells[cached] = (value, refused)
        return value, refused


def custom_member_refusal(code: str, label: str, cell: str) -> str:
    """Why a member field's cell names nobody (an owner column's reasons, for that field)."""
    if code == "ambiguous_owner":
        return _("%(field)s: “%(value)s” is the name of more than one member: write a username "
                 "or email.") % {"field": label, "value": cell}  # fmt: skip
    return _("%(field)s: unknown member “%(value)s”: write the username, name or email of a "
             "member of this company.") % {"field": label, "value": cell}  # fmt: skip


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
            for key, value in record.custom.items():  # the first row's value wins, as above
                target.custom.setdefault(key, value)
            for channel, said in record.consent.items():  # and the first row's consent
                target.consent.setdefault(channel, said)
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
