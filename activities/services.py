"""Writes of a salesperson's day: activities logged and taken back."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Contact, Membership
from crm.services import ServiceError

from .models import Activity, ActivityKind

# a clock a few minutes fast still logs "now"; anything later is a plan, not something that happened
FUTURE_SLACK = timedelta(minutes=5)


def activity_removable(*, activity: Activity, member: Membership | None) -> bool:
    """Who wrote an activity may take it back; nobody else rewrites what they said."""
    return member is not None and activity.author_id == member.pk


@transaction.atomic
def activity_log(
    *,
    contact: Contact,
    actor: Membership,
    kind: str,
    text: str = "",
    outcome: str = "",
    occurred_at: datetime | None = None,
) -> Activity:
    """Records a call, meeting, WeChat chat, visit or note with `contact`, as `actor` had it."""
    if kind not in ActivityKind.values:
        raise ServiceError(_("Choose what kind of activity this was."))
    text, outcome = text.strip(), outcome.strip()
    if not (text or outcome):
        raise ServiceError(_("Write what was said or done, or its outcome."))
    if len(text) > 5000 or len(outcome) > 200:
        raise ServiceError(
            _("That is too long: at most 5,000 characters, and 200 for the outcome.")
        )
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + FUTURE_SLACK:
        raise ServiceError(_("That time is still to come: log what has happened."))
    return Activity.objects.create(
        tenant_id=contact.tenant_id, contact=contact, kind=kind, occurred_at=occurred_at,
        author=actor, text=text, outcome=outcome,
    )  # fmt: skip


@transaction.atomic
def activity_remove(*, activity: Activity, actor: Membership) -> None:
    if not activity_removable(activity=activity, member=actor):
        raise ServiceError(_("Only who logged an activity may remove it."))
    Activity.objects.for_tenant(actor.tenant).filter(pk=activity.pk).delete()


def contact_activities_merged(
    *, survivor: Contact, merged: Contact, actor: Membership | None
) -> None:
    """A merge (crm.merges, inside its transaction): what was said and done with the merged
    contact stays on record, on the one that stays."""
    Activity.objects.for_tenant(survivor.tenant).filter(contact=merged).update(contact=survivor)
