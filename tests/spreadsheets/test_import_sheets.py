"""A marketer uploads a workbook with several sheets: the columns step says which sheet was read
and offers the others; choosing one reads it from the file already uploaded, and the import,
its failed-rows file and an erasure all read the sheet the marketer saw."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from crm.models import Contact
from personaldata.erasure import contact_erase
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import report
from spreadsheets.models import ImportJob
from tests.factories import ContactFactory


def workbook(sheets: dict[str, list[list]], active: int = 0) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.active = active
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# the sheet Excel opens on is the first: 北京, then 上海 (with a title row), then an empty one
THREE = workbook(
    {
        "北京": [["姓名", "手机"], ["张伟", "13800138000"]],
        "上海": [["上海客户"], ["名字", "电话", "邮箱"], ["王芳", "13900139000", "wf@example.com"],
                 ["李娜", "13700137000", "not-an-email"]],
        "备注": [],
    }
)  # fmt: skip


def upload(client, tenant, content, name="名单.xlsx") -> ImportJob:
    response = client.post(
        reverse("import_new", args=[tenant.slug]), {"file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 302
    return ImportJob.objects.for_tenant(tenant).latest("created_at")


def map_url(tenant, job):
    return reverse("import_map", args=[tenant.slug, job.pk])


def confirm_and_run(client, tenant, job, columns: dict[int, str], on_commit) -> ImportJob:
    """The columns confirmed on the page; the task, queued on commit, runs inline in tests."""
    data = {f"column-{i}": field for i, field in columns.items()}
    with on_commit(execute=True):
        assert client.post(map_url(tenant, job), data).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.DONE
    return job


def test_the_columns_step_names_the_sheet_read_and_offers_the_others(marketer_client, tenant):
    job = upload(marketer_client, tenant, THREE)
    assert job.sheet == "北京" and job.mapping == {"0": "name", "1": "phone"}
    page = marketer_client.get(map_url(tenant, job)).content.decode()
    assert "Sheet read: 北京 (of 3)." in page
    for name in ("北京", "上海", "备注"):
        assert f'<option value="{name}"' in page


def test_choosing_another_sheet_reads_it_without_a_new_upload_and_imports_it(
    marketer_client, tenant, django_capture_on_commit_callbacks
):
    job = upload(marketer_client, tenant, THREE)
    response = marketer_client.post(map_url(tenant, job), {"sheet": "上海"})
    assert response.status_code == 302
    job.refresh_from_db()
    # its own header row (under its title row) and its own columns, guessed afresh
    assert (job.sheet, job.header_row) == ("上海", 2)
    assert job.mapping == {"0": "name", "1": "phone", "2": "email"}
    assert ImportJob.objects.for_tenant(tenant).count() == 1  # the same upload
    page = marketer_client.get(map_url(tenant, job)).content.decode()
    assert "Sheet read: 上海 (of 3)." in page and "王芳" in page and "张伟" not in page

    job = confirm_and_run(marketer_client, tenant, job, {0: "name", 1: "phone", 2: "email"},
                          django_capture_on_commit_callbacks)  # fmt: skip
    # the worker read 上海, as previewed: 王芳 imported, 李娜's bad email reported by her row
    assert set(Contact.objects.for_tenant(tenant).values_list("name", flat=True)) == {"王芳"}
    assert [(e["row"], e["code"]) for e in job.errors] == [(4, "bad_email")]
    failed = report.failed_rows_csv(job).decode("utf-8-sig").splitlines()
    assert failed[0].startswith("名字,电话,邮箱") and failed[1].startswith("李娜,13700137000")
    detail = reverse("import_detail", args=[tenant.slug, job.pk])
    assert "Sheet: 上海" in marketer_client.get(detail).content.decode()


def test_an_empty_sheet_chosen_is_refused_and_the_sheet_read_stays(marketer_client, tenant):
    job = upload(marketer_client, tenant, THREE)
    marketer_client.post(map_url(tenant, job), {"sheet": "上海"})
    job.refresh_from_db()
    before = (job.sheet, job.header_row, job.mapping)
    response = marketer_client.post(map_url(tenant, job), {"sheet": "备注"}, follow=True)
    assert "The sheet “备注” has no rows." in response.content.decode()
    assert "Sheet read: 上海 (of 3)." in response.content.decode()
    job.refresh_from_db()
    assert (job.sheet, job.header_row, job.mapping) == before


def test_a_sheet_the_file_does_not_have_is_refused(marketer_client, tenant):
    job = upload(marketer_client, tenant, THREE)
    response = marketer_client.post(map_url(tenant, job), {"sheet": "广州"}, follow=True)
    assert "The file has no sheet “广州”" in response.content.decode()
    job.refresh_from_db()
    assert job.sheet == "北京" and job.header_row == 1


def test_a_started_import_reads_no_other_sheet(
    marketer_client, tenant, django_capture_on_commit_callbacks
):
    job = upload(marketer_client, tenant, THREE)
    confirm_and_run(marketer_client, tenant, job, {0: "name", 1: "phone"},
                    django_capture_on_commit_callbacks)  # fmt: skip
    response = marketer_client.post(map_url(tenant, job), {"sheet": "上海"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.sheet == "北京" and job.status == ImportJob.DONE


def test_a_workbook_opening_on_an_empty_sheet_reads_the_first_with_rows(tenant, marketer):
    content = workbook({"说明": [], "名单": [["姓名", "手机"], ["张伟", "13800138000"]]})
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="名单.xlsx",
                               content=content, language="en")  # fmt: skip
    assert job.sheet == "名单" and job.mapping == {"0": "name", "1": "phone"}


def test_the_sheet_excel_opens_on_is_read_first(tenant, marketer):
    content = workbook({"旧": [["姓名", "手机"], ["甲", "13800138001"]],
                        "新": [["姓名", "手机"], ["乙", "13800138002"]]}, active=1)  # fmt: skip
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="名单.xlsx",
                               content=content, language="en")  # fmt: skip
    assert job.sheet == "新"


def test_a_one_sheet_file_offers_no_sheet_choice(marketer_client, tenant):
    job = upload(marketer_client, tenant, workbook({"Sheet1": [["姓名", "手机"], ["张伟", "1"]]}))
    assert 'id="sheet-form"' not in marketer_client.get(map_url(tenant, job)).content.decode()


def test_another_company_cannot_choose_a_sheet(outsider_client, other_tenant, tenant, marketer):
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="名单.xlsx",
                               content=THREE, language="en")  # fmt: skip
    url = reverse("import_map", args=[other_tenant.slug, job.pk])
    assert outsider_client.post(url, {"sheet": "上海"}).status_code == 404
    job.refresh_from_db()
    assert job.sheet == "北京" and job.mapping == {"0": "name", "1": "phone"}


@pytest.mark.parametrize("imported", ["北京", "上海"])
def test_erasing_a_person_deletes_a_finished_import_file_listing_them_on_any_sheet(
    tenant, admin, imported
):
    person = ContactFactory(tenant=tenant, name="王芳", phone="13900139000")
    job = ImportJob.objects.create(
        tenant=tenant, created_by=admin, file_name="名单.xlsx", content=THREE, kind="xlsx",
        status=ImportJob.DONE, sheet=imported, mapping={"0": "name", "1": "phone"},
    )  # fmt: skip
    contact_erase(contact=person, actor=admin)
    job.refresh_from_db()
    assert bytes(job.content) == b""  # 王芳 is on 上海, whichever sheet was imported


def test_an_instructions_sheet_in_front_of_the_list_is_passed_over(tenant, marketer):
    content = workbook({"填写说明": [["请从第二个工作表开始填写"], ["手机号必填"]],
                        "名单": [["姓名", "手机"], ["张伟", "13800138000"]]})  # fmt: skip
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="名单.xlsx",
                               content=content, language="en")  # fmt: skip
    assert (job.sheet, job.mapping) == ("名单", {"0": "name", "1": "phone"})


def test_without_a_sheet_naming_our_columns_the_one_excel_opens_on_is_read(tenant, marketer):
    content = workbook({"甲": [["a", "b"], ["1", "2"]], "乙": [["c"], ["3"]]}, active=1)
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="名单.xlsx",
                               content=content, language="en")  # fmt: skip
    assert job.sheet == "乙" and job.mapping == {}
