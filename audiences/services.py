"""Audiences (人群): contacts past a stage gate with a status and tag filters, materialised by a
task. Each recompute is set-based: who entered and who left is written as AudienceChange rows,
then the member list is brought in line, all in one transaction under a per-audience lock."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.consent import CHANNELS, GRANTED_SQL
from crm.customfields import (
    FILTER_PARAM,
    CustomCondition,
    condition_params,
    conditions_from_params,
    conditions_q,
    custom_fields_of,
)
from crm.hooks import change_recorded
from crm.models import CustomField, Membership, SavedView, Tenant
from crm.permissions import can_manage_audiences
from crm.services import NotAllowed, ServiceError
from crm.words import listed
from grading.models import ActivityStatus
from grading.selectors import tiers_of
from lifecycle.scheduling import (
    changed_since,
    reading_snapshot,
    seen_changes_forget,
    tenant_changed,
)
from lifecycle.selectors import stage_resolve
from lifecycle.stages import ORDER, RANK, Status
from tagging.models import Tag
from tagging.selectors import tag_choices

from .models import (
    Audience,
    AudienceChange,
    AudienceMember,
    AudienceSnapshot,
)
from .selectors import audience_contacts


def _sql(queryset: QuerySet) -> tuple[str, list]:
    sql, params = queryset.values("id").query.get_compiler("default").as_sql()
    return sql, list(params)


@transaction.atomic
def audience_recompute(*, audience: Audience) -> tuple[int, int]:
    """Brings the stored members in line with the definition. Returns (entered, left). When
    no change to the company's contacts, stages or tags can have escaped the last recompute
    (lifecycle.scheduling.changed_since), the members stand as they are: nothing is read."""
    tenant_id, audience_id = audience.tenant_id, audience.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('audience'), %s)", [audience_id])
    # before anything is read: what this recompute reads includes at least what it saw
    snapshot = reading_snapshot()
    now = timezone.now()
    stored = Audience.objects.for_tenant(audience.tenant).filter(pk=audience_id)
    if not changed_since(tenant_id, stored.values_list("computed_snapshot", flat=True).first()):
        stored.update(computed_at=now, computed_snapshot=snapshot)
        audience.computed_at = now
        return 0, 0
    wanted_sql, wanted_params = _sql(audience_contacts(audience))
    member, change = "lifecycle_audiencemember", "lifecycle_audiencechange"
    first_time = (
        not AudienceMember.objects.for_tenant(audience.tenant).filter(audience=audience).exists()
    )
    with connection.cursor() as cursor:
        if first_time:
            # Nobody to compare with: everyone wanted enters, straight from the definition.
            source, source_params = f"({wanted_sql})", list(wanted_params)
        else:
            # Who belongs at, computed once (the definition may hold tag subqueries) and
            # compared both ways: who enters, who leaves.
            cursor.execute("DROP TABLE IF EXISTS audience_wanted")
            cursor.execute(
                f"CREATE TEMP TABLE audience_wanted AS SELECT w.id FROM ({wanted_sql}) w",  # noqa: S608
                wanted_params,
            )
            cursor.execute("ANALYZE audience_wanted")  # so the planner knows its size
            source, source_params = "audience_wanted", []
        joiners = f"""
            SELECT w.id FROM {source} w
            WHERE NOT EXISTS (SELECT 1 FROM {member} m
                              WHERE m.tenant_id = %s AND m.audience_id = %s
                                AND m.contact_id = w.id)
        """  # noqa: S608 - our own SQL; every value is a parameter
        joiners_params = [*source_params, tenant_id, audience_id]
        # One pass: add the members and log each one as entered.
        cursor.execute(
            f"""
            WITH joined AS (
                INSERT INTO {member} (tenant_id, audience_id, contact_id, joined_at)
                SELECT %s, %s, j.id, %s FROM ({joiners}) j
                RETURNING contact_id
            )
            INSERT INTO {change} (tenant_id, audience_id, contact_id, change, at)
            SELECT %s, %s, contact_id, 'entered', %s FROM joined
            """,  # noqa: S608
            [tenant_id, audience_id, now, *joiners_params, tenant_id, audience_id, now],
        )
        entered = cursor.rowcount
        left = 0
        if not first_time:
            gone = f"""
                FROM {member} m WHERE m.tenant_id = %s AND m.audience_id = %s
                AND NOT EXISTS (SELECT 1 FROM audience_wanted w WHERE w.id = m.contact_id)
            """  # noqa: S608
            cursor.execute(
                f"INSERT INTO {change} (tenant_id, audience_id, contact_id, change, at) "  # noqa: S608
                f"SELECT %s, %s, m.contact_id, 'left', %s {gone}",
                [tenant_id, audience_id, now, tenant_id, audience_id],
            )
            left = cursor.rowcount
            cursor.execute(
                f"DELETE FROM {member} WHERE tenant_id = %s AND audience_id = %s AND contact_id IN "  # noqa: S608
                f"(SELECT m.contact_id {gone})",
                [tenant_id, audience_id, tenant_id, audience_id],
            )
            cursor.execute("DROP TABLE audience_wanted")
    changes = AudienceChange.objects.for_tenant(audience.tenant).filter(
        audience_id=audience_id, at=now
    )
    for count, kind in ((entered, AudienceChange.ENTERED), (left, AudienceChange.LEFT)):
        if count:
            change_recorded(
                tenant=audience.tenant,
                event=f"audience.{kind}",
                rows=changes.filter(change=kind).values_list("contact_id", "audience_id", "at"),
            )
    size = AudienceMember.objects.for_tenant(audience.tenant).filter(audience=audience).count()
    stored.update(size=size, computed_at=now, computed_snapshot=snapshot)
    audience.size, audience.computed_at = size, now
    return entered, left


def audiences_recompute(*, tenant: Tenant) -> None:
    for audience in Audience.objects.for_tenant(tenant):
        audience_recompute(audience=audience)
    # the changes every audience has seen are no longer needed to tell what is new
    seen = Audience.objects.for_tenant(tenant).exclude(computed_snapshot="")
    seen_changes_forget(tenant.pk, snapshots=list(seen.values_list("computed_snapshot", flat=True)))


def _check_definition(tenant: Tenant, *, gate, stages, status, tag_any, tag_all, tag_none):
    if gate not in dict(Audience.GATES):
        raise ServiceError(_("Choose a stage gate."))
    stages = [s for s in stages if s in RANK]
    if not stages:
        raise ServiceError(_("Choose at least one stage."))
    if gate == Audience.GATE_AT_OR_PAST and len(stages) != 1:
        raise ServiceError(_("Choose the one stage contacts must have reached."))
    if status not in ("", *Status.values):
        raise ServiceError(_("Unknown status."))
    # Tag ids must be this company's
    tag_ids = {int(t) for t in (*tag_any, *tag_all, *tag_none)}
    if tag_ids and Tag.objects.for_tenant(tenant).filter(pk__in=tag_ids).count() != len(tag_ids):
        raise ServiceError(_("Choose tags of this company."))
    return stages


def _custom_check(tenant: Tenant, custom: Mapping[str, Any]) -> dict[str, str]:
    """Conditions on the company's own fields, as the contact list's parameters (cf_<key>,
    __min, __max, __empty), in the form an audience keeps them; a condition that cannot apply
    (no such field, a value its kind cannot read, a range on a choice) is refused by name."""
    conditions = conditions_from_params(custom)
    if not conditions:
        return {}
    fields = custom_fields_of(tenant=tenant)
    lost = conditions_q(tenant=tenant, conditions=conditions, fields=fields)[1]
    if lost:
        by_key = {field.key: field for field in fields}
        raise ServiceError(
            _("These conditions cannot apply: %(conditions)s.")
            % {"conditions": listed(_condition_words(c, by_key) for c in lost)}
        )
    return dict(condition_params(condition) for condition in conditions)


@dataclass(frozen=True)
class CustomWords:
    """An audience's conditions on the company's own fields, in words (校区 = 浦东), and those
    that can no longer apply (while there is one, the audience is empty)."""

    conditions: list[str]
    lost: list[str]

    @property
    def lost_listed(self) -> str:
        return listed(self.lost)


def audience_custom_words(*, audience: Audience) -> CustomWords:
    conditions = conditions_from_params(audience.custom or {})
    if not conditions:
        return CustomWords([], [])
    fields = custom_fields_of(tenant=audience.tenant)
    lost = conditions_q(tenant=audience.tenant, conditions=conditions, fields=fields)[1]
    by_key = {field.key: field for field in fields}
    return CustomWords(
        conditions=[_condition_words(c, by_key) for c in conditions if c not in lost],
        lost=[_condition_words(c, by_key) for c in lost],
    )


def audiences_consent_changed(*, tenant: Tenant) -> None:
    """crm's hook: contacts' consent changed. Audiences requiring consent are computed again
    after commit (a withdrawal leaves them then; their pages and exports already leave the
    person out)."""
    if Audience.objects.for_tenant(tenant).exclude(consent_channel="").exists():
        tenant_changed(tenant.pk, funnel=False)


def audiences_custom_values_changed(*, tenant: Tenant) -> None:
    """crm's hook: contacts' custom values changed. Audiences with a condition on them are
    computed again, as after a move (the others never read them)."""
    if Audience.objects.for_tenant(tenant).exclude(custom={}).exists():
        tenant_changed(tenant.pk, funnel=False)


@transaction.atomic
def audience_save(
    *,
    tenant: Tenant,
    actor: Membership,
    audience: Audience | None = None,
    name: str,
    gate: str,
    stages: list[str],
    status: str = "",
    tag_any=(),
    tag_all=(),
    tag_none=(),
    tier_at_least: int | None = None,
    custom: Mapping[str, Any] | None = None,
    consent_channel: str = "",
) -> Audience:
    """Saves the audience's definition; `tier_at_least`: a tier id of the company (or None);
    `custom`: conditions on the company's own fields, as the contact list's filters write them
    ({"cf_xiao_qu": "浦东", "cf_sheng_ri__min": "2015-01-01"}); `consent_channel`: only
    contacts whose consent on that channel stands granted ("": anyone)."""
    if not can_manage_audiences(actor):
        raise NotAllowed(_("Only admins and marketers may define audiences."))
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("An audience needs a name."))
    clash = Audience.objects.for_tenant(tenant).filter(name=name)
    if audience is not None:
        clash = clash.exclude(pk=audience.pk)
    if clash.exists():
        raise ServiceError(_("There is already an audience “%(name)s”.") % {"name": name})
    stages = _check_definition(tenant, gate=gate, stages=stages, status=status, tag_any=tag_any,
                               tag_all=tag_all, tag_none=tag_none)  # fmt: skip
    audience = audience or Audience(tenant=tenant, created_by=actor)
    audience.name, audience.gate, audience.stages, audience.status = name, gate, stages, status
    audience.computed_snapshot = ""  # a new definition: computed afresh, whatever changed
    audience.tag_any = sorted(int(t) for t in tag_any)
    audience.tag_all = sorted(int(t) for t in tag_all)
    audience.tag_none = sorted(int(t) for t in tag_none)
    if tier_at_least is not None and not any(
        t.pk == tier_at_least for t in tiers_of(tenant=tenant)
    ):
        raise ServiceError(_("That tier is not one of this company's."))
    audience.tier_at_least_id = tier_at_least
    audience.custom = _custom_check(tenant, custom or {})
    if (consent_channel or "") not in ("", *CHANNELS):
        raise ServiceError(_("Choose a channel of consent, or none."))
    audience.consent_channel = consent_channel or ""
    audience.save()
    tenant_changed(tenant.pk)  # its members are computed after commit, like every change
    return audience


@transaction.atomic
def audience_delete(*, audience: Audience, actor: Membership) -> None:
    if not can_manage_audiences(actor):
        raise NotAllowed(_("Only admins and marketers may define audiences."))
    audience.delete()


@transaction.atomic
def audience_freeze(*, audience: Audience, actor: Membership, name: str) -> AudienceSnapshot:
    """Keeps today's members under a name: the list a campaign was actually sent to."""
    if not can_manage_audiences(actor):
        raise NotAllowed(_("Only admins and marketers may define audiences."))
    name = " ".join((name or "").split()) or audience.name
    channel = audience.consent_channel
    snapshot = AudienceSnapshot.objects.create(
        tenant=audience.tenant, audience=audience, name=name, created_by=actor,
        consent_channel=channel,
    )  # fmt: skip
    # a consent-requiring audience: whoever withdrew since its last recompute stays out
    consenting, params = (f" AND {GRANTED_SQL}", [channel]) if channel else ("", [])
    copy = (
        "INSERT INTO lifecycle_audiencesnapshotmember (tenant_id, snapshot_id, contact_id) "  # noqa: S608 - our SQL; values are parameters
        "SELECT m.tenant_id, %s, m.contact_id FROM lifecycle_audiencemember m "
        "WHERE m.audience_id = %s" + consenting
    )
    with connection.cursor() as cursor:
        cursor.execute(copy, [snapshot.pk, audience.pk, *params])
        snapshot.size = cursor.rowcount
    snapshot.save(update_fields=["size"])
    return snapshot


# --- an audience started from a saved view of the contact list ---------------------------

# The list's parameters that say how it is shown, not who is in it: an audience has no use for them.
NOT_FILTERS = frozenset({"sort", "cols"})


@dataclass(frozen=True)
class AudienceStart:
    """The audience form's initial values a saved view gives, and the view's filters an
    audience cannot hold, named for the form's note (never dropped without a word)."""

    initial: dict
    left_out: list[str]


def _one(params: dict, name: str) -> str:
    values = params.get(name) or [""]
    return str(values[-1]).strip()


def _owner_words(tenant: Tenant, owner: str) -> str:
    if owner == "me":
        return _("Owner: the member who opens the list")
    if owner == "none":
        return _("Owner: nobody")
    member = (
        Membership.objects.for_tenant(tenant).select_related("user").filter(pk=int(owner)).first()
        if owner.isdigit() and int(owner) < 2**63
        else None
    )
    return _("Owner: %(name)s") % {"name": member.display_name if member else owner}


def _condition_words(condition: CustomCondition, fields: dict[str, CustomField]) -> str:
    """A condition on one of the company's own fields as the reader would write it: 校区 = 浦东,
    生日 ≥ 2015-01-01, 年级 is empty (a field deleted since, by its key)."""
    field = fields.get(condition.key)
    name = field.label if field is not None else condition.key
    if condition.op == "empty":
        said = {"1": _("is empty"), "0": _("has a value")}.get(condition.value, condition.value)
        return f"{name} {said}"
    sign = {"eq": "=", "min": "≥", "max": "≤"}[condition.op]
    return f"{name} {sign} {condition.value}"


def audience_initial_from_view(*, view: SavedView) -> AudienceStart:
    """An audience's definition from a saved view's filters: its stage (exactly that stage;
    none: every stage), status, tags (any, all, none; deleted ones left out), and a tier "or
    higher", and its conditions on the company's own fields. What an audience cannot hold is
    named in `left_out`: the free-text search, the owner, the activity status, an exact tier or
    none, a condition on a field that can no longer apply (in words), and any other filter (by
    its name)."""
    tenant, params = view.tenant, view.params
    fields = {}  # the company's own fields, read when the view has a condition on one
    if any(FILTER_PARAM.match(name) for name in params):
        fields = {field.key: field for field in custom_fields_of(tenant=tenant)}
    initial: dict = {"name": view.name, "gate": Audience.GATE_AT_OR_PAST, "stages": [ORDER[0]],
                     "status": "", "tier_at_least": None, "custom": {}}  # fmt: skip
    left_out: list[str] = []
    handled = {"stage", "status", "tag_any", "tag_all", "tag_none", "tier"}

    stage = _one(params, "stage")
    if stage:
        key = stage if stage in RANK else stage_resolve(tenant=tenant, text=stage)
        if key is None:
            left_out.append(_("Stage “%(stage)s”, which no stage is called now") % {"stage": stage})
        else:  # the list's stage filter is that stage exactly
            initial["gate"], initial["stages"] = Audience.GATE_EXACT, [key]
    status = _one(params, "status")
    if status in Status.values:
        initial["status"] = status

    known_tags = {pk for pk, _label in tag_choices(tenant=tenant)}
    gone = 0
    for name in ("tag_any", "tag_all", "tag_none"):
        ids = [int(v) for v in params.get(name, []) if str(v).isdigit()]
        initial[name] = [pk for pk in ids if pk in known_tags]
        gone += len(ids) - len(initial[name])
    if gone:
        text = ngettext("%(count)s tag that was deleted", "%(count)s tags that were deleted",
                        gone)  # fmt: skip
        left_out.append(text % {"count": gone})

    tier = _one(params, "tier")
    tiers = {str(t.pk): t for t in tiers_of(tenant=tenant)} if tier else {}
    if tier.endswith("+") and tier[:-1] in tiers:
        initial["tier_at_least"] = tiers[tier[:-1]].pk
    elif tier == "none":
        left_out.append(_("Customers without a tier"))
    elif tier in tiers:
        left_out.append(_("Tier %(tier)s exactly (an audience takes a tier or higher)")
                        % {"tier": tiers[tier].name})  # fmt: skip
    elif tier:
        left_out.append(_("A tier that was deleted"))

    for name, values in params.items():
        if name in handled or name in NOT_FILTERS or not values:
            continue
        value = _one(params, name)
        if name == "q":
            left_out.append(_("Search “%(term)s”") % {"term": value})
        elif name == "owner":
            left_out.append(_owner_words(tenant, value))
        elif name == "activity":
            label = dict(ActivityStatus.choices).get(value, value)
            left_out.append(_("Activity status: %(status)s") % {"status": label})
        elif FILTER_PARAM.match(name):  # a condition on one of the company's own fields
            conditions = conditions_from_params({name: values})
            lost = conditions_q(tenant=tenant, conditions=conditions, fields=fields.values())[1]
            left_out += [_condition_words(condition, fields) for condition in lost]
            initial["custom"].update(condition_params(c) for c in conditions if c not in lost)
        else:  # a filter this mapping does not know (yet), by its parameter's name
            left_out.append(_("Filter “%(name)s”") % {"name": name})
    return AudienceStart(initial=initial, left_out=left_out)


# --- reads and the CSV export ------------------------------------------------------------
