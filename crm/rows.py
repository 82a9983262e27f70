"""The contact list's rows, written once per page in Python: each row's cells but the stage
(whose badge the lifecycle template tag draws), so the template places two strings and a badge
a row. Done per cell in the template, 50 rows cost ~650 variable lookups and 100 loops; per
field in Python, each row is one string built with the same markup."""

from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from lifecycle.stages import Status

from . import selectors
from .http import id_url_maker
from .models import Tenant
from .selectors import MemberName

# The cells before the stage (the row's checkbox, the name) and after it, with every value
# escaped as the template's autoescape would.
HEAD = (
    '<td><input type="checkbox" name="ids" value="{pk}" form="bulk-form" aria-label="{select}">'
    '</td>\n      <td><a href="{url}">{name}</a>{tier}</td>'
)
TIER = ' <span class="badge tier">{}</span>'
TAIL = (
    '<td class="date">{since}</td>\n      <td>{company}</td><td>{phone}</td>\n'
    "      <td>{tags}</td>\n      <td>{email}</td><td>{wechat_id}</td>\n      <td>{owner}</td>"
)
TAG = '<span class="badge">{}</span> '


@dataclass(frozen=True, slots=True)
class ContactRow:
    pk: int
    name: str
    stage: str
    lost: bool
    head: SafeString  # the cells before the stage's
    tail: SafeString  # the cells after it


def contact_rows(
    *, tenant: Tenant, values: list[dict], members: list[MemberName]
) -> list[ContactRow]:
    """Rows of `selectors.contact_list_rows`; `members` are the company's (the page lists them
    for its owner filter anyway), so owners cost no query. Tags cost one, and tiers one (none
    while the company has no tiers)."""
    url = id_url_maker("contact_detail", tenant.slug)
    owners = {member.pk: escape(member.display_name) for member in members}
    no_owner = '<span class="muted">—</span>'
    ids = [v["id"] for v in values]
    tags = selectors.tag_labels_of(tenant=tenant, contact_ids=ids)
    tiers = selectors.tier_names_of(tenant=tenant, contact_ids=ids)
    select = _("Select %(name)s")
    rows = []
    for v in values:
        pk, name = v["id"], v["name"]
        tier = tiers.get(pk)
        head = HEAD.format(
            pk=pk, select=escape(select % {"name": name}), url=escape(url(pk)), name=escape(name),
            tier=TIER.format(escape(tier)) if tier else "",
        )  # fmt: skip
        tail = TAIL.format(
            since=localtime(v["stage_entered_at"]).strftime("%Y-%m-%d"),
            company=escape(v["company"]),
            phone=escape(v["phone"]),
            tags="".join(TAG.format(escape(label)) for label in tags.get(pk, ())),
            email=escape(v["email"]),
            wechat_id=escape(v["wechat_id"]),
            owner=owners.get(v["owner_id"], no_owner),
        )
        rows.append(
            ContactRow(
                pk=pk,
                name=name,
                stage=v["stage"],
                lost=v["status"] == Status.LOST,
                head=SafeString(head),
                tail=SafeString(tail),
            )  # fmt: skip
        )
    return rows
