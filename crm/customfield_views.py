"""Settings → Custom fields (admins): the company's own fields in order, with how many contacts
hold a value of each; add one, rename or change one (its key and kind stay), move it up or down,
delete it after a page that says what goes with it. crm.customfields holds the rules."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from . import customfields
from .access import access_custom_field
from .customfield_forms import CustomFieldForm
from .customfields import CustomFieldError
from .http import tenant_url
from .permissions import can_edit_custom_fields, permission_required


def _fields_page(request, *, form=None, editing=None, status=200):
    tenant = request.tenant
    fields = customfields.custom_fields_of(tenant=tenant)
    usage = customfields.custom_fields_usage(tenant=tenant)
    context = {
        "rows": [(field, usage.get(field.pk, 0)) for field in fields],
        "form": form or CustomFieldForm(editing=editing),
        "editing": editing,
    }
    return render(request, "crm/custom_field_list.html", context, status=status)


def _saved(request, form: CustomFieldForm, save) -> bool:
    """Runs `save` with the form's values; a refusal goes on the form (what was typed stays)."""
    if not form.is_valid():
        return False
    try:
        save(**form.service_kwargs())
    except (CustomFieldError, ValidationError) as error:
        form.add_error(None, getattr(error, "message", None) or " ".join(error.messages))
        return False
    return True


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_custom_fields)
def custom_field_list(request):
    if request.method == "GET":
        return _fields_page(request)
    form = CustomFieldForm(request.POST)

    def create(**values):
        field = customfields.custom_field_create(
            tenant=request.tenant, actor=request.membership, **values
        )
        messages.success(
            request,
            _("Field “%(name)s” added. Imports and the API name it “%(key)s”.")
            % {"name": field.label, "key": field.key},
        )

    if _saved(request, form, create):
        return redirect(tenant_url(request, "custom_field_list"))
    return _fields_page(request, form=form, status=422)


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_custom_fields)
def custom_field_edit(request, field_id: int):
    field = access_custom_field(request.membership, field_id)
    if request.method == "GET":
        form = CustomFieldForm(initial=CustomFieldForm.initial_from(field), editing=field)
        return _fields_page(request, form=form, editing=field)
    form = CustomFieldForm(request.POST, editing=field)

    def update(**values):
        customfields.custom_field_update(field=field, actor=request.membership, **values)
        messages.success(request, _("Field “%(name)s” saved.") % {"name": field.label})

    if _saved(request, form, update):
        return redirect(tenant_url(request, "custom_field_list"))
    return _fields_page(request, form=form, editing=field, status=422)


@require_POST
@permission_required(can_edit_custom_fields)
def custom_field_move(request, field_id: int):
    field = access_custom_field(request.membership, field_id)
    step = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if step is not None:
        customfields.custom_field_move(field=field, actor=request.membership, step=step)
    return redirect(tenant_url(request, "custom_field_list"))


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_custom_fields)
def custom_field_delete(request, field_id: int):
    field = access_custom_field(request.membership, field_id)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        held = customfields.custom_field_delete(field=field, actor=request.membership)
        text = ngettext(
            "Field “%(name)s” deleted, with the values %(count)s contact held.",
            "Field “%(name)s” deleted, with the values %(count)s contacts held.",
            held,
        )
        messages.success(request, text % {"name": field.label, "count": held})
        return redirect(tenant_url(request, "custom_field_list"))
    held = customfields.custom_field_usage(field=field)
    return render(request, "crm/custom_field_delete.html", {"field": field, "held": held})
