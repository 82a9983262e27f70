"""The board's cards, written in Python: a board shows 140 of them, and as a template each cost
~40 lookups, five URL reversals and a CSRF token. Everything that is the same for every card (the
URLs' shape, the token, each column's "Move to…" buttons, the words) is worked out once per page;
each card is then one format_html, in the markup the card template had."""

from dataclasses import dataclass
from functools import cache

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.http import id_url_maker
from crm.selectors import member_names, tier_names_of

from .selectors import BOARD_FIELDS, stage_settings
from .stages import moves_for

CARD = """<article class="board-card" id="card-{pk}" draggable="true" tabindex="-1"
         data-move-url="{move_url}"
         data-version="{version}" data-stage="{stage}"{just_moved}>
  <a class="card-name" href="{url}">{name}</a>{tier}
  <div class="card-meta">
    <span class="owner">{owner}</span> <span class="in-stage">{days}</span>
  </div>
  <details class="move-menu">
    <summary>{move_to}</summary>
    <form method="post" action="{move_url}"
          hx-post="{move_url}" hx-target="#board-messages">
      <input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">
      <input type="hidden" name="version" value="{version}">
      <input type="hidden" name="origin" value="board">
      <input type="hidden" name="owner" value="{owner_filter}">
      <input type="hidden" name="next" value="{board_url}">
      {buttons}
    </form>
  </details>
</article>
"""
# a long tier's name is cut short in the card's width (app.css); the whole of it on hover
TIER = '<span class="badge tier" title="{0}">{0}</span>'
BUTTON = '<button type="submit" name="to_stage" value="{}" class="{}">{}{}</button>'
# What a card shows of its contact: what the board's selectors read.
CARD_FIELDS = BOARD_FIELDS


@dataclass(frozen=True, slots=True)
class Card:
    pk: int
    name: str
    stage: str
    html: SafeString


class CardWriter:
    """Writes the cards of one request's board (`owner`: "me" on the board of one's own)."""

    def __init__(self, request, *, owner: str = ""):
        tenant = request.tenant
        self.role = request.membership.role
        self.labels = {key: s.display_label for key, s in stage_settings(tenant=tenant).items()}
        self.owners = {m.pk: m.display_name for m in member_names(tenant=tenant)}
        self.contact_url = id_url_maker("contact_detail", tenant.slug)
        self.move_url = id_url_maker("contact_move", tenant.slug)
        self.now = timezone.now()
        self.shared = {
            "csrf": get_token(request),
            "owner_filter": owner,
            "board_url": reverse("board", args=[tenant.slug]),
            "move_to": _("Move to…"),
        }
        self.no_owner = format_html('<span class="muted">{}</span>', _("No owner"))
        self.buttons = cache(self._buttons)  # per column: the moves depend on the stage only
        self.tenant = tenant
        self.tiers: dict[int, str] = {}  # the tier each card's contact holds, when it has one

    def know_tiers(self, contact_ids: list[int]) -> None:
        """The tiers of the cards about to be written, read at once (the board: every column)."""
        self.tiers.update(tier_names_of(tenant=self.tenant, contact_ids=contact_ids))

    def _buttons(self, stage: str) -> SafeString:
        return format_html_join(
            "\n      ",
            BUTTON,
            ((to, "" if forward else "backward", "" if forward else "↩ ", self.labels[to])
             for to, forward in moves_for(role=self.role, from_stage=stage)),
        )  # fmt: skip

    def card(self, values: dict, *, just_moved: bool = False) -> Card:
        """A card from a contact's CARD_FIELDS."""
        pk, stage = values["id"], values["stage"]
        entered = values["stage_entered_at"]
        days = max((self.now - entered).days, 0) if entered else 0
        owner = self.owners.get(values["owner_id"]) if values["owner_id"] else None
        html = format_html(
            CARD,
            pk=pk,
            move_url=self.move_url(pk),
            version=values["stage_version"],
            stage=stage,
            just_moved=SafeString(" data-just-moved") if just_moved else "",
            url=self.contact_url(pk),
            name=values["name"],
            tier=format_html(TIER, self.tiers[pk]) if pk in self.tiers else "",
            owner=owner or self.no_owner,
            days=ngettext("%(days)s day in stage", "%(days)s days in stage", days) % {"days": days},
            buttons=self.buttons(stage),
            **self.shared,
        )
        return Card(pk=pk, name=values["name"], stage=stage, html=html)

    def cards(self, rows: list[dict], *, tiers_known: bool = False) -> list[Card]:
        if not tiers_known:
            self.know_tiers([values["id"] for values in rows])
        return [self.card(values) for values in rows]


def card_values(contact) -> dict:
    """CARD_FIELDS of a contact instance (the card drawn anew after a move)."""
    return {name: getattr(contact, "pk" if name == "id" else name) for name in CARD_FIELDS}
