"""A customer asks what the school holds about them: the admin opens the contact, then
"Personal data", and reads it or downloads it as JSON; the audit log says who looked, when and
at whom, without repeating their data."""

import json

from django.urls import reverse

from crm.models import AuditEntry, AuditKind
from tests.personaldata.conftest import EMAIL, NAME, PHONE, WECHAT


def _url(name, tenant, contact):
    return reverse(name, args=[tenant.slug, contact.pk])


def test_the_admin_answers_an_access_request_in_three_clicks(admin_client, tenant, person):
    # 1. the contact page offers it
    page = admin_client.get(_url("contact_detail", tenant, person)).content.decode()
    assert _url("contact_data", tenant, person) in page
    # 2. the readable page, with every part and the download beside it
    readable = admin_client.get(_url("contact_data", tenant, person))
    assert readable.status_code == 200
    text = readable.content.decode()
    for value in (NAME, PHONE, EMAIL, WECHAT, "浦东", "成人口语", "口语意向", "十二月优惠券",
                  "金卡", "微信转账", "通话", "回电", "（旧）", "口头同意"):  # fmt: skip
        assert value in text, value
    assert _url("contact_data_json", tenant, person) in text
    # 3. the JSON file
    download = admin_client.get(_url("contact_data_json", tenant, person))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Cache-Control"] == "no-store"
    data = json.loads(download.content)
    assert data["contact_id"] == person.pk
    assert data["contact"][0]["name"] == NAME and data["contact"][0]["phone"] == PHONE
    assert data["custom_fields"] == [{"key": "xiao_qu", "field": "校区", "value": "浦东"}]
    assert [t["tag"] for t in data["tags"]] == ["成人口语"]
    assert "Marketing qualified lead" in [h["to_stage"] for h in data["stage_history"]]
    assert data["events"][0]["kind"] == "payment_received"
    assert data["events"][0]["note"] == f"{NAME} 微信转账"
    assert PHONE in data["activities"][0]["text"]
    assert data["tasks"][0]["title"] == f"回电{NAME}"
    assert [(c["channel"], c["granted"]) for c in data["consent"]] == [("SMS", True)]
    assert sorted(a["audience"] for a in data["audiences"]) == ["口语意向", "所有人"]
    assert [f["list"] for f in data["frozen_lists"]] == ["十二月优惠券"]
    assert data["merges"][0]["merged_name"] == f"{NAME}（旧）"
    assert data["grade"][0]["tier"] == "金卡"
    assert set(data) >= {"tags_removed", "grade_changes", "company", "exported_at"}


def test_each_reading_is_audited_by_the_contacts_number_only(admin_client, admin, tenant, person):
    admin_client.get(_url("contact_data", tenant, person))
    admin_client.get(_url("contact_data_json", tenant, person))
    entries = AuditEntry.objects.for_tenant(tenant).filter(kind=AuditKind.CONTACT_DATA_EXPORTED)
    assert [(e.actor_id, e.subject, e.details) for e in entries.order_by("pk")] == [
        (admin.pk, f"#{person.pk}", {"contact": person.pk, "format": "page"}),
        (admin.pk, f"#{person.pk}", {"contact": person.pk, "format": "json"}),
    ]
    log = admin_client.get(reverse("audit_log", args=[tenant.slug])).content.decode()
    assert "Personal data exported" in log and "JSON file" in log


def test_the_page_reads_in_chinese(admin_client, admin, tenant, person):
    admin.user.language = "zh-hans"
    admin.user.save()
    response = admin_client.get(_url("contact_data", tenant, person))
    # the words are translated with the rest (locale/, from /tmp/notes/zh); the data as held
    assert response.status_code == 200 and response.headers["Content-Language"] == "zh-hans"
    assert NAME in response.content.decode()


def test_sales_and_marketers_are_refused_and_nothing_is_recorded(
    sales_client, marketer_client, tenant, person
):
    for client in (sales_client, marketer_client):
        for name in ("contact_data", "contact_data_json"):
            assert client.get(_url(name, tenant, person)).status_code == 403
        page = client.get(_url("contact_detail", tenant, person)).content.decode()
        assert _url("contact_data", tenant, person) not in page
    assert (
        not AuditEntry.objects.for_tenant(tenant)
        .filter(kind=AuditKind.CONTACT_DATA_EXPORTED)
        .exists()
    )


def test_another_companys_contact_is_not_found(outsider_client, other_tenant, tenant, person):
    for name in ("contact_data", "contact_data_json"):
        url = reverse(name, args=[other_tenant.slug, person.pk])
        assert outsider_client.get(url).status_code == 404
    assert not AuditEntry.objects.filter(kind=AuditKind.CONTACT_DATA_EXPORTED).exists()
