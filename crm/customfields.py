"""Custom fields: the fields a company adds to its contacts (生日, 校区, 年级, 课程顾问…).

A contact's values live in `Contact.custom` as {key: value}, each kind in one JSON form:

    text, long text, URL, single choice   "徐汇校区"               (a string)
    number                                3 or 2.5                (a JSON number)
    money                                 "1200.00"               (a string: exact, two places)
    date                                  "2015-03-04"            (ISO)
    multiple choice                       ["周六", "周日"]          (options, in the field's order)
    member                                17                      (a membership id of the company)

An empty value is no key at all. `value_clean` turns what a form, an import cell or the API
gives into that form, or says in the user's language why it cannot. Filters read
ContactCustomValue, which PostgreSQL keeps from the column (the custom_fields migration).

Reads and writes of the fields themselves are here too: the settings page, the contact form,
imports, exports, the API and audiences all go through this module.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, Exists, F, Func, JSONField, OuterRef, Q, Value
from django.utils.text import slugify
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from .audit import audit_record
from .caching import kept
from .hooks import custom_values_changed
from .models import AuditKind, Contact, ContactCustomValue, CustomField, Membership, Tenant
from .permissions import can_edit_custom_fields

Kind = CustomField.Kind

MAX_FIELDS = 100  # per company: each is a column of the list, a filter, an import target
MAX_OPTIONS = 200
MAX_TEXT = 200  # what a text, URL or option holds; long text takes up to MAX_LONG_TEXT
MAX_LONG_TEXT = 5000
MAX_MONEY = Decimal("9999999999.99")
RANGE_KINDS = (Kind.NUMBER, Kind.MONEY, Kind.DATE)


class CustomFieldError(Exception):
    """A refusal with a message for the user, already in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- reading -------------------------------------------------------------------------------


def custom_fields_of(*, tenant: Tenant) -> list[CustomField]:
    """The company's fields in the order it shows them (one query)."""
    return list(CustomField.objects.for_tenant(tenant).order_by("position", "id"))


def _cache_key(tenant_id: int) -> str:
    return f"custom-fields:{tenant_id}"


def custom_fields_cached(*, tenant: Tenant) -> list[CustomField]:
    """The company's fields for the pages that read them on every view (the contact list's
    columns and filters): kept in the cache until an admin changes one."""
    return kept(_cache_key(tenant.pk), lambda: custom_fields_of(tenant=tenant))


def _fields_changed(tenant: Tenant) -> None:
    # now, and once committed: a page that read the old fields meanwhile kept them again
    cache.delete(_cache_key(tenant.pk))
    transaction.on_commit(lambda: cache.delete(_cache_key(tenant.pk)))


def custom_fields_usage(*, tenant: Tenant) -> dict[int, int]:
    """How many contacts hold a value of each field ({field id: count}, fields nobody fills
    left out): one grouped query, for the settings page."""
    return dict(
        ContactCustomValue.objects.for_tenant(tenant)
        .values_list("field_id")
        .annotate(held=Count("contact_id", distinct=True))
        .values_list("field_id", "held")
    )


def custom_field_usage(*, field: CustomField) -> int:
    """How many contacts hold a value of the field (what deleting it would take away)."""
    return (
        ContactCustomValue.objects.for_tenant(field.tenant)
        .filter(field=field)
        .values("contact")
        .distinct()
        .count()
    )


# --- values --------------------------------------------------------------------------------

# How Chinese Excel and WPS write a date when the cell is text: 2015-03-04, 2015/3/4, 2015.3.4,
# 2015年3月4日, 20150304, with or without a time after it.
_DATE = re.compile(
    r"^\s*(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$"
)
_DATE_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
# Excel's day numbers (1900 system) for 1900-03-01 … 9999-12-31, when a date cell is read raw
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_DAYS = range(61, 2958466)


def date_parse(value: Any) -> dt.date:
    """A date from what a person or a spreadsheet writes; ValueError if it is none."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if int(value) in _EXCEL_DAYS:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(value)
    # full-width digits and marks (２０１５／３／４, as a Chinese input method types them) as plain
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE.match(text) or _DATE_COMPACT.match(text)
    if match is None:
        if re.fullmatch(r"\d{5}(\.0+)?", text) and int(float(text)) in _EXCEL_DAYS:
            return _EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
        raise ValueError(value)
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidOperation
    if isinstance(value, float):
        value = repr(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    text = text.removeprefix("¥").removeprefix("￥").removesuffix("元").strip()
    number = Decimal(text)
    if not number.is_finite():
        raise InvalidOperation
    return number


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def value_clean(field: CustomField, value: Any, *, members: Iterable[int] = ()) -> Any:
    """The JSON form of `value` for `field`, None for empty; ValidationError (its message in
    the user's language) if it is not one. `members`: the company's membership ids, for a
    member field."""
    if _is_empty(value):
        if field.required:
            raise ValidationError(_("%(field)s is required.") % {"field": field.label})
        return None
    kind = field.kind
    if kind == Kind.MULTI_CHOICE:
        items = value if isinstance(value, (list, tuple)) else re.split(r"[,，;；、|]", str(value))
        wanted = {_option(field, item) for item in items if not _is_empty(item)}
        chosen = [option for option in field.options if option in wanted]
        if not chosen and field.required:
            raise ValidationError(_("%(field)s is required.") % {"field": field.label})
        return chosen or None
    if isinstance(value, (list, tuple, dict)):
        raise ValidationError(_("%(field)s takes one value.") % {"field": field.label})
    if kind == Kind.CHOICE:
        return _option(field, value)
    if kind == Kind.MEMBER:
        text = str(value).strip()
        if not text.isdigit() or int(text) not in set(members):
            raise ValidationError(
                _("%(field)s: choose a member of this company.") % {"field": field.label}
            )
        return int(text)
    if kind == Kind.DATE:
        try:
            return date_parse(value).isoformat()
        except (ValueError, OverflowError):
            raise ValidationError(
                _("%(field)s: “%(value)s” is not a date (write it as 2015-03-04).")
                % {"field": field.label, "value": str(value)[:40]}
            ) from None
    if kind in (Kind.NUMBER, Kind.MONEY):
        try:
            number = _decimal(value)
        except (InvalidOperation, ValueError):
            raise ValidationError(
                _("%(field)s: “%(value)s” is not a number.")
                % {"field": field.label, "value": str(value)[:40]}
            ) from None
        if abs(number) > MAX_MONEY:
            raise ValidationError(_("%(field)s is too large.") % {"field": field.label})
        if kind == Kind.MONEY:
            if number != number.quantize(Decimal("0.01")):
                raise ValidationError(
                    _("%(field)s: at most two decimal places.") % {"field": field.label}
                )
            return str(number.quantize(Decimal("0.01")))
        number = number.normalize()
        return int(number) if number == number.to_integral_value() else float(number)
    text = " ".join(str(value).split()) if kind != Kind.LONG_TEXT else str(value).strip()
    limit = MAX_LONG_TEXT if kind == Kind.LONG_TEXT else MAX_TEXT
    if len(text) > limit:
        raise ValidationError(
            _("%(field)s holds at most %(limit)d characters.")
            % {"field": field.label, "limit": limit}
        )
    if kind == Kind.URL:
        if "://" not in text:
            text = f"https://{text}"
        try:
            URLValidator(schemes=["http", "https"])(text)
        except ValidationError:
            raise ValidationError(
                _("%(field)s: “%(value)s” is not a web address.")
                % {"field": field.label, "value": text[:60]}
            ) from None
    return text


def _option(field: CustomField, value: Any) -> str:
    """One of the field's options, matched with spaces folded and case ignored."""
    wanted = " ".join(str(value).split()).casefold()
    for option in field.options:
        if option.casefold() == wanted:
            return option
    raise ValidationError(
        _("%(field)s: “%(value)s” is not one of its options (%(options)s).")
        % {"field": field.label, "value": str(value)[:40], "options": "、".join(field.options)}
    )


def values_clean(
    *,
    tenant: Tenant,
    fields: Iterable[CustomField],
    given: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A contact's whole `custom` after `given` ({key: value}) is applied to `current` (keys
    not given keep their value). Unknown keys and bad values raise one ValidationError whose
    message dict is keyed by field key, so a form or the API can place each message."""
    fields = list(fields)
    by_key = {field.key: field for field in fields}
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(given) - set(by_key))
    for key in unknown:
        errors[key] = [_("There is no custom field “%(key)s”.") % {"key": key}]
    members: set[int] = set()
    if any(field.kind == Kind.MEMBER and field.key in given for field in fields):
        members = set(Membership.objects.for_tenant(tenant).values_list("pk", flat=True))
    result = {key: value for key, value in (current or {}).items() if key in by_key}
    for field in fields:
        if field.key not in given and not (field.required and field.key not in result):
            continue
        try:
            value = value_clean(field, given.get(field.key), members=members)
        except ValidationError as exc:
            errors[field.key] = exc.messages
            continue
        if value is None:
            result.pop(field.key, None)
        else:
            result[field.key] = value
    if errors:
        raise ValidationError(errors)
    return result


def value_display(field: CustomField, value: Any, *, member_names: Mapping[int, str]) -> str:
    """A value as the page, the list and the export show it ("" when empty)."""
    if _is_empty(value):
        return ""
    if field.kind == Kind.MULTI_CHOICE:
        return "、".join(str(item) for item in value)
    if field.kind == Kind.MEMBER:
        return member_names.get(value, _("(former member)"))
    if field.kind == Kind.MONEY:
        return f"¥{Decimal(str(value)):,.2f}"
    return str(value)


@dataclass(frozen=True, slots=True)
class CustomDetail:
    """One value as the contact page shows it."""

    label: str
    text: str
    kind: str
    url: str = ""  # a link's address (http or https only)


def contact_custom_details(*, contact: Contact) -> list[CustomDetail]:
    """The contact's values in the company's order of its fields, empty ones left out: members
    by name (one query, only when the contact holds one), money as ¥1,200.00, dates ISO."""
    values = contact.custom or {}
    if not values:
        return []
    fields = [field for field in custom_fields_cached(tenant=contact.tenant)
              if not _is_empty(values.get(field.key))]  # fmt: skip
    member_ids = [values[f.key] for f in fields
                  if f.kind == Kind.MEMBER and isinstance(values[f.key], int)]  # fmt: skip
    names = {}
    if member_ids:
        members = Membership.objects.for_tenant(contact.tenant).filter(pk__in=member_ids)
        names = {m.pk: m.display_name for m in members.select_related("user")}
    details = []
    for field in fields:
        text = value_display(field, values[field.key], member_names=names)
        link = field.kind == Kind.URL and text.startswith(("https://", "http://"))
        details.append(CustomDetail(field.label, text, field.kind, text if link else ""))
    return details


# --- filters -------------------------------------------------------------------------------

# The list's parameters for a field: cf_<key> (equals; for a multiple choice, holds the
# option), cf_<key>__min / __max (a range, for numbers, money and dates), cf_<key>__empty=1
# (no value) or =0 (any value).
FILTER_PARAM = re.compile(r"^cf_([a-z][a-z0-9_]{0,39}?)(?:__(min|max|empty))?$")
OPS = ("eq", "min", "max", "empty")


@dataclass(frozen=True, slots=True)
class CustomCondition:
    key: str
    op: str  # one of OPS
    value: str  # as written in the address; "1"/"0" for empty


def conditions_from_params(params: Mapping[str, Any]) -> tuple[CustomCondition, ...]:
    """The custom-field conditions in a querystring (a QueryDict or a dict), in a stable order;
    their values are checked against each field's kind when the filter runs."""
    found = []
    for name in sorted(params):
        match = FILTER_PARAM.match(name)
        if match is None:
            continue
        value = params.get(name)
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else ""
        value = str(value or "").strip()[:MAX_TEXT]
        if value:
            found.append(CustomCondition(match[1], match[2] or "eq", value))
    return tuple(found)


def condition_params(condition: CustomCondition) -> tuple[str, str]:
    """The querystring parameter (name, value) that writes `condition`."""
    suffix = "" if condition.op == "eq" else f"__{condition.op}"
    return f"cf_{condition.key}{suffix}", condition.value


def conditions_q(
    *,
    tenant: Tenant,
    conditions: Iterable[CustomCondition],
    fields: Iterable[CustomField],
    seek_rare: bool = False,
) -> tuple[Q, list[CustomCondition]]:
    """The contacts the conditions let through (one EXISTS each on ContactCustomValue, which
    an index of (tenant, field, value) answers; a range's two ends in one, so the index reads
    only the range), and the conditions that could not apply: an unknown field, a value its
    kind cannot read, a range on a field that has none. `seek_rare` (the list's pages): a value
    or range at most RARE contacts hold is read first, as ids, which the page then seeks (two
    queries each), rather than walking the list's order until a page of them is found."""
    by_key = {field.key: field for field in fields}
    matched, ignored = Q(), []
    ranges: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        field = by_key.get(condition.key)
        if field is not None and condition.op in ("min", "max"):
            bound = _range_bound(field, condition)
            if bound is not None:
                ranges.setdefault(field.key, {}).update(bound)
                continue
            ignored.append(condition)
            continue
        typed = _condition_lookup(field, condition) if field is not None else None
        if typed is None:
            ignored.append(condition)
        else:
            held = _held_q(tenant, field, typed, seek_rare=seek_rare)
            matched &= ~held if condition.op == "empty" and condition.value == "1" else held
    for key, bounds in ranges.items():
        matched &= _held_q(tenant, by_key[key], _ends_in_order(bounds), seek_rare=seek_rare)
    return matched, ignored


def _ends_in_order(bounds: dict[str, Any]) -> dict[str, Any]:
    """A range typed the wrong way round (生日 from 2016-01-01 to 2015-01-01) read as the range
    the marketer meant, between the two: no contact can be in it as typed."""
    low, high = ([k for k in bounds if k.endswith(end)] for end in ("__gte", "__lte"))
    if low and high and bounds[low[0]] > bounds[high[0]]:
        return {low[0]: bounds[high[0]], high[0]: bounds[low[0]]}
    return bounds


# A value (or range) at most this many contacts hold is found by their ids first: the list's
# newest-first walk would read ~600,000 ÷ held rows per page (bench_custom_fields)
RARE = 5000


def _held_q(tenant: Tenant, field: CustomField, lookup: dict, *, seek_rare: bool) -> Q:
    """The contacts holding a value of `field` that `lookup` matches ({} for any value)."""
    if seek_rare and lookup:
        holders = ContactCustomValue.objects.for_tenant(tenant).filter(field_id=field.pk, **lookup)
        # counted from the index first (up to RARE + 1, nothing sent back): a common value costs
        # the walk a millisecond more, not 5,000 ids read for nothing
        if holders[: RARE + 1].count() <= RARE:
            return Q(pk__in=list(holders.values_list("contact_id", flat=True)))
    return Q(Exists(_values_of(tenant, field).filter(**lookup)))


def _values_of(tenant: Tenant, field: CustomField):
    return ContactCustomValue.objects.for_tenant(tenant).filter(
        field_id=field.pk, contact_id=OuterRef("pk")
    )


def _range_bound(field: CustomField, condition: CustomCondition) -> dict | None:
    """{"value_date__gte": …} for one end of a range, None if the field has no range or the
    value is not of its kind."""
    if field.kind not in RANGE_KINDS:
        return None
    try:
        column, value = _typed(field, condition.value)
    except (ValueError, InvalidOperation, OverflowError):
        return None
    return {f"{column}__{'gte' if condition.op == 'min' else 'lte'}": value}


def _condition_lookup(field: CustomField, condition: CustomCondition) -> dict | None:
    """What an "equals" or "empty" condition asks of a field's values: {column: value}, {} for
    any value, or None when it cannot apply. "Is empty" is the negation, said by the caller."""
    if condition.op == "empty":
        return {} if condition.value in ("0", "1") else None
    if field.kind == Kind.LONG_TEXT:
        return None
    try:
        column, value = _typed(field, condition.value)
    except (ValueError, InvalidOperation, OverflowError):
        return None
    return {column: value}


def _typed(field: CustomField, raw: str) -> tuple[str, Any]:
    """Which column of ContactCustomValue a condition compares, and the value in its type."""
    if field.kind in (Kind.NUMBER, Kind.MONEY):
        return "value_number", float(_decimal(raw))
    if field.kind == Kind.DATE:
        return "value_date", date_parse(raw)
    if field.kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
        try:
            return "value_text", _option(field, raw)
        except ValidationError:
            raise ValueError(raw) from None
    if field.kind == Kind.MEMBER and not raw.isdigit():
        raise ValueError(raw)
    return "value_text", " ".join(raw.split())[:MAX_TEXT]


# --- the fields themselves (admins) ----------------------------------------------------------


def _require_editor(actor: Membership | None) -> None:
    if not can_edit_custom_fields(actor):
        raise CustomFieldError(_("Only admins may change the custom fields."))


def _key_for(tenant: Tenant, label: str) -> str:
    """A key from the first label: its pinyin or its words, lower case (生日 → shengri)."""
    words = "_".join(lazy_pinyin(label, errors="default"))
    base = slugify(words).replace("-", "_").strip("_")[:30] or "field"
    if not base[0].isalpha():
        base = f"f_{base}"[:30]
    taken = set(
        CustomField.objects.for_tenant(tenant)
        .filter(key__startswith=base)
        .values_list("key", flat=True)
    )
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}_{n}"
    return key


def _options_clean(kind: str, options: Iterable[str]) -> list[str]:
    if kind not in (Kind.CHOICE, Kind.MULTI_CHOICE):
        return []
    cleaned, seen = [], set()
    for option in options:
        option = " ".join(str(option).split())
        if option and option.casefold() not in seen:
            if len(option) > MAX_TEXT:
                raise CustomFieldError(
                    _("An option holds at most %(limit)d characters.") % {"limit": MAX_TEXT}
                )
            seen.add(option.casefold())
            cleaned.append(option)
    if not cleaned:
        raise CustomFieldError(_("A choice needs at least one option."))
    if len(cleaned) > MAX_OPTIONS:
        raise CustomFieldError(_("At most %(limit)d options.") % {"limit": MAX_OPTIONS})
    return cleaned


def _label_clean(tenant: Tenant, label: str, *, except_pk: int | None = None) -> str:
    label = " ".join(label.split())
    if not label:
        raise CustomFieldError(_("A field needs a name."))
    if len(label) > 60:
        raise CustomFieldError(_("A field's name holds at most 60 characters."))
    taken = CustomField.objects.for_tenant(tenant).filter(label__iexact=label)
    if except_pk is not None:
        taken = taken.exclude(pk=except_pk)
    if taken.exists():
        raise CustomFieldError(_("There is already a field named “%(label)s”.") % {"label": label})
    return label


def _lock_fields(tenant: Tenant) -> None:
    """Serialises changes to a company's fields (names and keys are unique within it)."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()


@transaction.atomic
def custom_field_create(
    *,
    tenant: Tenant,
    actor: Membership | None,
    label: str,
    kind: str,
    required: bool = False,
    options: Iterable[str] = (),
    help_text: str = "",
) -> CustomField:
    _require_editor(actor)
    if kind not in Kind.values:
        raise CustomFieldError(_("Choose a kind of field."))
    _lock_fields(tenant)
    fields = CustomField.objects.for_tenant(tenant)
    if fields.count() >= MAX_FIELDS:
        raise CustomFieldError(_("A company has at most %(limit)d fields.") % {"limit": MAX_FIELDS})
    label = _label_clean(tenant, label)
    last = fields.order_by("-position").values_list("position", flat=True).first()
    field = CustomField.objects.create(
        tenant=tenant, key=_key_for(tenant, label), label=label, kind=kind,
        required=required, options=_options_clean(kind, options),
        help_text=" ".join(help_text.split())[:200],
        position=0 if last is None else last + 1,
    )  # fmt: skip
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.CUSTOM_FIELD_ADDED,
                 subject=field.label, details={"key": field.key, "kind": field.kind})  # fmt: skip
    _fields_changed(tenant)
    return field


@transaction.atomic
def custom_field_update(
    *,
    field: CustomField,
    actor: Membership | None,
    label: str,
    required: bool,
    options: Iterable[str] = (),
    help_text: str = "",
) -> CustomField:
    """Renames a field or changes its options and hint; its key and kind never change. An
    option contacts hold cannot be removed (the message says how many hold it)."""
    _require_editor(actor)
    _lock_fields(field.tenant)
    label = _label_clean(field.tenant, label, except_pk=field.pk)
    new_options = _options_clean(field.kind, options)
    if field.is_choice:
        kept = {option.casefold() for option in new_options}
        for option in field.options:
            if option.casefold() in kept:
                continue
            holding = (
                ContactCustomValue.objects.for_tenant(field.tenant)
                .filter(field=field, value_text=option)
                .count()
            )
            if holding:
                raise CustomFieldError(
                    _("%(count)d contacts hold “%(option)s”: change their value first.")
                    % {"count": holding, "option": option}
                )
        # an option renamed only in case keeps the values' spelling in step
        renamed = {
            old: new for old in field.options for new in new_options
            if old != new and old.casefold() == new.casefold()
        }  # fmt: skip
        if renamed:
            raise CustomFieldError(
                _("Add the new spelling as another option instead of changing “%(option)s”.")
                % {"option": next(iter(renamed))}
            )
    before = field.label
    field.label = label
    field.required = required
    field.options = new_options
    field.help_text = " ".join(help_text.split())[:200]
    field.save(update_fields=["label", "required", "options", "help_text"])
    details = {"key": field.key, **({"from": before} if before != label else {})}
    audit_record(tenant=field.tenant, actor=actor, kind=AuditKind.CUSTOM_FIELD_CHANGED,
                 subject=field.label, details=details)  # fmt: skip
    _fields_changed(field.tenant)
    return field


@transaction.atomic
def custom_fields_reorder(*, tenant: Tenant, actor: Membership | None, keys: list[str]) -> None:
    """Puts the fields in the order of `keys` (fields not named keep theirs, after them)."""
    _require_editor(actor)
    _lock_fields(tenant)
    fields = custom_fields_of(tenant=tenant)
    order = {key: n for n, key in enumerate(keys)}
    ordered = sorted(fields, key=lambda f: (order.get(f.key, len(order)), f.position, f.pk))
    for position, field in enumerate(ordered):
        if field.position != position:
            field.position = position
            field.save(update_fields=["position"])
    _fields_changed(tenant)


@transaction.atomic
def custom_field_move(*, field: CustomField, actor: Membership | None, step: int) -> None:
    """Moves a field one place up (step -1) or down (+1) in the company's order; at either end
    it stays where it is."""
    _require_editor(actor)
    _lock_fields(field.tenant)
    keys = [each.key for each in custom_fields_of(tenant=field.tenant)]
    at = keys.index(field.key)
    to = min(max(at + step, 0), len(keys) - 1)
    keys.insert(to, keys.pop(at))
    custom_fields_reorder(tenant=field.tenant, actor=actor, keys=keys)


@transaction.atomic
def custom_field_delete(*, field: CustomField, actor: Membership | None) -> int:
    """Deletes a field and every contact's value of it; returns how many contacts held one."""
    _require_editor(actor)
    _lock_fields(field.tenant)
    tenant = field.tenant
    values = ContactCustomValue.objects.for_tenant(tenant).filter(field=field)
    holders = values.values("contact")
    held = holders.distinct().count()
    # the contacts' column first: the trigger rewrites their remaining values as it goes
    Contact.objects.for_tenant(tenant).filter(pk__in=holders).update(custom=_KeyRemoved(field.key))
    custom_values_changed(tenant=tenant)  # audiences with a condition on it: it can no longer apply
    values.delete()  # rows of values the app did not validate, if any
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.CUSTOM_FIELD_DELETED,
                 subject=field.label, count=held, details={"key": field.key})  # fmt: skip
    field.delete()
    _fields_changed(tenant)
    return held


class _KeyRemoved(Func):
    """`custom - 'key'`: the column without one key, as an update expression."""

    template = "%(expressions)s"
    arg_joiner = " - "
    output_field = JSONField()

    def __init__(self, key: str):
        super().__init__(F("custom"), Value(key))
