"""A marketer imports a messy Chinese spreadsheet, fixes the failed rows and imports them again."""

import csv
import io
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from crm.models import Contact
from crm.scope import tenant_scope
from integrations.models import WebhookDelivery
from lifecycle.models import StageChange, StageSetting
from lifecycle.selectors import stage_settings_changed
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import reading, report
from spreadsheets.models import ImportChunk, ImportJob
from tagging.models import ContactTag, Tag
from tagging.services import tag_alias_add
from tests.factories import ContactFactory
from tests.integrations.test_webhooks import endpoint_for

FILES = Path(__file__).parent / "files"


@pytest.fixture
def scheme(tenant, make_tag, marketer):
    # the company calls SQL "04-咨询": imports understand its labels as well as the keys
    StageSetting.objects.create(tenant=tenant, stage="sql", label="04-咨询")
    stage_settings_changed(tenant=tenant)
    spoken = make_tag("课程兴趣", "成人口语")
    tag_alias_add(tag=spoken, actor=marketer, name="口语")
    make_tag("课程兴趣", "商务英语")
    make_tag("意向", "高意向", single_choice=True)
    return spoken


def run(tenant, marketer, name, *, create_tags=False, content=None):
    content = content if content is not None else (FILES / name).read_bytes()
    job = imports.import_start(tenant=tenant, actor=marketer, file_name=name, content=content,
                               language="en")  # fmt: skip
    job.mapping = imports.guess_mapping(reading.read_table(content, name)[2][0])
    job.create_tags = create_tags
    job.save()
    return imports.import_run(job=job)


def people(tenant):
    return {c.name: c for c in Contact.objects.for_tenant(tenant)}


@pytest.mark.parametrize("name", ["contacts-gbk.csv", "contacts-bom.csv"])
def test_chinese_csv_in_gbk_or_utf8_bom_is_read_and_columns_guessed(name):
    kind, encoding, rows = reading.read_table((FILES / name).read_bytes(), name)
    assert kind == "csv" and encoding == ("gb18030" if "gbk" in name else "utf-8-sig")
    assert rows[1][0] == "张伟"
    mapping = imports.guess_mapping(rows[0])
    assert mapping == {"0": "name", "1": "phone", "2": "email", "3": "wechat_id", "4": "stage",
                       "5": "tags", "6": "source"}  # fmt: skip


def test_a_messy_file_lands_its_valid_rows_and_reports_the_rest(tenant, marketer, scheme):
    job = run(tenant, marketer, "contacts-gbk.csv")
    found = people(tenant)
    assert set(found) == {"张伟", "李娜"}
    zhang = found["张伟"]
    # rows 2 and 7 are one person: merged, first values win, tags add up, furthest stage counts
    assert (zhang.phone, zhang.email, zhang.wechat_id) == ("13800138000", "zhangwei@qq.com",
                                                          "zw_wechat")  # fmt: skip
    assert zhang.stage == "mql"
    tags = set(ContactTag.objects.for_tenant(tenant).filter(contact=zhang)
               .values_list("tag__label", flat=True))  # fmt: skip
    assert tags == {"成人口语", "高意向", "商务英语"}
    li = found["李娜"]
    assert (li.phone, li.stage) == ("13912345678", "sql")
    # 7 rows: 2 people created, 1 row merged into an earlier one, 4 failed
    counts = (job.status, job.created, job.updated, job.skipped, job.merged, job.failed)
    assert counts == ("done", 2, 0, 0, 1, 4)
    assert job.created + job.updated + job.skipped + job.merged + job.failed == job.total
    reasons = {(e["row"], e["column"]): e["reason"] for e in report.errors_shown(job.errors)}
    assert reasons[(4, "Email")] == "“wangfang@163” is not an email address."
    assert reasons[(5, "Phone / email / WeChat ID")] == (
        "No phone, email or WeChat ID: the person cannot be recognised."
    )
    assert reasons[(6, "Stage")] == "Unknown stage “火星阶段”."
    assert reasons[(8, "Tags")].startswith("Unknown tag “不存在的标签”")
    history = StageChange.objects.for_tenant(tenant).filter(contact=zhang).get()
    assert (history.kind, history.channel, history.to_stage) == ("created", "import", "mql")


def test_importing_the_same_file_again_changes_nothing(tenant, marketer, scheme):
    run(tenant, marketer, "contacts-gbk.csv")
    before = list(Contact.objects.for_tenant(tenant).order_by("pk").values())
    again = run(tenant, marketer, "contacts-bom.csv")
    assert (again.created, again.updated, again.skipped, again.merged) == (0, 0, 2, 1)
    assert list(Contact.objects.for_tenant(tenant).order_by("pk").values()) == before


def test_existing_people_are_filled_tagged_and_moved_forward_only(tenant, marketer, scheme):
    kept = ContactFactory(tenant=tenant, name="张伟旧", phone="13800138000", company="腾飞",
                          stage="customer", furthest_stage="customer")  # fmt: skip
    li = ContactFactory(tenant=tenant, name="李娜旧", phone="13912345678", stage="lead")
    job = run(tenant, marketer, "contacts-gbk.csv")
    kept.refresh_from_db()
    li.refresh_from_db()
    assert (kept.name, kept.company, kept.email) == ("张伟旧", "腾飞", "zhangwei@qq.com")
    assert kept.stage == "customer"  # never backward
    assert li.stage == "sql" and li.wechat_id == "lina88"
    assert job.created == 0 and job.updated == 2


def test_unknown_tags_are_created_only_when_asked(tenant, marketer, scheme):
    run(tenant, marketer, "contacts-gbk.csv", create_tags=True)
    assert Tag.objects.for_tenant(tenant).filter(label="不存在的标签").exists()
    assert "周杰" in people(tenant)


def test_xlsx_with_english_headers(tenant, marketer, scheme):
    job = run(tenant, marketer, "contacts.xlsx")
    found = people(tenant)
    # Bob's "Opportunity" needs an expected amount, which the file cannot give: put at SQL
    assert (found["Ada 李"].stage, found["Bob"].stage) == ("sql", "sql")
    assert [(w["row"], w["code"]) for w in report.import_warnings(job)] == [(3, "stage_lowered")]
    assert job.kind == "xlsx" and job.failed == 0


def test_the_failed_rows_download_as_a_csv_to_fix_and_reupload(tenant, marketer, scheme):
    job = run(tenant, marketer, "contacts-gbk.csv")
    body = report.failed_rows_csv(job).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][-2:] == ["Error", "Warning"]
    assert [r[0] for r in rows[1:]] == ["王芳", "赵敏", "孙丽", "周杰"]
    fixed = body.replace("wangfang@163", "wangfang@163.com").replace("火星阶段", "lead")
    again = run(tenant, marketer, "fixed.csv", content=fixed.encode("utf-8"))
    assert again.created == 2 and {"王芳", "孙丽"} <= set(people(tenant))


def test_a_crash_midway_leaves_no_half_row_and_the_rerun_finishes(
    tenant, marketer, scheme, monkeypatch
):
    monkeypatch.setattr(imports, "CHUNK", 1000)
    header = "姓名,手机\n"
    lines = "".join(f"客户{i},1390000{i:04d}\n" for i in range(2500))
    content = (header + lines).encode("utf-8")
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="big.csv",
                               content=content, language="en")  # fmt: skip
    job.mapping = {"0": "name", "1": "phone"}
    job.save()
    real = imports.apply_chunk
    calls = {"n": 0}

    def crash_on_second_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker died")
        return real(*args, **kwargs)

    with (
        mock.patch.object(imports, "apply_chunk", crash_on_second_chunk),
        pytest.raises(RuntimeError),
    ):
        imports.import_run(job=job)
    job.refresh_from_db()
    assert imports.import_progress(job=job).done == 1000
    assert Contact.objects.for_tenant(tenant).count() == 1000
    job = imports.import_run(job=job)
    assert Contact.objects.for_tenant(tenant).count() == 2500
    assert (job.status, job.created, job.done) == ("done", 2500, 2500)


# Zhang San's rows are far apart, the second known by his phone, the third by the email the second
# gave: one person. Everyone else is alone in the file.
REPEATED_FAR_APART = """姓名,手机,邮箱,微信,阶段,标签
张三,13900000001,,,lead,口语
李四,13900000002,,,,
王五,13900000003,,,,
,13900000001,zs@example.com,,mql,
赵六,13900000004,,,,
孙七,13900000005,,,,
张三丰,,ZS@example.com,zs_wx,,商务英语
"""


def import_far_apart(tenant, marketer) -> ImportJob:
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="far.csv",
                               content=REPEATED_FAR_APART.encode(), language="en")  # fmt: skip
    job.mapping = {"0": "name", "1": "phone", "2": "email", "3": "wechat_id", "4": "stage",
                   "5": "tags"}  # fmt: skip
    job.save()
    return job


def assert_zhang_san_once(tenant, job: ImportJob) -> None:
    assert (job.status, job.total, job.created, job.merged, job.failed) == ("done", 7, 5, 2, 0)
    found = people(tenant)
    assert sorted(found) == ["孙七", "张三", "李四", "王五", "赵六"]
    zhang = found["张三"]  # the first row's name; the others fill what it left empty
    assert (zhang.phone, zhang.email, zhang.wechat_id) == ("13900000001", "zs@example.com", "zs_wx")
    assert zhang.stage == "mql"  # the furthest stage his rows give
    assert sorted(t.tag.label for t in zhang.contact_tags.all()) == ["商务英语", "成人口语"]
    numbers = (
        ImportChunk.objects.for_tenant(tenant).filter(job=job).values_list("number", flat=True)
    )
    # the people alone in the file in chunks of two, applied while the rest was checked, then
    # Zhang San's rows merged into one
    assert sorted(numbers) == [0, 1, 2]


def test_people_the_file_repeats_far_apart_are_one_though_the_rest_is_applied_first(
    tenant, marketer, scheme, monkeypatch
):
    monkeypatch.setattr(imports, "CHUNK", 2)
    job = imports.import_run(job=import_far_apart(tenant, marketer))
    assert_zhang_san_once(tenant, job)


@pytest.mark.django_db(transaction=True)  # chunks side by side, each on a connection of its own
def test_a_crash_in_the_merged_chunk_resumes_exact_with_chunks_side_by_side(
    tenant, marketer, scheme, monkeypatch
):
    monkeypatch.setattr(imports, "CHUNK", 2)
    job = import_far_apart(tenant, marketer)
    real = imports.apply_chunk

    def crash_on_zhang_san(job, records, single):
        if any(len(record.rows) > 1 for record in records):
            raise RuntimeError("worker died")
        return real(job, records, single)

    with (
        tenant_scope(tenant),
        mock.patch.object(imports, "apply_chunk", crash_on_zhang_san),
        pytest.raises(RuntimeError),
    ):
        imports.import_run(job=job)
    job.refresh_from_db()
    assert imports.import_progress(job=job).done == 4  # the four alone, in two chunks
    assert "张三" not in people(tenant)
    with tenant_scope(tenant):
        job = imports.import_run(job=job)
    assert_zhang_san_once(tenant, job)


def test_rows_share_a_person_only_through_what_the_checker_reads():
    rows = [
        (2, ["甲", "+86 139 0000 0001", ""]),
        (3, ["乙", "13900000001", "A@Example.com"]),  # the same phone, written otherwise
        (4, ["丙", "", "a@example.com"]),  # the same email, in other letters
        (5, ["丁", "13900000002", "d@example.com"]),
        (6, ["戊", "  ", ""]),  # blank cells name nobody
        (7, ["己", "", ""]),
    ]
    columns = [(0, "name"), (1, "phone"), (2, "email")]
    assert imports.shared_rows(rows, columns) == {2, 3, 4}


def test_the_pages_walk_a_marketer_through_an_import(
    marketer_client, tenant, scheme, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("客户.csv", (FILES / "contacts-gbk.csv").read_bytes())
    response = marketer_client.post(reverse("import_new", args=[tenant.slug]), {"file": upload})
    job = ImportJob.objects.for_tenant(tenant).get()
    assert response.url == reverse("import_map", args=[tenant.slug, job.pk])
    page = marketer_client.get(response.url).content.decode()
    assert "张伟" in page and "Read as GBK" in page
    mapping = {f"column-{i}": f for i, f in imports.guess_mapping(
        reading.read_table(bytes(job.content), job.file_name)[2][0]).items()}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        done = marketer_client.post(reverse("import_map", args=[tenant.slug, job.pk]), mapping)
    assert done.url == reverse("import_detail", args=[tenant.slug, job.pk])
    detail = marketer_client.get(done.url).content.decode()
    assert "Done" in detail and "Rows not imported" in detail
    progress = marketer_client.get(done.url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="import-progress"' in progress and "<html" not in progress
    listing = marketer_client.get(reverse("import_list", args=[tenant.slug])).content.decode()
    assert "客户.csv" in listing


def test_a_mapping_without_identity_is_refused_clearly(marketer_client, tenant, marketer):
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="a.csv",
                               content="姓名\n张三\n".encode(), language="en")  # fmt: skip
    response = marketer_client.post(reverse("import_map", args=[tenant.slug, job.pk]),
                                    {"column-0": "name"})  # fmt: skip
    assert "Map at least one of phone, email or WeChat ID" in response.content.decode()


def test_a_file_that_is_not_a_spreadsheet_is_refused_clearly(marketer_client, tenant):
    upload = SimpleUploadedFile("photo.csv", bytes(range(256)) * 10)
    response = marketer_client.post(reverse("import_new", args=[tenant.slug]), {"file": upload})
    assert "neither UTF-8 nor GBK text" in response.content.decode()


def test_sales_cannot_import(sales_client, tenant):
    assert sales_client.get(reverse("import_new", args=[tenant.slug])).status_code == 403


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # committed chunks: two are applied side by side
def test_a_50000_row_file_with_duplicates_and_bad_rows(tenant, marketer, scheme):
    header = "姓名,手机,邮箱,阶段,标签\n"
    lines = []
    for i in range(50_000):
        email = "not-an-email" if i % 1000 == 999 else f"user{i % 45_000}@example.com"
        lines.append(f"客户{i},1350{i % 45_000:07d},{email},{'lead' if i % 2 else 'mql'},口语\n")
    content = (header + "".join(lines)).encode("gb18030")
    job = run(tenant, marketer, "big.csv", content=content)
    # 50 bad emails; rows 45,000+ repeat earlier people and merge into them
    assert job.failed == 50
    assert Contact.objects.for_tenant(tenant).count() == 45_000 - 45  # bad rows' people once
    assert job.created == Contact.objects.for_tenant(tenant).count()
    # every row counted once: created, or merged into an earlier row, or failed
    assert job.created + job.updated + job.skipped + job.merged + job.failed == 50_000
    assert job.merged == 50_000 - 45_000 - 5  # the repeats; 5 of them carried a bad email
    numbers = (
        ImportChunk.objects.for_tenant(tenant).filter(job=job).values_list("number", flat=True)
    )
    assert sorted(numbers) == list(range(len(numbers)))  # each chunk applied once
    again = run(tenant, marketer, "big.csv", content=content)
    assert again.created == 0 and again.updated == 0


def test_stage_labels_are_understood_without_their_number(tenant, marketer, scheme):
    content = "姓名,手机,阶段\n甲,13100000001,咨询\n乙,13100000002,04-咨询\n".encode()
    job = run(tenant, marketer, "labels.csv", content=content)
    assert job.failed == 0
    assert {c.stage for c in people(tenant).values()} == {"sql"}


def test_an_upload_left_at_the_columns_step_can_be_picked_up_again(marketer_client, tenant):
    upload = SimpleUploadedFile("a.csv", "姓名,手机\n张三,13100000009\n".encode())
    marketer_client.post(reverse("import_new", args=[tenant.slug]), {"file": upload})
    job = ImportJob.objects.for_tenant(tenant).get()
    listing = marketer_client.get(reverse("import_list", args=[tenant.slug])).content.decode()
    assert reverse("import_map", args=[tenant.slug, job.pk]) in listing
    detail = marketer_client.get(reverse("import_detail", args=[tenant.slug, job.pk]))
    assert detail.url == reverse("import_map", args=[tenant.slug, job.pk])


def test_a_one_at_a_time_tag_from_the_file_replaces_the_one_held(
    tenant, marketer, scheme, make_tag
):
    medium = make_tag("意向", "中意向", single_choice=True)
    zhang = ContactFactory(tenant=tenant, name="张伟", phone="13800138000")
    ContactTag.objects.create(tenant=tenant, contact=zhang, tag=medium)
    content = "姓名,手机,标签\n张伟,13800138000,高意向\n新人,13800138999,中意向、高意向\n".encode()
    job = run(tenant, marketer, "intent.csv", content=content)
    held = ContactTag.objects.for_tenant(tenant).values_list("contact__name", "tag__label")
    # the group keeps one tag: the file's for 张伟, the last one given for the newcomer
    assert sorted(held) == [("张伟", "高意向"), ("新人", "高意向")]
    assert (job.created, job.updated) == (1, 1)


def test_an_import_tells_the_webhooks_who_was_created_tagged_and_moved(tenant, marketer, scheme):
    endpoint_for(tenant, "https://hooks.example.com/",
                 ["contact.created", "contact.tagged", "contact.stage_changed"])  # fmt: skip
    li = ContactFactory(tenant=tenant, name="李娜旧", phone="13912345678", stage="lead")
    run(tenant, marketer, "contacts-gbk.csv")
    zhang = people(tenant)["张伟"]
    sent = WebhookDelivery.objects.for_tenant(tenant).values_list("event", "contact_id")
    assert sorted(sent) == sorted([
        ("contact.created", zhang.pk),  # 李娜 was there already
        *[("contact.tagged", zhang.pk)] * 3,  # 成人口语, 高意向, 商务英语
        ("contact.tagged", li.pk),  # 口语 is 成人口语
        ("contact.stage_changed", li.pk),  # lead → 04-咨询
    ])  # fmt: skip


def test_an_import_that_creates_nobody_with_a_webhook_listening(tenant, marketer, scheme):
    endpoint_for(tenant, "https://hooks.example.com/", ["contact.created", "contact.tagged"])
    run(tenant, marketer, "contacts-gbk.csv")
    again = run(tenant, marketer, "contacts-gbk.csv")  # everyone is there: no one created
    assert (again.status, again.created, again.skipped, again.merged) == ("done", 0, 2, 1)


def test_reasons_are_worded_in_the_language_of_whoever_reads_them(tenant, marketer, scheme):
    job = run(tenant, marketer, "contacts-gbk.csv")  # imported by someone reading English
    with translation.override("zh-hans"):
        shown = {e["row"]: (e["column"], e["reason"]) for e in report.errors_shown(job.errors)}
        body = report.failed_rows_csv(job).decode("utf-8-sig")
    assert shown[6] == ("阶段", "未知阶段“火星阶段”。")
    assert "错误" in body.splitlines()[0] and "未知阶段“火星阶段”。" in body


def test_our_own_export_and_failed_rows_files_import_again_as_they_were(tenant, marketer, scheme):
    content = "姓名,手机,标签\n=危险,+86 139 0000 1111,@口语\n".encode()
    job = run(tenant, marketer, "formula.csv", content=content)
    body = report.failed_rows_csv(job).decode("utf-8-sig")
    # cells Excel would run are written as text, and read back as they were
    assert "'=危险" in body and "'+86 139 0000 1111" in body and "'@口语" in body
    assert reading.read_table(body.encode(), "errors.csv")[2][1][:3] == [
        "=危险", "+86 139 0000 1111", "@口语",
    ]  # fmt: skip


def test_an_upload_left_at_the_columns_step_can_be_cancelled(marketer_client, tenant, marketer):
    content = "姓名,手机\n张三,13100000009\n".encode()
    job = imports.import_start(
        tenant=tenant, actor=marketer, file_name="a.csv", content=content, language="en"
    )
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk])).content.decode()
    assert reverse("import_cancel", args=[tenant.slug, job.pk]) in page
    response = marketer_client.post(reverse("import_cancel", args=[tenant.slug, job.pk]))
    assert response.url == reverse("import_list", args=[tenant.slug])
    assert not ImportJob.objects.for_tenant(tenant).exists()


def test_an_import_that_ran_stays_in_the_history(marketer_client, tenant, marketer, scheme):
    job = run(tenant, marketer, "contacts-gbk.csv")
    marketer_client.post(reverse("import_cancel", args=[tenant.slug, job.pk]))
    assert ImportJob.objects.for_tenant(tenant).filter(pk=job.pk, status="done").exists()


def test_an_import_runs_as_the_applications_role_under_row_level_security(
    tenant, marketer, scheme, as_app_role
):
    """Production connects as a role row-level security applies to, which PostgreSQL refuses a
    COPY into such a table: the import's writes must work there too, new people, their history
    and their tags alike."""
    as_app_role()
    with tenant_scope(tenant):
        job = run(tenant, marketer, "contacts-gbk.csv")
        assert (job.status, job.created, job.failed) == ("done", 2, 4)
        zhang = people(tenant)["张伟"]
        tags = set(ContactTag.objects.for_tenant(tenant).filter(contact=zhang)
                   .values_list("tag__label", flat=True))  # fmt: skip
        assert tags == {"成人口语", "高意向", "商务英语"}
        assert StageChange.objects.for_tenant(tenant).filter(contact=zhang).count() == 1


def test_an_import_runs_while_queries_are_logged(tenant, marketer, scheme):
    """`make run` serves with DEBUG on, where Django wraps every cursor to log its queries."""
    with CaptureQueriesContext(connection):
        job = run(tenant, marketer, "contacts-gbk.csv")
    assert (job.status, job.created, job.failed) == ("done", 2, 4)
