"""Companies, their members, invitations and passwords. A company admin never sets or learns an
existing user's password: an existing user joins only by accepting an invitation, and the
admin's page answers the same whether or not the name was taken."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record
from .hooks import tenant_setup
from .models import (
    AuditKind,
    Invitation,
    Membership,
    OneTimeLink,
    Role,
    SavedView,
    Tenant,
    User,
)
from .normalize import normalize_email, normalize_text
from .permissions import can_manage_members, is_admin_role
from .scope import tenant_scope, user_scope
from .selectors import admin_count
from .services import NotAllowed, ServiceError


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    admin_username: str,
    admin_password: str | None = None,
    time_zone: str = "Asia/Shanghai",
    default_language: str = "zh-hans",
) -> tuple[Tenant, Membership, bool]:
    """Creates a company with its first admin; returns (tenant, membership, user_was_created)."""
    if Tenant.objects.filter(slug=slug).exists():
        raise ServiceError(
            _("A company with the short name “%(slug)s” already exists.") % {"slug": slug}
        )
    tenant = Tenant(slug=slug, name=name, time_zone=time_zone, default_language=default_language)
    try:
        tenant.full_clean()
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc
    tenant.save()
    with tenant_scope(tenant):
        membership, user_created = membership_add(
            tenant=tenant,
            actor=None,
            username=admin_username,
            role=Role.ADMIN,
            password=admin_password,
        )
        tenant_setup(tenant=tenant)
    return tenant, membership, user_created


@transaction.atomic
def tenant_update_settings(
    *, tenant: Tenant, actor: Membership, name: str, time_zone: str, default_language: str
) -> Tenant:
    tenant.name = normalize_text(name)
    tenant.time_zone = time_zone
    tenant.default_language = default_language
    try:
        tenant.full_clean()
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc
    tenant.save(update_fields=["name", "time_zone", "default_language"])
    return tenant


def password_check(*, password: str, user: User) -> None:
    """The project's password rules (AUTH_PASSWORD_VALIDATORS), in the user's language."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc


def _new_user(*, username: str, email: str, password: str | None) -> User:
    user = User(username=username, email=normalize_email(email))
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc
    if password:
        password_check(password=password, user=user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def membership_add(
    *,
    tenant: Tenant,
    actor: Membership | None,
    username: str,
    role: str,
    email: str = "",
    password: str | None = None,
) -> tuple[Membership, bool]:
    """For operators and company creation: makes `username` a member at once, creating the
    user when the name is new (with `password`, validated). An existing user is never changed:
    no password, email or name. Company admins invite instead (member_invite).

    Returns (membership, user_was_created).
    """
    if role not in Role.values:
        raise ServiceError(_("Unknown role “%(role)s”.") % {"role": role})
    username = (username or "").strip()
    if not username:
        raise ServiceError(_("A username is needed."))
    user = User.objects.filter(username=username).first()
    user_created = user is None
    if user is None:
        if not password:
            raise ServiceError(
                _("There is no user “%(username)s” yet: give a first password to create one.")
                % {"username": username}
            )
        user = _new_user(username=username, email=email, password=password)
    elif password:
        raise ServiceError(
            _("The user “%(username)s” already exists; their password stays theirs.")
            % {"username": username}
        )
    with tenant_scope(tenant):  # an operator's command names the company itself
        membership = Membership.objects.for_tenant(tenant).filter(user=user).first()
        if membership is None:
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
            audit_record(tenant=tenant, actor=actor, kind=AuditKind.MEMBER_ADDED,
                         subject=username, details={"role": role},
                         actor_label="" if actor else "operator")  # fmt: skip
        elif membership.role != role:
            membership_change_role(membership=membership, actor=actor, role=role)
    return membership, user_created


@transaction.atomic
def membership_change_role(
    *, membership: Membership, actor: Membership | None, role: str
) -> Membership:
    if role not in Role.values:
        raise ServiceError(_("Unknown role “%(role)s”.") % {"role": role})
    # Lock the tenant's admins so two demotions at once cannot leave the company without one.
    list(
        Membership.objects.for_tenant(membership.tenant).filter(role=Role.ADMIN).select_for_update()
    )
    if (
        is_admin_role(membership.role)
        and not is_admin_role(role)
        and admin_count(tenant=membership.tenant) <= 1
    ):
        raise ServiceError(_("A company needs at least one admin: make someone else admin first."))
    audit_record(tenant=membership.tenant, actor=actor, kind=AuditKind.MEMBER_ROLE_CHANGED,
                 subject=membership.user.username,
                 details={"from": membership.role, "to": role})  # fmt: skip
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Membership) -> None:
    list(
        Membership.objects.for_tenant(membership.tenant).filter(role=Role.ADMIN).select_for_update()
    )
    if is_admin_role(membership.role) and admin_count(tenant=membership.tenant) <= 1:
        raise ServiceError(_("A company needs at least one admin: make someone else admin first."))
    audit_record(tenant=membership.tenant, actor=actor, kind=AuditKind.MEMBER_REMOVED,
                 subject=membership.user.username, details={"role": membership.role})  # fmt: skip
    # Their contacts stay in the company, without an owner (Contact.owner is SET_NULL); so do
    # the views they shared (SavedView.owner too), while their private views go with them.
    SavedView.objects.for_tenant(membership.tenant).filter(owner=membership, shared=False).delete()
    membership.delete()


def user_set_language(*, user: User, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


# --- Invitations and one-time links ---------------------------------------------------------

LINK_LIFETIME = timedelta(days=7)


def _require_admin(actor: Membership | None, tenant: Tenant) -> None:
    if actor is not None and (actor.tenant_id != tenant.pk or not can_manage_members(actor)):
        raise NotAllowed(_("Only admins may manage the members."))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _link_issue(
    *,
    user: User,
    purpose: str,
    tenant: Tenant | None,
    invitation: Invitation | None = None,
    issued_by: User | None = None,
    sets_password: bool = False,
) -> str:
    """A new one-time link; earlier unused links of the same kind for the user stop working."""
    now = timezone.now()
    OneTimeLink.objects.filter(user=user, purpose=purpose, tenant=tenant, used_at=None).update(
        used_at=now
    )
    token = secrets.token_urlsafe(32)
    OneTimeLink.objects.create(
        token_hash=_token_hash(token), user=user, purpose=purpose, tenant=tenant,
        invitation=invitation, issued_by=issued_by, sets_password=sets_password,
        expires_at=now + LINK_LIFETIME,
    )  # fmt: skip
    return token


@transaction.atomic
def member_invite(
    *,
    tenant: Tenant,
    actor: Membership | None,
    username: str,
    role: str,
    email: str = "",
    password: str = "",
) -> tuple[Invitation, str]:
    """Invites `username` to join with `role`, creating the user when the name is new (with the
    admin's first password, which its owner must replace, or none: the link sets it).

    Returns (invitation, one-time link token). Whether the name already existed changes
    nothing the admin sees, and nothing about that user."""
    _require_admin(actor, tenant)
    if role not in Role.values:
        raise ServiceError(_("Choose a role."))
    username = (username or "").strip()
    if not username:
        raise ServiceError(_("A username is needed."))
    # Judged against a stand-in with only what the admin typed, so the answer is the same
    # whether or not the name is taken.
    stand_in = User(username=username, email=normalize_email(email))
    try:
        stand_in.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc
    if password:
        password_check(password=password, user=stand_in)
    user = User.objects.select_for_update().filter(username=username).first()
    created = False
    if user is None:
        try:
            with transaction.atomic():
                user = _new_user(username=username, email=email, password=password)
        except IntegrityError:  # created a moment ago by someone else: an existing user now
            user = User.objects.get(username=username)
        else:
            created = True
            if password:
                user.must_change_password = True
                user.save(update_fields=["must_change_password"])
    elif password:
        make_password(password)  # the same work as for a new name: the timing tells nothing
    if Membership.objects.for_tenant(tenant).filter(user=user).exists():
        raise ServiceError(
            _("“%(username)s” is already a member of this company.") % {"username": username}
        )
    invitation = (
        Invitation.objects.for_tenant(tenant)
        .select_for_update()
        .filter(user=user, status=Invitation.PENDING)
        .first()
    ) or Invitation(tenant=tenant, user=user)
    invitation.role, invitation.invited_by = role, actor
    invitation.expires_at = timezone.now() + LINK_LIFETIME
    invitation.save()
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.MEMBER_INVITED, subject=username,
                 details={"role": role})  # fmt: skip
    # Only the invitation that created a password-less account may choose its password.
    token = _link_issue(user=user, purpose=OneTimeLink.INVITATION, tenant=tenant,
                        invitation=invitation, sets_password=created and not password)  # fmt: skip
    return invitation, token


@transaction.atomic
def invitation_cancel(*, invitation: Invitation, actor: Membership) -> None:
    _require_admin(actor, invitation.tenant)
    if invitation.status == Invitation.PENDING:
        invitation.status, invitation.answered_at = Invitation.DECLINED, timezone.now()
        invitation.save(update_fields=["status", "answered_at"])
        audit_record(tenant=invitation.tenant, actor=actor, kind=AuditKind.INVITATION_WITHDRAWN,
                     subject=invitation.user.username)  # fmt: skip
    OneTimeLink.objects.filter(invitation=invitation, used_at=None).update(used_at=timezone.now())


def _locked_open_invitation(invitation: Invitation, user: User) -> Invitation:
    invitation = (
        Invitation.objects.for_tenant(invitation.tenant).select_for_update().get(pk=invitation.pk)
    )
    if invitation.user_id != user.pk or not invitation.is_open:
        raise ServiceError(_("This invitation has expired or was already answered."))
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    # The invited person answers from outside the company: its rows are written in its scope.
    with tenant_scope(invitation.tenant_id):
        invitation = _locked_open_invitation(invitation, user)
        membership, _created = Membership.objects.for_tenant(invitation.tenant).get_or_create(
            tenant=invitation.tenant, user=user, defaults={"role": invitation.role}
        )
        invitation.status, invitation.answered_at = Invitation.ACCEPTED, timezone.now()
        invitation.save(update_fields=["status", "answered_at"])
        audit_record(
            tenant=invitation.tenant, actor=membership, subject=user.username,
            kind=AuditKind.INVITATION_ACCEPTED, details={"role": membership.role},
        )  # fmt: skip
    OneTimeLink.objects.filter(invitation=invitation, used_at=None).update(used_at=timezone.now())
    return membership


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user: User) -> None:
    with tenant_scope(invitation.tenant_id):
        invitation = _locked_open_invitation(invitation, user)
        invitation.status, invitation.answered_at = Invitation.DECLINED, timezone.now()
        invitation.save(update_fields=["status", "answered_at"])
        audit_record(tenant=invitation.tenant, actor=None, kind=AuditKind.INVITATION_DECLINED,
                     subject=user.username, actor_label=user.username)  # fmt: skip
    OneTimeLink.objects.filter(invitation=invitation, used_at=None).update(used_at=timezone.now())


def _admin_reaches_every_company_of(admin_user: User, user: User) -> bool:
    """True when every company `user` belongs to has `admin_user` as an admin: only then may a
    link from that admin set the password (it opens all of those companies)."""
    # Each person's memberships are read in their own scope: row-level security shows the
    # companies of the person named, wherever the request stands.
    with user_scope(admin_user):
        administered = set(
            Membership.objects.filter(user=admin_user, role=Role.ADMIN).values_list(
                "tenant_id", flat=True
            )
        )
    with user_scope(user):
        theirs = set(Membership.objects.filter(user=user).values_list("tenant_id", flat=True))
    return theirs <= administered


@transaction.atomic
def member_password_link(*, membership: Membership, actor: Membership) -> str:
    """A one-time link, for the admin to pass on, with which a member sets a new password."""
    _require_admin(actor, membership.tenant)
    user = membership.user
    if user.pk == actor.user_id:
        raise ServiceError(_("Change your own password on your profile page."))
    if user.is_staff or user.is_superuser or not _admin_reaches_every_company_of(actor.user, user):
        raise ServiceError(
            _("%(user)s belongs to more than this company: only they can change their password.")
            % {"user": user.display_name}
        )
    audit_record(tenant=membership.tenant, actor=actor, kind=AuditKind.PASSWORD_LINK_ISSUED,
                 subject=user.username)  # fmt: skip
    return _link_issue(
        user=user, purpose=OneTimeLink.PASSWORD, tenant=membership.tenant, issued_by=actor.user
    )


def one_time_link_find(*, token: str) -> OneTimeLink | None:
    """The usable link with this token, or None (unknown, used or expired alike)."""
    link = (
        OneTimeLink.objects.select_related("user", "tenant")
        .filter(token_hash=_token_hash(token or ""))
        .first()
    )
    return link if link is not None and link.is_usable else None


def one_time_link_can_set_password(link: OneTimeLink) -> bool:
    """An invitation sets the password of the account it created; an admin's password link
    only while the admin still administers every company of the user."""
    if link.purpose == OneTimeLink.INVITATION:
        return link.sets_password and not link.user.has_usable_password()
    return link.issued_by is not None and _admin_reaches_every_company_of(link.issued_by, link.user)


@transaction.atomic
def one_time_link_set_password(*, link: OneTimeLink, password: str) -> User:
    """Sets the user's password through the link, once; an invitation is accepted with it."""
    link = OneTimeLink.objects.select_for_update().select_related("user").get(pk=link.pk)
    if not link.is_usable or not one_time_link_can_set_password(link):
        raise ServiceError(_("This link has expired or was already used."))
    user = link.user
    password_check(password=password, user=user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    if link.invitation is not None and link.invitation.is_open:
        invitation_accept(invitation=link.invitation, user=user)
    return user


@transaction.atomic
def user_password_change(*, user: User, password: str) -> User:
    """The user's own new password (their old one was checked by the form)."""
    if user.must_change_password and user.check_password(password):
        raise ServiceError(_("Choose a password of your own, not the one an admin gave you."))
    password_check(password=password, user=user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    return user
