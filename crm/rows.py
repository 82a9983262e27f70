"""The contact list's rows, written once per page in Python: each row's cells but the stage
(whose badge the lifecycle template tag draws), so the template places two strings and a badge
a row. Done per cell in the template, 50 rows cost ~650 variable lookups and 100 loops; per
field in Python, each row is one string built with the same markup. The cells after the stage
follow the columns the member chose (crm/columns.py), one small function each, in the order of
the header the template writes from the same columns."""

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from lifecycle.stages import Status

from . import selectors
from .columns import DEFAULT, Column, columns_shown
from .customfields import Kind, value_display
from .http import id_url_maker
from .models import CustomField, Tenant
from .selectors import MemberName

# The cells before the stage (the row's checkbox, the name), with every value escaped as the
# template's autoescape would.
HEAD = (
    '<td><input type="checkbox" name="ids" value="{pk}" form="bulk-form" aria-label="{select}">'
    '</td>\n      <td><a href="{url}">{name}</a>{tier}</td>'
)
TIER = ' <span class="badge tier" title="{0}">{0}</span>'  # cut short in a narrow cell (app.css)
TAG = '<span class="badge">{}</span> '
NO_OWNER = '<span class="muted">—</span>'
CELL = "<td>{}</td>"
DATE_CELL = '<td class="date">{}</td>'
NOWRAP_CELL = '<td class="nowrap">{}</td>'
NUMBER_CELL = '<td class="num">{}</td>'
LONG_TEXT_SHOWN = 60
LINK = '<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>'

Cell = Callable[[dict], str]  # a row's values -> its cell, escaped


@dataclass(frozen=True, slots=True)
class ContactRow:
    pk: int
    name: str
    stage: str
    lost: bool
    head: SafeString  # the cells before the stage's
    tail: SafeString  # the cells after it


def _text(name: str) -> Cell:
    return lambda v: CELL.format(escape(v[name]))


def _custom_cell(field: CustomField, member_names: dict[int, str]) -> Cell:
    key, kind = field.key, field.kind
    cell = DATE_CELL if kind == Kind.DATE else NUMBER_CELL if kind in (Kind.NUMBER, Kind.MONEY) \
        else CELL  # fmt: skip

    def written(v: dict) -> str:
        value = (v.get("custom") or {}).get(key)
        shown = value_display(field, value, member_names=member_names)
        if kind == Kind.LONG_TEXT and len(shown) > LONG_TEXT_SHOWN:
            shown = shown[:LONG_TEXT_SHOWN] + "…"  # the whole of it is on the contact's page
        if kind == Kind.URL and shown.startswith(("https://", "http://")):
            return cell.format(LINK.format(escape(shown)))
        return cell.format(escape(shown))

    return written


def _cells(
    columns: list[Column], *, owners: dict[int, str], tags: dict, member_names: dict[int, str]
) -> list[Cell]:
    builtin: dict[str, Cell] = {
        "since": lambda v: DATE_CELL.format(localtime(v["stage_entered_at"]).strftime("%Y-%m-%d")),
        "company": _text("company"),
        "phone": lambda v: NOWRAP_CELL.format(escape(v["phone"])),  # the list wraps others' text
        "tags": lambda v: CELL.format(
            "".join(TAG.format(escape(label)) for label in tags.get(v["id"], ()))
        ),
        "email": _text("email"),
        "wechat_id": _text("wechat_id"),
        "owner": lambda v: CELL.format(owners.get(v["owner_id"], NO_OWNER)),
    }
    return [builtin[c.key] if c.field is None else _custom_cell(c.field, member_names)
            for c in columns]  # fmt: skip


def contact_rows(
    *,
    tenant: Tenant,
    values: list[dict],
    members: list[MemberName],
    columns: list[Column] | None = None,
) -> list[ContactRow]:
    """Rows of `selectors.contact_list_rows`; `members` are the company's (the page lists them
    for its owner filter anyway), so owners and member fields cost no query. `columns`: those
    after the stage (the usual ones when None). Tags cost one query when their column is shown,
    and tiers one (none while the company has no tiers)."""
    columns = columns_shown(DEFAULT, ()) if columns is None else columns
    url = id_url_maker("contact_detail", tenant.slug)
    names = {member.pk: member.display_name for member in members}
    owners = {pk: escape(name) for pk, name in names.items()}
    ids = [v["id"] for v in values]
    shows_tags = any(column.key == "tags" for column in columns)
    tags = selectors.tag_labels_of(tenant=tenant, contact_ids=ids) if shows_tags else {}
    tiers = selectors.tier_names_of(tenant=tenant, contact_ids=ids)
    cells = _cells(columns, owners=owners, tags=tags, member_names=names)
    select = _("Select %(name)s")
    rows = []
    for v in values:
        pk, name = v["id"], v["name"]
        tier = tiers.get(pk)
        head = HEAD.format(
            pk=pk, select=escape(select % {"name": name}), url=escape(url(pk)), name=escape(name),
            tier=TIER.format(escape(tier)) if tier else "",
        )  # fmt: skip
        rows.append(
            ContactRow(
                pk=pk,
                name=name,
                stage=v["stage"],
                lost=v["status"] == Status.LOST,
                head=SafeString(head),
                tail=SafeString("".join(cell(v) for cell in cells)),
            )  # fmt: skip
        )
    return rows
