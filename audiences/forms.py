from django import forms
from django.utils.translation import gettext_lazy as _

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

    def __init__(self, *args, tenant, stage_labels: dict, **kwargs):
        super().__init__(*args, **kwargs)
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


class FreezeForm(forms.Form):
    name = forms.CharField(label=_("Name of the list"), max_length=100)
