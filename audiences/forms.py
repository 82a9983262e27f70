from django import forms
from django.utils.translation import gettext_lazy as _

from crm.consent import REQUIRED_WORDS
from crm.customfield_forms import filter_controls
from crm.customfields import condition_params, conditions_from_params, custom_fields_of
from crm.models import CustomField
from crm.selectors import member_names
from crm.widgets import PickerSelectMultiple
from grading.selectors import tiers_of
from lifecycle.stages import Stage
from tagging.selectors import tag_choices


class AudienceForm(forms.Form):
    name = forms.CharField(label=_("Name of the audience"), max_length=100)
    gate = forms.ChoiceField(
        label=_("Stage gate"),
        choices=[("at_or_past", _("At or past a stage")), ("exact", _("Exactly these stages"))],
        widget=forms.RadioSelect,
        initial="at_or_past",
    )
    stages = forms.MultipleChoiceField(
        label=_("Stages"),
        choices=Stage.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("“At or past”: tick one stage. “Exactly”: tick each stage you want."),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Active or lost")), ("active", _("Active")), ("lost", _("Lost"))],
        initial="active",
    )
    tag_any = forms.TypedMultipleChoiceField(
        label=_("Any of these tags"), coerce=int, required=False, widget=PickerSelectMultiple
    )
    tag_all = forms.TypedMultipleChoiceField(
        label=_("All of these tags"), coerce=int, required=False, widget=PickerSelectMultiple
    )
    tag_none = forms.TypedMultipleChoiceField(
        label=_("None of these tags"), coerce=int, required=False, widget=PickerSelectMultiple
    )

    tier_at_least = forms.TypedChoiceField(
        label=_("Tier at least"), coerce=int, required=False, empty_value=None,
        help_text=_("Only customers of this tier or a higher one."),
    )  # fmt: skip

    consent_channel = forms.ChoiceField(
        label=_("Consent"), required=False,
        help_text=_("Leaves out everyone who has not agreed to be contacted on that channel, "
                    "or has withdrawn."),
    )  # fmt: skip

    def __init__(self, *args, tenant, stage_labels: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent_channel"].choices = [
            ("", _("Anyone, whatever their consent")),
            *REQUIRED_WORDS.items(),
        ]
        self.fields["stages"].choices = list(stage_labels.items())
        tiers = tiers_of(tenant=tenant)
        if tiers:
            self.fields["tier_at_least"].choices = [
                ("", _("Any tier, or none")),
                *((t.pk, t.name) for t in tiers),
            ]
        else:  # a company without tiers is not asked
            del self.fields["tier_at_least"]
        choices = tag_choices(tenant=tenant)
        for name in ("tag_any", "tag_all", "tag_none"):
            self.fields[name].choices = choices
        self.tenant = tenant
        self.custom_fields = custom_fields_of(tenant=tenant)

    def custom_conditions(self):
        """The conditions on the company's own fields: those typed (the list's cf_<key>
        boxes), or the audience's own."""
        source = self.data if self.is_bound else (self.initial.get("custom") or {})
        return conditions_from_params(source)

    @property
    def custom_controls(self):
        """Each field's boxes, as the contact list's "More filters" shows them."""
        if not self.custom_fields:
            return []
        members = []
        if any(field.kind == CustomField.Kind.MEMBER for field in self.custom_fields):
            members = member_names(tenant=self.tenant)
        return filter_controls(self.custom_fields, self.custom_conditions(), members)

    def clean(self):
        cleaned = super().clean()
        # checked by the service, which names a condition that cannot apply
        cleaned["custom"] = dict(condition_params(c) for c in self.custom_conditions())
        return cleaned


class FreezeForm(forms.Form):
    name = forms.CharField(label=_("Name of the list"), max_length=100)
