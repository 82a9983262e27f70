"""An import's report: errors worded in the reader's language, and the failed rows as a file
to fix and upload again."""

import csv
import io
import operator

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.csvfiles import csv_cell
from crm.customfields import custom_fields_of, value_clean, value_display
from crm.models import CustomField, Tenant
from crm.normalize import (
    PHONE_REASONS,
)
from crm.selectors import member_list
from crm.words import in_parts, labelled, listed
from lifecycle.selectors import stage_settings
from lifecycle.stages import REQUIREMENTS
from tagging.models import TagGroup

from ..models import ImportChunk, ImportJob
from .checking import LIMITS, REFUSED_TOO_LONG, custom_member_refusal
from .reading import CONSENT, FIELD_LABELS, Table

ERRORS = {
    **{
        f"bad_consent_{channel}": (
            FIELD_LABELS[name],
            gettext_lazy(
                "“%(value)s” is neither yes nor no: write 是 or 否 (同意 or 拒绝, yes or no), or "
                "leave the cell empty to keep the contact's consent as it is."
            ),
        )
        for name, channel in CONSENT.items()
    },
    "bad_email": (gettext_lazy("Email"), gettext_lazy("“%(value)s” is not an email address.")),
    "bad_phone": (gettext_lazy("Phone"), gettext_lazy("“%(value)s” is not a phone number.")),
    **{f"bad_phone_{code}": (gettext_lazy("Phone"), why) for code, why in PHONE_REASONS.items()},
    "no_identity": (
        gettext_lazy("Phone / email / WeChat ID"),
        gettext_lazy("No phone, email or WeChat ID: the person cannot be recognised."),
    ),
    "unknown_stage": (gettext_lazy("Stage"), gettext_lazy("Unknown stage “%(value)s”.")),
    "unknown_tag": (
        gettext_lazy("Tags"),
        gettext_lazy(
            "Unknown tag “%(value)s” (tick “Create tags that do not exist yet” to add it)."
        ),
    ),
    "tag_too_long": (
        gettext_lazy("Tags"),
        gettext_lazy("“%(value)s” is longer than a tag's name can be (60 characters)."),
    ),
    "unknown_owner": (
        gettext_lazy("Owner"),
        gettext_lazy(
            "Unknown member “%(value)s”: write the username, name or email of a member of "
            "this company."
        ),
    ),
    "ambiguous_owner": (
        gettext_lazy("Owner"),
        gettext_lazy("“%(value)s” is the name of more than one member: write a username or email."),
    ),
    "email_conflict": (
        gettext_lazy("Email"),
        gettext_lazy(
            "Same email as row %(value)s but another name and phone: neither row was imported. "
            "If they are one person, tick “merge rows that share an email” and import again."
        ),
    ),
    "too_long_email": (
        gettext_lazy("Email"),
        gettext_lazy("%(value)s characters: longer than an email address can be."),
    ),
    "too_long_wechat_id": (
        gettext_lazy("WeChat ID"),
        gettext_lazy("%(value)s characters: longer than a WeChat ID can be."),
    ),
}
# a cell of a column imported into a tag group, naming no tag of that group
GROUP_ERRORS = {
    "group_unknown_tag": gettext_lazy(
        "No tag “%(value)s” in %(group)s (tick “Create tags that do not exist yet” to add it to "
        "%(group)s)."
    ),
    "group_other_tag": gettext_lazy("“%(value)s” is a tag of %(other)s, not of %(group)s."),
    "group_tag_too_long": gettext_lazy(
        "“%(value)s” is longer than a tag's name can be (60 characters)."
    ),
}
# a mapped cell holding a formula the file has no result of (a file a script wrote)
FORMULA = gettext_lazy(
    "A formula with no result saved in the file: open the file in Excel, save it and import "
    "it again."
)
# rows that landed, but not quite as written: (column, reason), worded when shown. A stage
# warning's value is "stage the row gave|stage the contact is at|requirements it lacks".
WARNINGS = {
    "stage_lowered": (
        gettext_lazy("Stage"),
        gettext_lazy("Stage “%(stage)s” needs “%(fields)s”: put at “%(put)s”."),
    ),
    "stage_kept": (
        gettext_lazy("Stage"),
        gettext_lazy("Stage “%(stage)s” needs “%(fields)s”: the contact stays at “%(put)s”."),
    ),
    "stage_lost": (
        gettext_lazy("Stage"),
        gettext_lazy(
            "The contact is marked lost: it stays at “%(put)s” (reopen it to move it to "
            "“%(stage)s”)."
        ),
    ),
    "merged_existing": (
        gettext_lazy("Email"),
        gettext_lazy(
            "Merged into the existing contact “%(value)s”, who has this email but another "
            "name and phone: their name and phone were kept."
        ),
    ),
    "merged_shared_email": (
        gettext_lazy("Email"),
        gettext_lazy(
            "Same email as row %(value)s but another name and phone: merged into one contact "
            "as you asked, keeping the name and phone of row %(value)s."
        ),
    ),
    **{
        f"too_long_{name}": (
            FIELD_LABELS[name],
            gettext_lazy(
                "%(value)s characters, longer than the %(limit)s this field holds: cut to fit."
            ),
        )
        for name, limit in LIMITS.items()
        if limit and name not in REFUSED_TOO_LONG
    },
}


def errors_shown(errors: list[dict], *, tenant: Tenant | None = None) -> list[dict]:
    """Failed rows' errors as the reader reads them: row, column, reason (older jobs stored
    the words themselves). A custom field's are worded again from the field as it is now
    (`tenant`'s), in the reader's language; else as the import worded them."""
    shown = []
    fields = groups = None
    for error in errors:
        if error.get("code") == "custom":
            if fields is None:
                fields = {cf.key: cf for cf in custom_fields_of(tenant=tenant)} if tenant else {}
            column, reason = _custom_error_words(error, fields.get(error["key"]))
            error = {"row": error["row"], "column": column, "reason": reason}
        elif error.get("code") in GROUP_ERRORS:  # a tag group's column: the group's name now
            if groups is None:
                groups = {} if tenant is None else dict(
                    TagGroup.objects.for_tenant(tenant).values_list("key", "label"))  # fmt: skip
            label = groups.get(error["group"], error["label"])
            words = {"value": error["value"], "group": label, "other": error.get("other", "")}
            error = {"row": error["row"], "column": label,
                     "reason": str(GROUP_ERRORS[error["code"]]) % words}  # fmt: skip
        elif error.get("code") == "formula":  # the file's column, by its header
            column = error["value"] or _("Column %(n)s") % {"n": error["column"]}
            error = {"row": error["row"], "column": column, "reason": str(FORMULA)}
        elif "code" in error:
            column, reason = ERRORS[error["code"]]
            error = {"row": error["row"], "column": str(column),
                     "reason": str(reason) % {"value": error["value"]}}  # fmt: skip
        shown.append(error)
    return shown


def _custom_error_words(error: dict, cf: CustomField | None) -> tuple[str, str]:
    if cf is None:  # deleted since
        return error["key"], error["reason"]
    if "why" in error:  # a member field's cell naming nobody, or several
        return cf.label, custom_member_refusal(error["why"], cf.label, error["value"])
    try:
        value_clean(cf, error["value"])
    except ValidationError as exc:
        return cf.label, " ".join(exc.messages)
    return cf.label, error["reason"]  # the field changed since: the import's words


def import_errors(job: ImportJob) -> list[dict]:
    """Every error of the import, in row order: the checking's (on the job), and the rows its
    chunks refused when applying them."""
    chunks = ImportChunk.objects.for_tenant(job.tenant).filter(job=job).exclude(errors=[])
    found = [e for errors in chunks.values_list("errors", flat=True) for e in errors]
    if not found:
        return job.errors
    return sorted([*job.errors, *found], key=operator.itemgetter("row"))


def warnings_shown(warnings: list[dict], *, tenant: Tenant, limit: int | None = None) -> list[dict]:
    """Warnings as the reader reads them, in row order (the first `limit`): row, column,
    reason."""
    stages = {key: setting.display_label for key, setting in stage_settings(tenant=tenant).items()}
    shown = []
    custom = None
    for warning in sorted(warnings, key=lambda w: w["row"])[:limit]:
        if warning["code"] == "custom_kept":
            custom = custom or _CustomWords(tenant)
            shown.append({"row": warning["row"], **custom.kept(warning)})
            continue
        column, reason = WARNINGS[warning["code"]]
        words = {"value": warning["value"]}
        if warning["code"].startswith("stage_"):
            stage, put, missing = warning["value"].split("|")
            words["stage"], words["put"] = stages[stage], stages[put]
            words["fields"] = listed(
                REQUIREMENTS[key][0] for key in missing.split(",") if key in REQUIREMENTS
            )
        elif warning["code"].startswith("too_long_"):
            words["limit"] = LIMITS[warning["code"].removeprefix("too_long_")]
        shown.append({"row": warning["row"], "column": str(column), "reason": str(reason) % words})
    return shown


class _CustomWords:
    """A custom field's warnings worded: the field's name now, values as the page shows them."""

    def __init__(self, tenant: Tenant):
        self.fields = {cf.key: cf for cf in custom_fields_of(tenant=tenant)}
        self.members = (
            {m.pk: m.display_name for m in member_list(tenant=tenant)}
            if any(cf.kind == CustomField.Kind.MEMBER for cf in self.fields.values())
            else {}
        )

    def kept(self, warning: dict) -> dict:
        cf = self.fields.get(warning["key"])
        if cf is None:  # deleted since
            shown = {"held": warning["held"], "value": warning["value"]}
            column = warning["key"]
        else:
            shown = {name: value_display(cf, warning[name], member_names=self.members)
                     for name in ("held", "value")}  # fmt: skip
            column = cf.label
        reason = _("The contact already has “%(held)s”: kept (the file gives “%(value)s”).")
        return {"column": column, "reason": reason % shown}


def import_warnings(job: ImportJob) -> list[dict]:
    """Every warning of the import: the checking's (on the job), then each applied chunk's;
    not those of rows a chunk refused after all (they are errors)."""
    chunks = ImportChunk.objects.for_tenant(job.tenant).filter(job=job).order_by("number")
    warnings = [
        *job.warnings,
        *(w for found in chunks.values_list("warnings", flat=True) for w in found),
    ]
    refused = {e["row"] for errors in chunks.values_list("errors", flat=True) for e in errors}
    return [w for w in warnings if w["row"] not in refused] if refused else warnings


def rows_warned(warnings: list[dict]) -> int:
    """How many rows landed with a warning."""
    return len({warning["row"] for warning in warnings})


def failed_rows_csv(job: ImportJob) -> bytes:
    """The rows that failed, and those that landed with a warning, as they were, with an error
    and a warning column: fix and upload again. Cells that Excel would take for a formula are
    written as text, as exports do."""
    reasons: dict[int, list[str]] = {}
    for error in errors_shown(import_errors(job), tenant=job.tenant):
        reasons.setdefault(error["row"], []).append(labelled(error["column"], error["reason"]))
    warned: dict[int, list[str]] = {}
    for warning in warnings_shown(import_warnings(job), tenant=job.tenant):
        warned.setdefault(warning["row"], []).append(labelled(warning["column"], warning["reason"]))
    out = io.StringIO()
    writer = csv.writer(out)
    wanted = reasons.keys() | warned.keys()
    header: list[str] = []
    last = max(wanted, default=0)
    # a file deleted since (a person listed in it erased at their request: personaldata) has
    # no rows left to show
    rows = Table(bytes(job.content), job.file_name, job.sheet).rows() if job.content else ()
    for number, row in rows:  # streamed, by number
        if number == job.header_row:
            header = row
            writer.writerow([csv_cell(cell) for cell in [*header, _("Error"), _("Warning")]])
        elif number in wanted:
            # several reasons of one row, joined as the reader's language joins them
            said = [in_parts(reasons.get(number, ())), in_parts(warned.get(number, ()))]
            padded = [*row, *[""] * (len(header) - len(row))]  # the reasons under their headers
            writer.writerow([csv_cell(cell) for cell in [*padded, *said]])
        if number >= last and number >= job.header_row:
            break
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
