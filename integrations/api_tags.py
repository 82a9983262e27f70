"""/api/v1/tags and /api/v1/tag-groups: the company's tags as its tag settings page shows them,
created and renamed by the same services and the same roles (admins and marketers)."""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router, Status

from crm.permissions import can_edit_tag_scheme
from crm.services import NotAllowed, ServiceError
from tagging.access import access_tag, access_tag_group
from tagging.models import Tag, TagGroup, name_key
from tagging.selectors import tag_groups
from tagging.services import tag_alias_add, tag_create, tag_group_save, tag_update

from .api_schemas import (
    TagGroupIn,
    TagGroupList,
    TagGroupOut,
    TagGroupPatch,
    TagIn,
    TagList,
    TagOut,
    TagPatch,
)
from .endpoints import ERRORS, MAX_ID
from .errors import known_query_only
from .schemas import ErrorOut

router = Router(tags=["tags"])
router.add_decorator(known_query_only)


def _editor(request):
    """The token's member, if their role may change the tags (as on the tag settings page)."""
    if not can_edit_tag_scheme(request.membership):
        raise NotAllowed(_("Only admins' and marketers' tokens may change the tags."))
    return request.membership


def _group_by_id(request, group_id: int) -> TagGroup:
    if not 0 < group_id <= MAX_ID:
        raise Http404(_("No such tag group."))
    try:
        return access_tag_group(request.membership, group_id)
    except Http404:
        raise Http404(_("No such tag group.")) from None


def _tag_by_id(request, tag_id: int) -> Tag:
    if not 0 < tag_id <= MAX_ID:
        raise Http404(_("No such tag."))
    try:
        return access_tag(request.membership, tag_id)
    except Http404:
        raise Http404(_("No such tag.")) from None


def _group_named(tenant, name: str) -> TagGroup:
    """A group by its key or its name (case and spaces ignored)."""
    key = name_key(name)
    for group in TagGroup.objects.for_tenant(tenant):
        if key in (name_key(group.key), name_key(group.label)):
            return group
    raise ServiceError(_("There is no tag group “%(name)s”.") % {"name": " ".join(name.split())})


def _tag_out(tag: Tag, group: TagGroup) -> dict:
    return {
        "id": tag.pk, "key": tag.key, "label": tag.label,
        "colour": tag.colour or group.colour, "description": tag.description,
        "group": {"id": group.pk, "key": group.key, "label": group.label},
        "aliases": [alias.name for alias in tag.aliases.all()],
    }  # fmt: skip


def _group_out(group: TagGroup) -> dict:
    return {
        "id": group.pk, "key": group.key, "label": group.label,
        "description": group.description, "colour": group.colour,
        "single_choice": group.single_choice,
        "tags": [
            {"id": t.pk, "key": t.key, "label": t.label, "colour": t.colour or group.colour,
             "aliases": [a.name for a in t.aliases.all()]}
            for t in group.tags.all()  # in their order in the group
        ],
    }  # fmt: skip


def _one_tag(request, tag_id: int) -> dict:
    tag = Tag.objects.for_tenant(request.tenant).select_related("group").prefetch_related(
        "aliases"
    ).get(pk=tag_id)  # fmt: skip
    return _tag_out(tag, tag.group)


def _one_group(request, group_id: int) -> dict:
    found = [g for g in tag_groups(tenant=request.tenant) if g.pk == group_id]
    return _group_out(found[0])


@router.get("/tags", response={200: TagList, ERRORS: ErrorOut})
def list_tags(request):
    """Every tag of the company, by group in the settings' order, with its aliases (a contact
    may be tagged by any of them)."""
    return {
        "items": [
            _tag_out(tag, group)
            for group in tag_groups(tenant=request.tenant)
            for tag in group.tags.all()  # in their order in the group
        ]
    }


@router.post("/tags", response={201: TagOut, ERRORS: ErrorOut})
def create_tag(request, payload: TagIn):
    """Creates a tag in a group (named by its key or name), with aliases if given: admins' and
    marketers' tokens. A name already used by a tag or an alias is refused (400)."""
    actor = _editor(request)
    group = _group_named(request.tenant, payload.group)
    tag = tag_create(tenant=request.tenant, actor=actor, group=group, label=payload.label,
                     colour=payload.colour, description=payload.description)  # fmt: skip
    for alias in dict.fromkeys(payload.aliases):
        tag_alias_add(tag=tag, actor=actor, name=alias)
    return Status(201, _one_tag(request, tag.pk))


@router.get("/tags/{tag_id}", response={200: TagOut, ERRORS: ErrorOut})
def get_tag(request, tag_id: int):
    return _one_tag(request, _tag_by_id(request, tag_id).pk)


@router.patch("/tags/{tag_id}", response={200: TagOut, ERRORS: ErrorOut})
def update_tag(request, tag_id: int, payload: TagPatch):
    """Renames a tag, moves it to another group, or changes its colour or description: the
    fields sent change, the others stay. Contacts keep it; the key stays."""
    tag = _tag_by_id(request, tag_id)
    actor = _editor(request)
    given = payload.model_fields_set
    group = _group_named(request.tenant, payload.group) if payload.group else tag.group
    tag_update(
        tag=tag, actor=actor, group=group,
        label=payload.label if payload.label is not None else tag.label,
        colour=payload.colour if "colour" in given and payload.colour is not None else tag.colour,
        description=payload.description if payload.description is not None else tag.description,
    )  # fmt: skip
    return _one_tag(request, tag.pk)


@router.get("/tag-groups", response={200: TagGroupList, ERRORS: ErrorOut})
def list_tag_groups(request):
    """The company's tag groups in the settings' order, each with its tags."""
    return {"items": [_group_out(group) for group in tag_groups(tenant=request.tenant)]}


@router.post("/tag-groups", response={201: TagGroupOut, ERRORS: ErrorOut})
def create_tag_group(request, payload: TagGroupIn):
    """Creates a tag group: admins' and marketers' tokens."""
    group = tag_group_save(
        tenant=request.tenant, actor=_editor(request), label=payload.label,
        description=payload.description, colour=payload.colour,
        single_choice=payload.single_choice,
    )  # fmt: skip
    return Status(201, _one_group(request, group.pk))


@router.get("/tag-groups/{group_id}", response={200: TagGroupOut, ERRORS: ErrorOut})
def get_tag_group(request, group_id: int):
    return _one_group(request, _group_by_id(request, group_id).pk)


@router.patch("/tag-groups/{group_id}", response={200: TagGroupOut, ERRORS: ErrorOut})
def update_tag_group(request, group_id: int, payload: TagGroupPatch):
    """Renames a group or changes its description, colour or one-tag-at-a-time rule (refused
    while contacts hold several of its tags). The fields sent change, the others stay."""
    group = _group_by_id(request, group_id)
    tag_group_save(
        tenant=request.tenant, actor=_editor(request), group=group,
        label=payload.label if payload.label is not None else group.label,
        description=(
            payload.description if payload.description is not None else group.description
        ),
        colour=payload.colour or group.colour,
        single_choice=(
            payload.single_choice if payload.single_choice is not None else group.single_choice
        ),
    )  # fmt: skip
    return _one_group(request, group.pk)
