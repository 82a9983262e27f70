"""Writes for API tokens and webhook endpoints (keyword-only, atomic, admins only), and the
upsert an integration's form submission makes."""

from dataclasses import replace
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.assignment import new_contact_owner
from crm.audit import audit_record
from crm.customfields import custom_fields_of, values_clean
from crm.models import AuditKind, Contact, Membership, Tenant
from crm.permissions import can_edit_tag_scheme, can_manage_api
from crm.services import (
    ContactData,
    CustomValuesInvalid,
    DuplicateContactError,
    NotAllowed,
    ServiceError,
    contact_create,
    contact_fill,
)
from crm.words import listed
from lifecycle import services as lifecycle
from lifecycle.stages import ORDER, RANK, Channel
from tagging.models import Tag, TagGroup, name_key
from tagging.selectors import tag_resolve
from tagging.services import contact_tag_add, tag_create

from . import targets
from .models import ApiSettings, ApiToken, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .selectors import api_settings_of
from .tokens import SHOWN_PREFIX, token_hash, token_new, webhook_secret_new
from .webhooks import deliveries_waiting


@transaction.atomic
def contact_upsert(
    *, contact: Contact, actor: Membership | None, values: dict, stage: str | None
) -> Contact:
    """A submission for someone already here (same email, phone or WeChat ID), as an import
    treats them: the values given fill the fields that are empty (what is there stays), the
    stage only ever moves forward, and a contact marked lost stays where it is. Custom values
    alike: each is checked, and fills only a field the contact has no value of."""
    custom = values.get("custom") or {}
    values = {name: value for name, value in values.items()
              if name != "custom" and not getattr(contact, name)}  # fmt: skip
    if custom:
        held = contact.custom or {}
        try:  # every value sent is checked, those the contact holds too
            values_clean(tenant=contact.tenant, fields=custom_fields_of(tenant=contact.tenant),
                         given=custom, current=held)  # fmt: skip
        except ValidationError as exc:
            raise CustomValuesInvalid(exc.message_dict) from None
        lacking = {key: value for key, value in custom.items() if key not in held}
        if lacking:
            values["custom"] = lacking
    if values:
        contact = contact_fill(contact=contact, actor=actor, values=values)
    if stage and RANK[stage] > RANK[contact.stage] and not contact.is_lost:
        lifecycle.contact_stage_move(
            contact=contact, actor=actor, to_stage=stage, channel=Channel.API
        )
    return contact


@transaction.atomic
def contact_submit(
    *,
    tenant: Tenant,
    actor: Membership | None,
    data: ContactData,
    stage: str | None,
    tags: list[Tag],
    upsert: bool,
    given: dict,
) -> tuple[Contact, bool]:
    """A contact sent from outside (the API): created at `stage` (None: the first) with its
    tags. When its email, phone or WeChat ID is already someone's, DuplicateContactError, or
    with `upsert` that person gets `given` (the values sent, as contact_upsert takes them), the
    stage only forward, and the tags. Returns (contact, created)."""
    try:
        with transaction.atomic():
            # no owner given: the company's assignment rules choose, by the tags it comes with
            assigned = new_contact_owner(tenant=tenant, tags=tags) if data.owner is None else None
            if assigned is not None:
                data = replace(data, owner=assigned.member)
            if stage in (None, ORDER[0]):
                contact = contact_create(tenant=tenant, actor=actor, data=data)
            else:
                contact = lifecycle.contact_create_at_stage(
                    tenant=tenant, actor=actor, data=data, stage=stage, channel=Channel.API
                )
            if assigned is not None:
                assigned.record(contact)
        created = True
    except DuplicateContactError as duplicate:
        if not upsert:
            raise
        found = sorted({contact.pk for contact in duplicate.duplicates.values()})
        if len(found) > 1:
            raise ServiceError(
                _("The email, phone and WeChat ID given belong to different contacts (%(ids)s).")
                % {"ids": listed(found)}
            ) from None
        contact = Contact.objects.for_tenant(tenant).select_related("owner__user").get(pk=found[0])
        contact = contact_upsert(contact=contact, actor=actor, values=given, stage=stage)
        created = False
    for tag in tags:
        contact_tag_add(contact=contact, tag=tag, actor=actor, channel=Channel.API)
    return contact, created


def _require_admin(actor: Membership | None) -> None:
    if actor is not None and not can_manage_api(actor):
        raise NotAllowed(_("Only admins may manage API tokens and webhooks."))


@transaction.atomic
def api_token_create(
    *, tenant: Tenant, actor: Membership | None, membership: Membership, name: str
) -> tuple[ApiToken, str]:
    """Makes a token acting as `membership`. Returns (token row, the token itself): the only
    moment the token exists in clear."""
    _require_admin(actor)
    if membership.tenant_id != tenant.pk:
        raise ServiceError(_("The token must belong to a member of this company."))
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("Give the token a name, e.g. where it is used."))
    if len(name) > 100:
        raise ServiceError(_("A token name has at most 100 characters."))
    token = token_new()
    row = ApiToken.objects.create(
        tenant=tenant,
        membership=membership,
        name=name,
        prefix=token[:SHOWN_PREFIX],
        token_hash=token_hash(token),
        created_by=actor,
    )
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.TOKEN_CREATED, subject=name,
                 details={"token": row.pk, "acts_as": membership.user.username})  # fmt: skip
    return row, token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Membership | None) -> ApiToken:
    _require_admin(actor)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(tenant=token.tenant, actor=actor, kind=AuditKind.TOKEN_REVOKED,
                     subject=token.name, details={"token": token.pk})  # fmt: skip
    return token


def api_token_touch(*, token: ApiToken, now) -> None:
    """Notes when a token was last used: at most one write a minute, however busy the token."""
    if token.last_used_at is not None and (now - token.last_used_at).total_seconds() < 60:
        return
    ApiToken.objects.for_tenant(token.tenant).filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceError(_("A webhook address starts with https:// (or http://) and a host."))
    if len(url) > 500:
        raise ServiceError(_("A webhook address has at most 500 characters."))
    if parts.username or parts.password:
        raise ServiceError(_("Put no user name or password in the webhook address."))
    try:
        port = parts.port
    except ValueError:
        raise ServiceError(_("The port in the webhook address is out of range.")) from None
    _check_target(parts.hostname, port)
    return url


def _check_target(host: str, port: int | None) -> None:
    """Refuses now what the worker would refuse at each send (targets). With private targets
    allowed (development, a closed network) nothing is looked up."""
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        return
    try:
        targets.resolve(host, port)
    except targets.Refused as refused:
        if refused.code == "host_not_found":
            message = _("The host %(host)s could not be found. Check the address.")
        else:
            message = _(
                "Refused: %(host)s is a private address. Webhooks are only sent to addresses "
                "on the public internet."
            )
        raise ServiceError(message % {"host": host}) from None


def webhook_endpoint_create(
    *,
    tenant: Tenant,
    actor: Membership | None,
    url: str,
    events: list[str],
    description: str = "",
) -> WebhookEndpoint:
    # Not atomic: the host lookup must not hold a transaction open; one INSERT is atomic anyway.
    _require_admin(actor)
    url = _check_url(url)
    events = [e for e in WebhookEvent.values if e in set(events)]
    if not events:
        raise ServiceError(_("Choose at least one event to send."))
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant,
            url=url,
            events=events,
            description=" ".join((description or "").split())[:200],
            secret=webhook_secret_new(),
            created_by=actor,
        )
        _webhook_changed(endpoint, actor, "created")
    return endpoint


def _webhook_changed(endpoint: WebhookEndpoint, actor: Membership | None, change: str) -> None:
    audit_record(tenant=endpoint.tenant, actor=actor, kind=AuditKind.WEBHOOK_CHANGED,
                 subject=endpoint.url, details={"endpoint": endpoint.pk, "change": change,
                                                "events": endpoint.events})  # fmt: skip


@transaction.atomic
def webhook_endpoint_set_active(
    *, endpoint: WebhookEndpoint, actor: Membership | None, active: bool
) -> WebhookEndpoint:
    """A paused endpoint gets no new deliveries; those already waiting stay and are sent."""
    _require_admin(actor)
    endpoint.active = active
    endpoint.save(update_fields=["active"])
    _webhook_changed(endpoint, actor, "activated" if active else "paused")
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Membership | None) -> None:
    _require_admin(actor)
    _webhook_changed(endpoint, actor, "deleted")
    endpoint.delete()


@transaction.atomic
def webhook_delivery_resend(
    *, delivery: WebhookDelivery, actor: Membership | None
) -> WebhookDelivery:
    """Sends a delivery again, soon, whatever became of it (receivers dedupe on its id). The
    resend is one more attempt, counted and logged as the admin's: the count goes on from where
    it was, so a delivery that had given up gives up again if this one fails too. Refused while
    an earlier "Send again" still waits for its attempt (a double click sends once)."""
    _require_admin(actor)
    locked = (
        WebhookDelivery.objects.for_tenant(delivery.tenant).select_for_update().get(pk=delivery.pk)
    )
    if locked.resend_asked_at is not None:
        raise ServiceError(
            _("Delivery %(id)s is already waiting to be sent again.") % {"id": delivery.pk}
        )
    now = timezone.now()
    delivery.status = WebhookDelivery.PENDING
    delivery.next_attempt_at = now
    delivery.resend_asked_at, delivery.resend_asked_by = now, actor
    delivery.save(update_fields=["status", "next_attempt_at", "resend_asked_at", "resend_asked_by"])
    deliveries_waiting(delivery.tenant_id)
    return delivery


# --- the API's settings, and tags named over the API ---------------------------------------


@transaction.atomic
def api_settings_save(
    *, tenant: Tenant, actor: Membership | None, new_tag_group: TagGroup | None
) -> ApiSettings:
    """Where tags created over the API go (None: unknown tags stay refused)."""
    _require_admin(actor)
    if new_tag_group is not None and new_tag_group.tenant_id != tenant.pk:
        raise ServiceError(_("Choose a group of this company."))
    row = ApiSettings.objects.for_tenant(tenant).select_for_update().first()
    row = row or ApiSettings(tenant=tenant)
    row.new_tag_group = new_tag_group
    row.save()
    return row


@transaction.atomic
def contact_tags_add_named(
    *, contact: Contact, actor: Membership | None, names: list[str], create_missing: bool
) -> list[Tag]:
    """Tags a contact by tag names or aliases, all or none. An unknown name refuses the whole
    call, unless `create_missing`: then the tag is created, in the group the company chose for
    the API (refused if it chose none), by whoever may create tags on the pages."""
    tenant = contact.tenant
    tags: list[Tag] = []
    unknown: list[str] = []
    for name in names:
        tag = tag_resolve(tenant=tenant, name=name)
        if tag is None:
            if name_key(name) not in {name_key(u) for u in unknown}:
                unknown.append(" ".join(name.split()))
        elif tag not in tags:
            tags.append(tag)
    if unknown and not create_missing:
        raise ServiceError(
            _("There is no tag or alias “%(name)s”.") % {"name": unknown[0]}
            if len(unknown) == 1
            else _("There are no tags or aliases %(names)s.")
            % {"names": listed([f"“{n}”" for n in unknown])}
        )
    if unknown:
        if actor is not None and not can_edit_tag_scheme(actor):
            raise NotAllowed(
                _("Only admins' and marketers' tokens may create tags: “%(name)s” is unknown.")
                % {"name": unknown[0]}
            )
        group = api_settings_of(tenant=tenant).new_tag_group
        if group is None:
            raise ServiceError(
                _(
                    "“%(name)s” is not a tag yet, and the company has not chosen a group for "
                    "tags created over the API: an admin chooses it under Settings → API and "
                    "webhooks."
                )
                % {"name": unknown[0]}
            )
        tags += [
            tag_create(tenant=tenant, actor=actor, group=group, label=name) for name in unknown
        ]
    for tag in tags:
        contact_tag_add(contact=contact, tag=tag, actor=actor, channel=Channel.API)
    return tags
