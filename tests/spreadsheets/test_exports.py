"""Exports that open correctly in Excel, with the company's words and no formulas."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from audiences.services import audience_recompute, audience_save
from crm import customfields as cf
from crm.models import Contact, CustomField
from spreadsheets.imports import jobs as imports
from tagging.models import Tag, TagGroup
from tagging.services import contact_tag_add
from tests.factories import ContactFactory


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_filtered_list_exports_as_csv_with_labels_tags_and_no_formulas(admin_client, tenant):
    admin_client.post(reverse("stage_settings", args=[tenant.slug]), {"sql-label": "04-咨询"})
    group = TagGroup.objects.create(tenant=tenant, key="i", label="课程兴趣")
    tag = Tag.objects.create(tenant=tenant, group=group, key="s", label="成人口语",
                             label_key="成人口语")  # fmt: skip
    wanted = ContactFactory(tenant=tenant, name='=HYPERLINK("x")', stage="sql")
    contact_tag_add(contact=wanted, tag=tag, actor=None)
    ContactFactory(tenant=tenant, name="不导出", stage="lead")
    response = admin_client.get(reverse("contacts_export", args=[tenant.slug]), {"stage": "sql"})
    body = _body(response)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Name", "Phone"] and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Name"] == '\'=HYPERLINK("x")'
    assert row["Stage"] == "04-咨询" and row["Tags"] == "成人口语"


def test_an_audience_exports_as_xlsx_that_opens(admin_client, tenant, admin):
    ContactFactory(tenant=tenant, name="张伟", stage="customer", phone="13800138000")
    ContactFactory(tenant=tenant, name="+1 公式", stage="customer", phone="13800138001",
                   expected_amount=3680)  # fmt: skip
    audience = audience_save(tenant=tenant, actor=admin, name="付费客户", gate="exact",
                             stages=["customer"])  # fmt: skip
    audience_recompute(audience=audience)
    response = admin_client.get(
        reverse("audience_export", args=[tenant.slug, audience.pk]), {"format": "xlsx"}
    )
    assert (
        "filename*=utf-8''%E4%BB%98%E8%B4%B9%E5%AE%A2%E6%88%B7.xlsx"
        in (response["Content-Disposition"])
    )
    sheet = load_workbook(io.BytesIO(_body(response)), read_only=True).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "Name" and len(rows) == 3
    # text is stored as text: shown as written, never run as a formula
    assert {r[0] for r in rows[1:]} == {"张伟", "+1 公式"}
    assert {r[7] for r in rows[1:]} == {"Customer"}
    assert 3680 in {r[13] for r in rows[1:]}  # a number Excel can sum


def test_exports_are_for_admins_and_marketers(sales_client, marketer_client, tenant):
    url = reverse("contacts_export", args=[tenant.slug])
    assert sales_client.get(url).status_code == 403
    assert marketer_client.get(url).status_code == 200


def test_another_companys_contacts_never_appear_in_an_export(admin_client, tenant, other_tenant):
    ContactFactory(tenant=other_tenant, name="别人的")
    ContactFactory(tenant=tenant, name="我的")
    body = _body(admin_client.get(reverse("contacts_export", args=[tenant.slug]))).decode()
    assert "我的" in body and "别人的" not in body


def test_the_list_export_follows_the_list_and_its_sort(admin_client, tenant):
    for name in ("乙", "甲", "丙"):
        ContactFactory(tenant=tenant, name=name)
    page = admin_client.get(reverse("contact_list", args=[tenant.slug]), {"q": "甲"},
                            HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    assert "q=%E7%94%B2" in page  # the export link in the re-rendered results keeps the search
    body = _body(
        admin_client.get(reverse("contacts_export", args=[tenant.slug]), {"sort": "-name"})
    )
    names = [row[0] for row in csv.reader(io.StringIO(body.decode("utf-8-sig")))][1:]
    assert names == ["乙", "甲", "丙"]  # yi, jia, bing: by pinyin, Z to A


def test_xlsx_text_that_looks_like_a_formula_stays_text(admin_client, tenant):
    ContactFactory(tenant=tenant, name="=1+1")
    response = admin_client.get(reverse("contacts_export", args=[tenant.slug]), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(_body(response))).active
    cell = sheet["A2"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


@pytest.mark.parametrize(
    "name", ["Q1: leads*", "[VIP] 老客户?", "a/b\\c", "'quoted'", "***", "很长的名字" * 10]
)
def test_any_audience_name_exports_as_xlsx(admin_client, tenant, admin, name):
    ContactFactory(tenant=tenant, name="张伟", stage="customer")
    audience = audience_save(tenant=tenant, actor=admin, name=name, gate="exact",
                             stages=["customer"])  # fmt: skip
    audience_recompute(audience=audience)
    response = admin_client.get(
        reverse("audience_export", args=[tenant.slug, audience.pk]), {"format": "xlsx"}
    )
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(_body(response)), read_only=True)
    assert 1 <= len(workbook.active.title) <= 31
    assert [[c.value for c in row] for row in workbook.active.iter_rows()][1][0] == "张伟"


def test_custom_fields_export_as_columns_that_import_again_into_the_same_fields(
    admin_client, tenant, admin, marketer, sales
):
    kind = CustomField.Kind
    make = cf.custom_field_create
    make(tenant=tenant, actor=admin, label="生日", kind=kind.DATE)
    make(
        tenant=tenant, actor=admin, label="上课日", kind=kind.MULTI_CHOICE, options=["周六", "周日"]
    )
    make(tenant=tenant, actor=admin, label="学费", kind=kind.MONEY)
    make(tenant=tenant, actor=admin, label="课程顾问", kind=kind.MEMBER)
    sales.user.first_name, sales.user.last_name = "小明", "赵"
    sales.user.save()
    custom = {"sheng_ri": "2015-03-04", "shang_ke_ri": ["周六", "周日"], "xue_fei": "12800.00",
              "ke_cheng_gu_wen": sales.pk}  # fmt: skip
    ContactFactory(tenant=tenant, name="张小明", phone="13800138001", custom=custom)
    ContactFactory(tenant=tenant, name="李小红", phone="13800138002")
    body = _body(admin_client.get(reverse("contacts_export", args=[tenant.slug])))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][-4:] == ["生日", "上课日", "学费", "课程顾问"]
    shown = {row[0]: row[-4:] for row in rows[1:]}
    assert shown == {"张小明": ["2015-03-04", "周六、周日", "¥12,800.00", "赵小明"],
                     "李小红": ["", "", "", ""]}  # fmt: skip
    # the values lost, the export imported again gives them back as they were
    Contact.objects.for_tenant(tenant).update(custom={})
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="contacts.csv",
                               content=body, language="en")  # fmt: skip
    assert {f for f in job.mapping.values() if f.startswith("cf:")} == {
        "cf:sheng_ri", "cf:shang_ke_ri", "cf:xue_fei", "cf:ke_cheng_gu_wen",
    }  # fmt: skip
    job = imports.import_run(job=job)
    assert job.failed == 0
    assert {c.name: c.custom for c in Contact.objects.for_tenant(tenant)} == {
        "张小明": custom, "李小红": {},
    }  # fmt: skip


def test_an_xlsx_export_holds_the_custom_fields_too(admin_client, tenant, admin):
    cf.custom_field_create(tenant=tenant, actor=admin, label="校区", kind=CustomField.Kind.CHOICE,
                           options=["徐汇", "浦东"])  # fmt: skip
    ContactFactory(tenant=tenant, name="张小明", custom={"xiao_qu": "浦东"})
    response = admin_client.get(reverse("contacts_export", args=[tenant.slug]), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(_body(response)), read_only=True).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert (rows[0][-1], rows[1][-1]) == ("校区", "浦东")


NOTES = {"张伟": "周六下午有空\n家长陪同试听", "李娜": "-1 回访（学费太贵）", "王芳": ""}


def _export_table(client, tenant, xlsx: bool) -> tuple[list[list], bytes]:
    params = {"format": "xlsx"} if xlsx else {}
    body = _body(client.get(reverse("contacts_export", args=[tenant.slug]), params))
    if xlsx:
        sheet = load_workbook(io.BytesIO(body), read_only=True).active
        rows = [["" if c.value is None else c.value for c in row] for row in sheet.iter_rows()]
    else:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return rows, body


@pytest.mark.parametrize(
    "language, header", [("en", "Note"), ("zh-hans", "备注")], ids=["english", "chinese"]
)
@pytest.mark.parametrize("xlsx", [False, True], ids=["csv", "xlsx"])
def test_the_note_is_exported_and_imports_again_into_the_note(
    admin, admin_client, tenant, marketer, language, header, xlsx
):
    admin.user.language = language
    admin.user.save()
    for number, (name, notes) in enumerate(NOTES.items()):
        ContactFactory(tenant=tenant, name=name, phone=f"1380013800{number}", notes=notes)
    rows, body = _export_table(admin_client, tenant, xlsx)
    assert rows[0].count(header) == 1
    exported = {row[0]: row[rows[0].index(header)] for row in rows[1:]}
    if xlsx:
        assert exported == NOTES
    else:  # a cell that starts like a formula is quoted, and read back without the quote
        assert exported == {**NOTES, "李娜": "'-1 回访（学费太贵）"}

    # the notes lost, the export imported again puts each back on its contact
    Contact.objects.for_tenant(tenant).update(notes="")
    name = "contacts.xlsx" if xlsx else "contacts.csv"
    job = imports.import_start(tenant=tenant, actor=marketer, file_name=name, content=body,
                               language=language)  # fmt: skip
    assert job.mapping[str(rows[0].index(header))] == "notes"
    job = imports.import_run(job=job)
    assert (job.failed, job.created) == (0, 0)
    assert {c.name: c.notes for c in Contact.objects.for_tenant(tenant)} == NOTES
