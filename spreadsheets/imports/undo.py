"""Undoing an import: the contacts it created are removed, except those someone has touched
since, which are kept.

"Untouched" means, for a contact the import created (its id is in one of the import's
ImportChunk.created_ids) and that still exists, all of:
- never saved since it was inserted: `updated_at` is still its `created_at` (an edit, an owner
  set, a later import filling a field, a merge into it all save it);
- no stage history but the import's own "created at this stage" row (a move, lost, reopen, a
  rule's move, history merged in from another contact all write one);
- no tag but those the import put on it (channel import, at its creation time);
- no event, no merge kept it, and it is in no frozen list (a snapshot a campaign was sent to).
A tag removed by hand leaves no trace and is not seen.

- no consent recorded but by an import.

The custom-field values the import wrote into contacts already there (ImportChunk.custom_filled:
keys they held no value of) are cleared too, each while it still holds the value imported, so
those contacts' custom fields are as they were before the import. (Their built-in fields, which
an import also only fills, stay filled.)
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from audiences.models import AudienceSnapshotMember
from crm import bulk
from crm.audit import audit_record
from crm.consent import consents_import_undo
from crm.models import AuditKind, Consent, ConsentSource, Contact, ContactMerge, Membership, Tenant
from crm.permissions import can_undo_import
from crm.services import NotAllowed, ServiceError
from lifecycle.models import StageChange
from lifecycle.scheduling import tenant_changed
from lifecycle.stages import ChangeKind, Channel
from tagging.models import ContactTag, Event

from ..models import ImportChunk, ImportJob


@dataclass(frozen=True)
class UndoCounts:
    created: int  # contacts the import created
    removable: int  # untouched since: the undo removes them
    kept: int  # touched since: kept
    gone: int  # deleted or merged into another contact since
    cleared: int = 0  # contacts already there whose imported custom values are cleared


def import_undo_allowed(*, actor: Membership, job: ImportJob) -> bool:
    """Admins, and the marketer who ran the import (their own file's contacts only)."""
    if actor.tenant_id != job.tenant_id:
        return False
    return can_undo_import(actor, job)


def import_undoable(*, job: ImportJob) -> bool:
    """A finished import that created contacts (or filled custom values in) and was not
    undone yet."""
    if job.status != ImportJob.DONE or job.undone_at is not None:
        return False
    return job.created > 0 or bool(_custom_filled(job))


_NONE = object()  # no value imported under a key


def _custom_filled(job: ImportJob) -> dict[int, dict]:
    """{contact id: {key: value}}: what the import wrote into contacts already there."""
    chunks = ImportChunk.objects.for_tenant(job.tenant).filter(job=job).exclude(custom_filled={})
    filled: dict[int, dict] = {}
    for written in chunks.values_list("custom_filled", flat=True):
        for pk, values in written.items():
            filled.setdefault(int(pk), {}).update(values)
    return filled


def _custom_restored(*, tenant: Tenant, filled: dict[int, dict], lock: bool) -> dict[int, dict]:
    """{contact id: its custom without the values the import filled in}, for the contacts that
    still hold one of them as imported (a value changed since is someone's: it stays)."""
    contacts = Contact.objects.for_tenant(tenant).filter(pk__any=list(filled)).order_by("pk")
    if lock:
        contacts = contacts.select_for_update()
    restored = {}
    for pk, custom in contacts.values_list("pk", "custom"):
        imported = filled[pk]
        kept = {key: value for key, value in custom.items() if imported.get(key, _NONE) != value}
        if kept != custom:
            restored[pk] = kept
    return restored


def _created_ids(job: ImportJob) -> list[int]:
    chunks = ImportChunk.objects.for_tenant(job.tenant).filter(job=job)
    return [pk for ids in chunks.values_list("created_ids", flat=True) for pk in ids]


def untouched(
    *, tenant: Tenant, contacts: QuerySet[Contact], job_id: int | None = None
) -> QuerySet[Contact]:
    """Those of `contacts` nobody has touched since an import created them (see above);
    `job_id`: that import, whose own consent rows do not count as a touch."""
    own = OuterRef("pk")
    history = (
        StageChange.objects.for_tenant(tenant)
        .filter(contact_id=own)
        .exclude(kind=ChangeKind.CREATED, channel=Channel.IMPORT, created_at=OuterRef("created_at"))
    )
    tags = (
        ContactTag.objects.for_tenant(tenant)
        .filter(contact_id=own)
        .exclude(channel=Channel.IMPORT, created_at=OuterRef("created_at"))
    )
    return contacts.filter(
        Q(updated_at=F("created_at")),
        ~Exists(history),
        ~Exists(tags),
        ~Exists(Event.objects.for_tenant(tenant).filter(contact_id=own)),
        ~Exists(ContactMerge.objects.for_tenant(tenant).filter(survivor_id=own)),
        ~Exists(AudienceSnapshotMember.objects.for_tenant(tenant).filter(contact_id=own)),
        # consent recorded since (by hand, the API, another import): the person's word is kept
        ~Exists(
            Consent.objects.for_tenant(tenant)
            .filter(contact_id=own)
            .exclude(source=ConsentSource.IMPORT, import_job_id=job_id)
        ),
    )


def import_undo_counts(*, job: ImportJob) -> UndoCounts:
    ids = _created_ids(job)
    contacts = Contact.objects.for_tenant(job.tenant).filter(pk__any=ids)
    existing = contacts.count()
    removable = untouched(tenant=job.tenant, contacts=contacts, job_id=job.pk).count()
    filled = _custom_filled(job)
    cleared = len(_custom_restored(tenant=job.tenant, filled=filled, lock=False)) if filled else 0
    return UndoCounts(created=len(ids), removable=removable, kept=existing - removable,
                      gone=len(ids) - existing, cleared=cleared)  # fmt: skip


@transaction.atomic
def import_undo(*, job: ImportJob, actor: Membership) -> UndoCounts:
    """Removes the contacts `job` created that nobody has touched since, with their history,
    tags and list memberships, and records it on the job and in the audit log. An import is
    undone once: a second undo is refused and removes nothing."""
    if not import_undo_allowed(actor=actor, job=job):
        raise NotAllowed(_("Only admins and the member who ran an import may undo it."))
    tenant = job.tenant
    locked = ImportJob.objects.for_tenant(tenant).select_for_update().get(pk=job.pk)
    if locked.undone_at is not None:
        raise ServiceError(_("This import was already undone: nothing more was removed."))
    if locked.status != ImportJob.DONE:
        raise ServiceError(_("Only a finished import can be undone."))
    ids = _created_ids(locked)
    contacts = Contact.objects.for_tenant(tenant).filter(pk__any=ids)
    # Locked first: nobody edits, moves, tags or merges them until this commits (a new tag,
    # event or history row waits on the lock its key check takes); then, in a statement that
    # sees what was committed before, the untouched ones are picked.
    existing = len(contacts.order_by("pk").select_for_update().values_list("pk", flat=True))
    doomed = untouched(tenant=tenant, contacts=contacts, job_id=locked.pk)
    doomed = list(doomed.values_list("pk", flat=True))
    Contact.objects.for_tenant(tenant).filter(pk__any=doomed).delete()
    now = timezone.now()
    filled = _custom_filled(locked)
    restored = _custom_restored(tenant=tenant, filled=filled, lock=True) if filled else {}
    bulk.update_rows(
        Contact, ["custom", "updated_at"],
        [(pk, Jsonb(custom), now) for pk, custom in restored.items()],
    )  # fmt: skip
    # the consent it recorded in the people kept: each is back to what it was before the import
    consents_import_undo(tenant=tenant, import_job_id=locked.pk)
    locked.undone_at = now
    locked.undone = len(doomed)
    locked.save(update_fields=["undone_at", "undone"])
    counts = UndoCounts(created=len(ids), removable=len(doomed), kept=existing - len(doomed),
                        gone=len(ids) - existing, cleared=len(restored))  # fmt: skip
    details = {"job": locked.pk, "kept": counts.kept}
    if restored:
        details["cleared"] = len(restored)
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.IMPORT_UNDONE,
                 subject=locked.file_name, count=len(doomed), details=details)  # fmt: skip
    tenant_changed(tenant.pk)
    return counts
