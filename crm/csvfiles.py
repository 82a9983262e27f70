"""CSV files a person opens in Excel: UTF-8 with a BOM, streamed a line at a time, and no cell
that can run as a formula (text that starts like one gets a leading quote)."""

import csv

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A spreadsheet cell that cannot run: text starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_cell_read(text: str) -> str:
    """The value behind a cell csv_cell wrote: exports and failed-row files import again."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


class _Line:
    """A file-like object that hands back what csv.writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_stream(rows):
    """UTF-8 with BOM (so Excel shows Chinese), one encoded line at a time."""
    writer = csv.writer(_Line())
    yield "\ufeff".encode()
    for row in rows:
        cells = [value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else value
                 for value in row]  # fmt: skip
        yield writer.writerow([csv_cell(value) for value in cells]).encode("utf-8")
