"""The company's own fields on the pages: the settings form that adds or changes one, a form
field per kind for the contact form, and the contact list's "More filters" controls. What a
value may be is said once, in crm.customfields; these only gather what people type."""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .customfields import MAX_LONG_TEXT, MAX_TEXT, RANGE_KINDS, CustomCondition, Kind
from .models import CustomField
from .selectors import MemberName

PREFIX = "cf_"  # a custom field's name in the contact form (cf_<key>), apart from built-in ones


# --- Settings → Custom fields ----------------------------------------------------------------


class CustomFieldForm(forms.Form):
    """Add a field (every box), or change one (`editing`: its kind is shown, never changed)."""

    label = forms.CharField(label=gettext_lazy("Field name"), max_length=60)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=[("", gettext_lazy("Choose a kind…")), *Kind.choices]
    )
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    options = forms.CharField(
        label=gettext_lazy("Options"), required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("For a single or multiple choice: one option per line."),
    )  # fmt: skip
    help_text = forms.CharField(
        label=gettext_lazy("Hint"), required=False, max_length=200,
        help_text=gettext_lazy("Shown under the field on the contact form."),
    )  # fmt: skip

    def __init__(self, *args, editing: CustomField | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing is not None:
            del self.fields["kind"]  # a field keeps its kind, and its key, for good
            if not editing.is_choice:
                del self.fields["options"]

    @staticmethod
    def initial_from(field: CustomField) -> dict:
        return {"label": field.label, "required": field.required,
                "options": "\n".join(field.options), "help_text": field.help_text}  # fmt: skip

    def service_kwargs(self) -> dict:
        """What custom_field_create / custom_field_update take."""
        data = dict(self.cleaned_data)
        data["options"] = [line for line in data.get("options", "").splitlines() if line.strip()]
        return data


# --- the contact form ----------------------------------------------------------------------


class DateOrTextInput(forms.DateInput):
    """A date picker; what someone typed that is not a date yet (2015/3/4 from a browser without
    one, or a mistake) is shown back as text, so nothing typed is lost."""

    input_type = "date"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if value and not self.is_date(value):
            context["widget"]["type"] = "text"
        return context

    @staticmethod
    def is_date(value) -> bool:
        """A date a date box shows as it is (2015-03-04, a real day): a browser empties the box
        of anything else, 2015-13-45 too."""
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return False
        return len(str(value)) == 10

    def format_value(self, value):
        return None if value in (None, "") else str(value)


class MultipleValuesField(forms.Field):
    """The options chosen of a multiple choice, as posted: checked by crm.customfields."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        if not value:
            return []
        return [str(item) for item in (value if isinstance(value, (list, tuple)) else [value])]


def contact_form_field(field: CustomField, members: Sequence[MemberName]) -> forms.Field:
    """The form field for a custom field, by kind. Its value goes to the service as typed:
    crm.customfields checks and converts it (the form only says what it refuses)."""
    common = {
        "label": field.label,
        "required": field.required,
        "help_text": field.help_text,
        "error_messages": {"required": _("%(field)s is required.") % {"field": field.label}},
    }
    kind = field.kind
    if kind == Kind.MULTI_CHOICE:
        # a searchable picker where static/js/pickers.js runs, a plain multi-select otherwise
        widget = forms.SelectMultiple(
            attrs={"data-picker": "", "size": min(len(field.options), 6)},
            choices=[(option, option) for option in field.options],
        )
        return MultipleValuesField(widget=widget, **common)
    if kind in (Kind.CHOICE, Kind.MEMBER):
        choices = ([(option, option) for option in field.options] if kind == Kind.CHOICE
                   else [(str(m.pk), m.display_name) for m in members])  # fmt: skip
        widget = forms.Select(choices=[("", "—"), *choices])
        return forms.CharField(widget=widget, **common)
    if kind == Kind.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_LONG_TEXT,
                               **common)  # fmt: skip
    if kind == Kind.DATE:
        return forms.CharField(widget=DateOrTextInput(), max_length=40, **common)
    if kind in (Kind.NUMBER, Kind.MONEY):
        attrs = {"inputmode": "decimal", "autocomplete": "off"}
        return forms.CharField(widget=forms.TextInput(attrs=attrs), max_length=40, **common)
    if kind == Kind.URL:
        attrs = {"type": "url", "inputmode": "url", "placeholder": "https://"}
        return forms.CharField(widget=forms.TextInput(attrs=attrs), max_length=MAX_TEXT, **common)
    return forms.CharField(max_length=MAX_TEXT, **common)


def contact_form_initial(field: CustomField, value) -> object:
    """A stored value as its form field shows it."""
    if value is None:
        return None
    if field.kind == Kind.MEMBER:
        return str(value)
    return value


# --- the contact list's "More filters" -----------------------------------------------------


@dataclass(frozen=True)
class FilterControl:
    """One field's controls on the list, with what the address chose."""

    field: CustomField
    name: str  # cf_<key>: the parameter of "equals"; __min, __max, __empty follow it
    equals: str
    low: str
    high: str
    empty: str  # "", "0" (has a value) or "1" (is empty)
    choices: list[tuple[str, str]]  # for a select of "equals"; none: a text box
    input_type: str  # of "equals" and the range's boxes: "text" or "date"

    @property
    def has_equals(self) -> bool:
        return self.field.kind != Kind.LONG_TEXT  # long text is found by the search box

    @property
    def has_range(self) -> bool:
        return self.field.kind in RANGE_KINDS

    @property
    def inputmode(self) -> str:
        return "decimal" if self.field.kind in (Kind.NUMBER, Kind.MONEY) else ""

    @property
    def active(self) -> bool:
        return bool(self.equals or self.low or self.high or self.empty)


def filter_controls(
    fields: Iterable[CustomField],
    conditions: Iterable[CustomCondition],
    members: Sequence[MemberName],
) -> list[FilterControl]:
    chosen = {(c.key, c.op): c.value for c in conditions}
    controls = []
    for field in fields:
        if field.kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
            choices = [(option, option) for option in field.options]
        elif field.kind == Kind.MEMBER:
            choices = [(str(m.pk), m.display_name) for m in members]
        else:
            choices = []
        controls.append(
            FilterControl(
                field=field,
                name=f"{PREFIX}{field.key}",
                equals=chosen.get((field.key, "eq"), ""),
                low=chosen.get((field.key, "min"), ""),
                high=chosen.get((field.key, "max"), ""),
                empty=chosen.get((field.key, "empty"), ""),
                choices=choices,
                input_type=_filter_input_type(field, chosen),
            )  # fmt: skip
        )
    return controls


def _filter_input_type(field: CustomField, chosen: dict) -> str:
    """A date field's boxes are date boxes, unless one holds what is not a date yet (the list
    says it left it out): a date box would show it empty."""
    if field.kind != Kind.DATE:
        return "text"
    typed = [chosen.get((field.key, op), "") for op in ("eq", "min", "max")]
    return "date" if all(not value or DateOrTextInput.is_date(value) for value in typed) else "text"


def condition_text(condition: CustomCondition, fields: Iterable[CustomField]) -> str:
    """A condition as the reader would write it: 校区 = 闵行, 生日 ≥ 明天, 年级 is empty."""
    field = next((f for f in fields if f.key == condition.key), None)
    name = field.label if field is not None else condition.key
    if condition.op == "empty":
        said = {"1": _("is empty"), "0": _("has a value")}.get(condition.value)
        return f"{name} {said}" if said else f"{name} {condition.value}"
    sign = {"eq": "=", "min": "≥", "max": "≤"}[condition.op]
    return f"{name} {sign} {condition.value}"
