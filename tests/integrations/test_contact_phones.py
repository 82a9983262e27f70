"""The JSON API normalises phones, emails and WeChat IDs as the forms do, and refuses an
impossible phone as a field error, in the language the request asks for."""

import pytest

from crm.models import Contact
from tests.integrations.conftest import error_of


@pytest.mark.parametrize(
    "sent, stored",
    [
        ("１３８　００１３　８０００", "13800138000"),
        ("+86-10-8888-6666", "01088886666"),
        ("+1 415 555 2671", "+14155552671"),
    ],
)
def test_a_full_width_or_foreign_phone_is_stored_normalised(admin_api, tenant, sent, stored):
    response = admin_api.post("/contacts", {"name": "李雷", "phone": sent})
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == stored
    assert Contact.objects.for_tenant(tenant).get().phone == stored


def test_full_width_email_and_wechat_id_are_stored_normalised(admin_api, tenant):
    response = admin_api.post(
        "/contacts", {"name": "李雷", "email": "ＬｉＬｅｉ@ＱＱ.ＣＯＭ", "wechat_id": "ＬＬ＿８８"}
    )
    assert response.status_code == 201, response.content
    assert (response.json()["email"], response.json()["wechat_id"]) == ("lilei@qq.com", "ll_88")


def test_a_full_width_phone_is_a_duplicate_of_the_stored_one(admin_api, tenant, contact):
    response = admin_api.post(
        "/contacts", {"name": "张伟", "phone": "＋８６ １３８００１３８０００"}
    )
    assert response.status_code == 409
    assert error_of(response)["existing_id"] == contact.pk
    assert Contact.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize(
    "language, message",
    [
        (
            "en",
            "“12345” is too short for a phone number: a mobile has 11 digits, a landline needs "
            "its area code.",
        ),
        ("zh-CN,zh;q=0.9", "“12345”太短，不是电话号码：手机号为 11 位，座机号须带区号。"),
    ],
)
def test_an_impossible_phone_is_refused_as_a_field_error(admin_api, tenant, language, message):
    response = admin_api.post(
        "/contacts", {"name": "李雷", "phone": "12345"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["fields"] == [{"field": "phone", "message": message}]
    assert not Contact.objects.for_tenant(tenant).exists()


def test_a_patch_normalises_or_refuses_the_phone(admin_api, contact):
    response = admin_api.patch(f"/contacts/{contact.pk}", {"phone": "＋１ ４１５ ５５５ ２６７１"})
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.phone == "+14155552671"
    response = admin_api.patch(f"/contacts/{contact.pk}", {"phone": "1-800-FLOWERS"})
    assert response.status_code == 400
    assert error_of(response)["fields"] == [
        {"field": "phone", "message": "A phone number has digits, spaces, +, - and brackets only."}
    ]
    contact.refresh_from_db()
    assert contact.phone == "+14155552671"
