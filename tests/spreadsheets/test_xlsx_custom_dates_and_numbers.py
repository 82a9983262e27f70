"""A school's own dates and numbers in Excel: an XLSX export writes 生日 as a date cell and 年级
and 学费 as numbers (as it writes 创建时间 and 预计金额), so Excel sorts and sums them, and the file
imports again into the same fields; an Excel date cell shows on the import's columns page as the
date, "2010-03-05", not "2010-03-05 00:00:00"."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from crm import customfields as cf
from crm.models import Contact, CustomField
from spreadsheets.imports import jobs as imports
from tests.factories import ContactFactory

Kind = CustomField.Kind


@pytest.fixture
def school(tenant, admin):
    make = cf.custom_field_create
    make(tenant=tenant, actor=admin, label="生日", kind=Kind.DATE)
    make(tenant=tenant, actor=admin, label="年级", kind=Kind.NUMBER)
    make(tenant=tenant, actor=admin, label="学费", kind=Kind.MONEY)
    make(tenant=tenant, actor=admin, label="校区", kind=Kind.CHOICE, options=["徐汇", "浦东"])
    fields = cf.custom_fields_of(tenant=tenant)
    given = {"sheng_ri": "2012-01-01", "nian_ji": 3, "xue_fei": "12800.50", "xiao_qu": "浦东"}
    custom = cf.values_clean(tenant=tenant, fields=fields, given=given)
    ContactFactory(tenant=tenant, name="张小明", phone="13800138001", custom=custom)
    ContactFactory(tenant=tenant, name="李小红", phone="13800138002")
    return custom


def exported(client, tenant, kind: str) -> bytes:
    response = client.get(reverse("contacts_export", args=[tenant.slug]), {"format": kind})
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_xlsx_export_writes_custom_dates_as_dates_and_numbers_as_numbers(
    admin_client, tenant, school
):
    sheet = load_workbook(io.BytesIO(exported(admin_client, tenant, "xlsx"))).active
    header, *rows = sheet.iter_rows()
    names = [cell.value for cell in header]
    by_name = {row[0].value: dict(zip(names, row, strict=False)) for row in rows}
    row = by_name["张小明"]
    birthday, created = row["生日"], row["Created"]
    assert birthday.is_date and created.is_date  # a date cell, like the date it was added
    assert birthday.value == dt.datetime(2012, 1, 1)  # noqa: DTZ001 - what Excel holds
    assert (row["年级"].data_type, row["年级"].value) == ("n", 3)
    assert (row["学费"].data_type, row["学费"].value) == ("n", 12800.5)
    assert (row["校区"].data_type, row["校区"].value) == ("s", "浦东")
    empty = by_name["李小红"]
    assert [empty[name].value for name in ("生日", "年级", "学费", "校区")] == [None] * 4


def test_the_csv_export_still_writes_them_as_the_contact_page_shows_them(
    admin_client, tenant, school
):
    body = exported(admin_client, tenant, "csv").decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(body))
    assert header[-4:] == ["生日", "年级", "学费", "校区"]
    assert {row[0]: row[-4:] for row in rows} == {
        "张小明": ["2012-01-01", "3", "¥12,800.50", "浦东"], "李小红": ["", "", "", ""],
    }  # fmt: skip


def test_the_xlsx_export_imports_again_into_the_same_fields(admin_client, tenant, marketer, school):
    content = exported(admin_client, tenant, "xlsx")
    Contact.objects.for_tenant(tenant).update(custom={})
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="contacts.xlsx",
                               content=content, language="en")  # fmt: skip
    job = imports.import_run(job=job)
    assert job.failed == 0
    assert {c.name: c.custom for c in Contact.objects.for_tenant(tenant)} == {
        "张小明": school, "李小红": {},
    }  # fmt: skip


def test_the_import_columns_page_shows_an_excel_date_cell_as_the_date(
    marketer_client, tenant, marketer, school
):
    book = Workbook()
    book.active.append(["姓名", "手机", "生日"])
    book.active.append(["王小刚", "13800138003", dt.datetime(2010, 3, 5)])  # noqa: DTZ001
    content = io.BytesIO()
    book.save(content)
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="学员.xlsx",
                               content=content.getvalue(), language="en")  # fmt: skip
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk])).content.decode()
    assert "2010-03-05" in page and "00:00:00" not in page
    imports.import_run(job=job)
    wang = Contact.objects.for_tenant(tenant).get(name="王小刚")
    assert wang.custom == {"sheng_ri": "2010-03-05"}
