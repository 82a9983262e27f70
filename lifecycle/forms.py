from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import ContactFilterForm, ContactForm
from crm.models import Membership
from crm.selectors import member_list, tag_choices
from crm.widgets import ColourInput

from .stages import REQUIREMENTS, LostReason, Stage

NO_VERSION = _(
    "This page did not say which version of the contact you saw. Nothing was changed: "
    "reload the page and try again."
)


class SeenVersionForm(forms.Form):
    """A page form that moves a contact: it carries the contact's stage_version as the user saw
    it, so a move based on an out-of-date page is refused instead of applied (the service
    checks it under the row lock). Without it (an old page, a hand-made request) nothing moves."""

    version = forms.IntegerField(
        min_value=0,
        widget=forms.HiddenInput,
        error_messages={"required": NO_VERSION, "invalid": NO_VERSION, "min_value": NO_VERSION},
    )

    def refusal(self, otherwise: str) -> str:
        """What to tell the user when the form is invalid."""
        if "version" in self.errors:
            return self.errors["version"][0]
        return otherwise


class MoveForm(SeenVersionForm):
    to_stage = forms.ChoiceField(label=_("Move to"), choices=Stage.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class LostForm(SeenVersionForm):
    lost_reason = forms.ChoiceField(label=_("Why lost"), choices=LostReason.choices)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class ReopenForm(SeenVersionForm):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class CompleteMoveForm(ContactForm):
    """What a move still needs, asked in place: the fields a stage requires, and/or a reason."""

    reason = forms.CharField(label=_("Reason for moving back"), max_length=500, required=False)

    def __init__(self, *args, tenant, missing: list[str], needs_reason: bool, **kwargs):
        super().__init__(*args, tenant=tenant, **kwargs)
        self.missing = missing
        wanted = {name for key in missing for name in REQUIREMENTS[key][1]}
        if needs_reason:
            wanted.add("reason")
            self.fields["reason"].required = True
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]
        for key in missing:
            _label, names, mode = REQUIREMENTS[key]
            if mode == "all":
                for name in names:
                    self.fields[name].required = True

    def clean_name(self):  # the name is not asked here
        return ""

    def clean(self):
        cleaned = super().clean()
        for key in self.missing:
            label, names, mode = REQUIREMENTS[key]
            if mode == "any" and not any(cleaned.get(name) for name in names):
                raise forms.ValidationError(_("Fill in at least one: %(what)s.") % {"what": label})
        return cleaned

    def fill_values(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "reason" and v not in (None, "")}


class BulkForm(ContactFilterForm):
    ACTIONS = [("move", _("Move to stage")), ("lost", _("Mark lost"))]
    action = forms.ChoiceField(choices=ACTIONS)
    scope = forms.ChoiceField(choices=[("selected", "selected"), ("all", "all")], required=False)
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    to_stage = forms.ChoiceField(label=_("Move to"), choices=Stage.choices, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    lost_reason = forms.ChoiceField(
        label=_("Why lost"), choices=[("", "—"), *LostReason.choices], required=False
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are checked against the tenant by the service's scoping, not by a choice list.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") != "all" and not cleaned.get("ids"):
            raise forms.ValidationError(_("Select some contacts first."))
        if cleaned.get("action") == "move" and not cleaned.get("to_stage"):
            raise forms.ValidationError(_("Choose the stage to move them to."))
        if cleaned.get("action") == "lost" and not cleaned.get("lost_reason"):
            raise forms.ValidationError(_("Choose why the contacts were lost."))
        return cleaned


class StageSettingForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=40, required=False)
    entry_criteria = forms.CharField(
        label=_("Entry criteria"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    colour = forms.RegexField(
        label=_("Colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        required=False,
        widget=ColourInput,
        error_messages={"invalid": _("A colour looks like #2e90fa.")},
    )
    requirements = forms.MultipleChoiceField(
        label=_("Required to enter"),
        choices=[(key, label) for key, (label, _f, _m) in REQUIREMENTS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class StageAliasForm(forms.Form):
    name = forms.CharField(label=_("Alias"), max_length=40)


class DashboardFilterForm(forms.Form):
    """Narrows the dashboard to one owner, one tag or contacts created between two dates."""

    owner = forms.ChoiceField(label=_("Owner"), required=False)
    tag = forms.TypedChoiceField(label=_("Tag"), required=False, coerce=int, empty_value=None)
    since = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        members = [(str(m.pk), m.display_name) for m in member_list(tenant=tenant)]
        self.fields["owner"].choices = [("", _("Everyone")), ("me", _("Me")), *members]
        self.fields["tag"].choices = [("", _("Any tag")), *tag_choices(tenant=tenant)]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["since"] > cleaned["until"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned

    def narrowing(self, *, viewer) -> dict:
        data = self.cleaned_data
        owner = None
        if data.get("owner") == "me":
            owner = viewer
        elif data.get("owner"):
            owner = Membership.objects.for_tenant(viewer.tenant).filter(pk=data["owner"]).first()
        return {
            "owner": owner,
            "tag_id": data.get("tag"),
            "since": data.get("since"),
            "until": data.get("until"),
        }
