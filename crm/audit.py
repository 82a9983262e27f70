"""The audit log: one append-only table of who did what, when and from where.

Services call `audit_record` inside the transaction of the change they make, so an entry exists
exactly when the change does. The address of the request in progress is kept for the length of
the request by `AuditAddressMiddleware` (a context variable, read only here: it scopes nothing
and decides nothing); work done by a task or a command has no address.
"""

import contextvars
import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from lifecycle.stages import RANK, Stage

from .http import client_ip
from .models import (
    AuditEntry,
    AuditKind,
    ConsentChannel,
    ConsentSource,
    CustomField,
    Membership,
    Role,
    Tenant,
    User,
)
from .scope import tenant_scope, user_scope
from .words import aside, in_parts, labelled, listed

_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_address", default=None)


def audit_record(
    *,
    tenant: Tenant,
    actor: Membership | None,
    kind: AuditKind,
    subject: str = "",
    count: int | None = None,
    details: dict | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Appends one entry. `subject` names what was touched (a contact, a member, a file) as
    data; `count` is how many rows; `details` holds any other codes, shown by the audit page."""
    return AuditEntry.objects.create(
        tenant=tenant,
        kind=kind,
        actor=actor,
        actor_label=actor_label or (actor.user.username if actor is not None else ""),
        address=_address.get(),
        subject=str(subject)[:300],
        count=count,
        details=details or {},
    )


def audit_redact(*, tenant: Tenant, contact_id: int, values: set[str], placeholder: str) -> int:
    """The one change the log allows: a person erased at their request (personaldata) leaves
    no trace of their name or channels in the entries about them (those naming the contact's id:
    a consent change, a merge kept into them). The subject becomes `placeholder`; any detail
    holding one of `values` is emptied. Returns how many entries changed."""
    about = Q()
    for key in ("contact", "kept"):
        about |= Q(**{f"details__{key}": contact_id})
    changed = 0
    for entry in AuditEntry.objects.for_tenant(tenant).filter(about).iterator():
        subject = placeholder if any(v in entry.subject for v in values) else entry.subject
        details = {key: "" if isinstance(value, str) and any(v in value for v in values)
                   else value for key, value in (entry.details or {}).items()}  # fmt: skip
        if subject != entry.subject or details != entry.details:
            # past the append-only queryset on purpose: this is the erasure the law asks for
            QuerySet.update(AuditEntry.objects.for_tenant(tenant).filter(pk=entry.pk),
                            subject=subject, details=details)  # fmt: skip
            changed += 1
    return changed


def audit_list(
    *,
    tenant: Tenant,
    actor_id: int | None = None,
    kind: str = "",
    since=None,
    until=None,
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.for_tenant(tenant).select_related("actor__user")
    conditions = Q()
    if actor_id:
        conditions &= Q(actor_id=actor_id)
    if kind:
        conditions &= Q(kind=kind)
    if since:
        conditions &= Q(at__gte=since)
    if until:
        conditions &= Q(at__lt=until)
    return entries.filter(conditions)


class AuditAddressMiddleware:
    """Keeps the client's address for the audit entries this request writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _address.set(_valid_ip(client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            _address.reset(token)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _for_each_company_of(username: str, kind: AuditKind) -> None:
    """A login event names a username, not a company: each company the user belongs to sees
    it. A name nobody has is recorded nowhere (there is no company to tell)."""
    user = User.objects.filter(username=username or "").first()
    if user is None:
        return
    with user_scope(user):  # a login has no company yet: read theirs, then write in each
        # read here, not through crm.selectors: the services of modules below the selectors
        # (crm.customfields) write audit entries too
        memberships = list(Membership.objects.filter(user=user).select_related("tenant"))
    for membership in memberships:
        with tenant_scope(membership.tenant_id):
            audit_record(tenant=membership.tenant, actor=membership, kind=kind, subject=username)


# While an account is paused, every further try is refused and counted again by django-axes;
# the log keeps the failures that led to the pause and the pause itself, so a flood of tries
# cannot flood the log.


def login_failed_recorded(sender, credentials: dict, request=None, **kwargs) -> None:
    """Receiver of django.contrib.auth's user_login_failed."""
    if not getattr(request, "axes_locked_out", False):
        _for_each_company_of(credentials.get("username", ""), AuditKind.LOGIN_FAILED)


def login_locked_out_recorded(sender, request=None, username: str = "", **kwargs) -> None:
    """Receiver of django-axes' user_locked_out: recorded when the pause begins."""
    if getattr(request, "axes_failures_since_start", None) == settings.AXES_FAILURE_LIMIT:
        _for_each_company_of(username, AuditKind.LOGIN_LOCKED_OUT)


_CHANGES = {
    "created": gettext_lazy("created"),
    "activated": gettext_lazy("switched on"),
    "paused": gettext_lazy("paused"),
    "deleted": gettext_lazy("deleted"),
}


def _role(key: str) -> str:
    return str(Role(key).label) if key in Role.values else key


def _alias_changes(row: dict) -> str:
    parts = []
    if row.get("aliases_added"):
        parts.append(_("new aliases: %(names)s") % {"names": listed(row["aliases_added"])})
    if row.get("aliases_removed"):
        parts.append(_("aliases removed: %(names)s") % {"names": listed(row["aliases_removed"])})
    return aside(in_parts(parts)) if parts else ""


# What an app says of its own entries in the reader's words (tagging: a rule without a name of
# its own; activities: an assignment rule). kind -> [make(tenant)], each returning
# writer(entry) -> the words, or None when the entry is not its app's (the words as stored).
_subject_writers: dict[str, list[Callable]] = {}
_actor_writers: dict[str, list[Callable]] = {}


def register_audit_subject(kinds: Iterable[str], make: Callable) -> None:
    for kind in kinds:
        _subject_writers.setdefault(kind, []).append(make)


def register_audit_actor(kinds: Iterable[str], make: Callable) -> None:
    """For entries whose actor is no member (a rule): who did it, in the reader's words."""
    for kind in kinds:
        _actor_writers.setdefault(kind, []).append(make)


def _writer(registry: dict, tenant: Tenant, stored: Callable) -> Callable[[AuditEntry], str]:
    made: dict[Callable, Callable] = {}  # each app's writer made once

    def write(entry: AuditEntry) -> str:
        for make in registry.get(entry.kind, ()):
            if make not in made:
                made[make] = make(tenant)
            said = made[make](entry)
            if said is not None:
                return said
        return stored(entry)

    return write


def audit_subject_writer(tenant: Tenant) -> Callable[[AuditEntry], str]:
    """The subject of each entry as the reader reads it."""
    return _writer(_subject_writers, tenant, lambda entry: entry.subject)


def audit_actor_writer(tenant: Tenant) -> Callable[[AuditEntry], str]:
    """Who made each entry as the reader reads it."""
    return _writer(_actor_writers, tenant, lambda entry: entry.actor_label)


def audit_detail(entry: AuditEntry) -> str:
    """The part of an entry its kind and subject do not say, in the reader's language."""
    details = entry.details or {}
    kind = entry.kind
    if kind == AuditKind.MEMBER_ROLE_CHANGED:
        return f"{_role(details.get('from', ''))} → {_role(details.get('to', ''))}"
    if "role" in details:
        return _role(details["role"])
    if kind == AuditKind.WEBHOOK_CHANGED:
        return str(_CHANGES.get(details.get("change"), details.get("change", "")))
    if kind == AuditKind.EXPORT:
        return details.get("format", "").upper()
    if kind == AuditKind.CONTACT_DATA_EXPORTED:  # an access request (personaldata)
        return _("JSON file") if details.get("format") == "json" else _("page")
    if kind == AuditKind.BULK_TAG:
        return _("added") if details.get("add") else _("removed")
    if kind == AuditKind.STAGE_SETTINGS_CHANGED:
        stages = details.get("stages", {})
        return in_parts(
            labelled(Stage(key).label if key in RANK else key, row.get("label") or "—")
            + _alias_changes(row)
            for key, row in stages.items()
        )
    if kind == AuditKind.IMPORT_UNDONE and details.get("kept"):
        kept = details["kept"]
        return ngettext(
            "%(count)s kept: changed since the import",
            "%(count)s kept: changed since the import",
            kept,
        ) % {"count": kept}
    if kind == AuditKind.TOKEN_CREATED:
        return _("acts as %(user)s") % {"user": details.get("acts_as", "")}
    if kind == AuditKind.UNDONE:
        return _undid(details)
    if kind in _CUSTOM_FIELD_KINDS:
        return _custom_field_change(details)
    if kind in (AuditKind.CONSENT_GRANTED, AuditKind.CONSENT_WITHDRAWN):
        return _consent_change(details)
    return ""


def _consent_change(details: dict) -> str:
    """Which channel (or channels, for an import) and how it was recorded: 短信，手工录入."""
    channels = details.get("channels") or [details.get("channel", "")]
    named = [str(ConsentChannel(c).label) if c in ConsentChannel.values else c for c in channels]
    source = details.get("source", "")
    parts = [listed(named)]
    if source in ConsentSource.values:
        parts.append(str(ConsentSource(source).label))
    return in_parts(parts)


_CUSTOM_FIELD_KINDS = (
    AuditKind.CUSTOM_FIELD_ADDED, AuditKind.CUSTOM_FIELD_CHANGED, AuditKind.CUSTOM_FIELD_DELETED,
)  # fmt: skip


def _custom_field_change(details: dict) -> str:
    """A custom field's key (what imports and the API name it), its kind when added, and the
    name it had before a rename."""
    parts = [_("key %(key)s") % {"key": details.get("key", "")}]
    if details.get("kind") in CustomField.Kind.values:
        parts.insert(0, str(CustomField.Kind(details["kind"]).label))
    if details.get("from"):
        parts.append(_("renamed from “%(name)s”") % {"name": details["from"]})
    return in_parts(parts)


def _undid(details: dict) -> str:
    """What an undo took back (crm.undo's kinds: tag_remove, bulk_tag, bulk_move)."""
    undid = details.get("undid")
    if undid == "bulk_move":
        return _("a bulk move")
    if undid == "tag_remove":
        return _("a tag taken off a contact")
    if undid == "bulk_tag":
        return _("a bulk tag (added)") if details.get("add") else _("a bulk tag (removed)")
    return ""


def audit_csv_rows(entries: QuerySet[AuditEntry], *, tenant: Tenant):
    """The entries as CSV rows (header first), in the reader's language and the company's time."""
    subject, who = audit_subject_writer(tenant), audit_actor_writer(tenant)
    yield [_("Time"), _("Who"), _("Address"), _("What"), _("Subject"), _("Rows"), _("Detail")]
    for entry in entries.iterator(chunk_size=2000):
        yield [
            timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
            who(entry),
            entry.address or "",
            entry.get_kind_display(),
            subject(entry),
            "" if entry.count is None else entry.count,
            audit_detail(entry),
        ]
