"""Spreadsheet imports a marketer can trust: encodings detected, columns guessed, people
deduplicated (inside the file and against the company), stages only ever moved forward, every
row applied or reported, and a crash or a second run never duplicating anyone.

Rows are processed in chunks; each chunk commits together with the job's progress, so a worker
that dies mid-import leaves whole chunks done and the re-run carries on from where it stopped.
"""

import csv
import functools
import io
import operator
import re
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from openpyxl import load_workbook

from crm.audit import audit_record
from crm.csvfiles import csv_cell, csv_cell_read
from crm.models import AuditKind, Contact, Membership, Tenant
from crm.normalize import (
    PHONE_REASONS,
    normalize_email,
    normalize_phone_or_blank,
    normalize_text,
    normalize_wechat_id,
    phone_refusal,
)
from crm.scope import tenant_scope
from crm.services import ServiceError, change_recorded
from lifecycle import services as lifecycle
from lifecycle.models import StageChange
from lifecycle.scheduling import tenant_changed
from lifecycle.selectors import stage_settings
from lifecycle.stages import ORDER, RANK, ChangeKind, Channel, Stage, Status

from . import bulk
from .models import ContactTag, ImportChunk, ImportJob, Tag, TagGroup, name_key, unique_key
from .selectors import tag_resolve

CHUNK = 10_000  # rows applied, and committed with the job's progress, together
SIDE_BY_SIDE = 2  # chunks applied at once (outside a transaction): one per core
ANALYZE_AFTER = 1000  # contacts created by one import
ANALYZED = ("crm_contact", "lifecycle_stagechange", "tagging_contacttag")
MAX_BYTES = 20 * 1024 * 1024
# An upload whose columns are not chosen within this time loses its file (beat, hourly).
WAITING_EXPIRES = timedelta(hours=24)
UPLOAD_EXPIRED = gettext_lazy(
    "This upload waited more than 24 hours for its columns and its file was deleted. "
    "Upload the file again."
)
FIELDS = {
    "name": ("姓名", "名字", "客户", "联系人", "name", "full name", "contact"),
    "phone": ("手机", "手机号", "电话", "联系电话", "mobile", "phone", "tel", "telephone"),
    "email": ("邮箱", "电子邮件", "email", "e-mail", "mail"),
    "wechat_id": ("微信", "微信号", "wechat", "wechat id", "weixin"),
    "weibo": ("微博", "weibo"),
    "company": ("公司", "单位", "company", "organisation", "organization"),
    "source": ("来源", "渠道", "source", "channel"),
    "stage": ("阶段", "生命周期", "stage", "lifecycle stage", "lifecycle"),
    "tags": ("标签", "tags", "tag", "labels"),
    "notes": ("备注", "notes", "note", "remark"),
}
FIELD_LABELS = {  # shown in the mapping step
    "": gettext_lazy("Do not import"),
    "name": gettext_lazy("Name"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"),
    "wechat_id": gettext_lazy("WeChat ID"),
    "weibo": gettext_lazy("Weibo"),
    "company": gettext_lazy("Company"),
    "source": gettext_lazy("Source"),
    "stage": gettext_lazy("Stage"),
    "tags": gettext_lazy("Tags"),
    "notes": gettext_lazy("Notes"),
}
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
ERRORS = {
    "bad_email": (gettext_lazy("Email"), gettext_lazy("“%(value)s” is not an email address.")),
    "bad_phone": (gettext_lazy("Phone"), gettext_lazy("“%(value)s” is not a phone number.")),
    **{f"bad_phone_{code}": (gettext_lazy("Phone"), why) for code, why in PHONE_REASONS.items()},
    "no_identity": (
        gettext_lazy("Phone / email / WeChat ID"),
        gettext_lazy("No phone, email or WeChat ID: the person cannot be recognised."),
    ),
    "unknown_stage": (gettext_lazy("Stage"), gettext_lazy("Unknown stage “%(value)s”.")),
    "unknown_tag": (
        gettext_lazy("Tags"),
        gettext_lazy("Unknown tag “%(value)s” (tick “create unknown tags” to add it)."),
    ),
}
TAG_SPLIT = re.compile(r"[,，;；、]")
IDENTITY = ("email", "phone", "wechat_id")


# --- reading the file -------------------------------------------------------------------


def read_table(content: bytes, file_name: str) -> tuple[str, str, list[list[str]]]:
    """(kind, encoding, rows): XLSX by its zip signature, else CSV in UTF-8 (with or without
    BOM) or GB18030 (which covers GBK and GB2312), tried in that order."""
    if len(content) > MAX_BYTES:
        raise ServiceError(_("The file is larger than 20 MB; split it into smaller files."))
    if zipfile.is_zipfile(io.BytesIO(content)):
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:
            raise ServiceError(_("This Excel file cannot be read.")) from exc
        rows = [
            ["" if v is None else str(v).strip() for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        return "xlsx", "", _trim(rows)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        rows = [
            [csv_cell_read(cell.strip()) for cell in row] for row in csv.reader(io.StringIO(text))
        ]
        return "csv", encoding, _trim(rows)
    raise ServiceError(_("The file is neither UTF-8 nor GBK text, nor an Excel file."))


def _trim(rows: list[list[str]]) -> list[list[str]]:
    rows = [row for row in rows if any(cell for cell in row)]
    if not rows:
        raise ServiceError(_("The file has no rows."))
    return rows


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Column index -> field, from header names in Chinese or English."""
    mapping, taken = {}, set()
    for index, title in enumerate(header):
        key = normalize_text(title).casefold()
        for name, words in FIELDS.items():
            if name not in taken and key in words:
                mapping[str(index)] = name
                taken.add(name)
                break
    return mapping


def _check_waiting_room(tenant: Tenant) -> None:
    """Uploads waiting for their columns hold a whole file each: a company keeps a few."""
    limit = settings.IMPORT_WAITING_UPLOADS_MAX
    since = timezone.now() - WAITING_EXPIRES  # older ones are about to expire: not counted
    waiting = ImportJob.objects.for_tenant(tenant).filter(
        status=ImportJob.PENDING, created_at__gt=since
    )
    if waiting.count() >= limit:
        raise ServiceError(
            ngettext(
                "%(count)s upload is already waiting for its columns to be chosen. Finish or "
                "cancel it first (under Imports); nothing was uploaded.",
                "%(count)s uploads are already waiting for their columns to be chosen. Finish "
                "or cancel one of them first (under Imports); nothing was uploaded.",
                limit,
            )
            % {"count": limit}
        )


@transaction.atomic
def import_start(
    *, tenant: Tenant, actor: Membership, file_name: str, content: bytes, language: str
) -> ImportJob:
    if actor.role not in ("admin", "marketer"):
        raise ServiceError(_("Only admins and marketers may import contacts."))
    _check_waiting_room(tenant)  # before reading a large file for nothing
    kind, encoding, rows = read_table(content, file_name)
    # Two uploads at once must not both take the last place. NO KEY: rows that merely refer
    # to the company (every insert of its data) are not held up.
    Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).first()
    _check_waiting_room(tenant)
    return ImportJob.objects.create(
        tenant=tenant, created_by=actor, file_name=file_name[:255], content=content, kind=kind,
        encoding=encoding, language=language, mapping=guess_mapping(rows[0]),
        total=len(rows) - 1,
    )  # fmt: skip


@transaction.atomic
def import_confirm(*, job: ImportJob, mapping: dict[str, str], create_tags: bool) -> ImportJob:
    # the page was read a while ago: the upload may have expired or been confirmed since
    status = (
        ImportJob.objects.for_tenant(job.tenant)
        .select_for_update()
        .values_list("status", flat=True)
        .get(pk=job.pk)
    )
    if status == ImportJob.EXPIRED:
        raise ServiceError(str(UPLOAD_EXPIRED))
    if status != ImportJob.PENDING:
        raise ServiceError(_("This import has started: it stays in the history."))
    chosen = [f for f in mapping.values() if f]
    if not any(f in chosen for f in IDENTITY):
        raise ServiceError(
            _("Map at least one of phone, email or WeChat ID: that is how people are recognised.")
        )
    if len(chosen) != len(set(chosen)):
        raise ServiceError(_("Each field can come from one column only."))
    job.mapping = {k: v for k, v in mapping.items() if v in FIELDS}
    job.create_tags = create_tags
    job.status = ImportJob.QUEUED
    job.save(update_fields=["mapping", "create_tags", "status"])
    audit_record(tenant=job.tenant, actor=job.created_by, kind=AuditKind.IMPORT_RUN,
                 subject=job.file_name, count=job.total, details={"job": job.pk})  # fmt: skip
    from .tasks import run_import

    transaction.on_commit(lambda: run_import.delay(job.tenant_id, job.pk))
    return job


@transaction.atomic
def import_cancel(*, job: ImportJob, actor: Membership) -> None:
    """Drops an upload whose columns were never chosen, file and all. An import that ran stays
    in the history: it says who brought which people in."""
    if actor.role not in ("admin", "marketer"):
        raise ServiceError(_("Only admins and marketers may import contacts."))
    locked = ImportJob.objects.for_tenant(job.tenant).select_for_update().get(pk=job.pk)
    if locked.status != ImportJob.PENDING:
        raise ServiceError(_("This import has started: it stays in the history."))
    locked.delete()


def imports_expire_waiting(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Uploads of `tenant` left waiting for their columns over WAITING_EXPIRES: their file is
    deleted and they stay in the history as expired. One statement; running it again finds
    nothing more to do. Returns how many expired."""
    now = now or timezone.now()
    return (
        ImportJob.objects.for_tenant(tenant)
        .filter(status=ImportJob.PENDING, created_at__lt=now - WAITING_EXPIRES)
        .update(status=ImportJob.EXPIRED, content=b"", finished_at=now)
    )


# --- checking and merging rows -----------------------------------------------------------


VALUES = ("name", "email", "phone", "wechat_id", "weibo", "company", "source", "notes")
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
    names = {}
    for key, setting in stage_settings(tenant=tenant).items():
        names[key] = key
        names[setting.display_label.casefold()] = key
        # "02-潜客" is also understood as "潜客"
        names.setdefault(re.sub(r"^\d+\s*[-_.、 ]\s*", "", setting.display_label).casefold(), key)
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names[str(Stage(key).label).casefold()] = key
    return names


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
        raw = dict.fromkeys(("email", "phone", "stage", "tags"), "")
        width = len(row)
        for index, name in self.columns:  # only the mapped columns, read once
            if index < width and row[index]:
                raw[name] = row[index]
                if name in NORMALIZE:
                    values[name] = NORMALIZE[name](row[index])
        before = len(self.errors)
        if values["email"] and not _email_ok(values["email"]):
            self.fail(number, "bad_email", raw["email"])
        if raw["phone"].strip() and not values["phone"]:
            self.fail(number, f"bad_phone_{phone_refusal(raw['phone'])}", raw["phone"])
        if not (values["email"] or raw["phone"].strip() or values["wechat_id"]):  # a bad one: above
            self.fail(number, "no_identity")
        stage = ""
        if raw["stage"]:
            if raw["stage"] not in self.stages:
                name = normalize_text(raw["stage"]).casefold()
                self.stages[raw["stage"]] = self.stage_names.get(name, "") if name else ""
            stage = self.stages[raw["stage"]]
            if not stage and raw["stage"].strip():
                self.fail(number, "unknown_stage", raw["stage"])
        tags: list[int] = []
        if raw["tags"]:
            tags, unknown = self.cell_tags(raw["tags"])
            for name in unknown:
                self.fail(number, "unknown_tag", name)
        if len(self.errors) > before:
            return None
        values["name"] = values["name"] or values["phone"] or values["email"] or values["wechat_id"]
        return Record(rows=[number], values=values, tags=list(tags), stage=stage)


def _merge(records: list[Record], single: dict[int, int]) -> list[Record]:
    """People who share a phone, email or WeChat ID in the file become one record: the first
    value of each field wins, tags add up, the furthest stage counts."""
    owner: dict[tuple[str, str], Record] = {}
    merged: list[Record] = []
    for record in records:
        keys = [(k, record.values[k]) for k in IDENTITY if record.values[k]]
        target = next((owner[key] for key in keys if key in owner), None)
        if target is None:
            merged.append(record)
            target = record
        else:
            target.rows += record.rows
            for name, value in record.values.items():
                if value and not target.values.get(name):
                    target.values[name] = value
            target.add_tags(record.tags, single)
            if record.stage and (not target.stage or RANK[record.stage] > RANK[target.stage]):
                target.stage = record.stage
        for key in keys:
            owner.setdefault(key, target)
    return merged


# --- applying -------------------------------------------------------------------------------


def _apply_chunk(
    job: ImportJob, records: list[Record], single: dict[int, int]
) -> tuple[int, int, int, int]:
    """Creates or updates the people of one chunk, set-based. Returns (created, updated,
    unchanged, merged). `single` maps each tag of a one-at-a-time group to its group."""
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
    for record in records:
        keys = [(k, record.values[k]) for k in IDENTITY]
        match = next((existing[key] for key in keys if key in existing), None)
        if match is None:
            new_records.append(record)
            continue
        changed = False
        for name, value in record.values.items():
            # never take a phone, email or WeChat ID another contact already holds
            if value and not getattr(match, name) and existing.get((name, value), match) is match:
                setattr(match, name, value)
                filled[match.pk] = match
                changed = True
        if record.stage and RANK[record.stage] > RANK[match.stage]:
            moves.setdefault(record.stage, []).append(match.pk)
            changed = True
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
    fill_fields = [*VALUES, "updated_at"]
    bulk.update_rows(
        Contact,
        fill_fields,
        [(c.pk, *(getattr(c, f) for f in VALUES), now) for c in filled.values()],
    )
    values_of = operator.itemgetter(*VALUES)
    new_ids = bulk.insert_rows(
        Contact,
        [*VALUES, "tenant_id", "stage", "furthest_stage", "stage_entered_at",
         "stage_version", "status", "lost_reason", "lost_note", "created_at", "updated_at"],
        [
            (*values_of(r.values), tenant.pk, r.stage or ORDER[0], r.stage or ORDER[0], now,
             int(bool(r.stage) and r.stage != ORDER[0]), Status.ACTIVE, "", "", now, now)
            for r in new_records
        ],
        returning_ids=True,
    )  # fmt: skip
    created = len(new_ids)
    bulk.insert_rows(
        StageChange,
        ["tenant_id", "contact_id", "kind", "from_stage", "to_stage", "from_status", "to_status",
         "actor_id", "actor_label", "channel", "reason", "lost_reason", "created_at"],
        [
            (tenant.pk, pk, ChangeKind.CREATED, "", r.stage, "", Status.ACTIVE, actor_id, "",
             Channel.IMPORT, "", "", now)
            for pk, r in zip(new_ids, new_records, strict=True)
            if r.stage and r.stage != ORDER[0]
        ],
    )  # fmt: skip
    by_tag: dict[int, list[int]] = {}
    for contact_id, tag_id in dropped:
        by_tag.setdefault(tag_id, []).append(contact_id)
    for tag_id, contact_ids in by_tag.items():
        ContactTag.objects.for_tenant(tenant).filter(
            tag_id=tag_id, contact_id__any=contact_ids
        ).delete()
    tag_fields = ["tenant_id", "contact_id", "tag_id", "channel", "added_by_id", "created_at"]
    # brand-new people cannot hold a tag yet: straight COPY
    bulk.insert_rows(
        ContactTag,
        tag_fields,
        [
            (tenant.pk, pk, tag_id, Channel.IMPORT, actor_id, now)
            for pk, r in zip(new_ids, new_records, strict=True)
            for tag_id in r.tags
        ],
    )
    bulk.insert_rows(
        ContactTag,
        tag_fields,
        [(tenant.pk, pk, tag_id, Channel.IMPORT, actor_id, now) for pk, tag_id in tagging],
        ignore_conflicts=True,  # someone may have tagged them a moment ago
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
        .filter(contact_id__any=[*new_ids, *{pk for pk, _tag in tagging}], created_at=now)
        .values_list("contact_id", "tag_id", "created_at"),
    )
    for stage, ids in moves.items():
        # forward only: the lifecycle service's table refuses backward moves for imports
        lifecycle.contacts_bulk_move(
            tenant=tenant, actor=job.created_by, contacts=ids, to_stage=stage,
            channel=Channel.IMPORT, quiet=True,
        )  # fmt: skip
    # each row is counted once: the person's first row as created, updated or unchanged, the
    # rows merged into it as merged
    merged = sum(len(record.rows) - 1 for record in records)
    return created, updated, unchanged, merged


def import_run(*, job: ImportJob) -> ImportJob:
    """Runs (or resumes) an import. Safe to run again: the chunks already committed are listed
    on the job and skipped, and a redone chunk would only find the people it created."""
    with translation.override(job.language):
        kind, _encoding, rows = read_table(bytes(job.content), job.file_name)
        tenant = job.tenant
        checker = RowChecker(job=job)
        records = []
        for number, row in enumerate(rows[1:], start=2):
            record = checker.check(number, row)
            if record is not None:
                records.append(record)
        merged = _merge(records, checker.single)
        errors = checker.errors
        ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
            status=ImportJob.RUNNING, errors=errors,
            failed=len({e["row"] for e in errors}),
        )  # fmt: skip
        job.status = ImportJob.RUNNING
        chunks = [merged[i : i + CHUNK] for i in range(0, len(merged), CHUNK)]
        done = set(
            ImportChunk.objects.for_tenant(tenant).filter(job=job).values_list("number", flat=True)
        )
        waiting = [n for n in range(len(chunks)) if n not in done]
        job.created_by  # noqa: B018 - loaded once here, read by every chunk
        side_by_side = not connection.in_atomic_block
        _run_all(
            [functools.partial(_commit_chunk, job, n, chunks[n], checker.single) for n in waiting],
            side_by_side=side_by_side, language=job.language, tenant_id=tenant.pk,
        )  # fmt: skip
        totals = import_progress(job=job)
        ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
            status=ImportJob.DONE, finished_at=timezone.now(), done=totals.done,
            created=totals.created, updated=totals.updated, skipped=totals.skipped,
            merged=totals.merged,
        )  # fmt: skip
        job.refresh_from_db()
        if job.created >= ANALYZE_AFTER:
            # A big import into a bigger table is too small a share for autovacuum to notice,
            # and stale statistics make the recomputes' plans 200x slower (measured: 40 s
            # instead of 0.18 s for a 20,000-contact tenant beside 1M others).
            _run_all(
                [functools.partial(_analyze, table) for table in ANALYZED],
                side_by_side=side_by_side, language=job.language, tenant_id=tenant.pk,
            )  # fmt: skip
        tenant_changed(tenant.pk)
        return job


def _commit_chunk(job: ImportJob, n: int, chunk: list[Record], single: dict[int, int]) -> None:
    """Applies chunk `n` and records it done, in one transaction."""
    chunks = ImportChunk.objects.for_tenant(job.tenant).filter(job=job)
    for attempt in range(3):
        try:
            with transaction.atomic():
                # the planner's costs for 10,000-row statements pass jit_above_cost, and
                # compiling them takes longer than running them (measured: 220 ms vs 40 ms)
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
                if chunks.filter(number=n).exists():
                    return  # a second run of the same job got there first
                created, updated, unchanged, merged = _apply_chunk(job, chunk, single)
                ImportChunk.objects.create(
                    tenant=job.tenant, job=job, number=n, rows=sum(len(r.rows) for r in chunk),
                    created=created, updated=updated, skipped=unchanged, merged=merged,
                )  # fmt: skip
            return
        except (OperationalError, IntegrityError):
            # A deadlock with the chunk beside it (both locking the same existing people), or
            # someone adding one of these people a moment ago: the rerun sees it all.
            if attempt == 2:
                raise


def _analyze(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")  # noqa: S608 - one of ANALYZED


def _run_all(tasks: list, *, side_by_side: bool, language: str, tenant_id: int) -> None:
    """Runs the tasks in order, or with `side_by_side` (outside a transaction) two at a time,
    each thread on a connection (and a core) of its own, so that one task's Python runs while
    the other's statements do. Chunks can: they hold different people, the file's duplicates
    having been merged before."""
    if not side_by_side:
        for task in tasks:
            task()
        return
    queue = list(tasks)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            # a thread starts in the default language, and its connection in no company
            with translation.override(language), tenant_scope(tenant_id):
                while True:
                    with lock:
                        if failures or not queue:
                            return
                        task = queue.pop(0)
                    task()
        except BaseException as exc:  # handed to the caller below
            with lock:
                failures.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=work) for _ in range(SIDE_BY_SIDE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def import_progress(*, job: ImportJob) -> ImportJob:
    """The job with its counts as they stand: while it runs, summed from its applied chunks."""
    if job.status == ImportJob.RUNNING:
        sums = ImportChunk.objects.for_tenant(job.tenant).filter(job=job).aggregate(
            done=Sum("rows"), created=Sum("created"), updated=Sum("updated"),
            skipped=Sum("skipped"), merged=Sum("merged"),
        )  # fmt: skip
        for name, value in sums.items():
            setattr(job, name, value or 0)
    return job


def errors_shown(errors: list[dict]) -> list[dict]:
    """Failed rows' errors as the reader reads them: row, column, reason (older jobs stored
    the words themselves)."""
    shown = []
    for error in errors:
        if "code" in error:
            column, reason = ERRORS[error["code"]]
            error = {"row": error["row"], "column": str(column),
                     "reason": str(reason) % {"value": error["value"]}}  # fmt: skip
        shown.append(error)
    return shown


def failed_rows_csv(job: ImportJob) -> bytes:
    """The rows that failed, as they were, with an error column: fix and upload again. Cells
    that Excel would take for a formula are written as text, as exports do."""
    _kind, _encoding, rows = read_table(bytes(job.content), job.file_name)
    reasons: dict[int, list[str]] = {}
    for error in errors_shown(job.errors):
        reasons.setdefault(error["row"], []).append(f"{error['column']}: {error['reason']}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(cell) for cell in [*rows[0], _("Error")]])
    for number in sorted(reasons):
        writer.writerow(
            [csv_cell(cell) for cell in [*rows[number - 1], "；".join(reasons[number])]]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
