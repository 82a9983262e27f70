"""Excel formula cells the file holds no result of: a file a script wrote (openpyxl, a
report generator) and nobody opened and saved in Excel keeps the formula but no calculated
value, and read for its values such a cell is empty. They are found here so the import can say
so instead of reading them as empty.

openpyxl, reading values, cannot tell such a cell from an empty one, nor from a formula whose
result is an empty text. So the sheet's XML is read beside it: a piece at a time, only the
pieces holding a formula are parsed, and only as far as the rows read so far (the columns step
reads a dozen rows, not the file). Memory stays one piece, whatever the file's size.
"""

import re
from collections.abc import Iterator
from typing import IO
from xml.etree import ElementTree

from openpyxl.utils.cell import column_index_from_string

PIECE = 1 << 18  # bytes of the sheet's XML read at a time
_ROOT = re.compile(rb"<(?:([\w.-]+):)?worksheet\b[^>]*>")
_R = re.compile(rb"\br=\"(\d+)\"")
_REF = re.compile(rb"\br=\"([A-Z]+)(\d+)\"")
_KIND = re.compile(rb"\bt=\"([^\"]*)\"")
_LETTERS = re.compile(r"[A-Z]+")


class Uncalculated(str):
    """A cell read as empty because it is a formula the file holds no result of."""

    __slots__ = ()


UNCALCULATED = Uncalculated("")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _no_result(formula: bool, value: str | None, kind: str | None) -> bool:
    """A formula with no value saved. A formula whose result is empty text keeps an empty
    value of type "str" (Excel writes it so); a script's formula has none, or an empty one."""
    if not formula or value:
        return False
    return value is None or kind != "str"


def uncalculated_cells(stream: IO[bytes]) -> Iterator[tuple[int, int]]:
    """(row, column), 1-based, of each formula cell without a result, in the sheet's order;
    between them (row, 0): "read through this row", so a reader of the first rows stops early.
    Pieces of whole rows without a formula tag are passed over unparsed."""
    buffer, row = b"", 0
    root = prefix = None
    started = done = False
    while not done:
        piece = stream.read(PIECE)
        done = not piece
        buffer += piece
        if root is None:
            found = _ROOT.search(buffer)
            if found is None:
                continue
            root, prefix = found.group(0), found.group(1) + b":" if found.group(1) else b""
            if root.endswith(b"/>"):
                return
        if not started:
            begin = re.search(rb"<" + re.escape(prefix) + rb"sheetData\s*>", buffer)
            if begin is None:
                continue
            buffer, started = buffer[begin.end() :], True
        end = buffer.find(b"</" + prefix + b"sheetData>")
        if end >= 0:
            rows, buffer, done = buffer[:end], b"", True
        else:
            cut = buffer.rfind(b"</" + prefix + b"row>")
            if cut < 0 and not done:
                continue  # a row longer than a piece: read on
            cut = len(buffer) if cut < 0 else cut + len(prefix) + 6
            rows, buffer = buffer[:cut], buffer[cut:]
        if re.search(rb"<" + re.escape(prefix) + rb"f[\s/>]", rows):
            row = yield from _cells_of(root, prefix, rows, row)
        else:
            row = _last_row(prefix, rows, row)
        yield row, 0


def _cells_of(root: bytes, prefix: bytes, rows: bytes, row: int):
    """Yields the piece's formula cells without a result; returns its last row's number.
    Each formula's cell is read where it stands (a few searches), not the whole piece: a
    piece of Excel's is mostly cells without formulas. Cells without their reference ("B5")
    are numbered by their place, which takes the piece parsed."""
    p = re.escape(prefix)
    value = re.compile(rb"<" + p + rb"v(?:\s[^>]*)?(?:/>|>(.*?)</" + p + rb"v>)", re.DOTALL)
    since = 0  # the end of the last formula's cell: a cell starts after it
    for found in re.finditer(rb"<" + p + rb"f[\s/>]", rows):
        start = max(rows.rfind(b"<" + prefix + b"c ", since, found.start()),
                    rows.rfind(b"<" + prefix + b"c>", since, found.start()))  # fmt: skip
        head_end = rows.find(b">", start)
        ref = _REF.search(rows, start, head_end)
        if start < 0 or ref is None:
            return (yield from _parsed(root, prefix, rows, row))
        cell_end = rows.find(b"</" + prefix + b"c>", found.end())
        since = found.end() if cell_end < 0 else cell_end
        saved = value.search(rows, head_end, cell_end if cell_end >= 0 else len(rows))
        text = (saved.group(1) or b"").decode() if saved else None
        kind = _KIND.search(rows, start, head_end)
        if _no_result(True, text, kind.group(1).decode() if kind else None):
            yield int(ref.group(2)), column_index_from_string(ref.group(1).decode())
    return _last_row(prefix, rows, row)


def _parsed(root: bytes, prefix: bytes, rows: bytes, row: int):
    # the XML openpyxl parses too, with the same parser (expat refuses entity expansion), and
    # the zip's declared size was checked before anything was opened
    piece = ElementTree.fromstring(root + rows + b"</" + prefix + b"worksheet>")  # noqa: S314
    for element in piece:
        if _local(element.tag) != "row":
            continue
        row, column = int(element.get("r") or row + 1), 0
        for cell in element:
            if _local(cell.tag) != "c":
                continue
            ref = cell.get("r")
            letters = _LETTERS.match(ref) if ref else None
            column = column_index_from_string(letters.group(0)) if letters else column + 1
            children = {_local(child.tag): child for child in cell}
            saved = (children["v"].text or "") if "v" in children else None
            if _no_result("f" in children, saved, cell.get("t")):
                yield row, column
    return row


def _last_row(prefix: bytes, rows: bytes, row: int) -> int:
    """The number of the last row of a piece passed over: its `r`, else counted."""
    start = max(rows.rfind(b"<" + prefix + b"row "), rows.rfind(b"<" + prefix + b"row>"))
    if start < 0:
        return row
    numbered = _R.search(rows, start, rows.find(b">", start))
    if numbered:
        return int(numbered.group(1))
    return row + rows.count(b"<" + prefix + b"row ") + rows.count(b"<" + prefix + b"row>")


class Pending:
    """The formula cells without a result, pulled row by row beside openpyxl's rows."""

    def __init__(self, cells: Iterator[tuple[int, int]]):
        self.cells = cells
        self.next = next(cells, None)

    def at(self, row: int) -> list[int]:
        """The columns of `row` holding a formula without a result."""
        found = []
        while self.next is not None and self.next[0] <= row:
            if self.next[0] == row and self.next[1]:
                found.append(self.next[1])
            self.next = next(self.cells, None)
        return found
