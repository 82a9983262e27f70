"""Consent to be contacted, per contact and channel (邮件、短信、电话、微信): each grant or
withdrawal is a row kept as history (crm.models.Consent); a contact's state on a channel is
its latest row, "unknown" while it has none. Set by hand (the contact page), by an import
column and by the API, all through `consent_set`; audiences requiring a channel leave out
everyone without a current grant (`consent_granted_filter`), and are computed again after a
change commits (the `consent_changed` hook)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import BooleanField, OuterRef, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .audit import audit_record
from .hooks import consent_changed
from .models import (
    AuditKind,
    Consent,
    ConsentChannel,
    ConsentSource,
    Contact,
    Membership,
    Tenant,
)
from .permissions import can_grant_consent
from .services import NotAllowed, ServiceError

CHANNELS = tuple(ConsentChannel.values)
GRANTED, WITHDRAWN, UNKNOWN = "granted", "withdrawn", "unknown"

# An audience's requirement, as its form and page say it (仅限同意接收短信的联系人)
REQUIRED_WORDS = {
    ConsentChannel.EMAIL: gettext_lazy("Only contacts who agreed to email"),
    ConsentChannel.SMS: gettext_lazy("Only contacts who agreed to SMS"),
    ConsentChannel.PHONE: gettext_lazy("Only contacts who agreed to phone calls"),
    ConsentChannel.WECHAT: gettext_lazy("Only contacts who agreed to WeChat messages"),
}

# How a spreadsheet cell or an API value says yes or no (case and spaces ignored); anything
# else is refused by name, never read as either.
YES = frozenset({"yes", "y", "true", "1", "granted", "grant", "opt-in", "optin", "agree",
                 "是", "同意", "允许", "接受", "已同意", "订阅", "√", "✓"})  # fmt: skip
NO = frozenset({"no", "n", "false", "0", "withdrawn", "withdraw", "opt-out", "optout",
                "refuse", "refused", "declined", "否", "拒绝", "不同意", "不允许", "撤回",
                "已撤回", "退订", "取消", "×", "✗"})  # fmt: skip


def consent_word(value: object) -> bool | None:
    """True for a yes, False for a no, None for anything else (a blank included)."""
    if isinstance(value, bool):
        return value
    key = "".join(str(value or "").split()).casefold()
    if key in YES:
        return True
    if key in NO:
        return False
    return None


@dataclass(frozen=True)
class ConsentState:
    """A contact's consent on one channel as it stands: granted, withdrawn or unknown, and the
    row that said so (None while unknown)."""

    channel: str
    state: str
    row: Consent | None = None

    @property
    def channel_label(self) -> str:
        return str(ConsentChannel(self.channel).label)

    @property
    def granted(self) -> bool:
        return self.state == GRANTED

    @property
    def since(self) -> datetime | None:
        return self.row.at if self.row is not None else None

    @property
    def source_label(self) -> str:
        return self.row.get_source_display() if self.row is not None else ""

    @property
    def who(self) -> str:
        return self.row.actor_label if self.row is not None else ""


def _state(row: Consent | None) -> str:
    if row is None:
        return UNKNOWN
    return GRANTED if row.granted else WITHDRAWN


# --- reads --------------------------------------------------------------------------------


def consent_states(*, contact: Contact) -> list[ConsentState]:
    """The contact's state on every channel, in the channels' order (one query)."""
    latest = (
        Consent.objects.for_tenant(contact.tenant)
        .filter(contact_id=contact.pk)
        .order_by("channel", "-id")
        .distinct("channel")
    )
    by_channel = {row.channel: row for row in latest}
    return [ConsentState(c, _state(by_channel.get(c)), by_channel.get(c)) for c in CHANNELS]


def consent_states_of(*, tenant: Tenant, contact_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """{contact id: {channel: granted/withdrawn/unknown}} for many contacts (the API's
    lists): one query, every channel named."""
    ids = list(contact_ids)
    states = {pk: dict.fromkeys(CHANNELS, UNKNOWN) for pk in ids}
    if ids:
        latest = (
            Consent.objects.for_tenant(tenant)
            .filter(contact_id__in=ids)
            .order_by("contact_id", "channel", "-id")
            .distinct("contact_id", "channel")
            .values_list("contact_id", "channel", "granted")
        )
        for contact_id, channel, granted in latest:
            states[contact_id][channel] = GRANTED if granted else WITHDRAWN
    return states


def consent_history(*, contact: Contact, limit: int = 20) -> list[Consent]:
    """The contact's grants and withdrawals, newest first."""
    return list(
        Consent.objects.for_tenant(contact.tenant)
        .filter(contact_id=contact.pk)
        .order_by("-id")[:limit]
    )


def consent_granted_filter(*, tenant: Tenant, channel: str) -> Subquery:
    """A condition on contacts (a queryset of them filtered by it): their latest row on `channel`
    is a grant. No row (unknown) and a withdrawal both fail it."""
    latest = (
        Consent.objects.for_tenant(tenant)
        .filter(contact_id=OuterRef("pk"), channel=channel)
        .order_by("-id")
        .values("granted")[:1]
    )
    return Subquery(latest, output_field=BooleanField())


def consent_since(*, tenant: Tenant, channel: str) -> Subquery:
    """The time of each contact's latest row on `channel` (an annotation: an export's column
    of when the people of a consent-requiring audience agreed)."""
    latest = (
        Consent.objects.for_tenant(tenant)
        .filter(contact_id=OuterRef("pk"), channel=channel)
        .order_by("-id")
        .values("at")[:1]
    )
    return Subquery(latest)


# The SQL twin of consent_granted_filter, for set-based statements on a table with
# (tenant_id, contact_id) columns aliased `m`; parameters: the channel.
GRANTED_SQL = (
    "COALESCE((SELECT c.granted FROM crm_consent c WHERE c.tenant_id = m.tenant_id "
    "AND c.contact_id = m.contact_id AND c.channel = %s ORDER BY c.id DESC LIMIT 1), false)"
)


def channel_label(channel: str) -> str:
    return str(ConsentChannel(channel).label) if channel in CHANNELS else channel


# --- writes -------------------------------------------------------------------------------


def _check(*, channel: str, granted: bool, actor: Membership | None, source: str) -> None:
    if channel not in CHANNELS:
        raise ServiceError(
            _("Unknown channel “%(channel)s”: use one of %(channels)s.")
            % {"channel": channel, "channels": ", ".join(CHANNELS)}
        )
    if source not in ConsentSource.values:
        raise ServiceError(_("Unknown source of consent."))
    if granted and source != ConsentSource.MERGE and not can_grant_consent(actor):
        raise NotAllowed(
            _("Only admins and marketers may record that a contact agreed to be contacted.")
        )


@transaction.atomic
def consent_set(
    *,
    contact: Contact,
    channel: str,
    granted: bool,
    actor: Membership | None,
    source: str = ConsentSource.HAND,
    note: str = "",
) -> Consent | None:
    """Records a grant (granted=True) or a withdrawal of the contact's consent on `channel`,
    audited. Returns the new row, or None when the contact's state already was that (nothing
    is written). A grant needs can_grant_consent; a withdrawal, only a member."""
    _check(channel=channel, granted=granted, actor=actor, source=source)
    tenant = contact.tenant
    # one change at a time per contact: the latest row is read and written in order
    locked = Contact.objects.for_tenant(tenant).filter(pk=contact.pk).select_for_update()
    if not locked.values_list("pk", flat=True).first():
        raise ServiceError(_("This contact was just deleted or merged by someone else."))
    current = (
        Consent.objects.for_tenant(tenant)
        .filter(contact_id=contact.pk, channel=channel)
        .order_by("-id")
        .values_list("granted", flat=True)
        .first()
    )
    if current is not None and current == granted:
        return None
    row = Consent.objects.create(
        tenant=tenant, contact_id=contact.pk, channel=channel, granted=granted, source=source,
        actor=actor, actor_label=actor.user.username if actor is not None else "",
        note=" ".join((note or "").split())[:200],
    )  # fmt: skip
    audit_record(
        tenant=tenant, actor=actor,
        kind=AuditKind.CONSENT_GRANTED if granted else AuditKind.CONSENT_WITHDRAWN,
        subject=contact.name, details={"contact": contact.pk, "channel": channel, "source": source},
    )  # fmt: skip
    consent_changed(tenant=tenant)
    return row


def consent_grant(**kwargs) -> Consent | None:
    return consent_set(granted=True, **kwargs)


def consent_withdraw(**kwargs) -> Consent | None:
    return consent_set(granted=False, **kwargs)


def consents_import(
    *,
    tenant: Tenant,
    actor: Membership | None,
    rows: list[tuple[int, str, bool]],
    import_job_id: int,
    subject: str = "",
) -> int:
    """An import's consent columns, set-based, in the import's transaction: `rows` are
    (contact id, channel, granted); those that change the contact's state are written (marked
    with the import, which its undo takes back) and audited as one entry per kind. Returns how
    many were written. The caller (the import, which needs can_import) has checked the role."""
    if not rows:
        return 0
    if any(granted for _c, _ch, granted in rows) and not can_grant_consent(actor):
        raise NotAllowed(
            _("Only admins and marketers may record that a contact agreed to be contacted.")
        )
    states = consent_states_of(tenant=tenant, contact_ids={pk for pk, _c, _g in rows})
    label = actor.user.username if actor is not None else ""
    wanted: dict[tuple[int, str], bool] = {}
    for contact_id, channel, granted in rows:  # a person the file lists twice: the last word
        wanted[(contact_id, channel)] = granted
    new = [
        Consent(tenant=tenant, contact_id=contact_id, channel=channel, granted=granted,
                source=ConsentSource.IMPORT, actor=actor, actor_label=label,
                import_job_id=import_job_id)
        for (contact_id, channel), granted in wanted.items()
        if states[contact_id][channel] != (GRANTED if granted else WITHDRAWN)
    ]  # fmt: skip
    Consent.objects.bulk_create(new, batch_size=2000)
    for granted, kind in ((True, AuditKind.CONSENT_GRANTED), (False, AuditKind.CONSENT_WITHDRAWN)):
        written = [row for row in new if row.granted == granted]
        if written:
            audit_record(
                tenant=tenant, actor=actor, kind=kind, subject=subject, count=len(written),
                details={"source": ConsentSource.IMPORT, "import": import_job_id,
                         "channels": sorted({row.channel for row in written})},
            )  # fmt: skip
    if new:
        consent_changed(tenant=tenant)
    return len(new)


def consents_import_undo(*, tenant: Tenant, import_job_id: int) -> int:
    """An import undone: the grants and withdrawals it wrote go, so each contact's state is
    what it was before (or what someone recorded since, which is later)."""
    written = Consent.objects.for_tenant(tenant).filter(
        source=ConsentSource.IMPORT, import_job_id=import_job_id
    )
    count, _by_model = written.delete()
    if count:
        consent_changed(tenant=tenant)
    return count


def consents_merging(*, survivor: Contact, merged: Contact, actor=None, **kwargs) -> None:
    """crm.hooks.contacts_merging: the merged contact's history moves to the one kept. The
    latest row of the two (the highest id) is then the kept contact's state on each channel:
    the person's most recent word, whichever record heard it."""
    moved = (
        Consent.objects.for_tenant(survivor.tenant)
        .filter(contact_id=merged.pk)
        .update(contact_id=survivor.pk)
    )
    if moved:
        consent_changed(tenant=survivor.tenant)
