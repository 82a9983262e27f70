"""The roles and what each may do, stated once (DESIGN.md, Roles; a test holds the two equal).

Services, views, the API and templates ask these functions; nothing compares role keys in place
(a test greps for it). Each `can_*` takes a Membership and answers from its role (undoing an
import also reads who ran it); which tenant a row belongs to, and which two contacts may be
merged, stay with the access helpers and the services.

Role lives here, not in crm.models (which re-exports it), so that this module imports nothing of
ours: lifecycle.stages asks it who may move backward, and crm.models imports lifecycle.
"""

from collections.abc import Callable
from functools import wraps
from typing import Protocol

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Role(models.TextChoices):
    ADMIN = "admin", gettext_lazy("Admin")
    MARKETER = "marketer", gettext_lazy("Marketer")
    SALES = "sales", gettext_lazy("Sales")


class Member(Protocol):
    """What a capability reads of a Membership."""

    pk: int
    role: str


ADMIN, MARKETER, SALES = Role.ADMIN, Role.MARKETER, Role.SALES

# capability -> the roles that have it. Everything not named here every member may do:
# see contacts, the dashboard and the board, create and edit contacts, log events, tag
# contacts, move contacts forward.
MATRIX: dict[str, frozenset[str]] = {
    "move_backward": frozenset({ADMIN, SALES}),
    "mark_lost": frozenset({ADMIN, SALES}),  # and reopen
    "edit_tag_scheme": frozenset({ADMIN, MARKETER}),  # groups, tags, aliases, tag merges
    "manage_audiences": frozenset({ADMIN, MARKETER}),  # and freeze them
    "import": frozenset({ADMIN, MARKETER}),
    "undo_any_import": frozenset({ADMIN}),  # the rest of "import" undo their own only
    "export": frozenset({ADMIN, MARKETER}),
    "merge": frozenset({ADMIN, SALES}),  # sales: two contacts sharing a channel only
    "merge_any": frozenset({ADMIN}),
    "delete_contacts": frozenset({ADMIN}),
    # a person's own data: "export everything about this contact" and "erase this contact"
    # (PIPL/GDPR requests), with deleting contacts in DESIGN's row "delete contacts, erase a person"
    "answer_data_requests": frozenset({ADMIN}),
    "edit_company_settings": frozenset({ADMIN}),
    "edit_stage_settings": frozenset({ADMIN}),  # labels, criteria, requirements, aliases
    "edit_rules": frozenset({ADMIN}),  # and the kinds of events they answer
    "edit_custom_fields": frozenset({ADMIN}),  # the company's own fields on contacts
    "manage_members": frozenset({ADMIN}),  # members, roles, invitations, password links
    "view_audit_log": frozenset({ADMIN}),
    "manage_api": frozenset({ADMIN}),  # tokens and webhooks
    # every member's figures on the Team page and the dashboard (the others see their own);
    # marketers too: they run the funnel the sales team works
    "view_team": frozenset({ADMIN, MARKETER}),
    # saved views (the contact list's): every member keeps private ones; sharing one with the
    # whole company is for those who shape its segments, as audiences are (sales keep theirs
    # private); admins may also delete anyone's shared view (a departed colleague's)
    "share_saved_views": frozenset({ADMIN, MARKETER}),
    "manage_shared_views": frozenset({ADMIN}),
    # consent to be contacted (crm/consent.py): recording a grant lets the company market to
    # the person, so it is for those accountable for marketing (who also import consent
    # lists); sales record a withdrawal they hear of, as every member may (a withdrawal is
    # never refused: the person's word is honoured whoever heard it)
    "grant_consent": frozenset({ADMIN, MARKETER}),
}


def role_can(role: str | None, capability: str) -> bool:
    """For code that holds a role key rather than a member (the stage table, the API's token)."""
    return role in MATRIX[capability]


def _has(membership: Member | None, capability: str) -> bool:
    return membership is not None and role_can(membership.role, capability)


def can_move_backward(membership: Member | None) -> bool:
    return _has(membership, "move_backward")


def can_mark_lost(membership: Member | None) -> bool:
    """Mark a contact lost, and reopen it."""
    return _has(membership, "mark_lost")


def can_edit_tag_scheme(membership: Member | None) -> bool:
    return _has(membership, "edit_tag_scheme")


def can_manage_audiences(membership: Member | None) -> bool:
    return _has(membership, "manage_audiences")


def can_import(membership: Member | None) -> bool:
    return _has(membership, "import")


def can_undo_import(membership: Member | None, job) -> bool:
    """Admins any import; whoever else may import, the ones they ran themselves."""
    if _has(membership, "undo_any_import"):
        return True
    return can_import(membership) and job.created_by_id == membership.pk


def can_undo(membership: Member | None, undo, *, now) -> bool:
    """Undo a page's last destructive action (crm/undo.py): the member who did it, while its
    short window is open, whatever their role. Undoing a bulk move puts each contact back where
    it was, which may be a move back a marketer may not otherwise make: it takes back only their
    own move, exactly, and reaches nothing further."""
    return membership is not None and undo.actor_id == membership.pk and now < undo.expires_at


def can_export(membership: Member | None) -> bool:
    return _has(membership, "export")


def can_merge(membership: Member | None) -> bool:
    """Whether the member may merge contacts at all; which two, the merge service decides."""
    return _has(membership, "merge")


def can_merge_any(membership: Member | None) -> bool:
    """Any two contacts, not only likely duplicates."""
    return _has(membership, "merge_any")


def can_delete_contacts(membership: Member | None) -> bool:
    return _has(membership, "delete_contacts")


def can_answer_data_requests(membership: Member | None) -> bool:
    """Answer a person's access request (everything held about them) and erase them."""
    return _has(membership, "answer_data_requests")


def can_edit_company_settings(membership: Member | None) -> bool:
    return _has(membership, "edit_company_settings")


def can_edit_stage_settings(membership: Member | None) -> bool:
    return _has(membership, "edit_stage_settings")


def can_edit_rules(membership: Member | None) -> bool:
    return _has(membership, "edit_rules")


def can_edit_custom_fields(membership: Member | None) -> bool:
    return _has(membership, "edit_custom_fields")


def can_manage_members(membership: Member | None) -> bool:
    return _has(membership, "manage_members")


def can_view_audit_log(membership: Member | None) -> bool:
    return _has(membership, "view_audit_log")


def can_manage_api(membership: Member | None) -> bool:
    return _has(membership, "manage_api")


def can_view_team(membership: Member | None) -> bool:
    """Everyone's figures on the Team page; without it, a member sees their own."""
    return _has(membership, "view_team")


def can_share_saved_views(membership: Member | None) -> bool:
    return _has(membership, "share_saved_views")


def can_manage_shared_views(membership: Member | None) -> bool:
    """Delete any view shared with the company, whoever made it."""
    return _has(membership, "manage_shared_views")


def can_edit_saved_view(membership: Member | None, view) -> bool:
    """Rename it, share it or not, save new filters into it: its owner, and a shared one only
    while they may share."""
    if membership is None or view.owner_id != membership.pk:
        return False
    return not view.shared or can_share_saved_views(membership)


def can_delete_saved_view(membership: Member | None, view) -> bool:
    """Its owner; a shared one, also whoever manages shared views."""
    if membership is not None and view.owner_id == membership.pk:
        return True
    return view.shared and can_manage_shared_views(membership)


def can_grant_consent(membership: Member | None) -> bool:
    """Record that a contact agreed to be contacted on a channel; withdrawing needs nothing."""
    return _has(membership, "grant_consent")


def is_admin_role(role: str) -> bool:
    """The role a company's first member gets and always keeps at least one member in."""
    return role == ADMIN


# The member's capabilities by name, for templates: {% if current_membership|can:"import" %}
CAPABILITIES: dict[str, Callable[[Member | None], bool]] = {
    "move_backward": can_move_backward,
    "mark_lost": can_mark_lost,
    "edit_tag_scheme": can_edit_tag_scheme,
    "manage_audiences": can_manage_audiences,
    "import": can_import,
    "export": can_export,
    "merge": can_merge,
    "merge_any": can_merge_any,
    "delete_contacts": can_delete_contacts,
    "answer_data_requests": can_answer_data_requests,
    "edit_company_settings": can_edit_company_settings,
    "edit_stage_settings": can_edit_stage_settings,
    "edit_rules": can_edit_rules,
    "edit_custom_fields": can_edit_custom_fields,
    "manage_members": can_manage_members,
    "view_audit_log": can_view_audit_log,
    "manage_api": can_manage_api,
    "view_team": can_view_team,
    "share_saved_views": can_share_saved_views,
    "manage_shared_views": can_manage_shared_views,
    "grant_consent": can_grant_consent,
}


def permission_required(capability: Callable[[Member | None], bool]) -> Callable:
    """A view decorator: members without `capability` get a 403 page that says what is needed."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not capability(request.membership):
                raise PermissionDenied(
                    _("Your role does not allow this. Ask an admin of %(tenant)s.")
                    % {"tenant": request.tenant.name}
                )
            return view(request, *args, **kwargs)

        wrapper.capability = capability
        return wrapper

    return decorator
