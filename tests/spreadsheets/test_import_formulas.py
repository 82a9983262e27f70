"""A marketer imports a file a script wrote: some cells are Excel formulas that were never
calculated (nobody opened and saved the file in Excel), so the file holds no value for them.
Such a cell is reported by its row and column, never read as empty; a formula Excel did
calculate, even to empty text, is read as its result."""

import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import Workbook

from crm.models import Contact
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import report
from spreadsheets.imports.formulas import UNCALCULATED, uncalculated_cells
from spreadsheets.imports.reading import Table
from spreadsheets.models import ImportJob


def scripted(rows: list[list], saved: dict[str, str] | None = None) -> bytes:
    """An XLSX as a script writes it (openpyxl: formulas without results). `saved`: cells
    given the result Excel saves ("C3": "2"; "D3": "" for an empty text, typed "str")."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    if not saved:
        return out.getvalue()
    source, result = zipfile.ZipFile(out), io.BytesIO()
    with zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, value in saved.items():
                    start = text.index(f'<c r="{ref}"')
                    end = text.index("</c>", start)
                    cell = text[start:end]
                    if value:
                        cell = cell.replace("<v />", f"<v>{value}</v>").replace(
                            "<v/>", f"<v>{value}</v>"
                        )
                    else:
                        cell = cell.replace(f'<c r="{ref}"', f'<c r="{ref}" t="str"', 1)
                        cell = cell.replace("<v />", "<v></v>")
                    text = text[:start] + cell + text[end:]
                data = text.encode()
            target.writestr(item, data)
    return result.getvalue()


def test_a_formula_without_a_result_is_read_as_one_not_as_an_empty_cell():
    content = scripted(
        [["姓名", "电话", "备注", "合计"],
         ["张伟", '="138"&"00138000"', '=IF(1,"","x")', "=1+1"]],
        saved={"C2": "", "D2": "2"},
    )  # fmt: skip
    cells = list(Table(content, "a.xlsx").rows())[1][1]
    assert cells[1] is UNCALCULATED  # a script's formula: no result in the file
    assert cells[2] == "" and cells[2] is not UNCALCULATED  # Excel's result: empty text
    assert cells[3] == "2"  # calculated by Excel: its result


def test_a_row_of_formulas_alone_is_a_blank_row():
    content = scripted([["姓名", "电话"], ["=A1", None], ["张伟", "13800138000"]])
    assert [n for n, cells in Table(content, "a.xlsx").rows() if any(cells)] == [1, 3]


def test_the_file_is_read_beside_openpyxl_a_piece_at_a_time(monkeypatch):
    """Pieces of rows without a formula are passed over; the numbering stays Excel's."""
    monkeypatch.setattr("spreadsheets.imports.formulas.PIECE", 512)
    rows = [["姓名", "电话"]] + [[f"客户{i}", f"1380013{i:04d}"] for i in range(300)]
    rows[250][1] = "=B2"
    content = scripted(rows)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        found = [cell for cell in uncalculated_cells(archive.open("xl/worksheets/sheet1.xml"))
                 if cell[1]]  # fmt: skip
    assert found == [(251, 2)]
    read = dict(Table(content, "a.xlsx").rows())
    assert read[251][1] is UNCALCULATED and read[250][1] == "13800130248"


def start_and_run(tenant, marketer, content, mapping=None) -> ImportJob:
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="脚本导出.xlsx",
                               content=content, language="en")  # fmt: skip
    if mapping is not None:
        job.mapping = mapping
    job.status = ImportJob.QUEUED
    job.save(update_fields=["mapping", "status"])
    imports.import_run(job=job)
    job.refresh_from_db()
    return job


def test_a_mapped_formula_cell_without_a_result_is_reported_by_row_and_column(tenant, marketer):
    content = scripted(
        [["姓名", "电话", "邮箱"],
         ["张伟", "13800138000", ""],
         ["王芳", "13900139000", ""],
         ["李娜", "13700137000", ""],
         ["赵敏", '="139"&"22220001"', "zm@example.com"],
         ["孙磊", "13922220002", "=LOWER(\"SL@EXAMPLE.COM\")"]],
    )  # fmt: skip
    job = start_and_run(tenant, marketer, content)
    names = set(Contact.objects.for_tenant(tenant).values_list("name", flat=True))
    assert names == {"张伟", "王芳", "李娜"}  # nothing read as empty: those rows wait
    shown = report.errors_shown(job.errors, tenant=tenant)
    assert shown == [
        {"row": 5, "column": "电话", "reason": "A formula with no result saved in the file: open "
                                              "the file in Excel, save it and import it again."},
        {"row": 6, "column": "邮箱", "reason": "A formula with no result saved in the file: open "
                                              "the file in Excel, save it and import it again."},
    ]  # fmt: skip
    failed = report.failed_rows_csv(job).decode("utf-8-sig").splitlines()
    assert failed[1].startswith('赵敏,,zm@example.com,"电话: A formula with no result saved')


def test_a_formula_in_a_column_not_imported_changes_nothing(tenant, marketer):
    content = scripted([["姓名", "电话", "序号"], ["张伟", "13800138000", "=ROW()-1"]])
    job = start_and_run(tenant, marketer, content)
    assert job.errors == [] and Contact.objects.for_tenant(tenant).get().name == "张伟"


def test_the_columns_step_warns_of_a_column_of_formulas_without_results(
    marketer_client, tenant, marketer
):
    content = scripted([["姓名", "电话"], ["张伟", '="138"&"00138000"'], ["王芳", "13900139000"]])
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="脚本导出.xlsx",
                               content=content, language="en")  # fmt: skip
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk])).content.decode()
    assert 'id="formulas-1"' in page and 'id="formulas-0"' not in page
    assert "Formulas with no result saved in the file" in page


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_csv_cell_is_never_taken_for_a_formula(tenant, marketer, kind):
    content = "姓名,电话\n张伟,=1+1\n".encode() if kind == "csv" else scripted(
        [["姓名", "电话"], ["张伟", "13800138000"]])  # fmt: skip
    job = start_and_run(tenant, marketer, content, mapping={"0": "name", "1": "phone"})
    assert all(error["code"] != "formula" for error in job.errors)
