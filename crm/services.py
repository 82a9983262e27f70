"""Writes. Keyword-only, atomic, taking domain objects (never a request or a form)."""

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lifecycle.fsm import FUNNEL_FIELD_NAMES

from .audit import audit_record
from .customfields import custom_fields_of, values_clean
from .hooks import (
    change_recorded,
    contact_added,
    contacts_deleted,
    custom_values_changed,
    work_handed_over,
)
from .models import CONTACT_FIELDS, AuditKind, Contact, Membership, Tenant
from .normalize import (
    PhoneError,
    normalize_email,
    normalize_phone,
    normalize_text,
    normalize_wechat_id,
)
from .permissions import can_delete_contacts, can_manage_members
from .selectors import contact_duplicates, contacts_scoped


class ServiceError(Exception):
    """A refusal with a message for the user, already in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# A contact erased at the person's request (personaldata) keeps its placeholder for good.
ERASED = gettext_lazy("This contact was erased at the person's request: it cannot be edited.")


class NotAllowed(ServiceError):
    """Refused because of the actor's role (the JSON API answers 403)."""


class InvalidPhone(ServiceError):
    """A phone number that cannot exist; `code` says why (crm.normalize.PHONE_REASONS)."""

    def __init__(self, error: PhoneError):
        self.code = error.code
        super().__init__(error.message)


class CustomValuesInvalid(ServiceError):
    """Custom-field values refused: `errors` holds the messages by field key, so a form or the
    API places each under its field; the message says them all."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(" ".join(message for messages in errors.values() for message in messages))


class DuplicateContactError(ServiceError):
    def __init__(self, duplicates: dict[str, Contact]):
        self.duplicates = duplicates
        super().__init__(_("A contact with the same email, phone or WeChat ID already exists."))


# What contact_update writes: never the funnel fields, which only lifecycle.services moves.
EDITABLE_FIELDS = (*CONTACT_FIELDS, "owner", "expected_amount", "updated_at")


@dataclass
class ContactData:
    name: str
    email: str = ""
    phone: str = ""
    wechat_id: str = ""
    weibo: str = ""
    company: str = ""
    source: str = ""
    notes: str = ""
    owner: Membership | None = None
    expected_amount: Decimal | None = None
    # The company's own fields given ({key: value} as a form, a file or the API writes them;
    # crm.customfields reads each kind): the keys given change, the others keep their value.
    # None leaves every custom value as it is (and checks none).
    custom: dict | None = None

    def normalized(self, *, stored: Contact | None = None) -> "ContactData":
        """The data as stored (crm/normalize.py); raises InvalidPhone. A phone left as `stored`
        holds it stays as it is: a number kept by the data migration that normalises them (a
        duplicate it reported, or one it could not read) refuses no other change."""
        phone = self.phone
        if stored is None or phone != stored.phone:
            try:
                phone = normalize_phone(phone)
            except PhoneError as error:
                raise InvalidPhone(error) from None
        return ContactData(
            name=normalize_text(self.name),
            email=normalize_email(self.email),
            phone=phone,
            wechat_id=normalize_wechat_id(self.wechat_id),
            weibo=(self.weibo or "").strip(),
            company=normalize_text(self.company),
            source=normalize_text(self.source),
            notes=(self.notes or "").strip(),
            owner=self.owner,
            expected_amount=self.expected_amount,
            custom=self.custom,
        )


def _check_owner(tenant: Tenant, owner: Membership | None) -> None:
    if owner is not None and owner.tenant_id != tenant.pk:
        raise ServiceError(_("The owner must be a member of this company."))


def _custom_values(contact: Contact, given: dict) -> dict:
    """The contact's whole `custom` once `given` is applied (crm.customfields.values_clean);
    CustomValuesInvalid names each refused value by its field's key."""
    try:
        return values_clean(
            tenant=contact.tenant, fields=custom_fields_of(tenant=contact.tenant), given=given,
            current=contact.custom or {},
        )  # fmt: skip
    except ValidationError as exc:
        raise CustomValuesInvalid(exc.message_dict) from None


# The unique constraints on the channels (crm.models.Contact.Meta).
CHANNEL_CONSTRAINTS = {"contact_unique_email", "contact_unique_phone", "contact_unique_wechat"}


def _channel_clash(exc: IntegrityError) -> bool:
    """Whether the database refused a write because a channel is already someone's."""
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") in (
        CHANNEL_CONSTRAINTS
    )


def _holders(contact: Contact, data: ContactData, exclude_id: int | None) -> dict[str, Contact]:
    return contact_duplicates(
        tenant=contact.tenant, email=data.email, phone=data.phone, wechat_id=data.wechat_id,
        exclude_id=exclude_id,
    )  # fmt: skip


def _save_contact(contact: Contact, data: ContactData, *, exclude_id: int | None) -> Contact:
    if duplicates := _holders(contact, data, exclude_id):
        raise DuplicateContactError(duplicates)
    for name in CONTACT_FIELDS:
        setattr(contact, name, getattr(data, name))
    contact.owner = data.owner
    contact.expected_amount = data.expected_amount
    if data.custom is not None:
        contact.custom = _custom_values(contact, data.custom)
    try:
        contact.full_clean(
            exclude=FUNNEL_FIELD_NAMES, validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc
    written = EDITABLE_FIELDS if data.custom is None else (*EDITABLE_FIELDS, "custom")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                if exclude_id is None:
                    contact.save()
                else:
                    contact.save(update_fields=written)
        except IntegrityError as exc:
            if not _channel_clash(exc):
                raise
            # Someone saved the same channel between our check and our write: asked again (a
            # statement of its own, so it sees their row), their contact is named and linked.
            # If they have let it go since (deleted, merged), ours is saved after all.
            if duplicates := _holders(contact, data, exclude_id):
                raise DuplicateContactError(duplicates) from exc
        else:
            return contact
    raise DuplicateContactError({})


@transaction.atomic
def contact_create(*, tenant: Tenant, actor: Membership | None, data: ContactData) -> Contact:
    data = data.normalized()
    if not data.name:
        raise ServiceError(_("A contact needs a name."))
    _check_owner(tenant, data.owner)
    contact = _save_contact(Contact(tenant=tenant), data, exclude_id=None)
    rows = Contact.objects.for_tenant(tenant).filter(pk=contact.pk)
    change_recorded(
        tenant=tenant,
        event="contact.created",
        rows=rows.values_list("id", "id", "created_at"),  # (contact, ref: itself, at)
    )
    contact_added(tenant=tenant)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: Membership | None, data: ContactData) -> Contact:
    if contact.erased_at is not None:  # personaldata: never made a person again by mistake
        raise ServiceError(str(ERASED))
    data = data.normalized(stored=contact)
    if not data.name:
        raise ServiceError(_("A contact needs a name."))
    _check_owner(contact.tenant, data.owner)
    held = dict(contact.custom or {})
    contact = _save_contact(contact, data, exclude_id=contact.pk)
    if contact.custom != held:
        custom_values_changed(tenant=contact.tenant)
    return contact


@transaction.atomic
def contact_fill(*, contact: Contact, actor: Membership | None, values: dict) -> Contact:
    """Fills in some channels or fields (what a stage asks for), with the same checks as an edit."""
    # the custom values stay as they are unless `values` gives some ("custom": {key: value})
    current = ContactData(
        **{f.name: getattr(contact, f.name) for f in fields(ContactData) if f.name != "custom"},
    )
    return contact_update(contact=contact, actor=actor, data=replace(current, **values))


@transaction.atomic
def contact_delete(*, contact: Contact, actor: Membership) -> None:
    """Removes a contact with its history, tags and events; the stored figures follow."""
    if not can_delete_contacts(actor):
        raise ServiceError(_("Only admins may delete contacts."))
    tenant = contact.tenant
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.CONTACT_DELETED, subject=contact.name,
                 details={"contact": contact.pk})  # fmt: skip
    contact.delete()
    contacts_deleted(tenant=tenant)


# --- owners --------------------------------------------------------------------------------


@transaction.atomic
def contacts_bulk_assign(
    *,
    tenant: Tenant,
    actor: Membership | None,
    contacts: QuerySet | Iterable[int],
    owner: Membership | None,
) -> int:
    """Gives the contacts (picked ids, or a filtered list: "all matching") to `owner` (None:
    nobody), set-based. Returns how many changed hands."""
    _check_owner(tenant, owner)
    owner_id = owner.pk if owner is not None else None
    scope = contacts_scoped(tenant=tenant, contacts=contacts)
    # only those changing hands: one already theirs is neither written nor counted
    changed = scope.exclude(owner_id=owner_id) if owner_id else scope.filter(owner__isnull=False)
    count = changed.update(owner_id=owner_id, updated_at=timezone.now())
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.BULK_ASSIGN,
                 subject=owner.display_name if owner else _("nobody"), count=count,
                 details={"owner": owner_id})  # fmt: skip
    return count


@dataclass
class HandedOver:
    contacts: int
    tasks: int


@transaction.atomic
def member_work_hand_over(
    *, member: Membership, to: Membership | None, actor: Membership
) -> HandedOver:
    """Everything `member` is responsible for (the contacts they own, their open tasks) goes to
    `to` in one step: before they leave, or when they change job. Admins only."""
    if not can_manage_members(actor):
        raise NotAllowed(_("Only admins may hand a member's work over."))
    tenant = member.tenant
    if to is not None and (to.tenant_id != tenant.pk or to.pk == member.pk):
        raise ServiceError(_("Choose another member of this company."))
    owned = Contact.objects.for_tenant(tenant).filter(owner_id=member.pk)
    contacts = owned.update(owner_id=to.pk if to else None, updated_at=timezone.now())
    moved: dict[str, int] = {}
    work_handed_over(tenant=tenant, member=member, to=to, moved=moved)
    done = HandedOver(contacts=contacts, tasks=moved.get("tasks", 0))
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.WORK_HANDED_OVER,
                 subject=member.display_name, count=done.contacts,
                 details={"member": member.pk, "to": to.pk if to else None,
                          "tasks": done.tasks})  # fmt: skip
    return done
