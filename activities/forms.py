from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ActivityKind

# what a call or a chat most often ends with: offered, never required
OUTCOMES = (
    _("Reached"), _("No answer"), _("Interested"), _("Not interested"), _("Call back later"),
    _("Booked a trial"), _("Sent the price list"),
)  # fmt: skip


class ActivityForm(forms.Form):
    prefix = "activity"  # the event form beside it has a kind and a time too

    kind = forms.ChoiceField(
        label=_("Kind"), choices=ActivityKind.choices, initial=ActivityKind.CALL,
        widget=forms.RadioSelect,
    )  # fmt: skip
    text = forms.CharField(
        label=_("What was said or done"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    outcome = forms.CharField(
        label=_("Outcome"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"list": "activity-outcomes", "autocomplete": "off"}),
    )  # fmt: skip
    occurred_at = forms.DateTimeField(
        label=_("When"), required=False, input_formats=["%Y-%m-%dT%H:%M"],
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        if not (data.get("text", "").strip() or data.get("outcome", "").strip()):
            raise forms.ValidationError(_("Write what was said or done, or its outcome."))
        return data
