"""Reading an uploaded spreadsheet: XLSX or CSV in the encodings Chinese offices write, its
rows as lists of text, and which of our fields each column holds."""

import codecs
import csv
import io
import itertools
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime, time
from pathlib import PurePath

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from crm.consent import CHANNELS
from crm.csvfiles import csv_cell_read
from crm.models import CustomField
from crm.normalize import (
    normalize_text,
)
from crm.services import ServiceError

from .formulas import UNCALCULATED, Pending, uncalculated_cells

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
    # consent to be contacted, per channel (crm/consent.py): yes/no, 是/否, 同意/拒绝 …
    "consent_email": (
        *("邮件营销同意", "邮件同意", "同意邮件", "同意接收邮件", "邮件订阅"),
        *("email consent", "email opt-in", "email marketing consent", "consent email"),
    ),
    "consent_sms": (
        *("短信营销同意", "短信同意", "同意短信", "同意接收短信", "短信订阅"),
        *("sms consent", "sms opt-in", "sms marketing consent", "consent sms"),
    ),
    "consent_phone": (
        *("电话营销同意", "电话同意", "同意电话", "同意接听电话"),
        *("phone consent", "call consent", "phone opt-in", "consent phone"),
    ),
    "consent_wechat": (
        *("微信营销同意", "微信同意", "同意微信", "同意接收微信"),
        *("wechat consent", "wechat opt-in", "consent wechat"),
    ),
}
# a consent column's field -> its channel
CONSENT = {f"consent_{channel}": channel for channel in CHANNELS}
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
    "consent_email": gettext_lazy("Consent: email"),
    "consent_sms": gettext_lazy("Consent: SMS"),
    "consent_phone": gettext_lazy("Consent: phone calls"),
    "consent_wechat": gettext_lazy("Consent: WeChat"),
}


# --- reading the file -------------------------------------------------------------------
# Limits: a refusal names the limit, never a 500 and never a gunicorn worker killed.
MAX_ROWS = 1_000_000
MAX_COLUMNS = 200
MAX_CELL = 32_767  # what an Excel cell holds
MAX_UNCOMPRESSED = 400 * 1024 * 1024  # an XLSX's parts, as the zip declares them
MAX_RATIO = 100  # declared size ÷ compressed size of the whole XLSX (zip bombs go far beyond)
PREVIEW_ROWS = 12  # what the web request reads: the header search and the preview
HEADER_SEARCH = 10  # the header row is looked for among the first non-blank rows
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls
# what a spreadsheet may be called ("" for a file without a name, as scripts pass it) ...
SPREADSHEET_SUFFIXES = {"", ".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
# ... and what decodes as GBK text yet is none: PDF, PNG, JPEG, GIF, RTF
NOT_TABLES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"{\\rtf")


class Table:
    """An uploaded file, read row by row: rows() yields (spreadsheet row number, cells) for
    every row, blank ones included, so the numbers are Excel's own.

    An Excel file's `sheet` (its name; "" for the one Excel opens on) is read; once rows()
    has begun, `sheet` is the one read and `sheets` names them all, in the file's order."""

    def __init__(self, content: bytes, file_name: str = "", sheet: str = ""):
        self.sheet, self.sheets = sheet, []
        if len(content) > MAX_BYTES:
            raise ServiceError(_("The file is larger than 20 MB; split it into smaller files."))
        self.content = content
        suffix = PurePath(file_name).suffix.lower()
        if content.startswith(OLE2) or suffix == ".xls":
            raise ServiceError(
                _("Old Excel files (.xls) cannot be read: save it as .xlsx or CSV UTF-8.")
            )
        if suffix not in SPREADSHEET_SUFFIXES or content.startswith(NOT_TABLES):
            raise ServiceError(
                _("“%(name)s” is not a spreadsheet: upload an Excel .xlsx file or a CSV.")
                % {"name": file_name}
            )
        if zipfile.is_zipfile(io.BytesIO(content)):
            self.kind, self.encoding = "xlsx", ""
            _check_zip(content)
        else:
            self.kind, self.encoding = "csv", _encoding_of(content)

    def rows(self):
        number = 0
        source = self._xlsx() if self.kind == "xlsx" else self._csv()
        try:
            for cells in source:
                number += 1
                if number > MAX_ROWS:
                    raise ServiceError(
                        _("The file has more than %(n)s rows; split it into smaller files.")
                        % {"n": f"{MAX_ROWS:,}"}
                    )
                while cells and not cells[-1] and cells[-1] is not UNCALCULATED:
                    cells.pop()
                if len(cells) > MAX_COLUMNS:
                    raise ServiceError(
                        _("Row %(row)s has %(n)s columns; at most %(max)s are read.")
                        % {"row": number, "n": len(cells), "max": MAX_COLUMNS}
                    )
                for cell in cells:
                    if len(cell) > MAX_CELL:
                        raise ServiceError(
                            _("A cell on row %(row)s holds more than %(max)s characters.")
                            % {"row": number, "max": f"{MAX_CELL:,}"}
                        )
                    if "\x00" in cell:
                        raise ServiceError(
                            _("Row %(row)s holds a NUL character: the file is damaged or not text.")
                            % {"row": number}
                        )
                yield number, cells
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise ServiceError(
                    _("A cell on row %(row)s holds more than %(max)s characters.")
                    % {"row": number + 1, "max": f"{MAX_CELL:,}"}
                ) from exc
            raise ServiceError(
                _("Row %(row)s cannot be read as CSV: %(reason)s")
                % {"row": number + 1, "reason": str(exc)}
            ) from exc
        except UnicodeDecodeError as exc:
            raise ServiceError(
                _("Row %(row)s is not %(encoding)s text: save the file as CSV UTF-8.")
                % {"row": number + 1, "encoding": ENCODING_NAMES.get(self.encoding, self.encoding)}
            ) from exc

    def _xlsx(self):
        try:
            book = load_workbook(io.BytesIO(self.content), read_only=True, data_only=True)
        except Exception as exc:
            raise ServiceError(_("This Excel file cannot be read.")) from exc
        source = None  # the sheet's XML, read beside openpyxl for its formulas
        try:
            sheet = self._sheet_of(book)
            seen, expected = 0, 1
            try:
                source = sheet._get_source()
                formulas = Pending(uncalculated_cells(source))
                for row in sheet.iter_rows():
                    cells = [c for c in row if getattr(c, "row", None)]
                    at = cells[0].row if cells else expected
                    while expected < at:  # rows the sheet leaves out are blank rows
                        yield []
                        expected += 1
                    values = []
                    for cell in row:
                        text = _cell_text(cell.value)
                        seen += len(text)
                        values.append(text)
                    for column in formulas.at(at):  # read as empty: said to be a formula
                        values += [""] * (column - len(values))
                        if not values[column - 1]:
                            values[column - 1] = UNCALCULATED
                    if seen > MAX_UNCOMPRESSED:
                        raise ServiceError(_("This Excel file expands to too much data."))
                    expected = at + 1
                    yield values
            except ServiceError:
                raise
            except Exception as exc:
                raise ServiceError(_("This Excel file cannot be read.")) from exc
        finally:
            if source is not None:
                source.close()
            book.close()

    def _sheet_of(self, book):
        """The worksheet asked for, else the one Excel opens on (else the first: a chart
        may be the one it opens on); charts are no table and are not offered."""
        sheets = book.worksheets
        self.sheets = [sheet.title for sheet in sheets]
        if not sheets:
            raise ServiceError(_("The file has no rows."))
        if self.sheet:
            if self.sheet not in self.sheets:
                raise ServiceError(
                    _("The file has no sheet “%(sheet)s”: choose one of its sheets.")
                    % {"sheet": self.sheet}
                )
            sheet = book[self.sheet]
        else:
            sheet = book.active if book.active in sheets else sheets[0]
        self.sheet = sheet.title
        return sheet

    def _csv(self):
        stream = io.TextIOWrapper(
            io.BytesIO(self.content), encoding=self.encoding, errors="strict", newline=""
        )
        first = stream.readline()
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        self.delimiter = delimiter
        lines = itertools.chain([first], stream) if first else iter(())
        for row in csv.reader(lines, delimiter=delimiter):
            yield [csv_cell_read(cell.strip()) for cell in row]


def _cell_text(value) -> str:
    """A cell as text: an Excel date (a time of midnight) as its date, "2010-03-05", not
    "2010-03-05 00:00:00"; a date with a time without its zero seconds."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M" if value.second == 0 else "%Y-%m-%d %H:%M:%S")
    return str(value).strip()


ENCODING_NAMES = {
    "utf-8-sig": "UTF-8",
    "gb18030": "GBK",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}


def _encoding_of(content: bytes) -> str:
    """UTF-16 by its BOM or by its zero bytes, UTF-8 (with or without BOM) when the whole file
    decodes as such (checked piece by piece, nothing kept), else GB18030 (GBK, GB2312)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = content[:4096]
    if len(head) >= 4 and head.count(0) * 3 > len(head):  # text of ASCII letters in UTF-16
        odd = head[1::2].count(0)
        return "utf-16-le" if odd > head[0::2].count(0) else "utf-16-be"
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        for at in range(0, len(content), 1 << 20):
            decoder.decode(content[at : at + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8-sig"
    try:  # the start is enough to refuse what is neither; a later fault names its row
        codecs.getincrementaldecoder("gb18030")().decode(content[: 1 << 16])
    except UnicodeDecodeError:
        raise ServiceError(
            _("The file is neither UTF-8 nor GBK text, nor an Excel file.")
        ) from None
    return "gb18030"


def _check_zip(content: bytes) -> None:
    """Zip bombs are refused by what the zip declares, before openpyxl opens it."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ServiceError(_("This Excel file cannot be read.")) from exc
    if declared > MAX_UNCOMPRESSED or declared > MAX_RATIO * max(len(content), 1) + (1 << 20):
        raise ServiceError(
            _("This Excel file expands to %(size)s MB when opened; the limit is %(max)s MB.")
            % {"size": declared // (1 << 20), "max": MAX_UNCOMPRESSED // (1 << 20)}
        )


def _words(row: list[str]) -> int:
    known = {word for words in FIELDS.values() for word in words}
    return sum(1 for cell in row if normalize_text(cell).casefold() in known)


def find_header_row(rows: list[tuple[int, list[str]]]) -> int:
    """The spreadsheet row of the headers: among the first non-blank rows, the first whose
    cells name our fields; else the first non-blank row (a title row above is skipped)."""
    filled = [(n, row) for n, row in rows if any(row)][:HEADER_SEARCH]
    if not filled:
        raise ServiceError(_("The file has no rows."))
    for number, row in filled:
        if _words(row):
            return number
    return filled[0][0]


def names_our_fields(rows: list[tuple[int, list[str]]]) -> bool:
    """Whether the header row of these first rows names one of our fields."""
    header_row = find_header_row(rows)
    return bool(_words(next(cells for number, cells in rows if number == header_row)))


def read_preview(content: bytes, file_name: str, limit: int = PREVIEW_ROWS, sheet: str = ""):
    """(table, first rows as (number, cells)): what the web request reads, never more."""
    table = Table(content, file_name, sheet)
    rows = []
    for number, cells in table.rows():
        rows.append((number, cells))
        if sum(1 for _n, row in rows if any(row)) >= limit:
            break
    if not any(any(row) for _n, row in rows):
        if len(table.sheets) > 1:
            raise ServiceError(_("The sheet “%(sheet)s” has no rows.") % {"sheet": table.sheet})
        raise ServiceError(_("The file has no rows."))
    return table, rows


def data_rows(
    content: bytes, file_name: str, header_row: int, sheet: str = "", header: list | None = None
):
    """The rows under the header row, with their spreadsheet numbers; blank rows are passed
    over (their numbers are kept), streamed. `header`, if given, gets the header row's cells."""
    for number, cells in Table(content, file_name, sheet).rows():
        if number > header_row and any(cells):
            yield number, cells
        elif number == header_row and header is not None:
            header[:] = cells


def every_row(content: bytes, file_name: str) -> Iterator[list[str]]:
    """Every row of the file, on each of its sheets, streamed: what the file holds."""
    table = Table(content, file_name)
    yield from (cells for _n, cells in table.rows())
    for sheet in (s for s in table.sheets if s != table.sheet):
        yield from (cells for _n, cells in Table(content, file_name, sheet).rows())


def header_cells(content: bytes, file_name: str, header_row: int, sheet: str = "") -> list[str]:
    for number, cells in Table(content, file_name, sheet).rows():
        if number == header_row:
            return cells
    return []


def read_table(content: bytes, file_name: str) -> tuple[str, str, list[list[str]]]:
    """(kind, encoding, non-blank rows), the whole file in memory: kept for scripts and tests;
    imports stream through Table."""
    table = Table(content, file_name)
    rows = [cells for _n, cells in table.rows() if any(cells)]
    if not rows:
        raise ServiceError(_("The file has no rows."))
    return table.kind, table.encoding, rows


# A column mapped to one of the company's own fields: "cf:<its key>" (the key never changes, so
# a field renamed between the upload and the import is still the same one).
CUSTOM = "cf:"


def custom_target(key: str) -> str:
    return f"{CUSTOM}{key}"


# A column mapped to one of the company's tag groups: "tg:<its key>". Each cell names tags of
# that group (by name or alias), several split as in a tags column.
GROUP = "tg:"


def group_target(key: str) -> str:
    return f"{GROUP}{key}"


def is_source_group(key: str, label: str) -> bool:
    """The company's 来源 group: a tag group named as a source column is headed."""
    return bool({_header_key(key), _header_key(label)} & {_header_key(w) for w in FIELDS["source"]})


def _header_key(text: str) -> str:
    """A header as compared with a custom field's name: case and spaces ignored."""
    return "".join(str(text).split()).casefold()


def guess_mapping(
    header: list[str],
    custom: Iterable[CustomField] = (),
    groups: Iterable[tuple[str, str]] = (),
) -> dict[str, str]:
    """Column index -> field, from header names in Chinese or English; a header that is the
    name of one of the company's own fields (`custom`), or its key, maps to that field; else
    one naming a tag group (`groups`: key, label), to that group. Ours come first: a 来源 column
    stays the Source field, as before groups could be chosen (its words land whatever they say;
    the 来源 group is offered beside it)."""
    named: dict[str, str] = {}
    for field in custom:
        named.setdefault(_header_key(field.label), custom_target(field.key))
        named.setdefault(field.key.casefold(), custom_target(field.key))
    for key, label in groups:
        named.setdefault(_header_key(label), group_target(key))
        named.setdefault(key.casefold(), group_target(key))
    mapping, taken = {}, set()
    for index, title in enumerate(header):
        key = normalize_text(title).casefold()
        for name, words in FIELDS.items():
            if name not in taken and key in words:
                mapping[str(index)] = name
                taken.add(name)
                break
        else:
            target = named.get(_header_key(title), "")
            if target and target not in taken:
                mapping[str(index)] = target
                taken.add(target)
    return mapping
