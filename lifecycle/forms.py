from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import ContactFilterForm, ContactForm

from .stages import REQUIREMENTS, LostReason, Stage


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("Move to"), choices=Stage.choices)
    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class LostForm(forms.Form):
    lost_reason = forms.ChoiceField(label=_("Why lost"), choices=LostReason.choices)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)


class ReopenForm(forms.Form):
    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
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
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": _("A colour looks like #2e90fa.")},
    )
    requirements = forms.MultipleChoiceField(
        label=_("Required to enter"),
        choices=[(key, label) for key, (label, _f, _m) in REQUIREMENTS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
