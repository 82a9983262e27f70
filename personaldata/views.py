"""An access request answered from the contact page: Personal data → the page, or its JSON."""

import json
from datetime import datetime
from decimal import Decimal

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.access import access_contact
from crm.http import tenant_url
from crm.permissions import can_answer_data_requests, permission_required
from crm.services import ServiceError

from . import services
from .erasure import contact_erase, import_holding
from .selectors import COLUMNS, Part, personal_data_document


def _cell(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return date_format(localtime(value), "DATETIME_FORMAT")
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    return str(value)


# Parts of one record, shown as its facts one under the other rather than a row of a table
RECORDS = {"contact", "grade"}


def _table(part: Part) -> dict:
    """A part as the page shows it: its columns (in the reader's words) and rows of text; a
    part of one record, as its facts (label, value) one under the other."""
    keys = list(dict.fromkeys(key for row in part.rows for key in row))
    columns = [COLUMNS.get(key, key) for key in keys]
    rows = [[_cell(row.get(key)) for key in keys] for row in part.rows]
    facts = list(zip(columns, rows[0], strict=True)) if part.key in RECORDS and rows else []
    return {"key": part.key, "title": part.title, "columns": columns, "rows": rows,
            "facts": facts}  # fmt: skip


@require_GET
@permission_required(can_answer_data_requests)
def contact_data(request, contact_id: int):
    """Everything held about the contact, readable, with the JSON to download beside it."""
    contact = access_contact(request.membership, contact_id)
    parts = services.contact_data_export(
        contact=contact, actor=request.membership, form=services.PAGE
    )
    context = {"contact": contact, "tables": [_table(part) for part in parts]}
    return render(request, "personaldata/contact_data.html", context)


@require_GET
@permission_required(can_answer_data_requests)
def contact_data_json(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    parts = services.contact_data_export(
        contact=contact, actor=request.membership, form=services.JSON
    )
    body = json.dumps(
        personal_data_document(contact=contact, parts=parts),
        cls=DjangoJSONEncoder, ensure_ascii=False, indent=2,
    )  # fmt: skip
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"contact-{contact.pk}-personal-data.json"
    )
    response["Cache-Control"] = "no-store"  # a person's data: never kept by a browser or proxy
    return response


@require_http_methods(["GET", "POST"])
@permission_required(can_answer_data_requests)
def contact_erase_confirm(request, contact_id: int):
    """Erasing a person: the page says what goes, what stays and that it cannot be undone, and
    asks for the contact's number typed in."""
    contact = access_contact(request.membership, contact_id)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm", "").strip().lstrip("#") != str(contact.pk):
            error = _("Type the contact's number, %(id)s, to erase them.") % {"id": contact.pk}
        else:
            try:
                contact_erase(contact=contact, actor=request.membership)
            except ServiceError as refused:
                error = refused.message
            else:
                said = _("Contact #%(id)s erased. This cannot be undone.") % {"id": contact.pk}
                messages.success(request, said)
                return redirect(tenant_url(request, "contact_detail", contact.pk))
    holding = None if contact.erased_at else import_holding(contact=contact)
    context = {"contact": contact, "error": error, "holding": holding}
    return render(request, "personaldata/contact_erase.html", context, status=400 if error else 200)
