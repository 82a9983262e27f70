from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import MemberChoiceField
from crm.models import Membership, Tenant
from crm.selectors import member_list


class ImportOwnerForm(forms.Form):
    """The mapping step's one owner for every row: a member of this company, or none."""

    owner = MemberChoiceField(
        label=_("Owner of the contacts"),
        queryset=Membership.objects.none(),
        required=False,
        empty_label=_("No owner"),
        error_messages={"invalid_choice": _("Choose a member of this company as the owner.")},
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = member_list(tenant=tenant)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet"),
        help_text=_(
            "Excel .xlsx, or CSV or text as Excel saves it (UTF-8, GBK or Unicode text), up to"
            " 20 MB."
        ),
    )
