"""A marketer uploads the files Chinese offices really send: Excel's "Unicode text", GBK,
a title row above the headers, blank rows, and now and then a damaged or hostile file. Each is
read as meant, or refused with a clear reason on the upload form; the web request reads only
the first rows, and error row numbers are Excel's own."""

import io
import zipfile
from collections import deque
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from crm.models import Contact
from crm.services import ServiceError
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import reading as import_files
from spreadsheets.imports import report
from spreadsheets.models import ImportJob

HEADER = "姓名,手机,邮箱\r\n"


def start(tenant, marketer, content, name="people.csv"):
    return imports.import_start(tenant=tenant, actor=marketer, file_name=name, content=content,
                                language="en")  # fmt: skip


def run(job):
    job.status = ImportJob.QUEUED  # as the columns step leaves it
    job.save(update_fields=["status"])
    return imports.import_run(job=job)


def refused(content, name="people.csv"):
    with pytest.raises(ServiceError) as caught:
        deque(import_files.Table(content, name).rows(), maxlen=0)  # every row read, none kept
    return caught.value.message


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_excel_unicode_text_utf16_with_bom_and_tabs_is_read(tenant, marketer):
    content = "\ufeff姓名\t手机\r\n张伟\t13800138000\r\n".encode("utf-16-le")
    job = start(tenant, marketer, content, "unicode.txt")
    assert job.encoding == "utf-16" and job.mapping == {"0": "name", "1": "phone"}
    run(job)
    assert Contact.objects.for_tenant(tenant).get().name == "张伟"


def test_utf16_without_bom_and_gbk_are_read():
    rows = list(
        import_files.Table(
            HEADER.encode("utf-16-le") + "王芳,13900139000,\r\n".encode("utf-16-le")
        ).rows()
    )
    assert rows[1] == (2, ["王芳", "13900139000"])
    table = import_files.Table((HEADER + "李娜,13700137000,li@例子.cn\r\n").encode("gbk"))
    assert table.encoding == "gb18030" and list(table.rows())[1][1][0] == "李娜"


def test_the_mapping_page_says_how_the_file_was_read(marketer_client, tenant, marketer):
    job = start(tenant, marketer, "姓名\t手机\n张伟\t13800138000\n".encode("utf-16"))
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk])).content.decode()
    assert "Read as UTF-16." in page and "Headers on row 1" in page


def test_a_nul_byte_is_refused_with_its_row():
    assert "Row 3 holds a NUL character" in refused((HEADER + "a,1,\r\nb\x00,2,\r\n").encode())


def test_a_1mb_cell_is_refused_with_its_row():
    big = "x" * (1 << 20)
    assert "A cell on row 2 holds more than 32,767" in refused((HEADER + big + ",1,\r\n").encode())
    with mock.patch.object(import_files, "MAX_CELL", 100):
        assert "on row 2" in refused(xlsx([["姓名"], ["y" * 200]]), "big.xlsx")


def test_5000_columns_are_refused():
    assert "Row 1 has 5000 columns; at most 200" in refused((",".join(["c"] * 5000)).encode())


def test_more_rows_than_the_limit_are_refused(tenant, marketer):
    content = (HEADER + "".join(f"p{i},1380013{i:04d},\r\n" for i in range(10))).encode()
    job = start(tenant, marketer, content)
    with mock.patch.object(import_files, "MAX_ROWS", 5), pytest.raises(ServiceError) as caught:
        run(job)
    assert "more than 5 rows" in caught.value.message


def test_a_zip_bomb_is_refused_before_it_is_opened():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<row/>" * (50 << 20))  # 300 MB of XML
    content = out.getvalue()
    assert len(content) < 2 << 20
    with mock.patch.object(import_files, "load_workbook") as opened:
        with pytest.raises(ServiceError) as caught:
            import_files.Table(content, "bomb.xlsx")
        opened.assert_not_called()
    assert "expands to" in caught.value.message


def test_an_old_xls_is_refused_with_what_to_do():
    content = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    assert "save it as .xlsx or CSV UTF-8" in refused(content, "old.xls")


def test_a_title_row_above_the_headers_is_skipped(tenant, marketer):
    content = xlsx([["2024 年客户名单"], [], ["姓名", "手机"], ["张伟", "13800138000"]])
    job = start(tenant, marketer, content, "title.xlsx")
    assert job.header_row == 3 and job.mapping == {"0": "name", "1": "phone"}
    run(job)
    assert job.total == 1 and Contact.objects.for_tenant(tenant).get().name == "张伟"


def test_the_user_picks_another_header_row(marketer_client, tenant, marketer):
    content = ("客户名单\r\n" + "名字,电话\r\n张伟,13800138000\r\n").encode()
    job = start(tenant, marketer, content)
    url = reverse("import_map", args=[tenant.slug, job.pk])
    marketer_client.post(url, {"header_row": "1"})
    job.refresh_from_db()
    assert job.header_row == 1 and job.mapping == {}
    marketer_client.post(url, {"header_row": "2"})
    job.refresh_from_db()
    assert job.header_row == 2 and job.mapping == {"0": "name", "1": "phone"}
    assert "张伟" in marketer_client.get(url).content.decode()


def test_error_rows_match_excel_with_blank_rows(tenant, marketer):
    content = (HEADER + "\r\n张伟,13800138000,\r\n\r\n\r\n王芳,,\r\n").encode()
    job = start(tenant, marketer, content)
    run(job)
    job.refresh_from_db()
    assert {error["row"] for error in job.errors} == {6}  # Excel's row 6, blanks counted
    failed = report.failed_rows_csv(job).decode("utf-8-sig").splitlines()
    assert failed[0].startswith("姓名,手机,邮箱") and failed[1].startswith("王芳")


def test_the_upload_request_reads_only_the_first_rows(tenant, marketer):
    content = (HEADER + "".join(f"p{i},1380013{i:04d},\r\n" for i in range(5000))).encode()
    read = []
    real = import_files.Table.rows

    def counting(table):
        for row in real(table):
            read.append(row)
            yield row

    with mock.patch.object(import_files.Table, "rows", counting):
        job = start(tenant, marketer, content)
    assert len(read) <= import_files.PREVIEW_ROWS and job.total == 0
    run(job)
    job.refresh_from_db()
    assert job.total == 5000


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("nul.csv", (HEADER + "a\x00,1,\r\n").encode(), "NUL character"),
        ("bad.csv", (HEADER + '"a"b\x00,"\r\n').encode(), "Row 2"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "save it as .xlsx"),
        ("big.csv", (HEADER + "x" * (1 << 20) + "\r\n").encode(), "more than 32,767"),
    ],
)
def test_a_bad_file_is_refused_on_the_upload_form(marketer_client, tenant, name, content, said):
    url = reverse("import_new", args=[tenant.slug])
    response = marketer_client.post(url, {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 200 and said in response.content.decode()
    assert not ImportJob.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("名单.xls", "姓名,手机\n张三,13800138000\n".encode("gbk"), "Old Excel files (.xls)"),
        ("名单.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is not a spreadsheet"),
        ("名单.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is not a spreadsheet"),
        ("名单.docx", b"PK\x03\x04 a Word file", "is not a spreadsheet"),
    ],
    ids=["text-named-xls", "pdf", "pdf-named-csv", "word"],
)
def test_what_is_not_a_spreadsheet_is_refused_at_the_upload(marketer_client, tenant, name,
                                                           content, says):  # fmt: skip
    """Read as GBK text, a PDF or a renamed file would show garbled columns and fail later
    with an unrelated message: it is refused by name or signature at the upload."""
    upload = SimpleUploadedFile(name, content)
    response = marketer_client.post(reverse("import_new", args=[tenant.slug]), {"file": upload})
    assert response.status_code == 200 and says in response.content.decode()
    assert not ImportJob.objects.for_tenant(tenant).exists()


def test_a_file_with_headers_and_no_rows_is_refused_at_the_upload(marketer_client, tenant):
    upload = SimpleUploadedFile("名单.csv", "2026年客户名单\n姓名,手机,邮箱\n\n".encode())
    response = marketer_client.post(reverse("import_new", args=[tenant.slug]), {"file": upload})
    assert "has headers but no rows under them" in response.content.decode()
    assert not ImportJob.objects.for_tenant(tenant).exists()
