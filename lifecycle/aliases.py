"""Writes for stage aliases: the other names a stage is known by. A renamed stage keeps its old
label as an alias (stage_settings_save calls keep_old_labels in its transaction); admins add and
remove aliases on the stage settings page. A name means one stage only: an alias is never a
name another stage is known by (its key, label with or without "02-", standard names, aliases).
"""

from django.db import transaction
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.models import AuditKind, Membership, Tenant
from crm.permissions import can_edit_stage_settings
from crm.services import ServiceError

from .models import StageAlias
from .selectors import (
    default_stage_names,
    stage_name_key,
    stage_names,
    stage_settings,
    stage_settings_changed,
)
from .stages import RANK

MAX_LENGTH = StageAlias._meta.get_field("name").max_length


def require_admin(actor: Membership | None) -> None:
    if not can_edit_stage_settings(actor):
        raise ServiceError(_("Only admins may change the stages."))


def lock_names(tenant: Tenant) -> None:
    """Serialises stage naming in a company: labels and aliases are checked against each other."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()


def _refusal(tenant: Tenant, name: str, stage: str) -> ServiceError:
    label = stage_settings(tenant=tenant)[stage].display_label
    return ServiceError(
        _("“%(name)s” is already the name or an alias of the stage “%(stage)s”.")
        % {"name": name, "stage": label}
    )


def labels_free(*, tenant: Tenant, labels: dict[str, str]) -> None:
    """Refuses a new label that is another stage's alias (its own alias becomes its label)."""
    aliases = dict(StageAlias.objects.for_tenant(tenant).values_list("name_key", "stage"))
    for stage, label in labels.items():
        owner = aliases.get(stage_name_key(label)) if label else None
        if owner is not None and owner != stage:
            raise _refusal(tenant, label, owner)


def keep_old_labels(*, tenant: Tenant, renamed: dict[str, tuple[str, str]]) -> dict[str, dict]:
    """After a save that renamed stages ({stage: (old label, new label)}): each old label stays
    an alias of its stage, unless it was a standard name or now names another stage; an alias
    that became the stage's label is removed. Returns {stage: {"aliases_added": [...],
    "aliases_removed": [...]}} for the audit."""
    changes: dict[str, dict] = {}
    aliases = StageAlias.objects.for_tenant(tenant)
    for stage, (_old, new) in renamed.items():
        promoted = aliases.filter(stage=stage, name_key=stage_name_key(new)) if new else None
        if promoted is not None:
            names = list(promoted.values_list("name", flat=True))
            if names:
                promoted.delete()
                changes.setdefault(stage, {})["aliases_removed"] = names
    names = stage_names(tenant=tenant, fresh=True)
    for stage, (old, _new) in renamed.items():
        key = stage_name_key(old)
        standard = {stage_name_key(n) for n in default_stage_names(stage)}
        if not key or key in standard or names.get(key, stage) != stage:
            continue
        if aliases.filter(name_key=key).exists():
            continue
        StageAlias.objects.create(tenant=tenant, stage=stage, name=old, name_key=key)
        changes.setdefault(stage, {})["aliases_added"] = [old]
    return changes


def _audit(tenant: Tenant, actor: Membership, stage: str, change: dict) -> None:
    row = {"label": stage_settings(tenant=tenant)[stage].label, **change}
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.STAGE_SETTINGS_CHANGED, count=1,
                 details={"stages": {stage: row}})  # fmt: skip


def _changed(tenant: Tenant) -> None:
    stage_settings_changed(tenant=tenant)
    transaction.on_commit(lambda: stage_settings_changed(tenant=tenant))


@transaction.atomic
def stage_alias_add(*, tenant: Tenant, actor: Membership, stage: str, name: str) -> StageAlias:
    """Another name imports, filters, search and the API understand for `stage`."""
    require_admin(actor)
    if stage not in RANK:
        raise ServiceError(_("Unknown stage."))
    name = " ".join((name or "").split())
    key = stage_name_key(name)
    if not key:
        raise ServiceError(_("An alias needs a name."))
    if len(name) > MAX_LENGTH or len(key) > MAX_LENGTH:
        raise ServiceError(_("An alias has at most %(count)s characters.") % {"count": MAX_LENGTH})
    lock_names(tenant)
    owner = stage_names(tenant=tenant, fresh=True).get(key)
    if owner is not None:
        raise _refusal(tenant, name, owner)
    alias = StageAlias.objects.create(tenant=tenant, stage=stage, name=name, name_key=key)
    _audit(tenant, actor, stage, {"aliases_added": [name]})
    _changed(tenant)
    return alias


@transaction.atomic
def stage_alias_remove(*, alias: StageAlias, actor: Membership) -> None:
    """Files and links that use the name no longer find the stage; nothing else changes."""
    require_admin(actor)
    tenant = alias.tenant
    lock_names(tenant)
    alias.delete()
    _audit(tenant, actor, alias.stage, {"aliases_removed": [alias.name]})
    _changed(tenant)
