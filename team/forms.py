from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from crm.models import Tenant
from crm.words import labelled

from .selectors import DEFAULT_DAYS, MAX_DAYS, Period, company_today


class PeriodForm(forms.Form):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD, whole days in the company's time zone. Either may be left
    out: the period then ends today, and lasts DEFAULT_DAYS days."""

    def __init__(self, data, *, tenant: Tenant):
        super().__init__(data)
        self.tenant = tenant
        self.today = company_today(tenant=tenant)
        # "from" is a keyword in Python: the fields are named in the address's words here
        # (the page writes the two date inputs out itself)
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, input_formats=["%Y-%m-%d"]
        )
        self.fields["to"] = forms.DateField(
            label=pgettext_lazy("the end of a period", "To"), required=False,
            input_formats=["%Y-%m-%d"],
        )  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        until: date = cleaned.get("to") or self.today
        since: date = cleaned.get("from") or until - timedelta(days=DEFAULT_DAYS - 1)
        if until > self.today:
            raise forms.ValidationError(_("The period cannot end after today."))
        if since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        if (until - since).days + 1 > MAX_DAYS:
            raise forms.ValidationError(
                ngettext(
                    "Choose a period of at most %(days)s day.",
                    "Choose a period of at most %(days)s days.",
                    MAX_DAYS,
                )
                % {"days": MAX_DAYS}
            )
        cleaned["period"] = Period.of(self.tenant, since, until)
        return cleaned

    @property
    def period(self) -> Period:
        return self.cleaned_data["period"]

    def messages(self) -> list[str]:
        """What was wrong, each with the field it is about."""
        found = [labelled(self.fields[name].label, error)
                 for name in ("from", "to") for error in self.errors.get(name, [])]  # fmt: skip
        return found + list(self.non_field_errors())

    def shown(self) -> dict:
        """The dates the form shows: what was typed, else the period it defaults to."""
        if self.is_bound and not self.is_valid():
            return {name: self.data.get(name, "") for name in ("from", "to")}
        return {"from": self.period.since.isoformat(), "to": self.period.until.isoformat()}
