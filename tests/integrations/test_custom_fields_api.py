"""A shop's integration sends a pupil's 生日, 校区 and 课程顾问 through the API: contacts carry a
`custom` object by key, every value is checked against its field, each refusal is named by key,
and nothing is half written."""

import pytest
from django.test import Client
from django.utils import timezone

from crm import customfields as cf
from crm.models import Contact, CustomField
from integrations.models import WebhookDelivery
from integrations.webhooks import delivery_payload
from tests.factories import ContactFactory
from tests.integrations.conftest import error_of
from tests.integrations.test_webhooks import endpoint_for

Kind = CustomField.Kind


@pytest.fixture
def school(tenant, admin, sales):
    make = cf.custom_field_create
    sales.user.first_name, sales.user.last_name = "小明", "赵"
    sales.user.save()
    return {
        "birthday": make(tenant=tenant, actor=admin, label="生日", kind=Kind.DATE),
        "campus": make(
            tenant=tenant, actor=admin, label="校区", kind=Kind.CHOICE, options=["徐汇", "浦东"]
        ),  # fmt: skip
        "days": make(
            tenant=tenant,
            actor=admin,
            label="上课日",
            kind=Kind.MULTI_CHOICE,
            options=["周六", "周日"],
        ),  # fmt: skip
        "fee": make(tenant=tenant, actor=admin, label="学费", kind=Kind.MONEY),
        "grade": make(tenant=tenant, actor=admin, label="年级", kind=Kind.NUMBER),
        "advisor": make(tenant=tenant, actor=admin, label="课程顾问", kind=Kind.MEMBER),
    }


def stored(tenant, pk) -> dict:
    return Contact.objects.for_tenant(tenant).get(pk=pk).custom


def test_a_contact_is_created_with_its_custom_values_and_reads_them_back(
    admin_api, tenant, sales, school
):
    response = admin_api.post("/contacts", {
        "name": "张小明", "phone": "13800138001",
        "custom": {"sheng_ri": "2015/3/4", "xiao_qu": "徐汇", "shang_ke_ri": ["周日", "周六"],
                   "xue_fei": 12800, "nian_ji": 3, "ke_cheng_gu_wen": "zhao"},
    })  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    # each value in its field's one form, a member by username, in the company's order of fields
    expected = {"sheng_ri": "2015-03-04", "xiao_qu": "徐汇", "shang_ke_ri": ["周六", "周日"],
                "xue_fei": "12800.00", "nian_ji": 3, "ke_cheng_gu_wen": "zhao"}  # fmt: skip
    assert body["custom"] == expected
    assert list(body["custom"]) == list(expected)
    assert stored(tenant, body["id"])["ke_cheng_gu_wen"] == sales.pk
    assert admin_api.get(f"/contacts/{body['id']}").json()["custom"] == expected
    listed = admin_api.get("/contacts").json()["items"]
    assert [item["custom"] for item in listed] == [expected]


def test_bad_values_are_refused_each_by_its_key_and_nothing_is_written(admin_api, tenant, school):
    response = admin_api.post("/contacts", {
        "name": "张小明", "phone": "13800138001",
        "custom": {"sheng_ri": "明天", "xiao_qu": "虹口", "nian_ji": "三", "mystery": 1,
                   "ke_cheng_gu_wen": "nobody", "xue_fei": "12.345"},
    })  # fmt: skip
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    by_field = {each["field"]: each["message"] for each in error["fields"]}
    assert by_field == {
        "custom.ke_cheng_gu_wen": "“nobody” is not the username of a member of this company.",
    }
    # the member left out, the other values are checked: each message under its key
    response = admin_api.post("/contacts", {
        "name": "张小明", "phone": "13800138001",
        "custom": {"sheng_ri": "明天", "xiao_qu": "虹口", "nian_ji": "三", "mystery": 1,
                   "xue_fei": "12.345", "shang_ke_ri": "周一"},
    })  # fmt: skip
    assert response.status_code == 400
    by_field = {each["field"]: each["message"] for each in error_of(response)["fields"]}
    assert by_field == {
        "custom.mystery": "There is no custom field “mystery”.",
        "custom.nian_ji": "年级: “三” is not a number.",
        "custom.sheng_ri": "生日: “明天” is not a date (write it as 2015-03-04).",
        "custom.shang_ke_ri": "上课日: “周一” is not one of its options (周六、周日).",
        "custom.xiao_qu": "校区: “虹口” is not one of its options (徐汇、浦东).",
        "custom.xue_fei": "学费: at most two decimal places.",
    }
    assert not Contact.objects.for_tenant(tenant).exists()


def test_a_patch_changes_the_keys_sent_and_clears_with_null(admin_api, tenant, school):
    contact = ContactFactory(tenant=tenant, name="张小明", custom={"sheng_ri": "2015-03-04",
                                                                 "xiao_qu": "徐汇"})  # fmt: skip
    response = admin_api.patch(
        f"/contacts/{contact.pk}", {"custom": {"xiao_qu": "浦东", "sheng_ri": None, "nian_ji": 4}}
    )
    assert response.status_code == 200
    assert response.json()["custom"] == {"xiao_qu": "浦东", "nian_ji": 4}
    assert stored(tenant, contact.pk) == {"xiao_qu": "浦东", "nian_ji": 4}
    # a refused value changes nothing, the good ones sent with it neither
    response = admin_api.patch(
        f"/contacts/{contact.pk}", {"custom": {"xiao_qu": "徐汇", "nian_ji": True}}
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == [
        {"field": "custom.nian_ji", "message": "年级: “True” is not a number."}
    ]
    assert stored(tenant, contact.pk) == {"xiao_qu": "浦东", "nian_ji": 4}
    # a custom that is not an object is a schema's refusal
    response = admin_api.patch(f"/contacts/{contact.pk}", {"custom": ["徐汇"]})
    assert response.status_code == 400 and error_of(response)["fields"][0]["field"] == "custom"


def test_a_required_field_must_be_sent_when_creating_not_when_patching(
    admin_api, admin, tenant, school
):
    cf.custom_field_update(field=school["campus"], actor=admin, label="校区", required=True,
                           options=["徐汇", "浦东"])  # fmt: skip
    response = admin_api.post("/contacts", {"name": "张小明", "phone": "13800138001"})
    assert response.status_code == 400
    assert error_of(response)["fields"] == [
        {"field": "custom.xiao_qu", "message": "校区 is required."}
    ]
    contact = ContactFactory(tenant=tenant, name="李小红", custom={"xiao_qu": "徐汇"})
    response = admin_api.patch(f"/contacts/{contact.pk}", {"custom": {"nian_ji": 2}})
    assert response.status_code == 200
    response = admin_api.patch(f"/contacts/{contact.pk}", {"custom": {"xiao_qu": None}})
    assert response.status_code == 400
    assert stored(tenant, contact.pk) == {"xiao_qu": "徐汇", "nian_ji": 2}


def test_an_upsert_fills_only_the_fields_the_contact_has_no_value_of(admin_api, tenant, school):
    contact = ContactFactory(tenant=tenant, name="张小明", phone="13800138001",
                             custom={"xiao_qu": "浦东"})  # fmt: skip
    body = {"name": "张小明", "phone": "13800138001",
            "custom": {"xiao_qu": "徐汇", "sheng_ri": "2015-03-04"}}  # fmt: skip
    response = admin_api.post("/contacts?upsert=true", body)
    assert response.status_code == 200
    assert response.json()["custom"] == {"sheng_ri": "2015-03-04", "xiao_qu": "浦东"}
    # a bad value is refused even for a field the contact already holds
    body["custom"] = {"xiao_qu": "虹口"}
    response = admin_api.post("/contacts?upsert=true", body)
    assert response.status_code == 400
    assert error_of(response)["fields"][0]["field"] == "custom.xiao_qu"
    assert stored(tenant, contact.pk) == {"sheng_ri": "2015-03-04", "xiao_qu": "浦东"}


def test_another_companys_fields_and_members_are_unknown(
    admin_api, tenant, other_tenant, outsider, school
):
    cf.custom_field_create(tenant=other_tenant, actor=outsider, label="会员卡号", kind=Kind.TEXT)
    response = admin_api.post("/contacts", {
        "name": "张小明", "phone": "13800138001",
        "custom": {"hui_yuan_ka_hao": "A1", "ke_cheng_gu_wen": outsider.user.username},
    })  # fmt: skip
    assert response.status_code == 400
    assert {e["field"] for e in error_of(response)["fields"]} == {"custom.ke_cheng_gu_wen"}
    response = admin_api.post("/contacts", {"name": "张小明", "phone": "13800138001",
                                            "custom": {"hui_yuan_ka_hao": "A1"}})  # fmt: skip
    assert error_of(response)["fields"] == [
        {
            "field": "custom.hui_yuan_ka_hao",
            "message": "There is no custom field “hui_yuan_ka_hao”.",
        }
    ]


def test_the_docs_say_how_custom_values_are_written(db):
    schema = Client().get("/api/v1/openapi.json").json()
    assert "custom" in schema["components"]["schemas"]["ContactIn"]["properties"]
    assert "custom" in schema["components"]["schemas"]["ContactOut"]["required"]
    assert "## Custom fields" in schema["info"]["description"]


def test_an_audience_is_created_with_conditions_on_the_fields_and_shows_them(
    admin_api, tenant, school, django_capture_on_commit_callbacks
):
    ContactFactory(
        tenant=tenant, name="张小明", custom={"xiao_qu": "徐汇", "sheng_ri": "2015-03-04"}
    )
    ContactFactory(
        tenant=tenant, name="李小红", custom={"xiao_qu": "徐汇", "sheng_ri": "2012-01-01"}
    )
    conditions = {"cf_xiao_qu": "徐汇", "cf_sheng_ri__min": "2015-01-01"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(
            "/audiences", {"name": "徐汇 2015 后", "min_stage": "subscriber", "custom": conditions}
        )
    assert response.status_code == 201
    body = response.json()
    assert body["custom"] == conditions
    members = admin_api.get(f"/audiences/{body['id']}/members").json()["items"]
    assert [m["name"] for m in members] == ["张小明"]
    # a condition that cannot apply is refused, in words
    response = admin_api.post(
        "/audiences", {"name": "虹口", "min_stage": "subscriber", "custom": {"cf_xiao_qu": "虹口"}}
    )
    assert response.status_code == 400
    assert error_of(response)["message"] == "These conditions cannot apply: 校区 = 虹口."


def test_webhooks_carry_the_custom_values_too(admin, tenant, school, sales):
    endpoint = endpoint_for(tenant, "https://hooks.example.com/crm")
    contact = ContactFactory(tenant=tenant, name="张小明",
                             custom={"xiao_qu": "徐汇", "ke_cheng_gu_wen": sales.pk})  # fmt: skip
    delivery = WebhookDelivery.objects.create(
        tenant=tenant, endpoint=endpoint, event="contact.created", contact_id=contact.pk,
        occurred_at=timezone.now(),
    )  # fmt: skip
    assert delivery_payload(delivery)["data"]["contact"]["custom"] == {
        "xiao_qu": "徐汇", "ke_cheng_gu_wen": "zhao",
    }  # fmt: skip
