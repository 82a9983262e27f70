"""An import's report: errors worded in the reader's language, and the failed rows as a file
to fix and upload again."""

import csv
import io

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.csvfiles import csv_cell
from crm.normalize import (
    PHONE_REASONS,
)

from .import_files import read_table
from .models import ImportJob

ERRORS = {
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
        gettext_lazy("Unknown tag “%(value)s” (tick “create unknown tags” to add it)."),
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
}


def errors_shown(errors: list[dict]) -> list[dict]:
    """Failed rows' errors as the reader reads them: row, column, reason (older jobs stored
    the words themselves)."""
    shown = []
    for error in errors:
        if "code" in error:
            column, reason = ERRORS[error["code"]]
            error = {"row": error["row"], "column": str(column),
                     "reason": str(reason) % {"value": error["value"]}}  # fmt: skip
        shown.append(error)
    return shown


def failed_rows_csv(job: ImportJob) -> bytes:
    """The rows that failed, as they were, with an error column: fix and upload again. Cells
    that Excel would take for a formula are written as text, as exports do."""
    _kind, _encoding, rows = read_table(bytes(job.content), job.file_name)
    reasons: dict[int, list[str]] = {}
    for error in errors_shown(job.errors):
        reasons.setdefault(error["row"], []).append(f"{error['column']}: {error['reason']}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(cell) for cell in [*rows[0], _("Error")]])
    for number in sorted(reasons):
        writer.writerow(
            [csv_cell(cell) for cell in [*rows[number - 1], "；".join(reasons[number])]]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
