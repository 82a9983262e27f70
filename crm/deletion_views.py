"""Settings → Company → Delete the company: the last admin's way out (crm/deletion.py)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from . import selectors
from .deletion import company_deletion_check, company_deletion_request
from .models import Contact
from .permissions import can_edit_company_settings, permission_required
from .services import NotAllowed, ServiceError


class CompanyDeleteForm(forms.Form):
    confirmation = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirmation"].label = _("Type the company's name, “%(name)s”, to confirm") % {
            "name": name
        }


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_company_settings)
def company_delete(request):
    tenant, member = request.tenant, request.membership
    try:
        company_deletion_check(tenant=tenant, actor=member)
        refusal = ""
    except NotAllowed as error:
        refusal = error.message
    form = CompanyDeleteForm(request.POST or None, name=tenant.name)
    if request.method == "POST":
        if refusal:
            raise PermissionDenied(refusal)
        if form.is_valid():
            try:
                company_deletion_request(
                    tenant=tenant, actor=member, confirmation=form.cleaned_data["confirmation"]
                )
            except ServiceError as error:
                form.add_error("confirmation", error.message)
            else:
                return _after_request(request, tenant.name)
    context = {
        "form": form,
        "refusal": refusal,
        "contacts": Contact.objects.for_tenant(tenant).count(),
        "members": selectors.member_list(tenant=tenant).count(),
    }
    return render(request, "crm/company_delete.html", context)


def _after_request(request, name: str):
    """Whoever still belongs to another company goes there; else they are signed out (their
    account goes with the company)."""
    if selectors.memberships_of_user(user=request.user).exists():
        messages.success(
            request,
            _("“%(name)s” is being deleted with everything it stored.") % {"name": name},
        )
        return redirect("home")
    logout(request)
    return redirect("company_deleted")


@require_GET
def company_deleted(request):
    return render(request, "crm/company_deleted.html")
