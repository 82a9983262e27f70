"""Moves and lost marks for many contacts at once: the same rules as one move (rules),
set-based, in one transaction."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.models import AuditKind, Contact, Membership, Tenant, Undo
from crm.selectors import contacts_scoped
from crm.undo import BULK_MOVE, undo_counted, undo_open

from .models import StageChange
from .rules import (
    MoveRefused,
    check_lost_reason,
    funnel_changed,
    missing_condition,
    moves_recorded,
    role_of,
    stage_name,
)
from .selectors import stage_settings
from .stages import (
    ORDER,
    RANK,
    REQUIREMENTS,
    ChangeKind,
    Channel,
    LostReason,
    Status,
    later_or_equal,
    may_move,
    requirements_said,
)


@dataclass
class BulkResult:
    done: int = 0
    # reason code -> (message, number of contacts, a few of them to name)
    skipped: dict[str, tuple[str, int, list[Contact]]] = field(default_factory=dict)
    explain: bool = True  # False: skip the counting and naming, for callers that never show it
    undo: Undo | None = None  # the moves made, kept for their member to undo (crm/undo.py)

    @property
    def skipped_total(self) -> int:
        return sum(count for _message, count, _sample in self.skipped.values())

    def skip(self, scope: QuerySet, reasons: dict[str, tuple[str, Q]]) -> None:
        """Counts the contacts of `scope` each reason holds back ({code: (message, which)}),
        all in one pass over the scope, and names a few of each."""
        if not self.explain or not reasons:
            return
        counts = scope.aggregate(
            **{code: Count("id", filter=which) for code, (_message, which) in reasons.items()}
        )
        for code, (message, which) in reasons.items():
            if counts[code]:
                sample = list(scope.filter(which).order_by("name_sort", "id")[:10])
                self.skipped[code] = (message, counts[code], sample)


def _chosen(tenant: Tenant, contacts: QuerySet | Iterable[int]) -> QuerySet:
    """The contacts a bulk action was given, as the company's contacts with these ids. "All
    matching" is read once, here, as the action starts: counting what is held back and writing
    then both seek the ids, instead of each evaluating the filter over the company again."""
    if isinstance(contacts, QuerySet):
        contacts = list(
            contacts_scoped(tenant=tenant, contacts=contacts).values_list("pk", flat=True)
        )
    return contacts_scoped(tenant=tenant, contacts=contacts)


def _bulk_write(
    *,
    tenant: Tenant,
    eligible: QuerySet,
    sets: str,
    params: list,
    change: dict,
    undo: Undo | None = None,
) -> int:
    """Applies the SQL `sets` (with their `params`) to the eligible contacts and writes one
    StageChange row for each: one statement (lock, update, insert the history) however many.
    With `undo`, each contact as it was before is kept for it (MoveUndoRow), in that statement."""
    try:
        ids_sql, ids_params = eligible.values("id").query.get_compiler(using="default").as_sql()
    except EmptyResultSet:  # none may move (back to the first stage without a reason)
        return 0
    sql = f"""
        WITH old AS (
            SELECT id, stage, status, furthest_stage, stage_entered_at FROM crm_contact
            WHERE tenant_id = %s AND id IN ({ids_sql}) FOR UPDATE
        ), moved AS (
            UPDATE crm_contact c SET {sets}
            FROM old WHERE c.id = old.id AND c.stage = old.stage AND c.status = old.status
            RETURNING c.id, old.stage AS from_stage, old.status AS from_status,
                      c.stage AS to_stage, c.status AS to_status,
                      old.furthest_stage AS from_furthest_stage,
                      old.stage_entered_at AS from_entered_at, c.stage_version AS version
        ), kept AS (
            INSERT INTO lifecycle_moveundorow (tenant_id, undo_id, contact_id, from_stage,
                                               from_furthest_stage, from_entered_at, version)
            SELECT %s, %s::bigint, id, from_stage, from_furthest_stage, from_entered_at, version
            FROM moved WHERE %s::bigint IS NOT NULL
        )
        INSERT INTO lifecycle_stagechange (
            tenant_id, contact_id, kind, from_stage, to_stage, from_status, to_status,
            actor_id, actor_label, channel, reason, lost_reason, created_at
        )
        SELECT %s, id, %s, from_stage, to_stage, from_status, to_status,
               %s, '', %s, %s, %s, %s
        FROM moved
    """  # noqa: S608 - the SQL pieces are our own constants; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                tenant.pk,
                *ids_params,
                *params,
                tenant.pk,
                undo.pk if undo else None,
                undo.pk if undo else None,
                tenant.pk,
                change["kind"],
                change["actor_id"],
                change["channel"],
                change["reason"],
                change["lost_reason"],
                change["at"],
            ],
        )
        return cursor.rowcount


@transaction.atomic
def contacts_bulk_move(
    *,
    tenant: Tenant,
    actor: Membership | None,
    contacts: QuerySet | Iterable[int],
    to_stage: str,
    reason: str = "",
    channel: str = Channel.BULK,
    quiet: bool = False,
    undoable: bool = False,
) -> BulkResult:
    """Moves many contacts at once; those that cannot move are counted and named, never lost.
    `quiet`: for a bigger job (an import) that counts its rows its own way and asks for the
    recomputes once, when it ends. `undoable`: the member may undo the moves for a short while
    (lifecycle.undo), so each contact's place before is kept."""
    if to_stage not in RANK:
        raise MoveRefused(_("Unknown stage."), code="unknown_stage")
    reason = (reason or "").strip()
    scope = _chosen(tenant, contacts)
    result = BulkResult(explain=not quiet)
    earlier = ORDER[: RANK[to_stage]]
    later = ORDER[RANK[to_stage] + 1 :]

    held_back = {
        "lost": (_("marked lost: reopen them first"), Q(status=Status.LOST)),
        "same_stage": (_("already in this stage"), Q(status=Status.ACTIVE, stage=to_stage)),
    }
    sources = list(earlier)
    if later:
        backward_ok = may_move(
            role=role_of(actor), channel=channel, from_stage=later[0], to_stage=to_stage
        )
        if backward_ok and reason:
            sources += later
        elif backward_ok:
            held_back["reason_required"] = (
                _("would move back to an earlier stage, which needs a reason"),
                Q(status=Status.ACTIVE, stage__in=later),
            )
        else:
            held_back["backward_not_allowed"] = (
                _("would move back to an earlier stage, which only admins and sales staff may do"),
                Q(status=Status.ACTIVE, stage__in=later),
            )
    eligible = Q(status=Status.ACTIVE, stage__in=sources)
    for key in stage_settings(tenant=tenant)[to_stage].requirements:
        if key not in REQUIREMENTS:
            continue
        lacking = Q(stage__in=earlier) & missing_condition(key)
        held_back[f"missing_{key}"] = (
            _("missing %(field)s") % {"field": requirements_said([key])},
            eligible & lacking,
        )
        eligible &= ~lacking
    result.skip(scope, held_back)

    at = timezone.now()
    keep_furthest = list(later_or_equal(to_stage))
    undo = undo_open(tenant=tenant, actor=actor, kind=BULK_MOVE,
                     details={"to_stage": to_stage}) if undoable else None  # fmt: skip
    result.done = _bulk_write(
        tenant=tenant,
        eligible=scope.filter(eligible),
        sets=(
            "stage = %s, stage_entered_at = %s, updated_at = %s, "
            "stage_version = c.stage_version + 1, "
            "furthest_stage = CASE WHEN c.furthest_stage = ANY(%s) "
            "THEN c.furthest_stage ELSE %s END"
        ),
        params=[to_stage, at, at, keep_furthest, to_stage],
        change={
            "kind": ChangeKind.MOVED,
            "actor_id": actor.pk if actor else None,
            "channel": channel,
            "reason": reason,
            "lost_reason": "",
            "at": at,
        },
        undo=undo,
    )
    result.undo = undo_counted(undo, result.done)
    if result.done:
        # The rows this move wrote: its kind, channel, target and time (shared by the batch).
        written = StageChange.objects.for_tenant(tenant).filter(
            kind=ChangeKind.MOVED, channel=channel, to_stage=to_stage, created_at=at
        )
        moves_recorded(tenant, written)
        if not quiet:
            funnel_changed(tenant)
    if not quiet:  # an import records itself
        audit_record(tenant=tenant, actor=actor, kind=AuditKind.BULK_MOVE, count=result.done,
                     subject=stage_name(tenant, to_stage), details={"to": to_stage})  # fmt: skip
    return result


@transaction.atomic
def contacts_bulk_mark_lost(
    *,
    tenant: Tenant,
    actor: Membership | None,
    contacts: QuerySet | Iterable[int],
    lost_reason: str,
    note: str = "",
    channel: str = Channel.BULK,
) -> BulkResult:
    note = check_lost_reason(actor=actor, channel=channel, lost_reason=lost_reason, note=note)
    scope = _chosen(tenant, contacts)
    result = BulkResult()
    result.skip(scope, {"already_lost": (_("already marked lost"), Q(status=Status.LOST))})
    at = timezone.now()
    result.done = _bulk_write(
        tenant=tenant,
        eligible=scope.filter(status=Status.ACTIVE),
        sets=(
            "status = %s, lost_reason = %s, lost_note = %s, updated_at = %s, "
            "stage_version = c.stage_version + 1"
        ),
        params=[Status.LOST, lost_reason, note, at],
        change={
            "kind": ChangeKind.LOST,
            "actor_id": actor.pk if actor else None,
            "channel": channel,
            "reason": note,
            "lost_reason": lost_reason,
            "at": at,
        },
    )
    if result.done:
        funnel_changed(tenant)
    audit_record(
        tenant=tenant, actor=actor, kind=AuditKind.BULK_MOVE, count=result.done,
        subject=str(LostReason(lost_reason).label), details={"lost": lost_reason},
    )  # fmt: skip
    return result
