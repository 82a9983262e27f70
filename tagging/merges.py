"""Merging two contacts by hand: fields chosen one by one; tags, events and stage history all
moved to the contact that stays; the furthest stage kept; the merge recorded."""

from django.db import transaction
from django.db.models import Q
from django.forms.models import model_to_dict
from django.utils.translation import gettext as _

from crm.models import Contact, Membership
from crm.services import ServiceError
from lifecycle import services as lifecycle
from lifecycle.models import AudienceMember, StageChange
from lifecycle.scheduling import tenant_changed
from lifecycle.stages import RANK, Channel

from .models import ContactMerge, ContactTag, Event

MERGE_FIELDS = (
    "name", "phone", "email", "wechat_id", "weibo", "company", "source", "notes", "owner",
    "expected_amount",
)  # fmt: skip
UNIQUE = ("phone", "email", "wechat_id")


def likely_duplicates(*, contact: Contact, limit: int = 10) -> list[Contact]:
    """Contacts that may be the same person: the same name, or the same phone ending, email
    name or WeChat ID written differently (phones, emails and WeChat IDs are unique, so a
    duplicate always differs somewhere)."""
    condition = Q(name=contact.name)
    if len(contact.phone) >= 8:
        condition |= Q(phone__endswith=contact.phone[-8:])
    if contact.email:
        condition |= Q(email__startswith=contact.email.split("@")[0] + "@")
    if contact.wechat_id:
        condition |= Q(wechat_id__iexact=contact.wechat_id)
    return list(
        Contact.objects.for_tenant(contact.tenant)
        .filter(condition)
        .exclude(pk=contact.pk)
        .select_related("owner__user")
        .order_by("-updated_at")[:limit]
    )


@transaction.atomic
def contact_merge(
    *, survivor: Contact, merged: Contact, actor: Membership, take_from_merged: set[str]
) -> Contact:
    """Keeps `survivor`, taking the fields named in `take_from_merged` from `merged`, and
    deletes `merged` once everything it held has moved over."""
    if actor.role not in ("admin", "sales", "marketer"):
        raise ServiceError(_("Your role does not allow this."))
    if survivor.pk == merged.pk or survivor.tenant_id != merged.tenant_id:
        raise ServiceError(_("Choose two different contacts of this company."))
    tenant = survivor.tenant
    scope = Contact.objects.for_tenant(tenant).select_for_update()
    survivor, merged = scope.get(pk=survivor.pk), scope.get(pk=merged.pk)
    snapshot = {k: str(v) if v is not None else "" for k, v in model_to_dict(merged).items()}
    chosen = {name: getattr(merged, name) for name in MERGE_FIELDS if name in take_from_merged}
    # free the unique channels on the contact that goes before the one that stays takes them
    Contact.objects.for_tenant(tenant).filter(pk=merged.pk).update(phone="", email="", wechat_id="")
    for name, value in chosen.items():
        setattr(survivor, name, value)
    for name in UNIQUE:  # a channel the survivor lacks is never lost
        if not getattr(survivor, name) and snapshot.get(name):
            setattr(survivor, name, snapshot[name])
    survivor.save(update_fields=[*MERGE_FIELDS, "updated_at"])

    tags = ContactTag.objects.for_tenant(tenant)
    held = tags.filter(contact=survivor).values("tag_id")
    held_groups = tags.filter(contact=survivor, tag__group__single_choice=True).values(
        "tag__group_id"
    )
    tags.filter(contact=merged).exclude(tag_id__in=held).exclude(
        tag__group_id__in=held_groups
    ).update(contact=survivor)
    Event.objects.for_tenant(tenant).filter(contact=merged).update(contact=survivor)
    StageChange.objects.for_tenant(tenant).filter(contact=merged).update(contact=survivor)
    AudienceMember.objects.for_tenant(tenant).filter(contact=merged).delete()

    further = merged.furthest_stage
    if RANK[merged.stage] > RANK[survivor.stage] and not survivor.is_lost:
        lifecycle.contact_stage_move(
            contact=survivor, actor=actor, to_stage=merged.stage, channel=Channel.UI,
            reason=_("Merged with %(name)s") % {"name": merged.name},
        )  # fmt: skip
        survivor.refresh_from_db()
    if RANK[further] > RANK[survivor.furthest_stage]:
        # the furthest stage is history, not a move: it is kept as it was reached
        Contact.objects.for_tenant(tenant).filter(pk=survivor.pk).update(furthest_stage=further)
    ContactMerge.objects.create(
        tenant=tenant, survivor=survivor, merged_name=merged.name, merged_data=snapshot,
        actor=actor,
    )  # fmt: skip
    merged.delete()
    tenant_changed(tenant.pk)
    survivor.refresh_from_db()
    return survivor
