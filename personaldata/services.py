"""A person's requests: what is held about them (read, and audited), and their erasure."""

from django.db import transaction
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.models import AuditKind, Contact, Membership
from crm.permissions import can_answer_data_requests
from crm.services import ServiceError

from .selectors import Part, contact_personal_data

JSON, PAGE = "json", "page"


@transaction.atomic
def contact_data_export(*, contact: Contact, actor: Membership, form: str) -> list[Part]:
    """Everything held about `contact`, for an access request; the audit log says who read it,
    when, and which contact (by its number only: the entry holds none of their data)."""
    if not can_answer_data_requests(actor):
        raise ServiceError(_("Only admins may answer a person's requests about their data."))
    parts = contact_personal_data(contact=contact)
    audit_record(
        tenant=contact.tenant, actor=actor, kind=AuditKind.CONTACT_DATA_EXPORTED,
        subject=f"#{contact.pk}", details={"contact": contact.pk, "format": form},
    )  # fmt: skip
    return parts
