"""Uploads waiting for their columns: a few per company, and their files gone after a day."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from crm.celery import app as celery_app
from crm.services import ServiceError
from spreadsheets.imports import jobs as imports
from spreadsheets.models import ImportJob
from spreadsheets.tasks import expire_waiting_uploads

CSV = "姓名,手机\n张伟,13800138000\n".encode()
FULL = "uploads are already waiting for their columns to be chosen. Finish or cancel one"
FULL_ZH = "个上传文件在等待选择列。请先完成或取消其中一个"
EXPIRED_ZH = "已过期，请重新上传"


def upload(tenant, member, name="客户.csv", *, hours_ago=0, status=ImportJob.PENDING):
    job = imports.import_start(
        tenant=tenant, actor=member, file_name=name, content=CSV, language="en"
    )
    ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(hours=hours_ago), status=status
    )
    return job


def state(job):
    row = ImportJob.objects.for_tenant(job.tenant).get(pk=job.pk)
    return row.status, bytes(row.content), row.finished_at


def everything():
    return sorted(
        (j.pk, j.tenant_id, j.status, bytes(j.content), j.finished_at)
        for j in ImportJob.objects.all()
    )


@pytest.fixture
def roomy(settings):
    settings.IMPORT_WAITING_UPLOADS_MAX = 50


def test_an_upload_waiting_25_hours_is_expired_and_its_file_deleted(tenant, marketer, roomy):
    job = upload(tenant, marketer, hours_ago=25)
    expire_waiting_uploads.delay()
    status, content, finished_at = state(job)
    assert (status, content) == (ImportJob.EXPIRED, b"")
    assert finished_at is not None


def test_an_upload_waiting_23_hours_is_kept(tenant, marketer, roomy):
    job = upload(tenant, marketer, hours_ago=23)
    expire_waiting_uploads.delay()
    assert state(job) == (ImportJob.PENDING, CSV, None)


@pytest.mark.parametrize("status", [ImportJob.QUEUED, ImportJob.RUNNING, ImportJob.DONE])
def test_a_started_import_is_never_touched_however_old(tenant, marketer, roomy, status):
    job = upload(tenant, marketer, hours_ago=24 * 30, status=status)
    expire_waiting_uploads.delay()
    assert state(job) == (status, CSV, None)


def test_every_companys_old_uploads_expire_each_in_its_own_scope(
    tenant, other_tenant, marketer, outsider, roomy
):
    ours = upload(tenant, marketer, hours_ago=25)
    theirs = upload(other_tenant, outsider, hours_ago=25)
    fresh = upload(other_tenant, outsider, hours_ago=1)
    assert imports.imports_expire_waiting(tenant=tenant) == 1
    assert state(ours)[0] == ImportJob.EXPIRED
    assert state(theirs) == (ImportJob.PENDING, CSV, None)  # the service keeps to its company
    expire_waiting_uploads.delay()
    assert state(theirs)[0] == ImportJob.EXPIRED
    assert state(fresh) == (ImportJob.PENDING, CSV, None)


def test_running_the_task_twice_is_harmless(tenant, marketer, roomy):
    upload(tenant, marketer, hours_ago=25)
    upload(tenant, marketer, hours_ago=2)
    upload(tenant, marketer, hours_ago=48, status=ImportJob.DONE)
    expire_waiting_uploads.delay()
    once = everything()
    expire_waiting_uploads.delay()
    assert everything() == once
    assert imports.imports_expire_waiting(tenant=tenant) == 0


def test_beat_runs_the_expiry_hourly():
    entry = next(
        e
        for e in celery_app.conf.beat_schedule.values()
        if e["task"] == "tagging.tasks.expire_waiting_uploads"
    )
    assert entry["schedule"] == 60 * 60
    assert "tagging.tasks.expire_waiting_uploads" in celery_app.tasks


def test_the_history_says_expired_upload_again_in_both_languages(
    tenant, marketer, marketer_client, roomy
):
    job = upload(tenant, marketer, hours_ago=25)
    expire_waiting_uploads.delay()
    listing = reverse("import_list", args=[tenant.slug])
    html = marketer_client.get(listing).content.decode()
    assert "Expired, upload again" in html
    assert f'href="{reverse("import_new", args=[tenant.slug])}"' in html
    detail = marketer_client.get(reverse("import_detail", args=[tenant.slug, job.pk]))
    html = detail.content.decode()
    assert "its file was deleted. Upload the file again." in html
    assert "hx-trigger" not in html  # nothing left to wait for
    marketer.user.language = "zh-hans"
    marketer.user.save()
    assert EXPIRED_ZH in marketer_client.get(listing).content.decode()
    # its columns can no longer be chosen, nor its failed rows downloaded
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk]))
    assert page.status_code == 302
    assert page["Location"] == reverse("import_detail", args=[tenant.slug, job.pk])
    errors = marketer_client.get(reverse("import_errors", args=[tenant.slug, job.pk]))
    assert errors.status_code == 404


def test_choosing_the_columns_of_an_upload_that_expired_meanwhile_is_refused(
    tenant, marketer, roomy
):
    job = upload(tenant, marketer, hours_ago=25)  # the page was loaded before the expiry
    imports.imports_expire_waiting(tenant=tenant)
    with pytest.raises(ServiceError, match="Upload the file again"):
        imports.import_confirm(job=job, mapping={"0": "name", "1": "phone"}, create_tags=False)
    assert state(job)[0] == ImportJob.EXPIRED


def test_confirming_twice_does_not_queue_the_import_twice(tenant, marketer, roomy):
    job = upload(tenant, marketer)
    imports.import_confirm(job=job, mapping={"0": "name", "1": "phone"}, create_tags=False)
    with pytest.raises(ServiceError, match="This import has started"):
        imports.import_confirm(job=job, mapping={"0": "name", "1": "phone"}, create_tags=False)


# --- how many may wait -----------------------------------------------------------------------


def post_upload(client, tenant):
    return client.post(
        reverse("import_new", args=[tenant.slug]),
        {"file": SimpleUploadedFile("客户.csv", CSV, content_type="text/csv")},
    )


def test_an_upload_past_the_limit_is_refused_and_nothing_stored(
    tenant, marketer, marketer_client, settings
):
    settings.IMPORT_WAITING_UPLOADS_MAX = 2
    upload(tenant, marketer)
    upload(tenant, marketer)
    before = everything()
    response = post_upload(marketer_client, tenant)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 " + FULL in html and "nothing was uploaded" in html
    assert everything() == before
    with pytest.raises(ServiceError, match="Finish or cancel one of them first"):
        upload(tenant, marketer)
    assert everything() == before


def test_the_refusal_is_in_the_users_language(tenant, marketer, marketer_client, settings):
    settings.IMPORT_WAITING_UPLOADS_MAX = 1
    upload(tenant, marketer)
    marketer.user.language = "zh-hans"
    marketer.user.save()
    html = post_upload(marketer_client, tenant).content.decode()
    assert "已有 1 " + FULL_ZH in html
    assert ImportJob.objects.for_tenant(tenant).count() == 1


def test_another_companys_waiting_uploads_do_not_count(
    tenant, other_tenant, marketer_client, outsider, settings
):
    settings.IMPORT_WAITING_UPLOADS_MAX = 2
    upload(other_tenant, outsider)
    upload(other_tenant, outsider)
    response = post_upload(marketer_client, tenant)
    assert response.status_code == 302
    assert ImportJob.objects.for_tenant(tenant).get().status == ImportJob.PENDING


def test_started_expired_and_overdue_uploads_do_not_count(
    tenant, marketer, marketer_client, settings
):
    settings.IMPORT_WAITING_UPLOADS_MAX = 1
    for status in (ImportJob.QUEUED, ImportJob.RUNNING, ImportJob.DONE, ImportJob.EXPIRED):
        upload(tenant, marketer, status=status)
    upload(tenant, marketer, hours_ago=25)  # the next hourly run expires it
    assert post_upload(marketer_client, tenant).status_code == 302


def test_cancelling_a_waiting_upload_makes_room(tenant, marketer, marketer_client, settings):
    settings.IMPORT_WAITING_UPLOADS_MAX = 1
    job = upload(tenant, marketer)
    assert post_upload(marketer_client, tenant).status_code == 200  # refused
    marketer_client.post(reverse("import_cancel", args=[tenant.slug, job.pk]))
    assert post_upload(marketer_client, tenant).status_code == 302
