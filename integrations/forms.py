from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Membership
from crm.words import aside
from tagging.models import TagGroup

from .models import WebhookEvent


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("Where it is used, e.g. “Website form” or “WeChat shop”."),
    )
    membership = forms.ModelChoiceField(
        label=_("Acts as"),
        queryset=Membership.objects.none(),
        help_text=_("The token may do what this member's role allows."),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = Membership.objects.for_tenant(tenant).select_related(
            "user"
        )
        self.fields["membership"].label_from_instance = lambda m: (
            f"{m.display_name}{aside(m.get_role_display())}"
        )


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label=_("Address (URL)"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "Your system's address that receives the events, e.g. https://shop.example.com/funnel-hook"
        ),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)


class ApiSettingsForm(forms.Form):
    new_tag_group = forms.ModelChoiceField(
        label=_("Tags created over the API go into"),
        queryset=TagGroup.objects.none(),
        required=False,
        empty_label=_("— no group: unknown tags are refused —"),
        help_text=_(
            "When an integration tags a contact with a tag that does not exist yet and asks "
            "for it to be created (create_missing), the new tag goes into this group."
        ),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_tag_group"].queryset = TagGroup.objects.for_tenant(tenant)
