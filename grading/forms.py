from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import GradingSettings


class TierForm(forms.Form):
    name = forms.CharField(
        label=_("Tier name"), max_length=40, widget=forms.TextInput(attrs={"placeholder": "金卡"})
    )
    threshold = forms.DecimalField(
        label=_("Paid at least (¥)"), min_value=Decimal("0"), max_digits=12, decimal_places=2,
        help_text=_("A customer holds the highest tier their payments reach."),
    )  # fmt: skip
    entitlements = forms.CharField(
        label=_("Entitlements"), max_length=300, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. a free birthday class")}),
    )  # fmt: skip
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), min_value=Decimal("0"), max_value=Decimal("100"),
        max_digits=5, decimal_places=2, initial=Decimal("0"),
    )  # fmt: skip
    included_sessions = forms.IntegerField(
        label=_("Included sessions"), min_value=0, max_value=10000, initial=0
    )


class GradingSettingsForm(forms.ModelForm):
    class Meta:
        model = GradingSettings
        fields = ["window_days", "new_days", "loyal_payments", "at_risk_days", "churned_days"]
        help_texts = {
            "window_days": _("Empty: every payment the customer ever made counts."),
            "at_risk_days": _(
                "A customer who did something before turns at risk after this "
                "long without a payment or an event."
            ),  # fmt: skip
        }
