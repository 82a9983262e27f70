"""The contact list's columns: which it shows besides the name and the stage, chosen by the member
("Columns") and carried in the address as `cols` (cols=company,phone,cf:sheng_ri), so the pager,
"select all matching", exports and saved views keep them. Without `cols` the list shows its usual
ones; `cols=none` shows only the name and the stage."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from .models import CustomField

# The built-in columns in the order the list shows them (its usual set, before custom fields).
BUILTIN: dict[str, Any] = {
    "since": _("In stage since"),
    "company": _("Company"),
    "phone": _("Phone"),
    "tags": _("Tags"),
    "email": _("Email"),
    "wechat_id": _("WeChat ID"),
    "owner": _("Owner"),
}
DEFAULT = tuple(BUILTIN)
CUSTOM = "cf:"  # a custom field's column: cf:<its key>
NONE = "none"  # no column besides the name and the stage (the form always sends it first)
PARAM = "cols"
MOST = 120  # more than every built-in and every field a company may have
_TOKEN = re.compile(r"^cf:[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # "company", or "cf:<key>"
    label: str
    field: CustomField | None = None  # the custom field it shows


def columns_from_params(params: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The columns the address chooses (a QueryDict or a dict; `cols` once, comma-separated, or
    once per column as the form's boxes send it), built-in ones first in the list's order; None
    when it chooses none or the usual ones. Names it does not know are left out; a custom
    field's column is checked against the company's fields when the list is drawn."""
    if hasattr(params, "getlist"):
        values = params.getlist(PARAM)
    else:
        values = params.get(PARAM) or []
        values = [values] if isinstance(values, str) else list(values)
    if not values:
        return None
    tokens = [token.strip() for value in values for token in str(value).split(",")]
    builtin = [key for key in BUILTIN if key in tokens]
    custom = [token for token in dict.fromkeys(tokens) if _TOKEN.match(token)]
    chosen = tuple(builtin + custom)[:MOST]
    if chosen == DEFAULT or (not chosen and NONE not in tokens):
        return None
    return chosen


def columns_param(columns: tuple[str, ...] | None) -> str:
    """`cols`'s value for `columns` ("" for the usual ones, which the address leaves out)."""
    if columns is None:
        return ""
    return ",".join(columns) or NONE


def columns_shown(columns: tuple[str, ...] | None, fields: Iterable[CustomField]) -> list[Column]:
    """The list's columns after the name and the stage: the chosen built-in ones, then the
    chosen custom fields in the company's order (a field deleted since is left out)."""
    chosen = DEFAULT if columns is None else columns
    shown = [Column(key, str(label)) for key, label in BUILTIN.items() if key in chosen]
    shown += [Column(f"{CUSTOM}{field.key}", field.label, field) for field in fields
              if f"{CUSTOM}{field.key}" in chosen]  # fmt: skip
    return shown


def column_choices(
    columns: tuple[str, ...] | None, fields: Iterable[CustomField]
) -> list[tuple[Column, bool]]:
    """Every column the member may choose, and whether it is shown: the "Columns" menu."""
    shown = {column.key for column in columns_shown(columns, fields)}
    every = [Column(key, str(label)) for key, label in BUILTIN.items()]
    every += [Column(f"{CUSTOM}{field.key}", field.label, field) for field in fields]
    return [(column, column.key in shown) for column in every]
