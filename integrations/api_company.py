"""/api/v1/stages, /custom-fields and /members: the company's words an integration needs to
send what the pages accept (read only; admins change them on the settings pages)."""

from django.utils import translation
from ninja import Router

from crm.customfields import custom_fields_cached
from crm.models import Membership
from lifecycle.selectors import stage_aliases, stage_settings
from lifecycle.stages import ORDER

from .api_schemas import CustomFieldList, MemberList, StageList
from .endpoints import ERRORS
from .errors import known_query_only
from .schemas import ErrorOut

router = Router(tags=["company"])
router.add_decorator(known_query_only)


@router.get("/stages", response={200: StageList, ERRORS: ErrorOut})
def list_stages(request):
    """The funnel's seven stages in order, each with the company's label and the aliases a
    request may name it by (`stage` on a contact, a move, `?stage=`)."""
    tenant = request.tenant
    aliases = stage_aliases(tenant=tenant)
    with translation.override(tenant.default_language):  # the company's words, as on its pages
        settings = stage_settings(tenant=tenant)
        return {
            "items": [
                {"key": key, "label": settings[key].display_label,
                 "aliases": [alias.name for alias in aliases[key]], "order": position,
                 "colour": settings[key].display_colour}
                for position, key in enumerate(ORDER, start=1)
            ]
        }  # fmt: skip


@router.get("/custom-fields", response={200: CustomFieldList, ERRORS: ErrorOut})
def list_custom_fields(request):
    """The company's own fields on contacts, in the order its pages show them: a contact's
    `custom` holds their values by `key`."""
    return {
        "items": [
            {"key": field.key, "label": field.label, "kind": field.kind,
             "required": field.required, "options": list(field.options or []),
             "help_text": field.help_text}
            for field in custom_fields_cached(tenant=request.tenant)
        ]
    }  # fmt: skip


@router.get("/members", response={200: MemberList, ERRORS: ErrorOut})
def list_members(request):
    """The company's members, as the owner and task pickers show them: the username a request
    names a member by (`owner`, a task's `assignee`, a member field), their name and role."""
    members = (
        Membership.objects.for_tenant(request.tenant)
        .select_related("user")
        .order_by("user__username")
    )
    return {
        "items": [
            {"username": m.user.username, "name": m.display_name, "role": m.role} for m in members
        ]
    }
