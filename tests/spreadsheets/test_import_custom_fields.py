"""An admin adds 生日 and 校区 and imports a file that fills them: columns named after a field map
by themselves, dates are read as Chinese Excel writes them, bad values are row errors with a
clear message, people already here get the values they lack and keep their own, and undoing the
import takes back exactly what it wrote."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from crm import customfields as cf
from crm.models import Contact, CustomField
from crm.selectors import ContactFilters, contacts_matching
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import reading, report
from spreadsheets.imports.undo import import_undo, import_undo_counts
from spreadsheets.models import ImportJob
from tests.factories import ContactFactory

Kind = CustomField.Kind


@pytest.fixture
def school(tenant, admin):
    """The fields a training school adds: 生日 (a date) and 校区 (one of three campuses)."""
    make = cf.custom_field_create
    return {
        "birthday": make(tenant=tenant, actor=admin, label="生日", kind=Kind.DATE),
        "campus": make(
            tenant=tenant,
            actor=admin,
            label="校区",
            kind=Kind.CHOICE,
            options=["徐汇", "浦东", "静安"],
        ),  # fmt: skip
    }


def upload(tenant, member, content: bytes, name="学员.csv") -> ImportJob:
    return imports.import_start(tenant=tenant, actor=member, file_name=name, content=content,
                                language="en")  # fmt: skip


def run(tenant, member, text: str, name="学员.csv") -> ImportJob:
    """Uploads the file and imports it with the columns as guessed (as the page offers them)."""
    job = upload(tenant, member, text.encode(), name)
    return imports.import_run(job=job)


def custom_of(tenant) -> dict[str, dict]:
    return {c.name: c.custom for c in Contact.objects.for_tenant(tenant)}


def shown_errors(job, language="en") -> dict[int, tuple[str, str]]:
    with translation.override(language):
        errors = report.errors_shown(report.import_errors(job), tenant=job.tenant)
    return {e["row"]: (e["column"], e["reason"]) for e in errors}


def shown_warnings(job, language="en") -> dict[int, tuple[str, str]]:
    with translation.override(language):
        warnings = report.warnings_shown(report.import_warnings(job), tenant=job.tenant)
    return {w["row"]: (w["column"], w["reason"]) for w in warnings}


FILE = (
    "姓名,手机,生日,校区\n"
    "张小明,13800138001,2015/3/4,徐汇\n"
    "李小红,13800138002,2016年5月6日,浦东\n"
    "王小刚,13800138003,42067,静安 \n"
    "赵小华,13800138004,明天,徐汇\n"
    "钱小丽,13800138005,2015-01-01,虹口\n"
    "孙小亮,13800138006,,\n"
)


def test_a_birthday_and_campus_column_fill_the_companys_own_fields(tenant, marketer, school):
    job = upload(tenant, marketer, FILE.encode())
    # the headers are the fields' names: they map by themselves
    assert job.mapping == {"0": "name", "1": "phone", "2": "cf:sheng_ri", "3": "cf:xiao_qu"}
    job = imports.import_run(job=job)
    assert (job.created, job.failed) == (4, 2)
    assert custom_of(tenant) == {
        "张小明": {"sheng_ri": "2015-03-04", "xiao_qu": "徐汇"},
        "李小红": {"sheng_ri": "2016-05-06", "xiao_qu": "浦东"},
        # an Excel day number is a date; an option is matched whatever its spaces
        "王小刚": {"sheng_ri": "2015-03-04", "xiao_qu": "静安"},
        "孙小亮": {},  # empty cells write nothing
    }
    assert shown_errors(job) == {
        5: ("生日", "生日: “明天” is not a date (write it as 2015-03-04)."),
        6: ("校区", "校区: “虹口” is not one of its options (徐汇、浦东、静安)."),
    }
    # in the reader's language, and in the failed rows' file to fix and upload again
    assert shown_errors(job, "zh-hans")[5][0] == "生日"
    with translation.override("zh-hans"):
        body = report.failed_rows_csv(job).decode("utf-8-sig")
    assert "赵小华" in body and "明天" in body and "钱小丽" in body and "张小明" not in body


def test_the_filters_find_what_the_import_wrote(tenant, marketer, school):
    run(tenant, marketer, FILE)
    filters = ContactFilters(custom=(cf.CustomCondition("sheng_ri", "max", "2015-12-31"),))
    found = contacts_matching(tenant=tenant, filters=filters, viewer=None)
    assert set(found.values_list("name", flat=True)) == {"张小明", "王小刚"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (dt.date(2015, 3, 4), "2015-03-04"),  # a date cell
        # a date cell with a time (Excel's cells hold no time zone)
        (dt.datetime(2015, 3, 4, 8, 30), "2015-03-04"),  # noqa: DTZ001
        (42067, "2015-03-04"),  # a date cell Excel keeps as its day number
        ("2015年3月4日", "2015-03-04"),
        ("2015.3.4", "2015-03-04"),
        ("20150304", "2015-03-04"),
    ],
)
def test_an_excel_files_dates_are_read_as_excel_and_wps_write_them(
    tenant, marketer, school, cell, expected
):
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机", "生日"])
    sheet.append(["张小明", "13800138001", cell])
    content = io.BytesIO()
    book.save(content)
    job = imports.import_run(job=upload(tenant, marketer, content.getvalue(), "学员.xlsx"))
    assert (job.created, job.failed) == (1, 0)
    assert custom_of(tenant) == {"张小明": {"sheng_ri": expected}}


def test_a_column_named_as_a_fields_key_or_in_another_case_maps_too(tenant, admin):
    cf.custom_field_create(tenant=tenant, actor=admin, label="Birthday", kind=Kind.DATE)
    grade = cf.custom_field_create(tenant=tenant, actor=admin, label="年级", kind=Kind.NUMBER)
    fields = cf.custom_fields_of(tenant=tenant)
    assert reading.guess_mapping(["Name", "Phone", " BIRTHDAY ", grade.key, "备注"], fields) == {
        "0": "name", "1": "phone", "2": "cf:birthday", "3": f"cf:{grade.key}", "4": "notes",
    }  # fmt: skip
    # one column per field: a second column of the same name is left for the marketer to choose
    assert reading.guess_mapping(["手机", "年级", "年级"], fields) == {
        "0": "phone", "1": f"cf:{grade.key}",
    }  # fmt: skip


def test_people_already_here_get_the_values_they_lack_and_keep_their_own(tenant, marketer, school):
    ContactFactory(tenant=tenant, name="张小明", phone="13800138001", custom={"xiao_qu": "浦东"})
    job = run(tenant, marketer, "姓名,手机,生日,校区\n张小明,13800138001,2015/3/4,徐汇\n")
    assert (job.created, job.updated) == (0, 1)
    assert custom_of(tenant) == {"张小明": {"sheng_ri": "2015-03-04", "xiao_qu": "浦东"}}
    assert shown_warnings(job) == {
        2: ("校区", "The contact already has “浦东”: kept (the file gives “徐汇”).")
    }
    # the same file again changes nothing, and says so no more (its value is the one held)
    again = run(tenant, marketer, "姓名,手机,生日\n张小明,13800138001,2015-03-04\n")
    assert (again.updated, again.skipped) == (0, 1)
    assert shown_warnings(again) == {}


def test_a_person_the_file_lists_twice_takes_the_first_rows_values(tenant, marketer, school):
    job = run(tenant, marketer, "姓名,手机,生日,校区\n张小明,13800138001,,徐汇\n"
                                "张小明,13800138001,2015/3/4,浦东\n")  # fmt: skip
    assert (job.created, job.merged) == (1, 1)
    assert custom_of(tenant) == {"张小明": {"sheng_ri": "2015-03-04", "xiao_qu": "徐汇"}}


def test_a_required_field_no_column_gives_refuses_new_people_not_those_here(
    tenant, admin, marketer, marketer_client, school
):
    cf.custom_field_update(field=school["campus"], actor=admin, label="校区", required=True,
                           options=["徐汇", "浦东", "静安"])  # fmt: skip
    ContactFactory(tenant=tenant, name="张小明", phone="13800138001", custom={"xiao_qu": "浦东"})
    text = "姓名,手机,生日\n张小明,13800138001,2015/3/4\n李小红,13800138002,2016/5/6\n"
    job = upload(tenant, marketer, text.encode())
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk])).content.decode()
    assert 'id="required-unmapped"' in page and "Required fields no column gives: 校区." in page
    job = imports.import_run(job=job)
    assert (job.created, job.updated, job.failed) == (0, 1, 1)
    assert custom_of(tenant) == {"张小明": {"sheng_ri": "2015-03-04", "xiao_qu": "浦东"}}
    assert shown_errors(job) == {3: ("校区", "校区 is required.")}
    assert shown_errors(job, "zh-hans")[3][1] != "校区 is required."  # in Chinese
    detail = marketer_client.get(reverse("import_detail", args=[tenant.slug, job.pk]))
    assert "校区 is required." in detail.content.decode()


def test_a_member_field_takes_a_members_username_or_name(tenant, admin, marketer, sales):
    advisor = cf.custom_field_create(tenant=tenant, actor=admin, label="课程顾问",
                                     kind=Kind.MEMBER)  # fmt: skip
    sales.user.first_name, sales.user.last_name = "小明", "赵"
    sales.user.save()
    text = (f"姓名,手机,课程顾问\n张小明,13800138001,{sales.user.username}\n"
            "李小红,13800138002,赵小明\n王小刚,13800138003,无名氏\n")  # fmt: skip
    job = run(tenant, marketer, text)
    assert custom_of(tenant) == {"张小明": {advisor.key: sales.pk},
                                 "李小红": {advisor.key: sales.pk}}  # fmt: skip
    column, reason = shown_errors(job)[4]
    assert column == "课程顾问" and "unknown member “无名氏”" in reason


def test_the_columns_page_offers_the_fields_and_imports_what_the_marketer_chose(
    tenant, marketer, marketer_client, school, django_capture_on_commit_callbacks
):
    text = "姓名,手机,出生日期,上课校区\n张小明,13800138001,2015/3/4,徐汇\n"
    job = upload(tenant, marketer, text.encode())
    assert job.mapping == {"0": "name", "1": "phone"}  # other names: not guessed
    url = reverse("import_map", args=[tenant.slug, job.pk])
    page = marketer_client.get(url).content.decode()
    assert '<optgroup label="Custom fields">' in page
    assert '<option value="cf:sheng_ri" >生日</option>' in page
    chosen = {"column-0": "name", "column-1": "phone", "column-2": "cf:sheng_ri",
              "column-3": "cf:xiao_qu"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        done = marketer_client.post(url, chosen)
    assert done.url == reverse("import_detail", args=[tenant.slug, job.pk])
    assert custom_of(tenant) == {"张小明": {"sheng_ri": "2015-03-04", "xiao_qu": "徐汇"}}


def test_a_field_deleted_while_the_columns_were_chosen_is_said_not_ignored(
    tenant, admin, marketer, marketer_client, school
):
    job = upload(tenant, marketer, FILE.encode())
    cf.custom_field_delete(field=school["birthday"], actor=admin)
    url = reverse("import_map", args=[tenant.slug, job.pk])
    response = marketer_client.post(url, {"column-0": "name", "column-1": "phone",
                                          "column-2": "cf:sheng_ri"})  # fmt: skip
    assert "was deleted meanwhile" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.PENDING and not Contact.objects.for_tenant(tenant).exists()
    # another company's field, or a made-up one, cannot be chosen either
    for target in ("cf:nope", "cf:"):
        response = marketer_client.post(url, {"column-1": "phone", "column-2": target})
        assert "was deleted meanwhile" in response.content.decode()


def test_undo_takes_back_exactly_what_the_import_wrote(tenant, admin, marketer, school):
    here = ContactFactory(tenant=tenant, name="张小明", phone="13800138001",
                          custom={"xiao_qu": "浦东"})  # fmt: skip
    edited = ContactFactory(tenant=tenant, name="周小英", phone="13800138009")
    text = ("姓名,手机,生日,校区\n张小明,13800138001,2015/3/4,徐汇\n"
            "周小英,13800138009,2014/1/2,静安\n李小红,13800138002,2016/5/6,浦东\n")  # fmt: skip
    job = run(tenant, marketer, text)
    assert job.created == 1
    # someone sets 周小英's 校区 to another campus after the import: theirs stays
    Contact.objects.for_tenant(tenant).filter(pk=edited.pk).update(
        custom={"sheng_ri": "2014-01-02", "xiao_qu": "徐汇"}
    )
    counts = import_undo_counts(job=job)
    assert (counts.removable, counts.cleared) == (1, 2)
    done = import_undo(job=job, actor=admin)
    assert (done.removable, done.cleared) == (1, 2)
    assert custom_of(tenant) == {
        "张小明": {"xiao_qu": "浦东"},  # as before the import
        "周小英": {"xiao_qu": "徐汇"},  # the date it filled in is gone, the hand-set campus stays
    }
    assert Contact.objects.get(pk=here.pk).custom == {"xiao_qu": "浦东"}


def test_an_import_that_only_filled_values_in_can_be_undone_from_its_page(
    tenant, admin, marketer, admin_client, school
):
    ContactFactory(tenant=tenant, name="张小明", phone="13800138001")
    job = run(tenant, marketer, "姓名,手机,生日\n张小明,13800138001,2015/3/4\n")
    assert (job.created, job.updated) == (0, 1)
    detail = admin_client.get(reverse("import_detail", args=[tenant.slug, job.pk])).content
    assert "Clear the custom-field values this import filled in" in detail.decode()
    url = reverse("import_undo", args=[tenant.slug, job.pk])
    page = admin_client.get(url).content.decode()
    assert '<dd id="undo-cleared">1</dd>' in page and "Clear the values" in page
    admin_client.post(url)
    assert custom_of(tenant) == {"张小明": {}}
    job.refresh_from_db()
    assert job.undone_at is not None


def test_another_companys_fields_are_no_target(tenant, other_tenant, outsider, marketer, school):
    cf.custom_field_create(tenant=other_tenant, actor=outsider, label="年级", kind=Kind.NUMBER)
    job = upload(tenant, marketer, "姓名,手机,年级\n张小明,13800138001,3\n".encode())
    assert job.mapping == {"0": "name", "1": "phone"}
    job.mapping = {"0": "name", "1": "phone", "2": "cf:nian_ji"}
    job.save()
    job = imports.import_run(job=job)  # a target that is no field of the company writes nothing
    assert custom_of(tenant) == {"张小明": {}}


def test_an_admin_adds_birthday_and_campus_and_imports_a_file_that_fills_them(
    admin_client, tenant, django_capture_on_commit_callbacks
):
    """The issue's story, through the pages as a new admin would walk them."""
    fields_url = reverse("custom_field_list", args=[tenant.slug])
    admin_client.post(fields_url, {"label": "生日", "kind": "date"})
    admin_client.post(fields_url, {"label": "校区", "kind": "choice",
                                   "options": "徐汇\n浦东\n静安"})  # fmt: skip
    assert [f.label for f in cf.custom_fields_of(tenant=tenant)] == ["生日", "校区"]
    upload = SimpleUploadedFile("学员名单.csv", FILE.encode("gb18030"))
    response = admin_client.post(reverse("import_new", args=[tenant.slug]), {"file": upload})
    job = ImportJob.objects.for_tenant(tenant).get()
    page = admin_client.get(response.url).content.decode()
    # the columns named after the fields are already chosen on the columns page
    assert '<option value="cf:sheng_ri" selected>生日</option>' in page
    assert '<option value="cf:xiao_qu" selected>校区</option>' in page
    chosen = {f"column-{i}": target for i, target in job.mapping.items()}
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(response.url, chosen)
    detail = admin_client.get(done.url).content.decode()
    assert "生日: “明天” is not a date (write it as 2015-03-04)." in detail
    assert custom_of(tenant)["张小明"] == {"sheng_ri": "2015-03-04", "xiao_qu": "徐汇"}
    # and the contact page shows them
    zhang = Contact.objects.for_tenant(tenant).get(name="张小明")
    shown = admin_client.get(reverse("contact_detail", args=[tenant.slug, zhang.pk]))
    assert "2015-03-04" in shown.content.decode() and "徐汇" in shown.content.decode()
