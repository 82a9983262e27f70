"""Undoing a member's bulk move (crm/undo.py) for a short while after it: each contact it moved
goes back to the stage it was in, with its furthest stage and the time it entered that stage as
they were; set-based, in one statement, recorded as moves of their own ("Undo of a bulk move")
and announced as every move is (the funnel and audiences recomputed, webhooks). Only when every
one of those contacts is still as the move left it: otherwise nothing changes and the contacts
that changed since are named."""

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Contact, Membership, Undo
from crm.services import ServiceError
from crm.undo import BULK_MOVE, ChangedSince, undo_close, undo_take

from .models import MoveUndoRow, StageChange
from .rules import funnel_changed, moves_recorded, stage_name
from .stages import ChangeKind, Channel, Status

# Each contact of the undo, locked, back to where it was; one StageChange row for each.
UNDO_MOVES = """
WITH old AS (
    SELECT c.id, c.stage, r.from_stage AS back_to, r.from_furthest_stage, r.from_entered_at
    FROM crm_contact c JOIN lifecycle_moveundorow r ON r.contact_id = c.id
    WHERE c.tenant_id = %(tenant)s AND r.tenant_id = %(tenant)s AND r.undo_id = %(undo)s
      AND c.stage_version = r.version AND c.stage = %(moved_to)s AND c.status = %(active)s
    FOR UPDATE OF c
), moved AS (
    UPDATE crm_contact c SET stage = old.back_to, furthest_stage = old.from_furthest_stage,
        stage_entered_at = old.from_entered_at, stage_version = c.stage_version + 1,
        updated_at = %(at)s
    FROM old WHERE c.id = old.id
    RETURNING c.id, old.stage AS from_stage, c.stage AS to_stage
)
INSERT INTO lifecycle_stagechange (
    tenant_id, contact_id, kind, from_stage, to_stage, from_status, to_status,
    actor_id, actor_label, channel, reason, lost_reason, created_at
)
SELECT %(tenant)s, id, %(kind)s, from_stage, to_stage, %(active)s, %(active)s,
       %(actor)s, '', %(channel)s, %(reason)s, '', %(at)s
FROM moved
"""

SAMPLE = 5  # contacts named when an undo is refused


@transaction.atomic
def contacts_bulk_move_undo(*, undo: Undo, actor: Membership) -> int:
    """Puts back the contacts `undo`'s bulk move moved. Returns how many; raises ServiceError
    (nothing changed) when it may not be undone or some of them changed since."""
    undo = undo_take(undo=undo, actor=actor)
    if undo.kind != BULK_MOVE:
        raise ServiceError(_("This cannot be undone here."))
    tenant, moved_to = undo.tenant, undo.details["to_stage"]
    rows = MoveUndoRow.objects.for_tenant(tenant).filter(undo=undo)
    contacts = Contact.objects.for_tenant(tenant)
    # Locked first, in id order: nobody moves them until this commits; then each is checked.
    len(contacts.filter(pk__in=rows.values("contact_id")).order_by("pk").select_for_update()
        .values_list("pk", flat=True))  # fmt: skip
    as_left = contacts.filter(
        pk=OuterRef("contact_id"), stage_version=OuterRef("version"), stage=moved_to,
        status=Status.ACTIVE,
    )  # fmt: skip
    changed = rows.filter(~Exists(as_left))
    count = changed.count()
    if count:
        names = contacts.filter(pk__in=changed.values("contact_id")).order_by("name_sort", "id")
        raise ChangedSince(count, list(names.values_list("name", flat=True)[:SAMPLE]))
    at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(UNDO_MOVES, {
            "tenant": tenant.pk, "undo": undo.pk, "moved_to": moved_to, "active": Status.ACTIVE,
            "at": at, "kind": ChangeKind.MOVED, "actor": actor.pk, "channel": Channel.BULK,
            "reason": _("Undo of a bulk move"),
        })  # fmt: skip
        done = cursor.rowcount
    written = StageChange.objects.for_tenant(tenant).filter(
        kind=ChangeKind.MOVED, channel=Channel.BULK, actor=actor, created_at=at
    )
    moves_recorded(tenant, written)
    funnel_changed(tenant)
    rows.delete()
    undo_close(undo, actor=actor, subject=stage_name(tenant, moved_to), count=done)
    return done
