"""Erasing a person at their request (PIPL art. 47, GDPR art. 17), for good.

What goes: the contact's personal fields (name, email, phone, WeChat, Weibo, company, notes,
lost note, custom values), the free text others wrote about them (activities, tasks' titles,
events' notes, stage moves' reasons, consent notes), what merges kept of the contacts merged
into them, their place in audiences and frozen lists, the rows of finished imports' files that
listed them (the file itself: a spreadsheet cannot be cut row by row here), and their name in
the audit log's entries about them.

What stays, anonymous: the contact's row under a placeholder name ("已删除的联系人 #12"), with
its stage, status, owner, source, amount, tags, stage history, events and tier, so the funnel's
counts and analytics stay true. Its id stays the same, so webhooks' receivers can match
`contact.erased`.

An erased contact is never erased twice, nor edited back into a person: crm's contact_update
and contact_merge refuse it, and its channels are empty, so no import, API call or duplicate
search can match it by its old phone, email or WeChat ID."""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from activities.models import Activity, Task
from audiences.models import Audience, AudienceMember, AudienceSnapshot, AudienceSnapshotMember
from crm.audit import audit_record, audit_redact
from crm.models import AuditKind, Consent, Contact, ContactMerge, Membership
from crm.normalize import normalize_email, normalize_phone_or_blank, normalize_wechat_id
from crm.permissions import can_answer_data_requests
from crm.services import NotAllowed, ServiceError
from crm.webhook_events import webhooks_contact_erased
from lifecycle.models import StageChange
from lifecycle.scheduling import tenant_changed
from spreadsheets.imports.reading import every_row
from spreadsheets.models import ImportChunk, ImportJob
from tagging.models import Event

# Imports that may still read their file and write people: one of these listing the person
# holds them, and the erasure waits for it to finish (or be cancelled).
UNFINISHED = (ImportJob.PENDING, ImportJob.QUEUED, ImportJob.RUNNING, ImportJob.FAILED)
# Fields a person is found by in a file, with how the file's cells are compared.
IDENTITY = (
    ("phone", normalize_phone_or_blank),
    ("email", normalize_email),
    ("wechat_id", normalize_wechat_id),
)


def erased_name(contact: Contact) -> str:
    """The placeholder, in the company's language: it is stored, and read by everyone."""
    with translation.override(contact.tenant.default_language):
        return _("Erased contact #%(id)s") % {"id": contact.pk}


def _lists_person(job: ImportJob, contact: Contact) -> bool:
    """Whether the job's file holds a row with the person's phone, email or WeChat ID: on any
    of its sheets, the ones not imported too."""
    wanted = {(name, getattr(contact, name)) for name, _normalize in IDENTITY
              if getattr(contact, name)}  # fmt: skip
    if not wanted or not job.content:
        return False
    try:
        for cells in every_row(bytes(job.content), job.file_name):
            for cell in cells:
                text = str(cell or "").strip()
                if text and any(normalize(text) == value for name, value in wanted
                                for field, normalize in IDENTITY if field == name):  # fmt: skip
                    return True
    except Exception:  # noqa: BLE001 - a file we cannot read any more holds nobody we can find
        return False
    return False


def _created_or_filled(jobs: QuerySet, contact: Contact) -> set[int]:
    """The jobs among `jobs` whose chunks created the contact or filled its custom values."""
    chunks = ImportChunk.objects.for_tenant(contact.tenant).filter(job__in=jobs)
    return set(
        chunks.filter(
            Q(created_ids__contains=[contact.pk]) | Q(custom_filled__has_key=str(contact.pk))
        ).values_list("job_id", flat=True)
    )


def import_holding(*, contact: Contact) -> ImportJob | None:
    """An import not finished that created the person, or whose file lists them."""
    jobs = ImportJob.objects.for_tenant(contact.tenant).filter(status__in=UNFINISHED)
    touched = _created_or_filled(jobs, contact)
    for job in jobs.order_by("created_at"):
        if job.pk in touched or _lists_person(job, contact):
            return job
    return None


def _scrub_imports(contact: Contact, values: set[str]) -> None:
    """Finished imports: the files listing the person are deleted (the import stays in the
    history, as an expired upload does), and the rows of their reports holding a value of the
    person lose it; the custom values a chunk filled into them are forgotten."""
    tenant = contact.tenant
    finished = ImportJob.objects.for_tenant(tenant).exclude(status__in=UNFINISHED)
    for job in finished.exclude(content=b""):
        if _lists_person(job, contact):
            ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(content=b"")
    for model in (ImportJob, ImportChunk):
        rows = model.objects.for_tenant(tenant).only("pk", "errors", "warnings")
        for row in rows.filter(Q(errors__isnull=False) | Q(warnings__isnull=False)).iterator():
            errors = [_scrubbed(e, values) for e in row.errors or []]
            warnings = [_scrubbed(w, values) for w in row.warnings or []]
            if errors != (row.errors or []) or warnings != (row.warnings or []):
                model.objects.for_tenant(tenant).filter(pk=row.pk).update(
                    errors=errors, warnings=warnings
                )
    key = str(contact.pk)
    for chunk in ImportChunk.objects.for_tenant(tenant).filter(custom_filled__has_key=key):
        filled = {k: v for k, v in chunk.custom_filled.items() if k != key}
        ImportChunk.objects.for_tenant(tenant).filter(pk=chunk.pk).update(custom_filled=filled)


def _scrubbed(entry: dict, values: set[str]) -> dict:
    value = str(entry.get("value", "") or "")
    if value and any(v in value for v in values):
        return {**entry, "value": ""}
    return entry


@transaction.atomic
def contact_erase(*, contact: Contact, actor: Membership) -> Contact:
    """Erases the person `contact` was (see the module's text). Cannot be undone. Refused to
    all but admins, for a contact already erased, and while an import holds them."""
    if not can_answer_data_requests(actor):
        raise NotAllowed(_("Only admins may erase a contact."))
    tenant = contact.tenant
    locked = Contact.objects.for_tenant(tenant).select_for_update().get(pk=contact.pk)
    if locked.erased_at is not None:
        raise ServiceError(_("This contact was already erased."))
    job = import_holding(contact=locked)
    if job is not None:
        raise ServiceError(
            _("The import “%(file)s” holds this contact: erase them once it is finished or "
              "cancelled. Nothing was erased.") % {"file": job.file_name}
        )  # fmt: skip
    # every text of theirs, to find it again where others copied it (the audit log, reports)
    values = {v for v in (locked.name, locked.email, locked.phone, locked.wechat_id,
                          locked.weibo, locked.company) if v}  # fmt: skip
    merged_names = set(
        ContactMerge.objects.for_tenant(tenant).filter(survivor=locked)
        .values_list("merged_name", flat=True)
    )  # fmt: skip
    values |= {name for name in merged_names if name}
    now = timezone.now()
    placeholder = erased_name(locked)
    _scrub_imports(locked, values)  # reads the old channels: before they are cleared
    cleared = ("email", "phone", "wechat_id", "weibo", "company", "notes", "lost_note")
    for name in cleared:
        setattr(locked, name, "")
    locked.name, locked.custom, locked.erased_at = placeholder, {}, now
    locked.save(update_fields=["name", *cleared, "custom", "erased_at", "updated_at"])
    scoped = {"contact": locked}
    Activity.objects.for_tenant(tenant).filter(**scoped).update(text="", outcome="")
    Task.objects.for_tenant(tenant).filter(**scoped).update(title="—")
    Event.objects.for_tenant(tenant).filter(**scoped).update(note="")
    StageChange.objects.for_tenant(tenant).filter(**scoped).update(reason="", merged_from_name="")
    Consent.objects.for_tenant(tenant).filter(**scoped).update(note="")
    ContactMerge.objects.for_tenant(tenant).filter(survivor=locked).update(
        merged_name="", merged_data={}
    )
    audiences = set(
        AudienceMember.objects.for_tenant(tenant)
        .filter(**scoped)
        .values_list("audience_id", flat=True)
    )
    AudienceMember.objects.for_tenant(tenant).filter(**scoped).delete()
    for audience_id in audiences:  # at once; their recompute leaves them out from now on
        size = AudienceMember.objects.for_tenant(tenant).filter(audience_id=audience_id).count()
        Audience.objects.for_tenant(tenant).filter(pk=audience_id).update(size=size)
    snapshots = set(
        AudienceSnapshotMember.objects.for_tenant(tenant)
        .filter(**scoped)
        .values_list("snapshot_id", flat=True)
    )
    AudienceSnapshotMember.objects.for_tenant(tenant).filter(**scoped).delete()
    for snapshot_id in snapshots:  # a frozen list's size says who is on it
        size = AudienceSnapshotMember.objects.for_tenant(tenant).filter(snapshot_id=snapshot_id)
        AudienceSnapshot.objects.for_tenant(tenant).filter(pk=snapshot_id).update(size=size.count())
    audit_redact(tenant=tenant, contact_id=locked.pk, values=values, placeholder=placeholder)
    webhooks_contact_erased(tenant=tenant, contact_id=locked.pk, erased_at=now)
    # by number only: the entry must not hold what was erased
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.CONTACT_ERASED,
                 subject=f"#{locked.pk}", details={"contact": locked.pk})  # fmt: skip
    tenant_changed(tenant.pk)  # the audiences recompute, without them
    return locked
