"""Keyset ("seek") pagination: every page costs the same, whether it is the first or the 20,000th.

A cursor is the sort key of the boundary row, opaque to the user. A page counts nothing:
counting a large tenant on every page view costs more than the page itself (the contact list's
total comes from stored counts, or is counted when asked: crm.selectors.contact_list_total).
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None = None
    prev_cursor: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def _field_name(order: str) -> str:
    return order.lstrip("-")


def _encode(obj, ordering: tuple[str, ...]) -> str:
    """The cursor of a row: a model instance, or a dict of its values (lists that render many
    rows fetch plain values)."""
    values = []
    for order in ordering:
        name = _field_name(order)
        value = obj[name] if isinstance(obj, dict) else getattr(obj, name)
        values.append(value.isoformat() if hasattr(value, "isoformat") else value)
    raw = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(model, cursor: str, ordering: tuple[str, ...]) -> list[Any] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(ordering):
            return None
        return [
            model._meta.get_field(_field_name(order)).to_python(value)
            for order, value in zip(ordering, values, strict=True)
        ]
    except (ValueError, TypeError, binascii.Error, ValidationError):
        # A tampered or stale cursor is not an error page: it just starts from the beginning.
        return None


def first_page(rows: list, *, ordering: tuple[str, ...], size: int) -> KeysetPage:
    """The first page of rows fetched elsewhere in `ordering`, `size` + 1 of them when there
    are more (the board reads all its columns' first pages in one statement)."""
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(items=rows, next_cursor=_encode(rows[-1], ordering) if more else None)


def cursor_values(model, cursor: str, ordering: tuple[str, ...]) -> list[Any] | None:
    """What a cursor stands for, or None if it is not one of ours (an API refuses those)."""
    return _decode(model, cursor, ordering)


def _beyond(ordering: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after `values` in `ordering`, with a leading range an index can seek to."""
    first = _field_name(ordering[0])
    first_op = "lt" if ordering[0].startswith("-") else "gt"
    condition = Q()
    equal = Q()
    for order, value in zip(ordering, values, strict=True):
        op = "lt" if order.startswith("-") else "gt"
        condition |= equal & Q(**{f"{_field_name(order)}__{op}": value})
        equal &= Q(**{_field_name(order): value})
    seek = Q(**{f"{first}__{first_op}e": values[0]})
    return seek & condition


def _reverse(ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(order[1:] if order.startswith("-") else f"-{order}" for order in ordering)


def keyset_page(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...],
    size: int,
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    model = queryset.model
    before_values = _decode(model, before, ordering) if before else None
    after_values = _decode(model, after, ordering) if after and before_values is None else None

    if before_values is not None:
        reverse = _reverse(ordering)
        rows = list(queryset.filter(_beyond(reverse, before_values)).order_by(*reverse)[: size + 1])
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return KeysetPage(
            items=rows,
            next_cursor=_encode(rows[-1], ordering) if rows else None,
            prev_cursor=_encode(rows[0], ordering) if rows and more_before else None,
        )

    if after_values is not None:
        queryset = queryset.filter(_beyond(ordering, after_values))
    rows = list(queryset.order_by(*ordering)[: size + 1])
    more_after = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        items=rows,
        next_cursor=_encode(rows[-1], ordering) if rows and more_after else None,
        prev_cursor=_encode(rows[0], ordering) if rows and after_values is not None else None,
    )
