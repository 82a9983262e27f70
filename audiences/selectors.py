"""Reading audiences: who belongs (from the contacts themselves), who is stored, who came and
went, and the frozen lists."""

from django.db.models import QuerySet

from crm.consent import consent_granted_filter
from crm.customfields import (
    CustomCondition,
    conditions_from_params,
    conditions_q,
    custom_fields_of,
)
from crm.models import Contact, Tenant
from crm.selectors import ContactFilters, contact_list
from lifecycle.stages import ORDER, later_or_equal

from .models import (
    Audience,
    AudienceChange,
    AudienceMember,
    AudienceSnapshot,
    AudienceSnapshotMember,
)


def audience_stages(audience: Audience) -> tuple[str, ...]:
    if audience.gate == Audience.GATE_AT_OR_PAST:
        return later_or_equal(audience.stages[0]) if audience.stages else ORDER
    return tuple(stage for stage in ORDER if stage in audience.stages)


def audience_conditions_lost(audience: Audience) -> list[CustomCondition]:
    """The audience's conditions on the company's own fields that can no longer apply (their
    field was deleted, or an option they name is gone): while there is one, nobody is in it."""
    conditions = conditions_from_params(audience.custom or {})
    if not conditions:
        return []
    fields = custom_fields_of(tenant=audience.tenant)
    return conditions_q(tenant=audience.tenant, conditions=conditions, fields=fields)[1]


def audience_contacts(audience: Audience) -> QuerySet:
    """Who belongs in the audience right now, computed from the contacts themselves."""
    filters = ContactFilters(
        stages=audience_stages(audience),
        status=audience.status,
        tag_any=tuple(audience.tag_any),
        tag_all=tuple(audience.tag_all),
        tag_none=tuple(audience.tag_none),
        tier=f"{audience.tier_at_least_id}+" if audience.tier_at_least_id else "",
        custom=conditions_from_params(audience.custom or {}),
    )
    contacts = contact_list(tenant=audience.tenant, filters=filters, viewer=None).order_by()
    if audience.consent_channel:  # nobody without a standing grant on the channel
        contacts = contacts.filter(
            consent_granted_filter(tenant=audience.tenant, channel=audience.consent_channel)
        )
    # a person erased at their request (personaldata) is in no audience, whatever their stage
    contacts = contacts.filter(erased_at__isnull=True)
    if audience_conditions_lost(audience):
        # a condition left out would let in people the audience was meant to keep out (a
        # campaign's list): nobody, until someone edits it (its page says why)
        return contacts.filter(pk__isnull=True)
    return contacts


def audiences_of(*, tenant: Tenant) -> list[Audience]:
    return list(Audience.objects.for_tenant(tenant))


def audiences_named(*, tenant: Tenant, term: str, limit: int) -> list[Audience]:
    """Audiences whose name contains `term`, by name (a company has a few dozen)."""
    return list(
        Audience.objects.for_tenant(tenant)
        .filter(name__icontains=term.strip())
        .order_by("name", "pk")[:limit]
    )


def snapshots_of(*, tenant: Tenant, limit: int = 50) -> list[AudienceSnapshot]:
    return list(
        AudienceSnapshot.objects.for_tenant(tenant).select_related("created_by__user")[:limit]
    )


def _consenting(contacts: QuerySet, tenant: Tenant, channel: str) -> QuerySet:
    """Read as well as computed: someone who withdrew a moment ago, before the recompute their
    withdrawal enqueued has run, is already left out of the page, the API and the exports."""
    if not channel:
        return contacts
    return contacts.filter(consent_granted_filter(tenant=tenant, channel=channel))


def audience_members(*, audience: Audience) -> QuerySet:
    ids = AudienceMember.objects.for_tenant(audience.tenant).filter(audience=audience)
    members = (
        Contact.objects.for_tenant(audience.tenant)
        .filter(pk__in=ids.values("contact_id"))
        .select_related("owner__user")
    )
    return _consenting(members, audience.tenant, audience.consent_channel)


def snapshot_members(*, snapshot: AudienceSnapshot) -> QuerySet:
    """The frozen list; of a list frozen from a consent-requiring audience, those whose
    consent still stands (a withdrawal is honoured in every later export)."""
    ids = AudienceSnapshotMember.objects.for_tenant(snapshot.tenant).filter(snapshot=snapshot)
    members = Contact.objects.for_tenant(snapshot.tenant).filter(pk__in=ids.values("contact_id"))
    return _consenting(members, snapshot.tenant, snapshot.consent_channel)


def audience_recent_changes(*, audience: Audience, limit: int = 50) -> dict:
    """Who joined and who left in the latest recompute that changed anything: the first `limit`
    of each, and how many more there were ("entered_more", "left_more")."""
    changes = AudienceChange.objects.for_tenant(audience.tenant).filter(audience=audience)
    last = changes.order_by("-at").values_list("at", flat=True).first()
    result = {"at": last}
    for kind in (AudienceChange.ENTERED, AudienceChange.LEFT):
        of_kind = changes.filter(at=last, change=kind)
        shown = [] if last is None else [
            change.contact for change in of_kind.select_related("contact").order_by("pk")[:limit]
        ]  # fmt: skip
        result[kind] = shown
        result[f"{kind}_more"] = of_kind.count() - limit if len(shown) == limit else 0
    return result
