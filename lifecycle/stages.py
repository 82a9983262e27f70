"""The seven lifecycle stages, the one transition table, and the words around them.

Keys never change; what a tenant sees is its own label (lifecycle.models.StageSetting).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.permissions import role_can
from crm.words import all_listed


class Stage(models.TextChoices):
    SUBSCRIBER = "subscriber", pgettext_lazy("stage", "Subscriber")
    LEAD = "lead", pgettext_lazy("stage", "Lead")
    MQL = "mql", pgettext_lazy("stage", "Marketing qualified lead")
    SQL = "sql", pgettext_lazy("stage", "Sales qualified lead")
    OPPORTUNITY = "opportunity", pgettext_lazy("stage", "Opportunity")
    CUSTOMER = "customer", pgettext_lazy("stage", "Customer")
    EVANGELIST = "evangelist", pgettext_lazy("stage", "Evangelist")


ORDER: tuple[str, ...] = tuple(Stage.values)
RANK: dict[str, int] = {key: index for index, key in enumerate(ORDER)}


class Status(models.TextChoices):
    ACTIVE = "active", _("Active")
    LOST = "lost", _("Lost")


class LostReason(models.TextChoices):
    DISQUALIFIED = "disqualified", _("Disqualified")
    CHURNED = "churned", _("Churned")
    UNREACHABLE = "unreachable", _("Unreachable")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    UI = "ui", _("By hand")
    BULK = "bulk", _("Bulk action")
    RULE = "rule", _("Rule")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    SEED = "seed", _("Demo data")


class ChangeKind(models.TextChoices):
    CREATED = "created", _("Created")
    MOVED = "moved", _("Moved")
    LOST = "lost", _("Marked lost")
    REOPENED = "reopened", _("Reopened")


# Channels that are people at a screen; rules and imports only ever move forward.
HUMAN_CHANNELS = frozenset({Channel.UI, Channel.BULK})
# A member may also move backward through the API, with a token of their own: the token carries
# the member's role, and the move needs a reason like any other (lost and reopen stay on screen).
MEMBER_CHANNELS = frozenset({*HUMAN_CHANNELS, Channel.API})


def is_forward(from_stage: str, to_stage: str) -> bool:
    return RANK[to_stage] > RANK[from_stage]


def later_or_equal(stage: str) -> tuple[str, ...]:
    return ORDER[RANK[stage] :]


def may_move(*, role: str | None, channel: str, from_stage: str, to_stage: str) -> bool:
    """The one transition table: forward to any later stage (skipping allowed) for everyone;
    backward only by a member whose role may (crm.permissions), at a screen or with their API
    token."""
    if from_stage == to_stage:
        return False
    if is_forward(from_stage, to_stage):
        return True
    return channel in MEMBER_CHANNELS and role_can(role, "move_backward")


def may_correct(*, role: str | None, channel: str) -> bool:
    """Mark lost, reopen: by a member at a screen whose role may (crm.permissions)."""
    return channel in HUMAN_CHANNELS and role_can(role, "mark_lost")


def moves_for(*, role: str | None, from_stage: str) -> list[tuple[str, bool]]:
    """(stage, is_forward) for every stage this role may move a contact to, in funnel order."""
    return [
        (stage, is_forward(from_stage, stage))
        for stage in ORDER
        if may_move(role=role, channel=Channel.UI, from_stage=from_stage, to_stage=stage)
    ]


def bulk_targets(*, role: str | None, from_stage: str = "") -> list[str]:
    """The stages the contact list's bulk bar offers this role: those it may move some of the
    listed contacts to. `from_stage`: the list shows that stage only (its filter); otherwise
    the contacts may be in any. A role that may only move forward is never offered the first
    stage, nor, on a list of one stage, that stage or an earlier one."""
    sources = [from_stage] if from_stage in RANK else ORDER
    return [
        stage
        for stage in ORDER
        if any(
            may_move(role=role, channel=Channel.BULK, from_stage=source, to_stage=stage)
            for source in sources
        )
    ]


# Defaults from the seeds' English-school example (lifecycle-tags-7-stages.md): entry evidence
# per stage, shown until a tenant writes its own. Colours run cold to warm down the funnel.
DEFAULT_CRITERIA = {
    Stage.SUBSCRIBER: _("Added us on WeChat, followed the account or took a flyer."),
    Stage.LEAD: _("Filled in the form with phone, email and name."),
    Stage.MQL: _("Came to the open class and took the price list or booked a trial class."),
    Stage.SQL: _("Called in to ask about courses and prices."),
    Stage.OPPORTUNITY: _("Shows clear intent and has said they will pay."),
    Stage.CUSTOMER: _("Paid and joined the customer group."),
    Stage.EVANGELIST: _("Joined the referral programme and recommends us to friends."),
}
DEFAULT_COLOURS = {
    Stage.SUBSCRIBER: "#98a2b3",
    Stage.LEAD: "#53b1fd",
    Stage.MQL: "#2e90fa",
    Stage.SQL: "#7a5af8",
    Stage.OPPORTUNITY: "#f79009",
    Stage.CUSTOMER: "#12b76a",
    Stage.EVANGELIST: "#ee46bc",
}

# What an admin may require before a contact enters a stage: key -> (label, fields, mode).
# mode "any": one of the fields must be filled; "all": every field.
REQUIREMENTS = {
    "phone_or_email": (_("Phone or email"), ("phone", "email"), "any"),
    "phone": (_("Phone"), ("phone",), "all"),
    "email": (_("Email"), ("email",), "all"),
    "wechat_id": (_("WeChat ID"), ("wechat_id",), "all"),
    "company": (_("Company"), ("company",), "all"),
    "owner": (_("Owner"), ("owner",), "all"),
    "expected_amount": (_("Expected amount"), ("expected_amount",), "all"),
}
# The same, as a sentence says them: "entering this stage needs an expected amount".
REQUIREMENTS_SAID = {
    "phone_or_email": _("a phone number or an email address"),
    "phone": _("a phone number"),
    "email": _("an email address"),
    "wechat_id": _("a WeChat ID"),
    "company": _("a company"),
    "owner": _("an owner"),
    "expected_amount": _("an expected amount"),
}


def requirements_said(keys) -> str:
    """The requirements `keys` as a sentence says them, in the reader's words: "a phone number
    or an email address and an expected amount"."""
    return all_listed(REQUIREMENTS_SAID[key] for key in keys if key in REQUIREMENTS_SAID)


DEFAULT_REQUIREMENTS = {
    Stage.LEAD: ["phone_or_email"],
    Stage.OPPORTUNITY: ["expected_amount"],
}
