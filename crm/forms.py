import datetime
import re

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lifecycle.stages import Stage, Status

from .columns import columns_from_params
from .customfield_forms import PREFIX, contact_form_field, contact_form_initial
from .customfields import conditions_from_params, custom_fields_of, values_clean
from .models import CONTACT_FIELDS, LANGUAGE_CHOICES, AuditKind, Membership, Role, Tenant
from .normalize import PhoneError, normalize_email, normalize_phone, normalize_wechat_id
from .selectors import (
    CONTACT_SORTS,
    DEFAULT_CONTACT_SORT,
    ContactFilters,
    member_list,
    member_names,
)
from .services import ContactData, DuplicateContactError
from .timezones import time_zone_choices


def add_duplicate_errors(form, error: DuplicateContactError, *, tenant: Tenant) -> None:
    """Puts "already used by <that contact>" on each field that clashes, with a link to it."""
    for field, contact in error.duplicates.items():
        url = reverse("contact_detail", args=[tenant.slug, contact.pk])
        link = format_html('<a href="{}">{}</a>', url, contact.name)
        message = format_html(gettext("Already used by {contact}."), contact=link)
        form.add_error(field if field in form.fields else None, message)
    if not error.duplicates:
        form.add_error(None, error.message)


WECHAT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ChannelEmailField(forms.EmailField):
    """Normalised before it is validated: a full-width address (ＡＢＣ@ＱＱ.ＣＯＭ) is accepted."""

    def to_python(self, value):
        return normalize_email(super().to_python(value))


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return obj.display_name


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = ChannelEmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    wechat_id = forms.CharField(label=_("WeChat ID"), max_length=64, required=False)
    weibo = forms.CharField(label=_("Weibo"), max_length=64, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    owner = MemberChoiceField(label=_("Owner"), queryset=Membership.objects.none(), required=False)
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    expected_amount = forms.DecimalField(
        label=_("Expected amount (¥)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
    )
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["owner"].queryset = member_list(tenant=tenant)
        # the company's own fields, after the built-in ones (cf_<key>)
        self.custom_fields = custom_fields_of(tenant=tenant)
        members = []
        if any(field.kind == field.Kind.MEMBER for field in self.custom_fields):
            members = member_names(tenant=tenant)
        custom = self.initial.get("custom") or {}
        for field in self.custom_fields:
            name = f"{PREFIX}{field.key}"
            self.fields[name] = contact_form_field(field, members)
            self.initial.setdefault(name, contact_form_initial(field, custom.get(field.key)))

    def clean(self):
        """Each custom value checked as the service will check it, its message under it."""
        cleaned = super().clean()
        if not self.custom_fields or not any(name.startswith(PREFIX) for name in self.fields):
            return cleaned  # a form that asks none (a move's missing fields)
        given = self._custom_given()
        try:
            values_clean(tenant=self.tenant, fields=self.custom_fields, given=given)
        except forms.ValidationError as exc:
            for key, messages in exc.message_dict.items():
                name = f"{PREFIX}{key}"
                if name in self.fields and name not in self.errors:
                    self.add_error(name, messages)
        return cleaned

    def _custom_given(self) -> dict:
        """The custom values typed, by field key: the fields on the form (each of the company's),
        less those already refused."""
        return {field.key: self.cleaned_data[f"{PREFIX}{field.key}"]
                for field in self.custom_fields
                if f"{PREFIX}{field.key}" in self.cleaned_data}  # fmt: skip

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("A contact needs a name."))
        return name

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except PhoneError as error:
            raise forms.ValidationError(error.message, code=error.code) from None

    def clean_wechat_id(self) -> str:
        value = normalize_wechat_id(self.cleaned_data["wechat_id"])
        if value and not WECHAT_ID.match(value):
            raise forms.ValidationError(
                _("A WeChat ID has letters, digits, underscores and hyphens only.")
            )
        return value

    def contact_data(self) -> ContactData:
        built_in = {name: value for name, value in self.cleaned_data.items()
                    if not name.startswith(PREFIX)}  # fmt: skip
        # the form holds every custom field: keys of fields added since stay as they are
        return ContactData(**built_in, custom=self._custom_given())

    @classmethod
    def initial_from(cls, contact) -> dict:
        return {
            **{name: getattr(contact, name) for name in CONTACT_FIELDS},
            "owner": contact.owner_id,
            "expected_amount": contact.expected_amount,
            "custom": contact.custom or {},  # each field's box is filled from it
        }


class ContactFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.CharField(label=_("Owner"), required=False)
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("Any stage")), *Stage.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Status.choices]
    )
    tag_any = forms.TypedMultipleChoiceField(
        label=_("Any of these tags"), coerce=int, required=False
    )
    tag_all = forms.TypedMultipleChoiceField(
        label=_("All of these tags"), coerce=int, required=False
    )
    tag_none = forms.TypedMultipleChoiceField(
        label=_("None of these tags"), coerce=int, required=False
    )
    # grading's: a tier id or "none", an activity status key; checked where the filter runs
    tier = forms.RegexField(label=_("Tier"), regex=r"^(\d{1,18}\+?|none)$", required=False)
    activity = forms.SlugField(label=_("Activity status"), max_length=10, required=False)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-created", _("Newest first")),
            ("created", _("Oldest first")),
            ("-updated", _("Recently updated")),
            ("name", _("Name A→Z")),
            ("-name", _("Name Z→A")),
            ("-stage_since", _("Newest in stage")),
            ("stage_since", _("Longest in stage")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("tag_any", "tag_all", "tag_none"):
            # Tag ids are scoped by the tenant when the filter runs; here they need only be ids.
            self.fields[name].valid_value = lambda value: str(value).isdigit()
        # A stage is a key, or the company's label or an alias (lifecycle resolves it).
        self.fields["stage"].valid_value = lambda value: len(str(value)) <= 40

    def filters(self) -> ContactFilters:
        if not self.is_valid():
            return ContactFilters()
        sort = self.cleaned_data.get("sort") or DEFAULT_CONTACT_SORT
        return ContactFilters(
            q=self.cleaned_data.get("q", ""),
            owner=self.cleaned_data.get("owner", ""),
            stage=self.cleaned_data.get("stage", ""),
            status=self.cleaned_data.get("status", ""),
            tag_any=tuple(self.cleaned_data.get("tag_any") or ()),
            tag_all=tuple(self.cleaned_data.get("tag_all") or ()),
            tag_none=tuple(self.cleaned_data.get("tag_none") or ()),
            tier=self.cleaned_data.get("tier", ""),
            activity=self.cleaned_data.get("activity", ""),
            custom=conditions_from_params(self.data),
            columns=columns_from_params(self.data),
            sort=sort if sort in CONTACT_SORTS else DEFAULT_CONTACT_SORT,
        )


class MemberAddForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    # No default: an admin is never made by leaving the field as it was.
    role = forms.ChoiceField(label=_("Role"), choices=[("", _("Choose a role…")), *Role.choices])
    email = forms.EmailField(label=_("Email"), required=False)
    password = forms.CharField(
        label=_("First password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Optional, only used when the username is new; they must replace it when they first "
            "log in. Without it, the link lets them choose their own."
        ),
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TenantSettingsForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    time_zone = forms.ChoiceField(label=_("Time zone"))
    default_language = forms.ChoiceField(label=_("Default language"), choices=LANGUAGE_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.initial.get("time_zone", "")
        self.fields["time_zone"].choices = time_zone_choices(current=current)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=LANGUAGE_CHOICES)
    next = forms.CharField(required=False)


class AuditFilterForm(forms.Form):
    """The audit page's filters: who, what kind, which days (in the company's time zone)."""

    actor = forms.TypedChoiceField(label=_("Who"), required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label=_("What"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
    )
    until = forms.DateField(
        label=_("To (inclusive)"), required=False, widget=forms.DateInput({"type": "date"})
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("Anyone"))] + [
            (m.pk, m.display_name) for m in members
        ]
        self.fields["kind"].choices = [("", _("Anything"))] + list(AuditKind.choices)

    def filters(self) -> dict:
        """What the selector takes; an invalid filter is left out rather than failing the page."""
        if not self.is_valid():
            return {}
        data, zone = self.cleaned_data, timezone.get_current_timezone()
        day = datetime.time()
        return {
            "actor_id": data.get("actor"),
            "kind": data.get("kind") or "",
            "since": data["since"] and datetime.datetime.combine(data["since"], day, zone),
            "until": data["until"]
            and datetime.datetime.combine(data["until"] + datetime.timedelta(days=1), day, zone),
        }


# --- saved views (crm/savedviews.py) ----------------------------------------------------------


class SavedViewForm(forms.Form):
    """Save the list's state as a view, or rename one. `params` is the list's state the page
    carried (a query string); the view re-reads it through the list's filter form."""

    name = forms.CharField(label=_("Name of the view"), max_length=80)
    shared = forms.BooleanField(label=_("Share with the company"), required=False)
    params = forms.CharField(required=False, max_length=8000, widget=forms.HiddenInput)
