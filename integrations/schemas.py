"""What goes in and out of the JSON API. Input refuses unknown fields; stages are keys (a
contact's stage may also be given by the company's label or an alias), with the company's label
alongside on the way out."""

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

from django.utils import translation
from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from crm.customfields import custom_fields_cached
from crm.models import ConsentChannel, Contact, CustomField, Membership, Tenant
from crm.normalize import PhoneError, normalize_phone
from lifecycle.selectors import stage_settings
from lifecycle.stages import ORDER

StageKey = Enum("StageKey", {key: key for key in ORDER}, type=str)  # type: ignore[misc]
StatusKey = Enum("StatusKey", {"active": "active", "lost": "lost"}, type=str)  # type: ignore[misc]
# a channel of consent to be contacted (crm/consent.py; integrations/api_consent.py)
ChannelKey = Enum("ChannelKey", {key: key for key in ConsentChannel.values}, type=str)  # type: ignore[misc]


def _iso_text(value):
    """A time is ISO 8601 text ("2026-03-01T08:00:00+08:00"), not a bare number of seconds."""
    if not isinstance(value, str | datetime):
        raise ValueError("expected an ISO 8601 date and time")
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("expected an ISO 8601 date and time")
    return value


def _phone(value):
    """Refused here, as a field error, with the reason the forms and imports give."""
    if value is None:
        return value
    try:
        return normalize_phone(value)
    except PhoneError as error:
        raise PydanticCustomError("phone", "{reason}", {"reason": error.message}) from None


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
Phone = Annotated[
    str | None,
    Field(
        max_length=40,
        description="Mainland numbers are stored as digits (13800138000, 01088886666), others "
        "with + and their country code (+14155552671).",
    ),
    AfterValidator(_phone),
]
TagName = Annotated[str, Field(min_length=1, max_length=60)]
# What a stage is called on the way in: its key ("lead"), or the company's label, a standard
# name or an alias ("02-潜客"), resolved by lifecycle.selectors.stage_resolve.
StageName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        description="A stage key (subscriber, lead, mql, sql, opportunity, customer, "
        "evangelist), or the company's label or an alias of a stage.",
    ),
]
Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
# The company's own fields, by key (the settings page shows each field's key): checked against
# each field's kind by the service, every refused value named (400, `fields`: "custom.<key>").
CustomIn = Annotated[
    dict[str, Any] | None,
    Field(
        max_length=100,
        description="The company's own fields, {key: value}: text, URL and single choice as "
        'text; number as a number; money as text or a number ("1200.00"); date as '
        '"2015-03-04"; multiple choice as a list of options; member as a username. null or '
        '"" clears a value; keys not sent keep theirs; an unknown key is refused.',
    ),
]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


# --- contacts -----------------------------------------------------------------------------


class ContactIn(In):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: Phone = None
    wechat_id: str | None = Field(None, max_length=64)
    weibo: str | None = Field(None, max_length=64)
    company: str | None = Field(None, max_length=200)
    source: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=10000)
    owner: str | None = Field(None, max_length=150, description="A member's username.")
    expected_amount: Amount | None = None
    stage: StageName | None = Field(
        None, description="Where the contact enters (a key, label or alias); default the first."
    )
    tags: list[TagName] = Field(default_factory=list, max_length=50)
    custom: CustomIn = None


class ContactPatch(In):
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: Phone = None
    wechat_id: str | None = Field(None, max_length=64)
    weibo: str | None = Field(None, max_length=64)
    company: str | None = Field(None, max_length=200)
    source: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=10000)
    owner: str | None = Field(None, max_length=150, description="A username; null: no owner.")
    expected_amount: Amount | None = None
    custom: CustomIn = None


class ActivityStatusOut(Schema):
    status: str = Field(description="new, active, loyal, at_risk, churned or dormant (quiet).")
    status_label: str
    at_risk: bool
    last_seen_at: datetime | None = Field(description="Its latest event (payment, form…).")
    last_activity_at: datetime | None = Field(description="Its latest call, visit, note….")
    open_tasks: int
    paid: Decimal = Field(description="Paid in the company's tier window (or in all).")
    payments: int


class ContactOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    wechat_id: str
    weibo: str
    company: str
    owner: str | None = Field(description="The owner's username.")
    source: str
    stage: StageKey
    stage_label: str
    status: StatusKey
    lost_reason: str
    tags: list[str]
    tier: str | None = Field(None, description="The tier the contact holds (its name), if any.")
    custom: dict[str, Any] = Field(
        description="The company's own fields the contact has a value of, {key: value}, in the "
        "forms `custom` is written in (a member by username; null: a former member)."
    )
    stage_entered_at: datetime
    created_at: datetime
    updated_at: datetime
    activity: ActivityStatusOut | None = Field(
        None, description="What the contact page shows of its activity (null in webhooks)."
    )


class ContactPage(Schema):
    items: list[ContactOut]
    next: str | None = Field(description="Pass as ?cursor= for the next page; null: the last.")


class StageMoveIn(In):
    stage: StageName
    reason: str = Field("", max_length=500)
    expected_stage: StageName | None = Field(
        None, description="Refuse (409) unless the contact is still in this stage."
    )


class TagsIn(In):
    tags: list[TagName] = Field(min_length=1, max_length=50)


class EventData(In):
    amount: Amount | None = None
    note: str = Field("", max_length=500)
    occurred_at: IsoDateTime | None = Field(None, description="Default: now. Never in the future.")
    external_id: str = Field(
        "", max_length=100, description="Your id for it: the same event sent twice counts once."
    )


class EventIn(In):
    kind: str = Field(min_length=1, max_length=40)
    data: EventData = Field(default_factory=EventData)


class EventOut(Schema):
    id: int
    kind: str
    kind_label: str
    occurred_at: datetime
    duplicate: bool = Field(description="True: this external_id was seen before; nothing ran.")


class RuleOutcome(Schema):
    rule: str
    done: list[str]
    not_done: list[str]


class EventResult(Schema):
    event: EventOut
    stage: StageKey
    stage_label: str
    status: StatusKey
    tags: list[str]
    rules: list[RuleOutcome]


# --- audiences and the funnel -------------------------------------------------------------


class AudienceIn(In):
    name: str = Field(min_length=1, max_length=100)
    min_stage: StageKey | None = Field(None, description="At or past this stage…")
    stages: list[StageKey] | None = Field(None, description="…or exactly these stages.")
    status: StatusKey | None = None
    tags_any: list[TagName] = Field(default_factory=list, max_length=50)
    tags_all: list[TagName] = Field(default_factory=list, max_length=50)
    tags_none: list[TagName] = Field(default_factory=list, max_length=50)
    custom: dict[str, str] = Field(
        default_factory=dict,
        max_length=100,
        description="Conditions on the company's own fields, as the contact list writes them: "
        '{"cf_xiao_qu": "徐汇", "cf_sheng_ri__min": "2015-01-01", "cf_nian_ji__empty": "1"} '
        "(equals; __min and __max for numbers, money and dates; __empty 1: no value, 0: any).",
    )
    consent_channel: ChannelKey | None = Field(
        None, description="Only contacts whose consent on this channel stands granted."
    )


class AudienceOut(Schema):
    id: int
    name: str
    min_stage: StageKey | None
    stages: list[StageKey] | None
    status: StatusKey | None
    tags_any: list[str]
    tags_all: list[str]
    tags_none: list[str]
    custom: dict[str, str] = Field(description="Its conditions on the company's own fields.")
    consent_channel: ChannelKey | None = Field(
        None, description="The channel of consent it requires (null: none)."
    )
    size: int
    computed_at: datetime | None


class AudiencePage(Schema):
    items: list[AudienceOut]
    next: str | None


class FunnelStage(Schema):
    stage: StageKey
    label: str
    active: int
    lost: int


class FunnelOut(Schema):
    stages: list[FunnelStage]
    computed_at: datetime | None = Field(description="When the workers last counted; null: never.")


# --- errors -------------------------------------------------------------------------------


class FieldError(Schema):
    field: str
    message: str


class ErrorBody(Schema):
    code: str
    message: str
    existing_id: int | None = Field(None, description="409 duplicate: the contact that exists.")
    current_stage: StageKey | None = None
    missing: list[str] | None = Field(None, description="Fields the target stage requires.")
    fields: list[FieldError] | None = None


class ErrorOut(Schema):
    error: ErrorBody


# --- building the output ------------------------------------------------------------------


def labels_of(tenant: Tenant) -> dict[str, str]:
    """The company's stage labels, in its own language (they are its words, not the reader's)."""
    with translation.override(tenant.default_language):
        return {key: s.display_label for key, s in stage_settings(tenant=tenant).items()}


# A contact's own values the API shows as they are stored (custom: through CustomOut).
CONTACT_OUT_FIELDS = (
    "id", "name", "email", "phone", "wechat_id", "weibo", "company", "source", "stage", "status",
    "lost_reason", "stage_entered_at", "created_at", "updated_at", "custom",
)  # fmt: skip


class CustomOut:
    """A contact's custom values as the API shows them: the company's fields only, in its order,
    a member by username. Made once per answer (one query, and one more only when the company
    has a member field)."""

    def __init__(self, tenant: Tenant):
        self.fields = custom_fields_cached(tenant=tenant)
        self.usernames: dict[int, str] = {}
        if any(field.kind == CustomField.Kind.MEMBER for field in self.fields):
            members = Membership.objects.for_tenant(tenant).values_list("pk", "user__username")
            self.usernames = dict(members)

    def __call__(self, custom: dict | None) -> dict:
        custom = custom or {}
        shown = {}
        for field in self.fields:
            if field.key in custom:
                value = custom[field.key]
                if field.kind == CustomField.Kind.MEMBER:
                    value = self.usernames.get(value)
                shown[field.key] = value
        return shown


def contact_out(
    contact: Contact,
    labels: dict[str, str],
    tier: str | None = None,
    custom: CustomOut | None = None,
) -> dict:
    """A contact as the API and webhooks show it (tags prefetched: contact_tags__tag)."""
    values = {name: getattr(contact, "pk" if name == "id" else name) for name in CONTACT_OUT_FIELDS}
    owner = contact.owner.user.username if contact.owner_id else None
    return contact_row_out(values, owner, [ct.tag.label for ct in contact.contact_tags.all()],
                           labels, tier, custom or CustomOut(contact.tenant))  # fmt: skip


def contact_row_out(
    values: dict,
    owner: str | None,
    tags: list[str],
    labels: dict,
    tier: str | None,
    custom: CustomOut,
) -> dict:
    """The same from a contact's plain values (CONTACT_OUT_FIELDS), its owner's username, its
    tags' labels and its tier's name: the contact list, a page of up to 200, builds no model per
    contact or tag."""
    return {
        **values,
        "owner": owner,
        "stage_label": labels[values["stage"]],
        "tags": sorted(tags),
        "tier": tier,
        "custom": custom(values["custom"]),
    }
