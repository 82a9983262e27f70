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
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import AudienceSnapshotMember
from crm.audit import audit_record
from crm.models import AuditKind, Contact, ContactMerge, Membership, Tenant
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


def import_undo_allowed(*, actor: Membership, job: ImportJob) -> bool:
    """Admins, and the marketer who ran the import (their own file's contacts only)."""
    if actor.tenant_id != job.tenant_id:
        return False
    return can_undo_import(actor, job)


def import_undoable(*, job: ImportJob) -> bool:
    """A finished import that created contacts and was not undone yet."""
    return job.status == ImportJob.DONE and job.undone_at is None and job.created > 0


def _created_ids(job: ImportJob) -> list[int]:
    chunks = ImportChunk.objects.for_tenant(job.tenant).filter(job=job)
    return [pk for ids in chunks.values_list("created_ids", flat=True) for pk in ids]


def untouched(*, tenant: Tenant, contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """Those of `contacts` nobody has touched since an import created them (see above)."""
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
    )


def import_undo_counts(*, job: ImportJob) -> UndoCounts:
    ids = _created_ids(job)
    contacts = Contact.objects.for_tenant(job.tenant).filter(pk__any=ids)
    existing = contacts.count()
    removable = untouched(tenant=job.tenant, contacts=contacts).count()
    return UndoCounts(
        created=len(ids), removable=removable, kept=existing - removable, gone=len(ids) - existing
    )


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
    doomed = list(untouched(tenant=tenant, contacts=contacts).values_list("pk", flat=True))
    Contact.objects.for_tenant(tenant).filter(pk__any=doomed).delete()
    locked.undone_at = timezone.now()
    locked.undone = len(doomed)
    locked.save(update_fields=["undone_at", "undone"])
    counts = UndoCounts(created=len(ids), removable=len(doomed), kept=existing - len(doomed),
                        gone=len(ids) - existing)  # fmt: skip
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.IMPORT_UNDONE,
                 subject=locked.file_name, count=len(doomed),
                 details={"job": locked.pk, "kept": counts.kept})  # fmt: skip
    tenant_changed(tenant.pk)
    return counts
