"""Reading an uploaded spreadsheet: XLSX or CSV in the encodings Chinese offices write, its
rows as lists of text, and which of our fields each column holds."""

import csv
import io
import zipfile

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from crm.csvfiles import csv_cell_read
from crm.normalize import (
    normalize_text,
)
from crm.services import ServiceError

MAX_BYTES = 20 * 1024 * 1024
FIELDS = {
    "name": ("姓名", "名字", "客户", "联系人", "name", "full name", "contact"),
    "phone": ("手机", "手机号", "电话", "联系电话", "mobile", "phone", "tel", "telephone"),
    "email": ("邮箱", "电子邮件", "email", "e-mail", "mail"),
    "wechat_id": ("微信", "微信号", "wechat", "wechat id", "weixin"),
    "weibo": ("微博", "weibo"),
    "company": ("公司", "单位", "company", "organisation", "organization"),
    "source": ("来源", "渠道", "source", "channel"),
    "stage": ("阶段", "生命周期", "stage", "lifecycle stage", "lifecycle"),
    "tags": ("标签", "tags", "tag", "labels"),
    "notes": ("备注", "notes", "note", "remark"),
    "owner": (
        *("负责人", "销售", "跟进人", "归属", "归属人", "所属销售", "客户经理"),
        *("owner", "sales rep", "salesperson", "assigned to", "account owner"),
    ),
}
FIELD_LABELS = {  # shown in the mapping step
    "": gettext_lazy("Do not import"),
    "name": gettext_lazy("Name"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"),
    "wechat_id": gettext_lazy("WeChat ID"),
    "weibo": gettext_lazy("Weibo"),
    "company": gettext_lazy("Company"),
    "source": gettext_lazy("Source"),
    "stage": gettext_lazy("Stage"),
    "tags": gettext_lazy("Tags"),
    "notes": gettext_lazy("Notes"),
    "owner": gettext_lazy("Owner"),
}


# --- reading the file -------------------------------------------------------------------


def read_table(content: bytes, file_name: str) -> tuple[str, str, list[list[str]]]:
    """(kind, encoding, rows): XLSX by its zip signature, else CSV in UTF-8 (with or without
    BOM) or GB18030 (which covers GBK and GB2312), tried in that order."""
    if len(content) > MAX_BYTES:
        raise ServiceError(_("The file is larger than 20 MB; split it into smaller files."))
    if zipfile.is_zipfile(io.BytesIO(content)):
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:
            raise ServiceError(_("This Excel file cannot be read.")) from exc
        rows = [
            ["" if v is None else str(v).strip() for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        return "xlsx", "", _trim(rows)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        rows = [
            [csv_cell_read(cell.strip()) for cell in row] for row in csv.reader(io.StringIO(text))
        ]
        return "csv", encoding, _trim(rows)
    raise ServiceError(_("The file is neither UTF-8 nor GBK text, nor an Excel file."))


def _trim(rows: list[list[str]]) -> list[list[str]]:
    rows = [row for row in rows if any(cell for cell in row)]
    if not rows:
        raise ServiceError(_("The file has no rows."))
    return rows


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Column index -> field, from header names in Chinese or English."""
    mapping, taken = {}, set()
    for index, title in enumerate(header):
        key = normalize_text(title).casefold()
        for name, words in FIELDS.items():
            if name not in taken and key in words:
                mapping[str(index)] = name
                taken.add(name)
                break
    return mapping
