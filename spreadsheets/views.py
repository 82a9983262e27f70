"""Spreadsheets in and out. Imports (admins and marketers): upload, choose the columns, follow
the run, continue a stopped one, undo it, download the rows to fix. Exports: the contact list as
filtered, an audience, a frozen list, as CSV or XLSX."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audiences.access import access_audience, access_snapshot
from audiences.selectors import audience_members, snapshot_members
from crm.audit import audit_record
from crm.csvfiles import csv_stream
from crm.customfields import custom_fields_of
from crm.forms import ContactFilterForm
from crm.http import tenant_url
from crm.models import AuditKind
from crm.permissions import (
    can_export,
    can_import,
    permission_required,
)
from crm.selectors import CONTACT_SORTS, contact_list
from crm.services import ServiceError

from .access import access_import
from .exports import export_rows, xlsx_file
from .forms import ImportOwnerForm, ImportUploadForm
from .imports import jobs, reading, report, runs, undo
from .imports.formulas import UNCALCULATED
from .imports.reading import ENCODING_NAMES

# --- imports (admins and marketers) ----------------------------------------------------------


@require_GET
@permission_required(can_import)
def import_list(request):
    return render(
        request,
        "spreadsheets/import_list.html",
        {"jobs": jobs.import_jobs(tenant=request.tenant)},
    )


@require_http_methods(["GET", "POST"])
@permission_required(can_import)
def import_new(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = jobs.import_start(
                tenant=request.tenant, actor=request.membership, file_name=upload.name,
                content=upload.read(), language=translation.get_language(),
            )  # fmt: skip
        except ServiceError as error:
            form.add_error("file", error.message)
        else:
            return redirect(tenant_url(request, "import_map", job.pk))
    return render(request, "spreadsheets/import_new.html", {"form": form})


@require_http_methods(["GET", "POST"])
@permission_required(can_import)
def import_map(request, job_id: int):
    job = access_import(request.membership, job_id)
    if job.status != job.PENDING:
        return redirect(tenant_url(request, "import_detail", job.pk))
    if request.method == "POST" and "sheet" in request.POST:  # "read another sheet"
        try:
            jobs.import_sheet_choose(job=job, sheet=request.POST["sheet"])
        except ServiceError as exc:  # an empty sheet: the one read stays, mapping and all
            messages.error(request, exc.message)
        return redirect(tenant_url(request, "import_map", job.pk))
    try:  # the first rows only: the worker streams the rest
        table, first = jobs.read_preview(bytes(job.content), job.file_name, sheet=job.sheet)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(tenant_url(request, "import_new"))
    numbers = [number for number, cells in first if any(cells)]
    if request.method == "POST" and "header_row" in request.POST:  # "headers on row N"
        chosen = request.POST.get("header_row", "")
        if chosen.isdigit() and int(chosen) in numbers and int(chosen) != job.header_row:
            job.header_row = int(chosen)
            header = next(cells for number, cells in first if number == job.header_row)
            job.mapping = jobs.mapping_guess(tenant=request.tenant, header=header)
            job.save(update_fields=["header_row", "mapping"])
        return redirect(tenant_url(request, "import_map", job.pk))
    rows = [cells for number, cells in first if number >= job.header_row and any(cells)]
    rows = rows or [[]]
    columns = list(range(max(len(r) for r in rows[:6]) or 1))
    error = ""
    owner_form = ImportOwnerForm(
        request.POST or None, tenant=request.tenant, initial={"owner": job.owner_id}
    )
    if request.method == "POST":
        mapping = {str(i): request.POST.get(f"column-{i}", "") for i in columns}
        try:
            if not owner_form.is_valid():  # e.g. another company's member
                raise ServiceError(owner_form.errors["owner"][0])
            jobs.import_confirm(
                job=job, mapping=mapping, create_tags=request.POST.get("create_tags") == "on",
                owner=owner_form.cleaned_data["owner"],
                merge_shared_email=request.POST.get("merge_shared_email") == "on",
            )  # fmt: skip
        except ServiceError as exc:
            error = exc.message
            job.mapping = mapping
        else:
            return redirect(tenant_url(request, "import_detail", job.pk))
    preview = [[row[i] if i < len(row) else "" for i in columns] for row in rows[:6]]
    custom = custom_fields_of(tenant=request.tenant)
    mapped = set(job.mapping.values())
    groups = jobs.import_groups(tenant=request.tenant)
    # the 来源 group, offered under a column kept as the Source field (the default)
    source = next((label for key, label in groups if reading.is_source_group(key, label)), "")
    context = {
        "job": job,
        "encoding": ENCODING_NAMES.get(job.encoding, job.encoding),
        "header_choices": numbers,
        "sheet": table.sheet,
        "sheets": table.sheets,
        # one row per column of the file, as it is mapped: its header, its first values, its choice
        "columns": [
            (
                i,
                job.mapping.get(str(i), ""),
                preview[0][i],
                [row[i] for row in preview[1:]],
                any(row[i] is UNCALCULATED for row in preview[1:]),
                source if job.mapping.get(str(i)) == "source" else "",
            )
            for i in columns
        ],
        "field_labels": reading.FIELD_LABELS,
        # the company's own fields, each a target of its own ("cf:<key>")
        "custom_targets": [(reading.custom_target(cf.key), cf.label) for cf in custom],
        # the company's tag groups: each cell names tags of the group
        "group_targets": [
            (reading.group_target(key), _("Tag group: %(group)s") % {"group": label})
            for key, label in groups
        ],
        # required ones no column gives: new people of the file would be refused
        "required_unmapped": [
            cf.label for cf in custom if cf.required and reading.custom_target(cf.key) not in mapped
        ],  # fmt: skip
        "error": error,
        "owner_form": owner_form,
    }
    return render(request, "spreadsheets/import_map.html", context)


@require_POST
@permission_required(can_import)
def import_cancel(request, job_id: int):
    job = access_import(request.membership, job_id)
    try:
        jobs.import_cancel(job=job, actor=request.membership)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(tenant_url(request, "import_detail", job.pk))
    messages.success(request, _("Upload “%(file)s” cancelled.") % {"file": job.file_name})
    return redirect(tenant_url(request, "import_list"))


@require_POST
@permission_required(can_import)
def import_continue(request, job_id: int):
    job = access_import(request.membership, job_id)
    try:
        runs.import_continue(job=job, actor=request.membership)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The import carries on from where it stopped."))
    return redirect(tenant_url(request, "import_detail", job.pk))


@require_GET
@permission_required(can_import)
def import_detail(request, job_id: int):
    job = jobs.import_progress(job=access_import(request.membership, job_id))
    if job.status == job.PENDING and not request.htmx:
        return redirect(tenant_url(request, "import_map", job.pk))  # columns still to be chosen
    template = (
        "spreadsheets/partials/import_progress.html"
        if request.htmx
        else "spreadsheets/import_detail.html"
    )
    warnings = report.import_warnings(job)
    errors = report.import_errors(job)
    context = {
        "job": job,
        "failure": runs.failure_shown(job),
        "errors": report.errors_shown(errors[:100], tenant=job.tenant),
        "errors_total": len(errors),
        "warnings": report.warnings_shown(warnings, tenant=job.tenant, limit=100),
        "warnings_total": len(warnings),
        "warned": report.rows_warned(warnings),
        "can_undo": undo.import_undoable(job=job)
        and undo.import_undo_allowed(actor=request.membership, job=job),
    }
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@permission_required(can_import)
def import_undo(request, job_id: int):
    """Undo: the counts and a confirmation, then the contacts this import created removed."""
    job = access_import(request.membership, job_id)
    if not undo.import_undo_allowed(actor=request.membership, job=job):
        raise PermissionDenied(_("Only admins and the member who ran an import may undo it."))
    if request.method == "POST":
        try:
            counts = undo.import_undo(job=job, actor=request.membership)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _undo_done(counts))
        return redirect(tenant_url(request, "import_detail", job.pk))
    context = {
        "job": job,
        "counts": undo.import_undo_counts(job=job),
        "undoable": undo.import_undoable(job=job),
    }
    return render(request, "spreadsheets/import_undo.html", context)


def _undo_done(counts: undo.UndoCounts) -> str:
    said = ngettext(
        "%(count)s contact this import created was removed.",
        "%(count)s contacts this import created were removed.",
        counts.removable,
    ) % {"count": counts.removable}
    if counts.kept:
        said += " " + ngettext(
            "%(count)s was kept: it was changed since the import.",
            "%(count)s were kept: they were changed since the import.",
            counts.kept,
        ) % {"count": counts.kept}
    if counts.cleared:
        said += " " + ngettext(
            "The custom-field values it filled in were cleared on %(count)s contact.",
            "The custom-field values it filled in were cleared on %(count)s contacts.",
            counts.cleared,
        ) % {"count": counts.cleared}
    return said


@require_GET
@permission_required(can_import)
def import_errors(request, job_id: int):
    job = access_import(request.membership, job_id)
    if job.status == job.EXPIRED:
        raise Http404  # its file is gone, and it never had failed rows
    response = HttpResponse(report.failed_rows_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{job.file_name.rsplit('.', 1)[0]}-errors.csv"
    )
    return response


# --- exports: the contact list as filtered, an audience, a frozen list -----------------------


def _export_response(request, contacts, filename: str, ordering=("pk",), consent_channel=""):
    """CSV streams row by row; XLSX is written to a temporary file as rows come. An audience
    requiring consent: its file says which channel, with when each person agreed."""
    xlsx = request.GET.get("format") == "xlsx"
    details = {"format": "xlsx" if xlsx else "csv"}
    if consent_channel:
        details["consent"] = consent_channel
    audit_record(
        tenant=request.tenant, actor=request.membership, kind=AuditKind.EXPORT, subject=filename,
        count=contacts.count(), details=details,
    )  # fmt: skip
    rows = export_rows(tenant=request.tenant, contacts=contacts, ordering=ordering, typed=xlsx,
                       consent_channel=consent_channel)  # fmt: skip
    if xlsx:
        handle = xlsx_file(rows, title=filename)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{filename}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}.csv")
    return response


@require_GET
@permission_required(can_export)
def contacts_export(request):
    """The contact list as it is filtered on screen."""
    filters = ContactFilterForm(request.GET).filters()
    contacts = contact_list(tenant=request.tenant, filters=filters, viewer=request.membership)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    ordering = CONTACT_SORTS[filters.sort]
    return _export_response(request, contacts, _("contacts") + f"-{stamp}", ordering)


@require_GET
@permission_required(can_export)
def audience_export(request, audience_id: int):
    audience = access_audience(request.membership, audience_id)
    members = audience_members(audience=audience)
    return _export_response(request, members, audience.name,
                            consent_channel=audience.consent_channel)  # fmt: skip


@require_GET
@permission_required(can_export)
def snapshot_export(request, snapshot_id: int):
    snapshot = access_snapshot(request.membership, snapshot_id)
    members = snapshot_members(snapshot=snapshot)
    return _export_response(request, members, snapshot.name,
                            consent_channel=snapshot.consent_channel)  # fmt: skip
