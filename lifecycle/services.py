"""Every single stage change goes through here: moves, creation at a stage, lost and reopen, a
merge's funnel; the stage settings and deleting a contact. Bulk moves are bulk_moves, the rules
both obey are rules.

One move: lock the row, check the version the user saw, apply the FSM transition, save, write the
StageChange row, and recompute the funnel after commit. Bulk moves are the same rules, set-based.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import bulk
from crm.audit import audit_record
from crm.models import AuditKind, Contact, Membership, Tenant
from crm.permissions import can_edit_stage_settings
from crm.services import (
    ContactData,
    ServiceError,
    contact_create,
    contact_fill,
)

from . import aliases
from .models import StageChange
from .rules import (
    MissingRequirements,
    MoveRefused,
    check_lost_reason,
    funnel_changed,
    moves_recorded,
    requirements_missing,
    role_of,
    stage_name,
)
from .scheduling import tenant_changed
from .selectors import default_stage_names, stage_settings, stage_settings_changed
from .stages import (
    ORDER,
    RANK,
    REQUIREMENTS,
    ChangeKind,
    Channel,
    Stage,
    Status,
    is_forward,
    may_correct,
    may_move,
)

# What a move and a lost mark or reopen write. updated_at with them: a moved contact is a changed
# one for "recently updated" and for the API's ?updated_since= (a sync missed moves without it).
MOVED_FIELDS = ("stage", "furthest_stage", "stage_entered_at", "stage_version", "updated_at")
STATUS_FIELDS = ("status", "lost_reason", "lost_note", "stage_version", "updated_at")


def _lock(contact: Contact, expected_version: int | None) -> Contact:
    locked = Contact.objects.for_tenant(contact.tenant).select_for_update().get(pk=contact.pk)
    if expected_version is not None and locked.stage_version != expected_version:
        raise MoveRefused(
            _(
                "Someone changed this contact while you were looking: it is now in “%(stage)s”"
                "%(lost)s. Nothing was changed; look again and retry."
            )
            % {
                "stage": stage_name(contact.tenant, locked.stage),
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
    rule_kind: str = "",
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
        rule_kind=rule_kind,
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
    rule_kind: str = "",
) -> StageChange:
    """Moves one contact. `fill` supplies fields the target stage requires, saved with the move.
    `expected_version` (a page's) or `expected_stage` (the API's): the move applies only if the
    contact is still as its mover saw it, checked under the row lock. `rule_kind`: see
    StageChange.rule_kind."""
    if to_stage not in RANK:
        raise MoveRefused(_("Unknown stage."), code="unknown_stage")
    reason = (reason or "").strip()
    locked = _lock(contact, expected_version)
    tenant = contact.tenant
    if expected_stage is not None and locked.stage != expected_stage:
        raise MoveRefused(
            _("The contact is no longer in “%(expected)s” but in “%(stage)s”: nothing was "
              "changed.")
            % {"expected": stage_name(tenant, expected_stage),
               "stage": stage_name(tenant, locked.stage)},
            code="stale",
            current_stage=locked.stage,
        )  # fmt: skip
    if locked.is_lost:
        raise MoveRefused(
            _("This contact is marked lost: reopen it before moving it."), code="lost"
        )
    if locked.stage == to_stage:
        raise MoveRefused(
            _("The contact is already in “%(stage)s”.") % {"stage": stage_name(tenant, to_stage)},
            code="same_stage",
            current_stage=locked.stage,
        )
    if not may_move(
        role=role_of(actor), channel=channel, from_stage=locked.stage, to_stage=to_stage
    ):
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
    locked.save(update_fields=[*MOVED_FIELDS])
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
        rule_kind=rule_kind,
    )
    moves_recorded(tenant, StageChange.objects.for_tenant(tenant).filter(pk=change.pk))
    funnel_changed(tenant)
    return change


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
    contact.save(update_fields=[*MOVED_FIELDS])
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
    # the recomputes were asked for by contact_create (crm's contact_added hook), in this
    # same transaction: they run after it commits, stage and history included
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
    tenant_changed(tenant.pk)


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
    note = check_lost_reason(actor=actor, channel=channel, lost_reason=lost_reason, note=note)
    locked = _lock(contact, expected_version)
    if locked.is_lost:
        raise MoveRefused(_("This contact is already marked lost."), code="already_lost")
    at = timezone.now()
    locked.mark_lost(lost_reason, note)
    locked.save(update_fields=[*STATUS_FIELDS])
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
    funnel_changed(contact.tenant)
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
    if not may_correct(role=role_of(actor), channel=channel):
        raise MoveRefused(
            _("Only admins and sales staff may reopen a contact."), code="not_allowed"
        )
    locked = _lock(contact, expected_version)
    if not locked.is_lost:
        raise MoveRefused(_("This contact is not marked lost."), code="not_lost")
    at = timezone.now()
    locked.reopen()
    locked.save(update_fields=[*STATUS_FIELDS])
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
    funnel_changed(contact.tenant)
    return change


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
