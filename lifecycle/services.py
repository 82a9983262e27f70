"""Every stage change goes through here: single moves, bulk moves, lost and reopen.

One move: lock the row, check the version the user saw, apply the FSM transition, save, write the
StageChange row, and recompute the funnel after commit. Bulk moves are the same rules, set-based.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import bulk
from crm.audit import audit_record
from crm.models import AuditKind, Contact, Membership, Tenant
from crm.permissions import can_delete_contacts, can_edit_stage_settings
from crm.selectors import contacts_scoped
from crm.services import (
    ContactData,
    ServiceError,
    change_recorded,
    contact_create,
    contact_fill,
)

from . import aliases
from .models import StageChange
from .scheduling import tenant_changed
from .selectors import default_stage_names, stage_settings, stage_settings_changed
from .stages import (
    ORDER,
    RANK,
    REQUIREMENTS,
    ChangeKind,
    Channel,
    LostReason,
    Stage,
    Status,
    is_forward,
    later_or_equal,
    may_correct,
    may_move,
)


class MoveRefused(ServiceError):
    def __init__(self, message: str, *, code: str, current_stage: str | None = None):
        super().__init__(message)
        self.code = code
        self.current_stage = current_stage


class MissingRequirements(ServiceError):
    """The move needs fields the contact lacks; the UI asks for them and tries again."""

    def __init__(self, contact: Contact, to_stage: str, missing: list[str]):
        self.contact = contact
        self.to_stage = to_stage
        self.missing = missing
        names = ", ".join(str(REQUIREMENTS[key][0]) for key in missing)
        super().__init__(
            _("To enter this stage the contact needs: %(fields)s.") % {"fields": names}
        )


def _stage_name(tenant: Tenant, stage: str) -> str:
    return stage_settings(tenant=tenant)[stage].display_label


def _role(actor: Membership | None) -> str | None:
    return actor.role if actor is not None else None


def _lacks(key: str, filled: Collection[str]) -> bool:
    """The requirement rule: met when any (or all, by its mode) of its fields hold a value;
    `filled` names the fields that do."""
    _label, names, mode = REQUIREMENTS[key]
    held = [name in filled for name in names]
    return not (any(held) if mode == "any" else all(held))


def _is_missing(contact: Contact, key: str) -> bool:
    names = REQUIREMENTS[key][1]
    return _lacks(key, {name for name in names if getattr(contact, name) not in (None, "")})


def _missing_condition(key: str) -> Q:
    _label, names, mode = REQUIREMENTS[key]
    empties = [Q(**{f"{name}__isnull": True}) | Q(**{name: ""}) for name in names]
    if key in ("owner", "expected_amount"):
        empties = [Q(**{f"{name}__isnull": True}) for name in names]
    condition = empties[0]
    for empty in empties[1:]:
        condition = condition & empty if mode == "any" else condition | empty
    return condition


def requirements_missing(*, contact: Contact, to_stage: str) -> list[str]:
    required = stage_settings(tenant=contact.tenant)[to_stage].requirements
    return [key for key in required if key in REQUIREMENTS and _is_missing(contact, key)]


def stage_reachable(
    *, tenant: Tenant, to_stage: str, filled: Collection[str]
) -> tuple[str, list[str]]:
    """Where a contact whose fields `filled` hold a value may enter on its way to `to_stage`:
    `to_stage` if it meets that stage's requirements, else the furthest earlier stage whose
    requirements it meets (the first stage at worst); and the requirements `to_stage` lacks.
    For imports, which put each row as far as it may go and say why it stopped short."""
    settings_of = stage_settings(tenant=tenant)

    def lacking(stage: str) -> list[str]:
        required = settings_of[stage].requirements
        return [key for key in required if key in REQUIREMENTS and _lacks(key, filled)]

    missing = lacking(to_stage)
    if not missing:
        return to_stage, []
    for stage in reversed(ORDER[1 : RANK[to_stage]]):
        if not lacking(stage):
            return stage, missing
    return ORDER[0], missing


def _funnel_changed(tenant: Tenant) -> None:
    tenant_changed(tenant.pk)


def _lock(contact: Contact, expected_version: int | None) -> Contact:
    locked = Contact.objects.for_tenant(contact.tenant).select_for_update().get(pk=contact.pk)
    if expected_version is not None and locked.stage_version != expected_version:
        raise MoveRefused(
            _(
                "Someone changed this contact while you were looking: it is now in “%(stage)s”"
                "%(lost)s. Nothing was changed; look again and retry."
            )
            % {
                "stage": _stage_name(contact.tenant, locked.stage),
                "lost": _(", marked lost") if locked.is_lost else "",
            },
            code="stale",
            current_stage=locked.stage,
        )
    return locked


def _record(
    contact: Contact,
    *,
    kind: str,
    from_stage: str,
    from_status: str,
    actor: Membership | None,
    actor_label: str,
    channel: str,
    reason: str,
    at,
) -> StageChange:
    return StageChange.objects.create(
        tenant=contact.tenant,
        contact=contact,
        kind=kind,
        from_stage=from_stage,
        to_stage=contact.stage,
        from_status=from_status,
        to_status=contact.status,
        actor=actor,
        actor_label=actor_label,
        channel=channel,
        reason=reason,
        lost_reason=contact.lost_reason,
        created_at=at,
    )


@transaction.atomic
def contact_stage_move(
    *,
    contact: Contact,
    actor: Membership | None,
    to_stage: str,
    channel: str = Channel.UI,
    reason: str = "",
    expected_version: int | None = None,
    expected_stage: str | None = None,
    fill: dict | None = None,
    actor_label: str = "",
) -> StageChange:
    """Moves one contact. `fill` supplies fields the target stage requires, saved with the move.
    `expected_version` (a page's) or `expected_stage` (the API's): the move applies only if the
    contact is still as its mover saw it, checked under the row lock."""
    if to_stage not in RANK:
        raise MoveRefused(_("Unknown stage."), code="unknown_stage")
    reason = (reason or "").strip()
    locked = _lock(contact, expected_version)
    tenant = contact.tenant
    if expected_stage is not None and locked.stage != expected_stage:
        raise MoveRefused(
            _("The contact is no longer in “%(expected)s” but in “%(stage)s”: nothing was "
              "changed.")
            % {"expected": _stage_name(tenant, expected_stage),
               "stage": _stage_name(tenant, locked.stage)},
            code="stale",
            current_stage=locked.stage,
        )  # fmt: skip
    if locked.is_lost:
        raise MoveRefused(
            _("This contact is marked lost: reopen it before moving it."), code="lost"
        )
    if locked.stage == to_stage:
        raise MoveRefused(
            _("The contact is already in “%(stage)s”.") % {"stage": _stage_name(tenant, to_stage)},
            code="same_stage",
            current_stage=locked.stage,
        )
    if not may_move(role=_role(actor), channel=channel, from_stage=locked.stage, to_stage=to_stage):
        raise MoveRefused(
            _("Only admins and sales staff may move a contact back to an earlier stage."),
            code="backward_not_allowed",
            current_stage=locked.stage,
        )
    forward = is_forward(locked.stage, to_stage)
    if not forward and not reason:
        raise MoveRefused(
            _("Moving back to an earlier stage needs a reason."), code="reason_required"
        )
    if fill:
        locked = contact_fill(contact=locked, actor=actor, values=fill)
    if forward:
        missing = requirements_missing(contact=locked, to_stage=to_stage)
        if missing:
            raise MissingRequirements(locked, to_stage, missing)

    at = timezone.now()
    from_stage = locked.stage
    locked.enter_stage(to_stage, at=at)
    locked.save(update_fields=["stage", "furthest_stage", "stage_entered_at", "stage_version"])
    change = _record(
        locked,
        kind=ChangeKind.MOVED,
        from_stage=from_stage,
        from_status=locked.status,
        actor=actor,
        actor_label=actor_label,
        channel=channel,
        reason=reason,
        at=at,
    )
    _moves_recorded(tenant, StageChange.objects.for_tenant(tenant).filter(pk=change.pk))
    _funnel_changed(tenant)
    return change


def _moves_recorded(tenant: Tenant, changes: QuerySet) -> None:
    change_recorded(
        tenant=tenant,
        event="contact.stage_changed",
        rows=changes.values_list("contact_id", "id", "created_at"),
    )


@transaction.atomic
def contact_create_at_stage(
    *,
    tenant: Tenant,
    actor: Membership | None,
    data: ContactData,
    stage: str,
    channel: str = Channel.UI,
    actor_label: str = "",
) -> Contact:
    """A contact that enters the funnel further down on purpose (a walk-in who pays, an import
    of customers). It is recorded as created in that stage; the stage's requirements apply."""
    if stage not in RANK:
        raise MoveRefused(_("Unknown stage."), code="unknown_stage")
    contact = contact_create(tenant=tenant, actor=actor, data=data)
    if stage == ORDER[0]:
        return contact
    missing = requirements_missing(contact=contact, to_stage=stage)
    if missing:
        raise MissingRequirements(contact, stage, missing)
    at = contact.created_at
    contact.enter_stage(stage, at=at)
    contact.save(update_fields=["stage", "furthest_stage", "stage_entered_at", "stage_version"])
    _record(
        contact,
        kind=ChangeKind.CREATED,
        from_stage="",
        from_status="",
        actor=actor,
        actor_label=actor_label,
        channel=channel,
        reason="",
        at=at,
    )
    _funnel_changed(tenant)
    return contact


def contacts_create_at_stages(
    *,
    tenant: Tenant,
    actor: Membership | None,
    fields: list[str],
    rows: list[tuple],
    stages: list[str],
    channel: str,
) -> list[int]:
    """Many contacts at once (an import's new people), each created in its stage ("": the
    first), with the history row contact_create_at_stage writes for one. `rows` hold the
    contacts' own `fields`; the tenant, funnel fields and times are set here. The caller has
    checked the stages' requirements (an import lowers a row to the furthest stage it meets),
    and tells the funnel once it is done (tenant_changed: an import writes chunk after chunk).
    Set-based, through crm.bulk. Returns the new ids, in the order of `rows`."""
    first, at = ORDER[0], timezone.now()
    placed = [stage or first for stage in stages]
    ids = bulk.insert_rows(
        Contact,
        [*fields, "tenant_id", "stage", "furthest_stage", "stage_entered_at", "stage_version",
         "status", "lost_reason", "lost_note", "created_at", "updated_at"],
        [(*row, tenant.pk, stage, stage, at, int(stage != first), Status.ACTIVE, "", "", at, at)
         for row, stage in zip(rows, placed, strict=True)],
        returning_ids=True,
    )  # fmt: skip
    bulk.insert_rows(
        StageChange,
        ["tenant_id", "contact_id", "kind", "from_stage", "to_stage", "from_status", "to_status",
         "actor_id", "actor_label", "channel", "reason", "lost_reason", "created_at"],
        [(tenant.pk, pk, ChangeKind.CREATED, "", stage, "", Status.ACTIVE,
          actor.pk if actor else None, "", channel, "", "", at)
         for pk, stage in zip(ids, placed, strict=True) if stage != first],
    )  # fmt: skip
    return ids


def contact_funnel_merged(*, survivor: Contact, merged: Contact, actor: Membership | None) -> None:
    """The funnel side of merging `merged` into `survivor` (inside the merge's transaction):
    the merged contact's history moves over, kept, never spliced into the survivor's chain,
    marked with where it came from (rows an earlier merge brought keep the name they came from
    first); the survivor moves forward to the merged contact's stage if that is further (not
    if marked lost), and keeps the furthest stage either reached, as it was reached."""
    tenant = survivor.tenant
    history = StageChange.objects.for_tenant(tenant).filter(contact=merged)
    history.filter(merged_from_id__isnull=True).update(
        merged_from_id=merged.pk, merged_from_name=merged.name
    )
    history.update(contact=survivor)
    if RANK[merged.stage] > RANK[survivor.stage] and not survivor.is_lost:
        contact_stage_move(
            contact=survivor, actor=actor, to_stage=merged.stage, channel=Channel.UI,
            reason=_("Merged with %(name)s") % {"name": merged.name},
        )  # fmt: skip
        survivor.refresh_from_db()
    if RANK[merged.furthest_stage] > RANK[survivor.furthest_stage]:
        # the furthest stage is history, not a move
        Contact.objects.for_tenant(tenant).filter(pk=survivor.pk).update(
            furthest_stage=merged.furthest_stage
        )
        survivor.furthest_stage = merged.furthest_stage


def _check_lost_reason(
    *, actor: Membership | None, channel: str, lost_reason: str, note: str
) -> str:
    """Who may mark contacts lost, and that they say why. Returns the cleaned note."""
    note = (note or "").strip()
    if not may_correct(role=_role(actor), channel=channel):
        raise MoveRefused(
            _("Only admins and sales staff may mark a contact lost."), code="not_allowed"
        )
    if lost_reason not in LostReason.values:
        raise MoveRefused(_("Choose why the contact was lost."), code="reason_required")
    if lost_reason == LostReason.OTHER and not note:
        raise MoveRefused(_("Say in a few words why the contact was lost."), code="note_required")
    return note


@transaction.atomic
def contact_mark_lost(
    *,
    contact: Contact,
    actor: Membership | None,
    lost_reason: str,
    note: str = "",
    channel: str = Channel.UI,
    expected_version: int | None = None,
) -> StageChange:
    """Lost keeps the stage reached, so the funnel shows where people were lost."""
    note = _check_lost_reason(actor=actor, channel=channel, lost_reason=lost_reason, note=note)
    locked = _lock(contact, expected_version)
    if locked.is_lost:
        raise MoveRefused(_("This contact is already marked lost."), code="already_lost")
    at = timezone.now()
    locked.mark_lost(lost_reason, note)
    locked.save(update_fields=["status", "lost_reason", "lost_note", "stage_version"])
    change = _record(
        locked,
        kind=ChangeKind.LOST,
        from_stage=locked.stage,
        from_status=Status.ACTIVE,
        actor=actor,
        actor_label="",
        channel=channel,
        reason=note,
        at=at,
    )
    _funnel_changed(contact.tenant)
    return change


@transaction.atomic
def contact_reopen(
    *,
    contact: Contact,
    actor: Membership | None,
    reason: str = "",
    channel: str = Channel.UI,
    expected_version: int | None = None,
) -> StageChange:
    if not may_correct(role=_role(actor), channel=channel):
        raise MoveRefused(
            _("Only admins and sales staff may reopen a contact."), code="not_allowed"
        )
    locked = _lock(contact, expected_version)
    if not locked.is_lost:
        raise MoveRefused(_("This contact is not marked lost."), code="not_lost")
    at = timezone.now()
    locked.reopen()
    locked.save(update_fields=["status", "lost_reason", "lost_note", "stage_version"])
    change = _record(
        locked,
        kind=ChangeKind.REOPENED,
        from_stage=locked.stage,
        from_status=Status.LOST,
        actor=actor,
        actor_label="",
        channel=channel,
        reason=(reason or "").strip(),
        at=at,
    )
    _funnel_changed(contact.tenant)
    return change


# --- bulk -------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: int = 0
    # reason code -> (message, number of contacts, a few of them to name)
    skipped: dict[str, tuple[str, int, list[Contact]]] = field(default_factory=dict)
    explain: bool = True  # False: skip the counting and naming, for callers that never show it

    @property
    def skipped_total(self) -> int:
        return sum(count for _message, count, _sample in self.skipped.values())

    def skip(self, code: str, message: str, queryset: QuerySet) -> None:
        if not self.explain:
            return
        count = queryset.count()
        if count:
            self.skipped[code] = (message, count, list(queryset.order_by("name", "id")[:10]))


def _bulk_write(
    *, tenant: Tenant, eligible: QuerySet, sets: str, params: list, change: dict
) -> int:
    """Applies the SQL `sets` (with their `params`) to the eligible contacts and writes one
    StageChange row for each: one statement (lock, update, insert the history) however many."""
    ids_sql, ids_params = eligible.values("id").query.get_compiler(using="default").as_sql()
    sql = f"""
        WITH old AS (
            SELECT id, stage, status FROM crm_contact
            WHERE tenant_id = %s AND id IN ({ids_sql}) FOR UPDATE
        ), moved AS (
            UPDATE crm_contact c SET {sets}
            FROM old WHERE c.id = old.id AND c.stage = old.stage AND c.status = old.status
            RETURNING c.id, old.stage AS from_stage, old.status AS from_status,
                      c.stage AS to_stage, c.status AS to_status
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
) -> BulkResult:
    """Moves many contacts at once; those that cannot move are counted and named, never lost.
    `quiet`: for a bigger job (an import) that counts its rows its own way and asks for the
    recomputes once, when it ends."""
    if to_stage not in RANK:
        raise MoveRefused(_("Unknown stage."), code="unknown_stage")
    reason = (reason or "").strip()
    scope = contacts_scoped(tenant=tenant, contacts=contacts)
    result = BulkResult(explain=not quiet)
    active = scope.filter(status=Status.ACTIVE)
    earlier = ORDER[: RANK[to_stage]]
    later = ORDER[RANK[to_stage] + 1 :]

    result.skip("lost", _("marked lost: reopen them first"), scope.filter(status=Status.LOST))
    result.skip("same_stage", _("already in this stage"), active.filter(stage=to_stage))
    sources = list(earlier)
    if later:
        backward_ok = may_move(
            role=_role(actor), channel=channel, from_stage=later[0], to_stage=to_stage
        )
        if backward_ok and reason:
            sources += later
        elif backward_ok:
            result.skip(
                "reason_required",
                _("would move back to an earlier stage, which needs a reason"),
                active.filter(stage__in=later),
            )
        else:
            result.skip(
                "backward_not_allowed",
                _("would move back to an earlier stage, which only admins and sales staff may do"),
                active.filter(stage__in=later),
            )
    eligible = active.filter(stage__in=sources)
    for key in stage_settings(tenant=tenant)[to_stage].requirements:
        if key not in REQUIREMENTS:
            continue
        lacking = Q(stage__in=earlier) & _missing_condition(key)
        result.skip(
            f"missing_{key}",
            _("missing %(field)s") % {"field": REQUIREMENTS[key][0]},
            eligible.filter(lacking),
        )
        eligible = eligible.exclude(lacking)

    at = timezone.now()
    keep_furthest = list(later_or_equal(to_stage))
    result.done = _bulk_write(
        tenant=tenant,
        eligible=eligible,
        sets=(
            "stage = %s, stage_entered_at = %s, stage_version = c.stage_version + 1, "
            "furthest_stage = CASE WHEN c.furthest_stage = ANY(%s) "
            "THEN c.furthest_stage ELSE %s END"
        ),
        params=[to_stage, at, keep_furthest, to_stage],
        change={
            "kind": ChangeKind.MOVED,
            "actor_id": actor.pk if actor else None,
            "channel": channel,
            "reason": reason,
            "lost_reason": "",
            "at": at,
        },
    )
    if result.done:
        # The rows this move wrote: its kind, channel, target and time (shared by the batch).
        written = StageChange.objects.for_tenant(tenant).filter(
            kind=ChangeKind.MOVED, channel=channel, to_stage=to_stage, created_at=at
        )
        _moves_recorded(tenant, written)
        if not quiet:
            _funnel_changed(tenant)
    if not quiet:  # an import records itself
        audit_record(tenant=tenant, actor=actor, kind=AuditKind.BULK_MOVE, count=result.done,
                     subject=_stage_name(tenant, to_stage), details={"to": to_stage})  # fmt: skip
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
    note = _check_lost_reason(actor=actor, channel=channel, lost_reason=lost_reason, note=note)
    scope = contacts_scoped(tenant=tenant, contacts=contacts)
    result = BulkResult()
    result.skip("already_lost", _("already marked lost"), scope.filter(status=Status.LOST))
    at = timezone.now()
    result.done = _bulk_write(
        tenant=tenant,
        eligible=scope.filter(status=Status.ACTIVE),
        sets="status = %s, lost_reason = %s, lost_note = %s, stage_version = c.stage_version + 1",
        params=[Status.LOST, lost_reason, note],
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
        _funnel_changed(tenant)
    audit_record(
        tenant=tenant, actor=actor, kind=AuditKind.BULK_MOVE, count=result.done,
        subject=str(LostReason(lost_reason).label), details={"lost": lost_reason},
    )  # fmt: skip
    return result


# --- settings and stored counts -----------------------------------------------------------


@transaction.atomic
def stage_settings_save(*, tenant: Tenant, actor: Membership, rows: dict[str, dict]) -> None:
    """Saves the tenant's labels, criteria, colours and requirements for every stage at once.

    Labels are unique per tenant across everything a stage may show as, so no two columns of
    the board can read the same.
    """
    if not can_edit_stage_settings(actor):
        raise ServiceError(_("Only admins may change the stages."))
    aliases.lock_names(tenant)
    current = stage_settings(tenant=tenant)
    before = {stage: (s.label, s.requirements) for stage, s in current.items()}
    shown: dict[str, str] = {}
    for stage in ORDER:
        row = rows.get(stage, {})
        label = " ".join((row.get("label") or "").split())
        names = {label} if label else {str(Stage(stage).label), *default_stage_names(stage)}
        for name in names:
            other = shown.get(name.casefold())
            if other and other != stage:
                raise ServiceError(
                    _("Two stages cannot both be called “%(label)s”.") % {"label": name}
                )
            shown[name.casefold()] = stage
    labels = {stage: " ".join((rows.get(stage, {}).get("label") or "").split()) for stage in ORDER}
    aliases.labels_free(tenant=tenant, labels=labels)
    for stage in ORDER:
        row = rows.get(stage, {})
        setting = current[stage]
        setting.label = " ".join((row.get("label") or "").split())
        setting.entry_criteria = (row.get("entry_criteria") or "").strip()
        setting.colour = (row.get("colour") or "").strip().lower()
        setting.requirements = [k for k in row.get("requirements", []) if k in REQUIREMENTS]
        setting.tenant = tenant
        setting.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
        setting.save()
    # A renamed stage keeps answering to its old label (files, links, other systems use it).
    renamed = {stage: (before[stage][0], labels[stage]) for stage in ORDER
               if before[stage][0] != labels[stage]}  # fmt: skip
    kept = aliases.keep_old_labels(tenant=tenant, renamed=renamed) if renamed else {}
    changed = {
        stage: {
            "label": current[stage].label,
            "requirements": current[stage].requirements,
            **kept.get(stage, {}),
        }
        for stage in ORDER
        if before[stage] != (current[stage].label, current[stage].requirements)
    }
    if changed:
        audit_record(tenant=tenant, actor=actor, kind=AuditKind.STAGE_SETTINGS_CHANGED,
                     count=len(changed), details={"stages": changed})  # fmt: skip
    # Now (this transaction reads its own writes) and after commit (others may have cached
    # the old words in between).
    stage_settings_changed(tenant=tenant)
    transaction.on_commit(lambda: stage_settings_changed(tenant=tenant))


@transaction.atomic
def contact_delete(*, contact: Contact, actor: Membership) -> None:
    """Removes a contact with its history, tags and events; the stored figures follow."""
    if not can_delete_contacts(actor):
        raise ServiceError(_("Only admins may delete contacts."))
    tenant = contact.tenant
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.CONTACT_DELETED, subject=contact.name,
                 details={"contact": contact.pk})  # fmt: skip
    contact.delete()
    tenant_changed(tenant.pk)
