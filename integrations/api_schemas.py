"""What goes in and out of the API's company vocabulary (tags, tag groups, stages, custom
fields, members) and a contact's work (activities, tasks, events). Input refuses unknown
fields, as in schemas.py."""

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

from ninja import Schema
from pydantic import Field

from activities.models import ActivityKind
from crm.models import CustomField
from crm.permissions import Role

from .schemas import In, IsoDateTime, StageKey, TagName

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="Like #2e90fa.")]
TagColour = Annotated[
    str,
    Field(pattern=r"^(#[0-9a-fA-F]{6})?$", description='Like #2e90fa; "": the group\'s colour.'),
]
GroupName = Annotated[
    str, Field(min_length=1, max_length=60, description="The group's key or its name.")
]
ActivityKindKey = Enum(  # type: ignore[misc]
    "ActivityKindKey", {key: key for key in ActivityKind.values}, type=str
)
FieldKind = Enum("FieldKind", {k: k for k in CustomField.Kind.values}, type=str)  # type: ignore[misc]
RoleKey = Enum("RoleKey", {k: k for k in Role.values}, type=str)  # type: ignore[misc]


# --- tags and tag groups ------------------------------------------------------------------


class GroupRef(Schema):
    id: int
    key: str
    label: str


class TagOut(Schema):
    id: int
    key: str = Field(description="Stable across renames.")
    label: str
    colour: str = Field(description="Its own colour, else its group's.")
    description: str
    group: GroupRef
    aliases: list[str] = Field(description="Other names the tag is found by.")


class TagList(Schema):
    items: list[TagOut]


class GroupTagOut(Schema):
    id: int
    key: str
    label: str
    colour: str
    aliases: list[str]


class TagGroupOut(Schema):
    id: int
    key: str = Field(description="Stable across renames.")
    label: str
    description: str
    colour: str
    single_choice: bool = Field(description="A contact holds at most one tag of this group.")
    tags: list[GroupTagOut]


class TagGroupList(Schema):
    items: list[TagGroupOut]


class TagGroupIn(In):
    label: str = Field(min_length=1, max_length=60)
    description: str = Field("", max_length=300)
    colour: Colour = "#667085"
    single_choice: bool = False


class TagGroupPatch(In):
    label: str | None = Field(None, min_length=1, max_length=60)
    description: str | None = Field(None, max_length=300)
    colour: Colour | None = None
    single_choice: bool | None = None


class TagIn(In):
    label: TagName
    group: GroupName
    colour: TagColour = ""
    description: str = Field("", max_length=300)
    aliases: list[TagName] = Field(default_factory=list, max_length=20)


class TagPatch(In):
    label: TagName | None = None
    group: GroupName | None = Field(None, description="Moves the tag to this group.")
    colour: TagColour | None = None
    description: str | None = Field(None, max_length=300)


class TagsAddIn(In):
    tags: list[TagName] = Field(min_length=1, max_length=50)
    create_missing: bool = Field(
        False,
        description="Create the tags the company does not have yet, in the group it chose "
        "for the API (Settings → API and webhooks); admins' and marketers' tokens only.",
    )


# --- stages, custom fields, members -------------------------------------------------------


class StageOut(Schema):
    key: StageKey
    label: str = Field(description="The company's name for it.")
    aliases: list[str] = Field(description="Other names requests may use for it.")
    order: int = Field(description="1 for the first stage of the funnel, 7 for the last.")
    colour: str


class StageList(Schema):
    items: list[StageOut]


class CustomFieldOut(Schema):
    key: str = Field(description="The key in a contact's `custom`; stays when renamed.")
    label: str
    kind: FieldKind
    required: bool = Field(description="Needed when a contact is created.")
    options: list[str] = Field(description="A choice field's options; [] for the others.")
    help_text: str


class CustomFieldList(Schema):
    items: list[CustomFieldOut]


class MemberOut(Schema):
    username: str
    name: str
    role: RoleKey


class MemberList(Schema):
    items: list[MemberOut]


# --- a contact's activities, tasks and events ----------------------------------------------


class FollowUpIn(In):
    title: str = Field(min_length=1, max_length=200)
    due_at: IsoDateTime


class ActivityIn(In):
    kind: ActivityKindKey
    text: str = Field("", max_length=5000, description="What was said or done.")
    outcome: str = Field("", max_length=200)
    occurred_at: IsoDateTime | None = Field(None, description="Default: now. Never later.")
    follow_up: FollowUpIn | None = Field(
        None, description="A task for the token's member that follows it up."
    )


class ActivityOut(Schema):
    id: int
    contact_id: int
    kind: ActivityKindKey
    kind_label: str
    text: str
    outcome: str
    occurred_at: datetime
    author: str | None = Field(description="The username of who logged it.")
    created_at: datetime


class ActivityPage(Schema):
    items: list[ActivityOut]
    next: str | None


class TaskIn(In):
    title: str = Field(min_length=1, max_length=200)
    due_at: IsoDateTime
    assignee: str | None = Field(
        None, max_length=150, description="A member's username; default the token's member."
    )


class TaskOut(Schema):
    id: int
    contact_id: int
    contact_name: str
    title: str
    due_at: datetime
    assignee: str | None
    done: bool
    done_at: datetime | None
    done_by: str | None
    created_at: datetime


class TaskPage(Schema):
    items: list[TaskOut]
    next: str | None


class EventRow(Schema):
    id: int
    kind: str
    kind_label: str
    amount: Decimal | None
    note: str
    occurred_at: datetime
    channel: str
    external_id: str
    actor: str | None = Field(description="The username of who logged it, if a member did.")


class EventPage(Schema):
    items: list[EventRow]
    next: str | None
