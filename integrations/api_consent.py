"""/api/v1/contacts/{id}/consent: a contact's consent to be contacted, per channel
(crm/consent.py), read and recorded over the API by the same service as the contact page, with
the same role rule (a grant needs an admin's or a marketer's token; any token withdraws).
Registered on endpoints.py's router (imported by api_urls.py before the URLs are built)."""

from datetime import datetime
from enum import Enum

from ninja import Schema
from pydantic import Field

from crm.consent import consent_history, consent_set, consent_states
from crm.models import ConsentSource

from .endpoints import ERRORS, _actor, _contact, router
from .schemas import ChannelKey, ErrorOut, In

StateKey = Enum(  # type: ignore[misc]
    "StateKey", {key: key for key in ("granted", "withdrawn", "unknown")}, type=str
)


class ConsentIn(In):
    channel: ChannelKey = Field(description="email, sms, phone (calls) or wechat.")
    granted: bool = Field(
        description="true: the contact agreed to be contacted on the channel (a token whose "
        "member may record grants, as on the contact page); false: they withdrew (any token)."
    )
    note: str = Field("", max_length=200, description="How it was given, for the history.")


class ChannelConsentOut(Schema):
    state: StateKey = Field(description="granted, withdrawn, or unknown (never recorded).")
    since: datetime | None = Field(description="When the latest grant or withdrawal was recorded.")
    source: str | None = Field(description="hand, import, api or merge.")
    by: str | None = Field(description="The username of the member (or token) who recorded it.")


class ConsentRecordOut(Schema):
    channel: ChannelKey
    granted: bool
    source: str
    by: str
    note: str
    at: datetime


class ConsentOut(Schema):
    contact: int
    channels: dict[str, ChannelConsentOut] = Field(
        description="Every channel (email, sms, phone, wechat) and its state now."
    )
    history: list[ConsentRecordOut] = Field(description="The latest grants and withdrawals.")
    recorded: bool = Field(
        False, description="On a POST: false when the state already was that (nothing written)."
    )


def _consent_out(contact, recorded: bool = False) -> dict:
    return {
        "contact": contact.pk,
        "channels": {
            item.channel: {
                "state": item.state,
                "since": item.since,
                "source": item.row.source if item.row else None,
                "by": item.who or None,
            }
            for item in consent_states(contact=contact)
        },
        "history": [
            {
                "channel": row.channel,
                "granted": row.granted,
                "source": row.source,
                "by": row.actor_label,
                "note": row.note,
                "at": row.at,
            }
            for row in consent_history(contact=contact)
        ],  # fmt: skip
        "recorded": recorded,
    }


@router.get(
    "/contacts/{contact_id}/consent",
    response={200: ConsentOut, ERRORS: ErrorOut},
    tags=["consent"],
)
def get_contact_consent(request, contact_id: int):
    """The contact's consent on each channel now, and its latest grants and withdrawals."""
    return _consent_out(_contact(request, contact_id))


@router.post(
    "/contacts/{contact_id}/consent",
    response={200: ConsentOut, ERRORS: ErrorOut},
    tags=["consent"],
)
def record_contact_consent(request, contact_id: int, payload: ConsentIn):
    """Records that the contact agreed (`granted: true`) or withdrew (`false`) on a channel,
    kept in its history with the source `api`. Audiences requiring that channel follow. A
    grant needs an admin's or a marketer's token (403 otherwise); a withdrawal, any token."""
    contact = _contact(request, contact_id)
    row = consent_set(
        contact=contact, channel=payload.channel.value, granted=payload.granted,
        actor=_actor(request), source=ConsentSource.API, note=payload.note,
    )  # fmt: skip
    return _consent_out(contact, recorded=row is not None)
