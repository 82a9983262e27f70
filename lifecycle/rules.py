"""The rules every stage change obeys, shared by the single moves (services) and the bulk
moves (bulk_moves): why a move is refused, what a stage requires, who may mark a contact lost,
and how a move is announced (the funnel recomputed, webhooks)."""

from collections.abc import Collection

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from crm.hooks import change_recorded
from crm.models import Contact, Membership, Tenant
from crm.services import ServiceError

from .scheduling import tenant_changed
from .selectors import stage_settings
from .stages import ORDER, RANK, REQUIREMENTS, LostReason, may_correct, requirements_said


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
        super().__init__(
            _("To enter this stage the contact needs %(fields)s.")
            % {"fields": requirements_said(missing)}
        )


def stage_name(tenant: Tenant, stage: str) -> str:
    return stage_settings(tenant=tenant)[stage].display_label


def role_of(actor: Membership | None) -> str | None:
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


def missing_condition(key: str) -> Q:
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


def funnel_changed(tenant: Tenant) -> None:
    tenant_changed(tenant.pk)


def check_lost_reason(
    *, actor: Membership | None, channel: str, lost_reason: str, note: str
) -> str:
    """Who may mark contacts lost, and that they say why. Returns the cleaned note."""
    note = (note or "").strip()
    if not may_correct(role=role_of(actor), channel=channel):
        raise MoveRefused(
            _("Only admins and sales staff may mark a contact lost."), code="not_allowed"
        )
    if lost_reason not in LostReason.values:
        raise MoveRefused(_("Choose why the contact was lost."), code="reason_required")
    if lost_reason == LostReason.OTHER and not note:
        raise MoveRefused(_("Say in a few words why the contact was lost."), code="note_required")
    return note


def moves_recorded(tenant: Tenant, changes: QuerySet) -> None:
    change_recorded(
        tenant=tenant,
        event="contact.stage_changed",
        rows=changes.values_list("contact_id", "id", "created_at"),
    )
