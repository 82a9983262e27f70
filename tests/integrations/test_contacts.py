"""Contacts through the API: the same services as the pages, the same rules, JSON in and out."""

from decimal import Decimal

import pytest

from crm.models import Contact
from grading.services import grades_recompute, tier_save
from lifecycle.models import StageChange
from tagging.models import ContactTag, Event, TagAlias
from tests.factories import ContactFactory
from tests.integrations.conftest import error_of

CONTACT_KEYS = {
    "id", "name", "email", "phone", "wechat_id", "weibo", "company", "owner", "source", "stage",
    "stage_label", "status", "lost_reason", "tags", "tier", "stage_entered_at", "created_at",
    "updated_at", "custom", "activity",
}  # fmt: skip


@pytest.fixture
def tags(make_tag, tenant):
    made = {"flyer": make_tag("来源", "地推"), "adult": make_tag("课程", "成人口语")}
    TagAlias.objects.create(tenant=tenant, tag=made["flyer"], name="传单", name_key="传单")
    return made


def test_a_contact_reads_with_its_stage_label_owner_and_tags(admin_api, contact, tags):
    ContactTag.objects.create(tenant=contact.tenant, contact=contact, tag=tags["flyer"])
    response = admin_api.get(f"/contacts/{contact.pk}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == CONTACT_KEYS
    assert body["id"] == contact.pk
    assert body["name"] == "张伟"
    assert body["owner"] == "zhao"
    assert (body["stage"], body["stage_label"], body["status"]) == (
        "subscriber",
        "围观者",
        "active",
    )
    assert body["tags"] == ["地推"]


def test_create_a_contact_from_a_form(admin_api, tenant, admin, tags):
    response = admin_api.post(
        "/contacts",
        {"name": " 李雷 ", "phone": "139 0000 1111", "source": "官网表单", "tags": ["传单"]},
    )
    assert response.status_code == 201
    body = response.json()
    contact = Contact.objects.for_tenant(tenant).get(pk=body["id"])
    assert (contact.name, contact.phone, contact.source) == ("李雷", "13900001111", "官网表单")
    assert body["tags"] == ["地推"]
    tagged = ContactTag.objects.for_tenant(tenant).get(contact=contact)
    assert (tagged.channel, tagged.added_by) == ("api", admin)


def test_create_at_a_later_stage_records_where_the_contact_entered(admin_api, tenant):
    response = admin_api.post(
        "/contacts", {"name": "王芳", "email": "wf@example.com", "stage": "sql"}
    )
    assert response.status_code == 201
    assert (response.json()["stage"], response.json()["stage_label"]) == ("sql", "销售合格")
    change = StageChange.objects.for_tenant(tenant).get(contact_id=response.json()["id"])
    assert (change.kind, change.to_stage, change.channel) == ("created", "sql", "api")


def test_create_at_a_stage_that_needs_a_channel_is_refused_and_creates_nothing(admin_api, tenant):
    response = admin_api.post("/contacts", {"name": "王芳", "stage": "lead"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "missing_requirements"
    assert error["missing"] == ["phone_or_email"]
    assert Contact.objects.for_tenant(tenant).count() == 0


def test_a_duplicate_answers_409_with_the_existing_contacts_id(admin_api, contact):
    response = admin_api.post("/contacts", {"name": "另一个", "email": "ZhangWei@qq.com"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "duplicate"
    assert error_of(response)["existing_id"] == contact.pk
    assert Contact.objects.for_tenant(contact.tenant).count() == 1


def test_upsert_updates_the_existing_contact_and_only_moves_it_forward(admin_api, contact, tags):
    response = admin_api.post(
        "/contacts?upsert=true",
        {
            "name": "张伟",
            "phone": "13800138000",
            "company": "新东方",
            "stage": "mql",
            "tags": ["地推"],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["company"], body["stage"], body["tags"]) == (
        contact.pk, "新东方", "mql", ["地推"],
    )  # fmt: skip
    again = admin_api.post(
        "/contacts?upsert=true",
        {"name": "重复提交", "phone": "13800138000", "company": "别家", "stage": "lead"},
    )
    assert again.status_code == 200
    # what is there stays (only empty fields are filled), and a form never moves anyone back
    assert (again.json()["name"], again.json()["company"]) == (contact.name, "新东方")
    assert again.json()["stage"] == "mql"
    assert Contact.objects.for_tenant(contact.tenant).count() == 1


def test_upsert_refuses_channels_of_two_different_contacts(admin_api, contact, tenant):
    other = ContactFactory(tenant=tenant, name="李雷", email="lilei@example.com")
    response = admin_api.post(
        "/contacts?upsert=true", {"name": "x", "phone": contact.phone, "email": other.email}
    )
    assert response.status_code == 400
    assert str(contact.pk) in error_of(response)["message"]
    contact.refresh_from_db()
    assert contact.name == "张伟"


def test_patch_changes_only_the_fields_given(admin_api, contact, admin):
    response = admin_api.patch(
        f"/contacts/{contact.pk}", {"company": "新东方", "owner": "wang", "weibo": None}
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.name, contact.phone, contact.company, contact.owner) == (
        "张伟", "13800138000", "新东方", admin,
    )  # fmt: skip
    assert admin_api.patch(f"/contacts/{contact.pk}", {"owner": None}).json()["owner"] is None


def test_patch_with_an_unknown_owner_changes_nothing(admin_api, contact, sales):
    response = admin_api.patch(f"/contacts/{contact.pk}", {"company": "x", "owner": "nobody"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "refused"
    contact.refresh_from_db()
    assert (contact.company, contact.owner) == ("", sales)


def test_list_filters_by_stage_status_tag_alias_search_and_time(admin_api, tenant, tags):
    lead = ContactFactory(tenant=tenant, name="李雷", stage="lead")
    adult = ContactFactory(tenant=tenant, name="韩梅梅")
    ContactTag.objects.create(tenant=tenant, contact=adult, tag=tags["flyer"])
    ContactTag.objects.create(tenant=tenant, contact=adult, tag=tags["adult"])
    ContactTag.objects.create(tenant=tenant, contact=lead, tag=tags["flyer"])

    def ids(**query):
        response = admin_api.get("/contacts", query)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [lead.pk, adult.pk]
    assert ids(stage="lead") == [lead.pk]
    assert ids(status="lost") == []
    assert ids(tag="传单") == [lead.pk, adult.pk]
    assert ids(tag=["传单", "成人口语"]) == [adult.pk]
    assert ids(q="韩") == [adult.pk]
    assert ids(updated_since="2999-01-01T00:00:00+08:00") == []
    assert ids(updated_since="2000-01-01T00:00:00") == [lead.pk, adult.pk]


def test_list_pages_with_an_opaque_cursor_and_no_count(
    admin_api, tenant, django_assert_max_num_queries
):
    made = [ContactFactory(tenant=tenant).pk for _ in range(5)]
    seen, cursor = [], None
    while True:
        # scope reset, token (named by its hash: set, read, unset), company scope, token with
        # its member, touch, page, tags, the company's tiers and its custom fields (both cached
        # after), the page's activity and the company's grading settings (cached after): not N+1
        with django_assert_max_num_queries(14):
            response = admin_api.get(
                "/contacts", {"limit": 2, **({"cursor": cursor} if cursor else {})}
            )
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == made


def test_a_cursor_that_is_not_ours_is_refused(admin_api, contact):
    response = admin_api.get("/contacts", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "refused"


def test_an_unknown_tag_in_a_filter_is_named(admin_api, contact):
    response = admin_api.get("/contacts", {"tag": "没有这个"})
    assert response.status_code == 400
    assert "没有这个" in error_of(response)["message"]


def test_a_forward_move_by_a_marketer_token(marketer_api, contact, marketer):
    response = marketer_api.post(f"/contacts/{contact.pk}/stage", {"stage": "mql"})
    assert response.status_code == 200
    assert (response.json()["stage"], response.json()["stage_label"]) == ("mql", "营销合格")
    change = StageChange.objects.for_tenant(contact.tenant).get(contact=contact)
    assert (change.from_stage, change.to_stage, change.channel, change.actor) == (
        "subscriber", "mql", "api", marketer,
    )  # fmt: skip


@pytest.fixture
def sql_contact(tenant):
    return ContactFactory(tenant=tenant, name="王芳", stage="sql", furthest_stage="sql")


def test_a_marketer_token_cannot_move_backward_and_nothing_changes(marketer_api, sql_contact):
    contact = sql_contact
    response = marketer_api.post(f"/contacts/{contact.pk}/stage", {"stage": "lead", "reason": "x"})
    assert response.status_code == 403  # the role refuses it, not the contact's state
    assert error_of(response)["code"] == "backward_not_allowed"
    contact.refresh_from_db()
    assert contact.stage == "sql"
    assert not StageChange.objects.for_tenant(contact.tenant).exists()


def test_a_sales_token_moves_backward_only_with_a_reason(sales_api, sql_contact):
    contact = sql_contact
    refused = sales_api.post(f"/contacts/{contact.pk}/stage", {"stage": "lead"})
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "reason_required"
    moved = sales_api.post(f"/contacts/{contact.pk}/stage", {"stage": "lead", "reason": "误操作"})
    assert moved.status_code == 200
    assert moved.json()["stage"] == "lead"
    assert StageChange.objects.for_tenant(contact.tenant).get().reason == "误操作"


def test_the_same_stage_is_an_illegal_move_with_a_message(admin_api, contact):
    response = admin_api.post(f"/contacts/{contact.pk}/stage", {"stage": "subscriber"})
    assert response.status_code == 409
    assert error_of(response) == {
        "code": "same_stage",
        "message": "The contact is already in “Subscriber”.",  # in the reader's language
        "current_stage": "subscriber",
    }


def test_a_stale_expected_stage_never_applies(admin_api, sales_api, contact):
    first = admin_api.post(
        f"/contacts/{contact.pk}/stage", {"stage": "mql", "expected_stage": "subscriber"}
    )
    second = sales_api.post(
        f"/contacts/{contact.pk}/stage", {"stage": "sql", "expected_stage": "subscriber"}
    )
    assert (first.status_code, second.status_code) == (200, 409)
    assert error_of(second)["code"] == "stale"
    assert error_of(second)["current_stage"] == "mql"
    contact.refresh_from_db()
    assert contact.stage == "mql"
    assert StageChange.objects.for_tenant(contact.tenant).count() == 1


def test_tag_by_label_or_alias_and_untag(admin_api, contact, tags):
    response = admin_api.post(f"/contacts/{contact.pk}/tags", {"tags": ["传单", "成人口语"]})
    assert response.status_code == 200
    assert response.json()["tags"] == ["地推", "成人口语"]
    removed = admin_api.delete(f"/contacts/{contact.pk}/tags/传单")
    assert removed.status_code == 200
    assert removed.json()["tags"] == ["成人口语"]
    assert admin_api.delete(f"/contacts/{contact.pk}/tags/传单").status_code == 200  # idempotent


def test_an_unknown_tag_adds_none_of_the_tags(admin_api, contact, tags):
    response = admin_api.post(f"/contacts/{contact.pk}/tags", {"tags": ["地推", "没有这个"]})
    assert response.status_code == 400
    assert not ContactTag.objects.for_tenant(contact.tenant).exists()
    assert admin_api.delete(f"/contacts/{contact.pk}/tags/没有这个").status_code == 404


def test_an_event_runs_the_rules_and_answers_with_the_stage_and_tags(admin_api, contact):
    response = admin_api.post(
        f"/contacts/{contact.pk}/events",
        {"kind": "payment_received", "data": {"amount": "980.00", "external_id": "order-1"}},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["stage"], body["stage_label"], body["status"]) == (
        "customer",
        "付费客户",
        "active",
    )
    assert body["event"]["kind"] == "payment_received"
    assert body["event"]["duplicate"] is False
    # the built-in rule named as the answer names the rest: the event kind in the reader's
    # language (English here), the stage by the company's label
    assert body["event"]["kind_label"] == "Paid"
    assert body["rules"] == [
        {"rule": "Paid → 付费客户", "done": ["moved to “付费客户”"], "not_done": []}
    ]
    event = Event.objects.for_tenant(contact.tenant).get()
    assert (event.channel, str(event.amount), event.external_id) == ("api", "980.00", "order-1")
    change = StageChange.objects.for_tenant(contact.tenant).get()
    assert (change.channel, change.to_stage) == ("rule", "customer")


def test_the_same_external_id_twice_is_recorded_once(admin_api, contact):
    body = {"kind": "form_submitted", "data": {"external_id": "form-8812"}}
    first = admin_api.post(f"/contacts/{contact.pk}/events", body)
    second = admin_api.post(f"/contacts/{contact.pk}/events", body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["event"]["duplicate"] is True
    assert second.json()["rules"] == []
    assert Event.objects.for_tenant(contact.tenant).count() == 1


def test_an_unknown_kind_or_a_future_event_is_refused(admin_api, contact):
    unknown = admin_api.post(f"/contacts/{contact.pk}/events", {"kind": "danced"})
    future = admin_api.post(
        f"/contacts/{contact.pk}/events",
        {"kind": "form_submitted", "data": {"occurred_at": "2999-01-01T00:00:00Z"}},
    )
    assert (unknown.status_code, future.status_code) == (400, 400)
    assert error_of(unknown)["message"] == "Unknown kind of event."
    assert not Event.objects.for_tenant(contact.tenant).exists()


ROUTES = [
    ("get", "/contacts/{id}", None),
    ("patch", "/contacts/{id}", {"company": "偷"}),
    ("post", "/contacts/{id}/stage", {"stage": "customer"}),
    ("post", "/contacts/{id}/tags", {"tags": ["x"]}),
    ("delete", "/contacts/{id}/tags/x", None),
    ("post", "/contacts/{id}/events", {"kind": "payment_received"}),
]


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_a_token_of_another_company_gets_404_and_changes_nothing(
    outsider_api, contact, method, path, body
):
    before = Contact.objects.for_tenant(contact.tenant).values().get()
    call = getattr(outsider_api, method)
    url = path.format(id=contact.pk)
    response = call(url) if body is None else call(url, body)
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "No such contact."}
    assert Contact.objects.for_tenant(contact.tenant).values().get() == before
    assert not Event.objects.for_tenant(contact.tenant).exists()


def test_another_companys_contacts_are_not_listed_and_not_duplicates(outsider_api, contact):
    assert outsider_api.get("/contacts").json() == {"items": [], "next": None}
    response = outsider_api.post("/contacts", {"name": "张伟", "phone": contact.phone})
    assert response.status_code == 201
    assert response.json()["id"] != contact.pk


def test_a_contact_reads_with_the_tier_its_payments_reach(admin_api, tenant, admin):
    tier_save(tenant=tenant, actor=admin, name="金卡", threshold=Decimal("5000"))
    gold = ContactFactory(tenant=tenant)
    plain = ContactFactory(tenant=tenant)
    Event.objects.create(tenant=tenant, contact=gold, kind="payment_received",
                         amount=Decimal("5800"))  # fmt: skip
    grades_recompute(tenant=tenant)
    assert admin_api.get(f"/contacts/{gold.pk}").json()["tier"] == "金卡"
    listed = {c["id"]: c["tier"] for c in admin_api.get("/contacts").json()["items"]}
    assert listed == {gold.pk: "金卡", plain.pk: None}
