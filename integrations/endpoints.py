"""The endpoints of /api/v1/: each one resolves what the request names (scoped to the token's
company), calls the same service the pages call, and shows the result. No rule lives here."""

from datetime import datetime

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Router, Status, Swagger
from ninja.renderers import JSONRenderer

from audiences.access import access_audience
from audiences.models import Audience
from audiences.selectors import audience_members
from audiences.services import audience_save
from crm.access import access_contact
from crm.customfields import custom_fields_of
from crm.models import CONTACT_FIELDS, Contact, CustomField, Membership, Tenant
from crm.pagination import cursor_values, keyset_page
from crm.selectors import ContactFilters, contacts_matching, tag_labels_of, tier_names_of
from crm.services import (
    ContactData,
    CustomValuesInvalid,
    ServiceError,
    contact_fill,
)
from lifecycle import services as lifecycle
from lifecycle.selectors import funnel_counts, stage_resolve
from lifecycle.stages import ORDER, Channel
from tagging.models import Tag
from tagging.outcomes import describe
from tagging.rules import event_log
from tagging.selectors import event_kinds, tag_resolve
from tagging.services import contact_tag_remove

from .api_schemas import TagsAddIn
from .auth import TokenAuth, TokenRateLimit
from .contact_activity import contact_activity_of
from .docs import DESCRIPTION
from .errors import StrictJSONParser, install_handlers, known_query_only
from .schemas import (
    CONTACT_OUT_FIELDS,
    AudienceIn,
    AudienceOut,
    AudiencePage,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    CustomOut,
    ErrorOut,
    EventIn,
    EventResult,
    FunnelOut,
    IsoDateTime,
    StageMoveIn,
    contact_out,
    contact_row_out,
    labels_of,
)
from .services import contact_submit, contact_tags_add_named

MAX_ID = 2**63 - 1
ERRORS = frozenset({400, 401, 403, 404, 405, 409, 413, 429})
PAGE_SIZE = 50


class Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}  # 张伟, not \u5f20\u4f1f


api = NinjaAPI(
    title="Funnel CRM API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=TokenAuth(),
    throttle=TokenRateLimit(),
    parser=StrictJSONParser(),
    renderer=Renderer(),
    # The Swagger UI files ninja ships, served by us; no validator badge fetched from outside.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": True}),
)
install_handlers(api)
router = Router()
router.add_decorator(known_query_only)


# --- helpers: what the request names, scoped to the token's company --------------------------


def _tenant(request) -> Tenant:
    return request.tenant


def _actor(request) -> Membership:
    return request.membership


def _contact(request, contact_id: int) -> Contact:
    if not 0 < contact_id <= MAX_ID:
        raise Http404(_("No such contact."))
    try:
        return access_contact(_actor(request), contact_id)
    except Http404:
        raise Http404(_("No such contact.")) from None


def _audience(request, audience_id: int) -> Audience:
    if not 0 < audience_id <= MAX_ID:
        raise Http404(_("No such audience."))
    try:
        return access_audience(_actor(request), audience_id)
    except Http404:
        raise Http404(_("No such audience.")) from None


def _tags(tenant: Tenant, names: list[str]) -> list[Tag]:
    """Tags by label or alias, all or none: an unknown name refuses the whole request."""
    tags = []
    for name in names:
        tag = tag_resolve(tenant=tenant, name=name)
        if tag is None:
            raise ServiceError(_("There is no tag or alias “%(name)s”.") % {"name": name})
        if tag not in tags:
            tags.append(tag)
    return tags


def _stage(tenant: Tenant, name: str) -> str:
    """A stage by key, the company's label or an alias; an unknown name refuses the request."""
    stage = stage_resolve(tenant=tenant, text=name)
    if stage is None:
        raise ServiceError(_("There is no stage or alias “%(name)s”.") % {"name": name})
    return stage


def _owner(tenant: Tenant, username: str | None) -> Membership | None:
    if not username:
        return None
    owner = (
        Membership.objects.for_tenant(tenant)
        .select_related("user")
        .filter(user__username=username)
        .first()
    )
    if owner is None:
        raise ServiceError(_("“%(name)s” is not a member of this company.") % {"name": username})
    return owner


def _custom(tenant: Tenant, given: dict) -> dict:
    """The custom values sent, as the services take them: a member field names its member by
    username, as `owner` does (a username nobody has, or anything else, is refused by key);
    the other kinds are checked by the service."""
    members = [f.key for f in custom_fields_of(tenant=tenant) if f.kind == CustomField.Kind.MEMBER]
    wanted = {key: given[key] for key in members if given.get(key) not in (None, "")}
    if not wanted:
        return given
    found = dict(
        Membership.objects.for_tenant(tenant)
        .filter(user__username__in=[v for v in wanted.values() if isinstance(v, str)])
        .values_list("user__username", "pk")
    )
    errors = {
        key: [_("“%(name)s” is not the username of a member of this company.")
              % {"name": str(value)[:150]}]
        for key, value in wanted.items() if not isinstance(value, str) or value not in found
    }  # fmt: skip
    if errors:
        raise CustomValuesInvalid(errors)
    return {**given, **{key: found[value] for key, value in wanted.items()}}


def _aware(value: datetime | None, tenant: Tenant) -> datetime | None:
    """A time without a zone is the company's local time."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, tenant.zoneinfo)
    return value


def _page_after(model, cursor: str | None, ordering: tuple[str, ...]) -> str | None:
    if not cursor:
        return None
    values = cursor_values(model, cursor, ordering)
    if not values or not all(isinstance(v, int) and 0 < v <= MAX_ID for v in values):
        raise ServiceError(_("This cursor is not one of ours: start again without it."))
    return cursor


def _contacts_out(tenant: Tenant, contacts) -> list[dict]:
    labels = labels_of(tenant)
    contacts = list(contacts)
    tiers = tier_names_of(tenant=tenant, contact_ids=[contact.pk for contact in contacts])
    custom = CustomOut(tenant)
    shown = [contact_out(contact, labels, tiers.get(contact.pk), custom) for contact in contacts]
    return _with_activity(tenant, shown)


def _with_activity(tenant: Tenant, shown: list[dict]) -> list[dict]:
    """Each contact shown with its activity (status, last touch, open tasks): one query."""
    activity = contact_activity_of(
        tenant=tenant, created={item["id"]: item["created_at"] for item in shown}
    )
    for item in shown:
        item["activity"] = activity.get(item["id"])
    return shown


def _reload(contact: Contact) -> dict:
    """The contact as stored now, with its tags."""
    fresh = (
        Contact.objects.for_tenant(contact.tenant)
        .select_related("owner__user")
        .prefetch_related("contact_tags__tag")
        .get(pk=contact.pk)
    )
    tier = tier_names_of(tenant=contact.tenant, contact_ids=[contact.pk]).get(contact.pk)
    return _with_activity(contact.tenant, [contact_out(fresh, labels_of(contact.tenant), tier)])[0]


# --- contacts -------------------------------------------------------------------------------


@router.get("/contacts", response={200: ContactPage, ERRORS: ErrorOut}, tags=["contacts"])
def list_contacts(
    request,
    stage: str | None = Query(
        None, description="A stage key, or the company's label or an alias.", max_length=40
    ),
    status: str | None = Query(None, description="active or lost.", max_length=10),
    tag: list[str] = Query(
        [], description="A tag's name or alias; repeat it: contacts with all of them."
    ),
    q: str | None = Query(
        None, description="Start of a name, email, phone or WeChat ID.", max_length=100
    ),
    updated_since: IsoDateTime | None = Query(None, description="Changed at or after this time."),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(PAGE_SIZE, ge=1, le=200),
):
    """Contacts of the company, oldest first, a page at a time."""
    tenant = _tenant(request)
    stage = _stage(tenant, stage) if stage else ""
    if status and status not in ("active", "lost"):
        raise ServiceError(_("Unknown status."))
    if any(len(name) > 60 for name in tag):
        raise ServiceError(_("A tag name has at most 60 characters."))
    filters = ContactFilters(
        q=q or "",
        stage=stage,
        status=status or "",
        tag_all=tuple(t.pk for t in _tags(tenant, tag)),
    )
    contacts = contacts_matching(tenant=tenant, filters=filters, viewer=_actor(request))
    if updated_since is not None:
        contacts = contacts.filter(updated_at__gte=_aware(updated_since, tenant))
    after = _page_after(Contact, cursor, ("id",))
    rows = contacts.values(*CONTACT_OUT_FIELDS, "owner__user__username")
    page = keyset_page(rows, ordering=("id",), size=limit, after=after)
    labels = labels_of(tenant)
    ids = [row["id"] for row in page.items]
    tags = tag_labels_of(tenant=tenant, contact_ids=ids)
    tiers = tier_names_of(tenant=tenant, contact_ids=ids)
    custom = CustomOut(tenant)
    items = [
        contact_row_out(
            row,
            row.pop("owner__user__username"),
            tags.get(row["id"], []),
            labels,
            tiers.get(row["id"]),
            custom,
        )  # fmt: skip
        for row in page.items
    ]
    return {"items": _with_activity(tenant, items), "next": page.next_cursor}


def _data(payload: ContactIn | ContactPatch, fields: set[str]) -> dict:
    """The contact fields given, as the services take them (null text is empty text)."""
    values = {}
    for name in fields & {*CONTACT_FIELDS, "expected_amount"}:
        value = getattr(payload, name)
        values[name] = value if value is not None or name == "expected_amount" else ""
    return values


@router.post(
    "/contacts",
    response={201: ContactOut, 200: ContactOut, ERRORS: ErrorOut},
    tags=["contacts"],
)
def create_contact(
    request,
    payload: ContactIn,
    upsert: bool = Query(
        False, description="If the email, phone or WeChat ID exists, update that contact (200)."
    ),
):
    """Creates a contact (201). A duplicate email, phone or WeChat ID answers 409 with the
    existing contact's id, unless `upsert=true`."""
    tenant = _tenant(request)
    data = ContactData(**_data(payload, set(payload.model_fields_set) - {"owner"} | {"name"}))
    data.owner = _owner(tenant, payload.owner)
    # a new contact's custom values: those sent (the company's required fields among them)
    data.custom = _custom(tenant, payload.custom or {})
    # what an update fills: the values sent, not empty
    sent = {
        k for k, v in payload.model_dump(exclude={"tags", "stage"}).items() if v not in (None, "")
    }
    given = _data(payload, sent - {"owner"})
    if "owner" in sent:
        given["owner"] = data.owner
    if payload.custom:
        given["custom"] = data.custom
    contact, created = contact_submit(
        tenant=tenant, actor=_actor(request), data=data,
        stage=_stage(tenant, payload.stage) if payload.stage else None,
        tags=_tags(tenant, payload.tags), upsert=upsert, given=given,
    )  # fmt: skip
    return Status(201 if created else 200, _reload(contact))


@router.get(
    "/contacts/{contact_id}", response={200: ContactOut, ERRORS: ErrorOut}, tags=["contacts"]
)
def get_contact(request, contact_id: int):
    return _reload(_contact(request, contact_id))


@router.patch(
    "/contacts/{contact_id}", response={200: ContactOut, ERRORS: ErrorOut}, tags=["contacts"]
)
def update_contact(request, contact_id: int, payload: ContactPatch):
    """Changes the fields given; the others stay. `owner: null` removes the owner; in
    `custom`, the keys sent change (null clears one) and the others keep their value."""
    contact = _contact(request, contact_id)
    given = set(payload.model_fields_set)
    values = _data(payload, given)
    if "owner" in given:
        values["owner"] = _owner(contact.tenant, payload.owner)
    if payload.custom:  # the keys sent change, the others keep their value
        values["custom"] = _custom(contact.tenant, payload.custom)
    if values:
        contact = contact_fill(contact=contact, actor=_actor(request), values=values)
    return _reload(contact)


@router.post(
    "/contacts/{contact_id}/stage", response={200: ContactOut, ERRORS: ErrorOut}, tags=["contacts"]
)
def move_contact(request, contact_id: int, payload: StageMoveIn):
    """Moves the contact to another stage, by the same rules as the board: forward for
    everyone; backward only with an admin's or a salesperson's token, and a reason. With
    `expected_stage`, the move applies only if nobody moved the contact meanwhile."""
    contact = _contact(request, contact_id)
    to_stage = _stage(contact.tenant, payload.stage)
    expected = _stage(contact.tenant, payload.expected_stage) if payload.expected_stage else None
    lifecycle.contact_stage_move(
        contact=contact,
        actor=_actor(request),
        to_stage=to_stage,
        channel=Channel.API,
        reason=payload.reason,
        expected_stage=expected,
    )
    return _reload(contact)


@router.post(
    "/contacts/{contact_id}/tags", response={200: ContactOut, ERRORS: ErrorOut}, tags=["contacts"]
)
def tag_contact(request, contact_id: int, payload: TagsAddIn):
    """Adds tags by name or alias (all or none: an unknown name changes nothing). With
    `create_missing: true`, unknown tags are created first, in the group the company chose
    for the API (an admin's or a marketer's token; 400 if no group is chosen)."""
    contact = _contact(request, contact_id)
    contact_tags_add_named(contact=contact, actor=_actor(request), names=payload.tags,
                           create_missing=payload.create_missing)  # fmt: skip
    return _reload(contact)


@router.delete(
    "/contacts/{contact_id}/tags/{tag}",
    response={200: ContactOut, ERRORS: ErrorOut},
    tags=["contacts"],
)
def untag_contact(request, contact_id: int, tag: str):
    """Removes a tag, named by label or alias. Removing a tag the contact lacks is no error."""
    contact = _contact(request, contact_id)
    found = tag_resolve(tenant=contact.tenant, name=tag) if len(tag) <= 60 else None
    if found is None:
        raise Http404(_("There is no tag or alias “%(name)s”.") % {"name": tag[:60]})
    contact_tag_remove(contact=contact, tag=found, actor=_actor(request), channel=Channel.API)
    return _reload(contact)


@router.post(
    "/contacts/{contact_id}/events",
    response={201: EventResult, 200: EventResult, ERRORS: ErrorOut},
    tags=["contacts"],
)
def log_event(request, contact_id: int, payload: EventIn):
    """Records what the contact did and runs the company's rules for it, exactly as when it is
    logged on the contact's page. Answers with the stage and tags that result (201), or 200 if
    this `external_id` was seen before (nothing ran again)."""
    contact = _contact(request, contact_id)
    tenant, data = contact.tenant, payload.data
    event, created = event_log(
        contact=contact,
        actor=_actor(request),
        kind=payload.kind,
        amount=data.amount,
        note=data.note,
        occurred_at=_aware(data.occurred_at, tenant),
        channel=Channel.API,
        external_id=data.external_id,
    )
    shown = _reload(contact)
    labels = labels_of(tenant)
    return Status(
        201 if created else 200,
        {
            "event": {
                "id": event.pk,
                "kind": event.kind,
                "kind_label": event_kinds(tenant=tenant).get(event.kind, event.kind),
                "occurred_at": event.occurred_at,
                "duplicate": not created,
            },
            "stage": shown["stage"],
            "stage_label": shown["stage_label"],
            "status": shown["status"],
            "tags": shown["tags"],
            "rules": [
                {"rule": name, "done": done, "not_done": why}
                for name, done, why in (
                    describe(event.outcome, labels, event_kinds(tenant=tenant)) if created else []
                )
            ],
        },
    )


# --- the funnel and audiences ---------------------------------------------------------------


@router.get("/funnel", response={200: FunnelOut, ERRORS: ErrorOut}, tags=["funnel"])
def funnel(request):
    """Contacts per stage (active and lost) as the workers last counted them."""
    tenant = _tenant(request)
    counts, computed_at = funnel_counts(tenant=tenant)
    labels = labels_of(tenant)
    return {
        "stages": [
            {"stage": key, "label": labels[key], "active": count.active, "lost": count.lost}
            for key, count in counts.items()
        ],
        "computed_at": computed_at,
    }


def _audiences_out(tenant: Tenant, audiences: list[Audience]) -> list[dict]:
    ids = {pk for a in audiences for pk in (*a.tag_any, *a.tag_all, *a.tag_none)}
    names = dict(Tag.objects.for_tenant(tenant).filter(pk__in=ids).values_list("pk", "label"))
    shown = []
    for audience in audiences:
        at_or_past = audience.gate == Audience.GATE_AT_OR_PAST
        shown.append(
            {
                "id": audience.pk,
                "name": audience.name,
                "min_stage": audience.stages[0] if at_or_past and audience.stages else None,
                "stages": None if at_or_past else [s for s in ORDER if s in audience.stages],
                "status": audience.status or None,
                **{
                    f"tags_{which}": [
                        names[pk] for pk in getattr(audience, f"tag_{which}") if pk in names
                    ]  # fmt: skip
                    for which in ("any", "all", "none")
                },
                "custom": audience.custom or {},
                "consent_channel": audience.consent_channel or None,
                "size": audience.size,
                "computed_at": audience.computed_at,
            }
        )
    return shown


@router.get("/audiences", response={200: AudiencePage, ERRORS: ErrorOut}, tags=["audiences"])
def list_audiences(
    request,
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(PAGE_SIZE, ge=1, le=200),
):
    tenant = _tenant(request)
    after = _page_after(Audience, cursor, ("id",))
    page = keyset_page(
        Audience.objects.for_tenant(tenant), ordering=("id",), size=limit, after=after
    )
    return {"items": _audiences_out(tenant, page.items), "next": page.next_cursor}


@router.post("/audiences", response={201: AudienceOut, ERRORS: ErrorOut}, tags=["audiences"])
def create_audience(request, payload: AudienceIn):
    """Defines an audience with the same stage gate and tag filters as on its page: give
    `min_stage` (at or past it) or `stages` (exactly these), not both."""
    tenant = _tenant(request)
    if (payload.min_stage is None) == (payload.stages is None):
        raise ServiceError(_("Give either min_stage or stages (not both)."))
    if payload.min_stage is not None:
        gate, stages = Audience.GATE_AT_OR_PAST, [payload.min_stage.value]
    else:
        gate, stages = Audience.GATE_EXACT, [s.value for s in payload.stages]
    audience = audience_save(
        tenant=tenant,
        actor=_actor(request),
        name=payload.name,
        gate=gate,
        stages=stages,
        status=payload.status.value if payload.status else "",
        tag_any=[t.pk for t in _tags(tenant, payload.tags_any)],
        tag_all=[t.pk for t in _tags(tenant, payload.tags_all)],
        tag_none=[t.pk for t in _tags(tenant, payload.tags_none)],
        custom=payload.custom,
        consent_channel=payload.consent_channel.value if payload.consent_channel else "",
    )
    # Its members are computed after commit (at once without a worker): read what is stored.
    audience = Audience.objects.for_tenant(tenant).get(pk=audience.pk)
    return Status(201, _audiences_out(tenant, [audience])[0])


@router.get(
    "/audiences/{audience_id}", response={200: AudienceOut, ERRORS: ErrorOut}, tags=["audiences"]
)
def get_audience(request, audience_id: int):
    return _audiences_out(_tenant(request), [_audience(request, audience_id)])[0]


@router.get(
    "/audiences/{audience_id}/members",
    response={200: ContactPage, ERRORS: ErrorOut},
    tags=["audiences"],
)
def list_audience_members(
    request,
    audience_id: int,
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(PAGE_SIZE, ge=1, le=200),
):
    """The audience's members as last computed, a page at a time."""
    audience = _audience(request, audience_id)
    after = _page_after(Contact, cursor, ("id",))
    members = audience_members(audience=audience).prefetch_related("contact_tags__tag")
    page = keyset_page(members, ordering=("id",), size=limit, after=after)
    return {"items": _contacts_out(audience.tenant, page.items), "next": page.next_cursor}


api.add_router("", router)
