"""Rows are reported, never silently changed: a stage the row cannot enter, two people sharing
an email, text too long for its field. Each such row lands as far as it may (or not at all) and
says why, on the import's page and in the file of rows to fix."""

import csv
import io
from unittest import mock

import pytest
from django.urls import reverse
from openpyxl import Workbook

from crm.models import Contact
from lifecycle.models import StageChange, StageSetting
from lifecycle.selectors import stage_settings_changed
from lifecycle.services import contact_mark_lost
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import reading, report
from spreadsheets.models import ImportJob
from tests.factories import ContactFactory
from tests.integrations.conftest import ApiClient, token_for

LONG_NOTE = "上课反馈：" + "口语进步很快，" * 714  # 5,003 characters


def run(tenant, marketer, text, *, shared_email=False, **mapping):
    """Imports `text` (a CSV) as the worker does, in English; the columns are guessed."""
    content = text.encode("utf-8")
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="客户.csv",
                               content=content, language="en")  # fmt: skip
    job.mapping = mapping or imports.guess_mapping(reading.read_table(content, "a.csv")[2][0])
    job.merge_shared_email = shared_email
    job.save()
    return imports.import_run(job=job)


def counts(job):
    return {"created": job.created, "updated": job.updated, "unchanged": job.skipped,
            "merged": job.merged, "failed": job.failed,
            "warned": report.rows_warned(report.import_warnings(job))}  # fmt: skip


def detail(client, job):
    return client.get(reverse("import_detail", args=[job.tenant.slug, job.pk])).content.decode()


def downloaded(client, job) -> list[list[str]]:
    response = client.get(reverse("import_errors", args=[job.tenant.slug, job.pk]))
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def shown(job) -> dict[int, str]:
    warnings = report.import_warnings(job)
    return {w["row"]: w["reason"] for w in report.warnings_shown(warnings, tenant=job.tenant)}


def contact(tenant, **found):
    return Contact.objects.for_tenant(tenant).get(**found)


# --- a stage whose entry requirement the row does not meet --------------------------------


def test_a_row_whose_stage_needs_an_amount_lands_at_the_furthest_stage_it_may_and_says_why(
    tenant, marketer, marketer_client
):
    job = run(tenant, marketer, "姓名,手机,阶段\n张伟,13800138000,opportunity\n"
                                "李娜,13912345678,sql\n")  # fmt: skip
    zhang = contact(tenant, name="张伟")
    assert (zhang.stage, zhang.furthest_stage) == ("sql", "sql")
    history = StageChange.objects.for_tenant(tenant).get(contact=zhang)
    assert (history.kind, history.to_stage) == ("created", "sql")
    assert contact(tenant, name="李娜").stage == "sql"
    assert counts(job) == {"created": 2, "updated": 0, "unchanged": 0, "merged": 0, "failed": 0,
                           "warned": 1}  # fmt: skip
    reason = "Stage “Opportunity” needs “Expected amount”: put at “Sales qualified lead”."
    assert shown(job) == {2: reason}
    page = detail(marketer_client, job)
    assert "1 row landed with a warning" in page and reason in page
    rows = downloaded(marketer_client, job)
    assert rows == [["姓名", "手机", "阶段", "Error", "Warning"],
                    ["张伟", "13800138000", "opportunity", "", f"Stage: {reason}"]]  # fmt: skip


def test_a_wechat_only_row_cannot_be_a_lead_and_stays_a_subscriber(tenant, marketer):
    job = run(tenant, marketer, "姓名,微信,阶段\n王芳,wangfang88,lead\n")
    assert contact(tenant, name="王芳").stage == "subscriber"
    assert shown(job) == {2: "Stage “Lead” needs “Phone or email”: put at “Subscriber”."}


def test_existing_people_move_only_as_far_as_their_requirements_allow(tenant, marketer, admin):
    early = ContactFactory(tenant=tenant, name="早", phone="13800000001", stage="mql")
    there = ContactFactory(tenant=tenant, name="中", phone="13800000002", stage="sql")
    ready = ContactFactory(tenant=tenant, name="备", phone="13800000003", stage="mql",
                           expected_amount=5000)  # fmt: skip
    gone = ContactFactory(tenant=tenant, name="失", phone="13800000004", stage="lead")
    contact_mark_lost(contact=gone, actor=admin, lost_reason="unreachable")
    job = run(tenant, marketer, "手机,阶段\n" + "".join(
        f"1380000000{i},opportunity\n" for i in range(1, 5)))  # fmt: skip
    for person in (early, there, ready, gone):
        person.refresh_from_db()
    assert [p.stage for p in (early, there, ready, gone)] == ["sql", "sql", "opportunity", "lead"]
    assert gone.status == "lost"
    assert shown(job) == {
        2: "Stage “Opportunity” needs “Expected amount”: put at “Sales qualified lead”.",
        3: "Stage “Opportunity” needs “Expected amount”: the contact stays at “Sales qualified "
        "lead”.",
        5: "The contact is marked lost: it stays at “Lead” (reopen it to move it to "
        "“Opportunity”).",
    }
    # rows that changed nothing are unchanged, not updated
    assert counts(job) == {"created": 0, "updated": 2, "unchanged": 2, "merged": 0, "failed": 0,
                           "warned": 3}  # fmt: skip


def test_requirements_are_the_companys_own(tenant, marketer):
    StageSetting.objects.create(tenant=tenant, stage="mql", label="营销合格",
                                requirements=["company"])  # fmt: skip
    stage_settings_changed(tenant=tenant)
    job = run(
        tenant, marketer, "姓名,手机,公司,阶段\n甲,13800000001,,mql\n乙,13800000002,腾飞,mql\n"
    )
    assert contact(tenant, name="甲").stage == "lead"
    assert contact(tenant, name="乙").stage == "mql"
    assert shown(job) == {2: "Stage “营销合格” needs “Company”: put at “Lead”."}


# --- two people sharing an email ----------------------------------------------------------

SHARED = (
    "姓名,手机,邮箱\n"
    "张伟,13800000001,family@qq.com\n"
    "李娜,13800000002,other@qq.com\n"
    "张丽,13800000003,family@qq.com\n"
    "王芳,13800000004,wang@qq.com\n"
    "王 芳,13800000005,wang@qq.com\n"  # the same name, spaced: one person with a second phone
)


def test_two_people_sharing_an_email_are_both_reported_and_neither_imported(
    tenant, marketer, marketer_client
):
    job = run(tenant, marketer, SHARED)
    names = set(Contact.objects.for_tenant(tenant).values_list("name", flat=True))
    assert names == {"李娜", "王芳"}
    assert counts(job) == {"created": 2, "updated": 0, "unchanged": 0, "merged": 1, "failed": 2,
                           "warned": 0}  # fmt: skip
    reasons = {e["row"]: e["reason"] for e in report.errors_shown(job.errors)}
    assert reasons == {
        2: "Same email as row 4 but another name and phone: neither row was imported. If they "
        "are one person, tick “merge rows that share an email” and import again.",
        4: "Same email as row 2 but another name and phone: neither row was imported. If they "
        "are one person, tick “merge rows that share an email” and import again.",
    }
    assert reasons[2] in detail(marketer_client, job)
    rows = downloaded(marketer_client, job)
    assert [(r[0], r[-2].startswith("Email: Same email as row")) for r in rows[1:]] == [
        ("张伟", True), ("张丽", True)]  # fmt: skip


def test_ticking_merge_rows_that_share_an_email_merges_them_with_a_warning(tenant, marketer):
    job = run(tenant, marketer, SHARED, shared_email=True)
    family = contact(tenant, email="family@qq.com")
    assert (family.name, family.phone) == ("张伟", "13800000001")
    assert counts(job) == {"created": 3, "updated": 0, "unchanged": 0, "merged": 2, "failed": 0,
                           "warned": 1}  # fmt: skip
    assert shown(job) == {
        4: "Same email as row 2 but another name and phone: merged into one "
        "contact as you asked, keeping the name and phone of row 2."
    }


def test_the_mapping_page_offers_to_merge_rows_that_share_an_email(
    tenant, marketer, marketer_client, django_capture_on_commit_callbacks
):
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="a.csv",
                               content=SHARED.encode(), language="en")  # fmt: skip
    page_url = reverse("import_map", args=[tenant.slug, job.pk])
    assert 'name="merge_shared_email"' in marketer_client.get(page_url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        chosen = {"column-0": "name", "column-1": "phone", "column-2": "email"}
        marketer_client.post(page_url, {**chosen, "merge_shared_email": "on"})
    job.refresh_from_db()
    assert job.merge_shared_email and job.status == "done" and job.failed == 0


def test_a_row_sharing_an_existing_contacts_email_is_merged_into_them_with_a_warning(
    tenant, marketer, marketer_client
):
    kept = ContactFactory(tenant=tenant, name="张伟", phone="13800000001", email="family@qq.com")
    job = run(tenant, marketer, "姓名,手机,邮箱,公司\n张丽,13800000003,family@qq.com,腾飞\n")
    kept.refresh_from_db()
    assert (kept.name, kept.phone, kept.company) == ("张伟", "13800000001", "腾飞")
    assert Contact.objects.for_tenant(tenant).count() == 1
    reason = ("Merged into the existing contact “张伟”, who has this email but another name and "
              "phone: their name and phone were kept.")  # fmt: skip
    assert shown(job) == {2: reason}
    assert counts(job)["updated"] == 1
    assert reason in detail(marketer_client, job)


# --- text longer than its field -----------------------------------------------------------


def test_a_company_too_long_is_cut_to_fit_with_a_warning_and_a_long_email_is_refused(
    tenant, marketer, marketer_client
):
    company = "北京" + "长" * 250 + "有限公司"  # 256 characters
    email = "a" * 250 + "@qq.com"
    job = run(tenant, marketer, f"姓名,手机,邮箱,公司\n张伟,13800000001,,{company}\n"
                                f"李娜,13800000002,{email},\n")  # fmt: skip
    assert contact(tenant, name="张伟").company == company[:200]
    assert not Contact.objects.for_tenant(tenant).filter(name="李娜").exists()
    assert shown(job) == {2: "256 characters, longer than the 200 this field holds: cut to fit."}
    assert report.errors_shown(job.errors) == [
        {"row": 3, "column": "Email", "reason": "257 characters: longer than an email address can "
                                                "be."}]  # fmt: skip
    assert counts(job) == {"created": 1, "updated": 0, "unchanged": 0, "merged": 0, "failed": 1,
                           "warned": 1}  # fmt: skip
    rows = downloaded(marketer_client, job)
    assert [(r[0], r[-2][:6], r[-1][:8]) for r in rows[1:]] == [
        ("张伟", "", "Company:"), ("李娜", "Email:", "")]  # fmt: skip


def test_a_5000_character_note_stays_whole_through_import_form_and_api(
    tenant, marketer, sales, sales_client
):
    run(tenant, marketer, f"姓名,手机,备注\n张伟,13800000001,{LONG_NOTE}\n")
    assert contact(tenant, name="张伟").notes == LONG_NOTE
    book = Workbook()
    book.active.append(["姓名", "手机", "备注"])
    book.active.append(["赵敏", "13800000004", LONG_NOTE])
    xlsx = io.BytesIO()
    book.save(xlsx)
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="客户.xlsx",
                               content=xlsx.getvalue(), language="en")  # fmt: skip
    job.mapping = {"0": "name", "1": "phone", "2": "notes"}
    job.save()
    assert report.import_warnings(imports.import_run(job=job)) == []
    assert contact(tenant, name="赵敏").notes == LONG_NOTE

    sales_client.post(reverse("contact_create", args=[tenant.slug]),
                      {"name": "李娜", "phone": "13800000002", "notes": LONG_NOTE})  # fmt: skip
    assert contact(tenant, name="李娜").notes == LONG_NOTE

    api = ApiClient(token_for(sales))
    made = api.post("/contacts", {"name": "王芳", "phone": "13800000003", "notes": LONG_NOTE})
    assert made.status_code == 201, made.content
    assert contact(tenant, name="王芳").notes == LONG_NOTE
    patched = api.patch(f"/contacts/{made.json()['id']}", {"notes": LONG_NOTE + "续"})
    assert patched.status_code == 200 and contact(tenant, name="王芳").notes == LONG_NOTE + "续"


# --- warnings kept exact ------------------------------------------------------------------


def test_a_run_again_keeps_each_warning_once(tenant, marketer, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    ContactFactory(tenant=tenant, name="老", phone="13800000009", stage="mql")
    text = "姓名,手机,公司,阶段\n" + "".join(
        f"客户{i},1380000000{i},{'长' * 201},opportunity\n" for i in range(1, 6)
    ) + "老,13800000009,,opportunity\n"  # fmt: skip
    content = text.encode()
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="a.csv", content=content,
                               language="en")  # fmt: skip
    job.mapping = imports.guess_mapping(reading.read_table(content, "a.csv")[2][0])
    job.save()
    real = imports.apply_chunk
    calls = {"n": 0}

    def crash_on_third_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker died")
        return real(*args, **kwargs)

    with (
        mock.patch.object(imports, "apply_chunk", crash_on_third_chunk),
        pytest.raises(RuntimeError),
    ):
        imports.import_run(job=job)
    job = imports.import_run(job=job)
    job = imports.import_run(job=job)  # and once more, with nothing left to do
    got = sorted((w["row"], w["code"])
                 for w in report.import_warnings(ImportJob.objects.get(pk=job.pk)))  # fmt: skip
    assert got == sorted([(row, "too_long_company") for row in range(2, 7)]
                         + [(row, "stage_lowered") for row in range(2, 8)])  # fmt: skip
    assert counts(job) == {"created": 5, "updated": 1, "unchanged": 0, "merged": 0, "failed": 0,
                           "warned": 6}  # fmt: skip


def test_warnings_listed_on_the_page_are_the_first_hundred(tenant, marketer, marketer_client):
    text = "姓名,手机,公司\n" + "".join(
        f"客户{i},138{i:08d},{'长' * 201}\n" for i in range(150)
    )  # fmt: skip
    job = run(tenant, marketer, text)
    page = detail(marketer_client, job)
    assert "150 rows landed with a warning" in page
    assert page.count("cut to fit") == 100 and "More warnings are in the CSV above." in page
    assert len(downloaded(marketer_client, job)) == 151
