"""Spreadsheet imports a marketer can trust: encodings detected, columns guessed, people
deduplicated (inside the file and against the company), stages only ever moved forward, every
row applied or reported, and a crash or a second run never duplicating anyone.

Rows are processed in chunks; each chunk commits together with the job's progress, so a worker
that dies mid-import leaves whole chunks done and the re-run carries on from where it stopped.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from crm.models import Contact, Membership, Tenant
from crm.normalize import normalize_email, normalize_phone, normalize_text, normalize_wechat_id
from crm.services import ServiceError
from lifecycle import services as lifecycle
from lifecycle.scheduling import tenant_changed
from lifecycle.selectors import stage_settings
from lifecycle.stages import ORDER, RANK, ChangeKind, Channel, Stage, Status

from .models import ContactTag, ImportJob, Tag, TagGroup, name_key, unique_key
from .selectors import tag_resolve

CHUNK = 1000
ANALYZE_AFTER = 1000  # contacts created by one import
MAX_BYTES = 20 * 1024 * 1024
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
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
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


@transaction.atomic
def import_start(
    *, tenant: Tenant, actor: Membership, file_name: str, content: bytes, language: str
) -> ImportJob:
    if actor.role not in ("admin", "marketer"):
        raise ServiceError(_("Only admins and marketers may import contacts."))
    kind, encoding, rows = read_table(content, file_name)
    return ImportJob.objects.create(
        tenant=tenant, created_by=actor, file_name=file_name[:255], content=content, kind=kind,
        encoding=encoding, language=language, mapping=guess_mapping(rows[0]),
        total=len(rows) - 1,
    )  # fmt: skip


@transaction.atomic
def import_confirm(*, job: ImportJob, mapping: dict[str, str], create_tags: bool) -> ImportJob:
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
    from .tasks import run_import

    transaction.on_commit(lambda: run_import.delay(job.tenant_id, job.pk))
    return job


# --- checking and merging rows -----------------------------------------------------------


@dataclass
class Record:
    """One person from the file: a row, or several rows that share a phone, email or WeChat."""

    rows: list[int]
    values: dict = field(default_factory=dict)
    tags: list = field(default_factory=list)
    stage: str = ""


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


def _check_row(number: int, raw: dict, stage_names, tags_ok, errors) -> Record | None:
    def fail(column: str, reason: str) -> None:
        errors.append({"row": number, "column": column, "reason": reason})

    values = {
        "name": normalize_text(raw.get("name", "")),
        "email": normalize_email(raw.get("email", "")),
        "phone": normalize_phone(raw.get("phone", "")),
        "wechat_id": normalize_wechat_id(raw.get("wechat_id", "")),
        "weibo": raw.get("weibo", "").strip(),
        "company": normalize_text(raw.get("company", "")),
        "source": normalize_text(raw.get("source", "")),
        "notes": raw.get("notes", "").strip(),
    }
    before = len(errors)
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            fail(_("Email"), _("“%(value)s” is not an email address.") % {"value": raw["email"]})
    if raw.get("phone", "").strip() and not 5 <= len(values["phone"]) <= 20:
        fail(_("Phone"), _("“%(value)s” is not a phone number.") % {"value": raw["phone"]})
    if not any(values[k] for k in IDENTITY):
        fail(
            _("Phone / email / WeChat ID"),
            _("No phone, email or WeChat ID: the person cannot be recognised."),
        )
    stage = ""
    if raw.get("stage", "").strip():
        stage = stage_names.get(normalize_text(raw["stage"]).casefold(), "")
        if not stage:
            fail(_("Stage"), _("Unknown stage “%(value)s”.") % {"value": raw["stage"]})
    tags = []
    for name in filter(None, (normalize_text(t) for t in TAG_SPLIT.split(raw.get("tags", "")))):
        tag = tags_ok(name)
        if tag is None:
            fail(_("Tags"), _("Unknown tag “%(value)s” (tick “create unknown tags” to add it).")
                 % {"value": name})  # fmt: skip
        else:
            tags.append(tag)
    if len(errors) > before:
        return None
    values["name"] = values["name"] or values["phone"] or values["email"] or values["wechat_id"]
    return Record(rows=[number], values=values, tags=tags, stage=stage)


def _merge(records: list[Record]) -> list[Record]:
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
            target.tags += [t for t in record.tags if t not in target.tags]
            if record.stage and (not target.stage or RANK[record.stage] > RANK[target.stage]):
                target.stage = record.stage
        for key in keys:
            owner.setdefault(key, target)
    return merged


# --- applying -------------------------------------------------------------------------------


def _apply_chunk(job: ImportJob, records: list[Record]) -> tuple[int, int, int]:
    """Creates or updates the people of one chunk. Returns (created, updated, unchanged)."""
    tenant = job.tenant
    scope = Contact.objects.for_tenant(tenant)
    condition = Q()
    for key in IDENTITY:
        wanted = [r.values[key] for r in records if r.values[key]]
        if wanted:
            condition |= Q(**{f"{key}__in": wanted})
    existing = {}
    for contact in scope.filter(condition):
        for key in IDENTITY:
            if getattr(contact, key):
                existing[(key, getattr(contact, key))] = contact
    held_tags: dict[int, set[int]] = {}
    matched_ids = {c.pk for c in existing.values()}
    rows = ContactTag.objects.for_tenant(tenant).filter(contact_id__in=matched_ids)
    for contact_id, tag_id in rows.values_list("contact_id", "tag_id"):
        held_tags.setdefault(contact_id, set()).add(tag_id)
    created = updated = unchanged = 0
    new_contacts, moves, assignments, changes = [], {}, [], []
    now = timezone.now()
    for record in records:
        match = next(
            (
                existing[(k, record.values[k])]
                for k in IDENTITY
                if (k, record.values[k]) in existing
            ),
            None,
        )
        if match is None:
            stage = record.stage or ORDER[0]
            contact = Contact(
                tenant=tenant, stage=stage, furthest_stage=stage, stage_entered_at=now,
                stage_version=1 if stage != ORDER[0] else 0, created_at=now,
                **record.values,
            )  # fmt: skip
            new_contacts.append((contact, record))
            for key in IDENTITY:  # a later record of this chunk with the same key updates it
                if record.values[key]:
                    existing[(key, record.values[key])] = contact
            continue
        fields = [
            k
            for k, v in record.values.items()
            if v
            and not getattr(match, k)
            # never take a phone, email or WeChat ID another contact already holds
            and existing.get((k, v), match) is match
        ]
        for name in fields:
            setattr(match, name, record.values[name])
        changed = bool(fields)
        if fields and match.pk:
            # another contact may already hold a channel being filled: skip that channel
            match.save(update_fields=[*fields, "updated_at"])
        if record.stage and match.pk and RANK[record.stage] > RANK[match.stage]:
            moves.setdefault(record.stage, []).append(match.pk)
            changed = True
        held = held_tags.get(match.pk, set()) if match.pk else set()
        new_tags = [t for t in record.tags if t.pk not in held]
        if new_tags:
            changed = True
        assignments += [(match, t) for t in new_tags]
        if match.pk:
            updated += changed
            unchanged += not changed
    Contact.objects.bulk_create([c for c, _r in new_contacts], batch_size=CHUNK)
    for contact, record in new_contacts:
        created += 1
        assignments += [(contact, t) for t in record.tags]
        if contact.stage != ORDER[0]:
            changes.append(contact)
    from lifecycle.models import StageChange

    StageChange.objects.bulk_create(
        [
            StageChange(
                tenant=tenant,
                contact=c,
                kind=ChangeKind.CREATED,
                from_stage="",
                to_stage=c.stage,
                from_status="",
                to_status=Status.ACTIVE,
                actor=job.created_by,
                channel=Channel.IMPORT,
                created_at=now,
            )  # fmt: skip
            for c in changes
        ]
    )
    ContactTag.objects.bulk_create(
        [
            ContactTag(
                tenant=tenant,
                contact=c,
                tag=t,
                channel=Channel.IMPORT,
                added_by=job.created_by,
                created_at=now,
            )  # fmt: skip
            for c, t in assignments
        ],
        ignore_conflicts=True,
    )
    for stage, ids in moves.items():
        # forward only: the lifecycle service's table refuses backward moves for imports
        lifecycle.contacts_bulk_move(
            tenant=tenant, actor=job.created_by, contacts=ids, to_stage=stage,
            channel=Channel.IMPORT,
        )  # fmt: skip
    # rows merged into an earlier row of the file count as unchanged: each row is counted once
    unchanged += sum(len(record.rows) - 1 for record in records)
    return created, updated, unchanged


def import_run(*, job: ImportJob) -> ImportJob:
    """Runs (or resumes) an import. Safe to run again: finished chunks are not redone, and a
    redone chunk would only find the people it already created."""
    with translation.override(job.language):
        kind, _encoding, rows = read_table(bytes(job.content), job.file_name)
        tenant = job.tenant
        stage_names = _stage_names(tenant)
        created_tags: dict[str, Tag] = {}

        resolved: dict[str, Tag | None] = {}

        def tags_ok(name: str) -> Tag | None:
            key = name_key(name)
            if key in resolved and (resolved[key] is not None or not job.create_tags):
                return resolved[key]  # each name is looked up once per import
            tag = tag_resolve(tenant=tenant, name=name) or created_tags.get(key)
            if tag is None and job.create_tags:
                group, _made = TagGroup.objects.for_tenant(tenant).get_or_create(
                    tenant=tenant, key="import", defaults={"label": _("Imported")}
                )
                tag = Tag.objects.create(
                    tenant=tenant, group=group, label=name, label_key=name_key(name),
                    key=unique_key(Tag.objects.for_tenant(tenant), name),
                )  # fmt: skip
                created_tags[key] = tag
            resolved[key] = tag
            return tag

        errors: list[dict] = []
        records = []
        for number, row in enumerate(rows[1:], start=2):
            raw = {field: row[int(i)] if int(i) < len(row) else ""
                   for i, field in job.mapping.items()}  # fmt: skip
            record = _check_row(number, raw, stage_names, tags_ok, errors)
            if record is not None:
                records.append(record)
        merged = _merge(records)
        ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
            status=ImportJob.RUNNING, errors=errors,
            failed=len({e["row"] for e in errors}),
        )  # fmt: skip
        start = job.done  # rows of records already applied by an earlier run
        applied = sum(len(r.rows) for r in merged[: _records_done(merged, start)])
        for index in range(_records_done(merged, start), len(merged), CHUNK):
            chunk = merged[index : index + CHUNK]
            with transaction.atomic():
                created, updated, unchanged = _apply_chunk(job, chunk)
                applied += sum(len(r.rows) for r in chunk)
                ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
                    done=applied, created=job.created + created, updated=job.updated + updated,
                    skipped=job.skipped + unchanged,
                )  # fmt: skip
                job.created += created
                job.updated += updated
                job.skipped += unchanged
        ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
            status=ImportJob.DONE, finished_at=timezone.now(), done=applied
        )
        if connection.vendor == "postgresql" and job.created >= ANALYZE_AFTER:
            # A big import into a bigger table is too small a share for autovacuum to notice,
            # and stale statistics make the recomputes' plans 200x slower (measured: 40 s
            # instead of 0.18 s for a 20,000-contact tenant beside 1M others).
            with connection.cursor() as cursor:
                for table in ("crm_contact", "lifecycle_stagechange", "tagging_contacttag"):
                    cursor.execute(f"ANALYZE {table}")  # noqa: S608 - fixed table names
        tenant_changed(tenant.pk)
        job.refresh_from_db()
        return job


def _records_done(merged: list[Record], rows_done: int) -> int:
    count = total = 0
    for record in merged:
        if total + len(record.rows) > rows_done:
            break
        total += len(record.rows)
        count += 1
    return count


def failed_rows_csv(job: ImportJob) -> bytes:
    """The rows that failed, as they were, with an error column: fix and upload again."""
    _kind, _encoding, rows = read_table(bytes(job.content), job.file_name)
    reasons: dict[int, list[str]] = {}
    for error in job.errors:
        reasons.setdefault(error["row"], []).append(f"{error['column']}: {error['reason']}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*rows[0], _("Error")])
    for number in sorted(reasons):
        writer.writerow([*rows[number - 1], "；".join(reasons[number])])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
