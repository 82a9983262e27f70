"""Consent over the API: a form tool records a withdrawal (退订) as the page would."""

from audiences.models import AudienceMember
from audiences.services import audience_recompute, audience_save
from crm.consent import consent_grant, consent_states
from crm.models import AuditEntry, AuditKind, Consent
from tests.factories import ContactFactory
from tests.integrations.conftest import ApiClient, token_for


def _state(contact, channel: str) -> str:
    return {item.channel: item.state for item in consent_states(contact=contact)}[channel]


def test_an_integration_withdraws_sms_consent_and_the_audience_lets_them_go(
    tenant, marketer, sales, django_capture_on_commit_callbacks
):
    contact = ContactFactory(tenant=tenant, name="张伟", phone="13800138000", stage="sql")
    consent_grant(contact=contact, channel="sms", actor=marketer)
    audience = audience_save(tenant=tenant, actor=marketer, name="短信优惠", gate="at_or_past",
                             stages=["sql"], consent_channel="sms")  # fmt: skip
    audience_recompute(audience=audience)
    api = ApiClient(token_for(sales))  # the SMS gateway's 退订 callback, with a sales token
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/contacts/{contact.pk}/consent",
                            {"channel": "sms", "granted": False, "note": "回复TD退订"})  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["recorded"] is True
    assert body["channels"]["sms"]["state"] == "withdrawn"
    assert body["channels"]["sms"]["source"] == "api"
    assert body["channels"]["email"] == {"state": "unknown", "since": None, "source": None,
                                         "by": None}  # fmt: skip
    assert [h["granted"] for h in body["history"]] == [False, True]
    assert body["history"][0]["note"] == "回复TD退订"
    assert _state(contact, "sms") == "withdrawn"
    assert not AudienceMember.objects.for_tenant(tenant).filter(audience=audience).exists()
    assert AuditEntry.objects.for_tenant(tenant).filter(kind=AuditKind.CONSENT_WITHDRAWN,
                                                        actor=sales).count() == 1  # fmt: skip
    again = api.post(f"/contacts/{contact.pk}/consent", {"channel": "sms", "granted": False})
    assert again.status_code == 200 and again.json()["recorded"] is False
    assert api.get(f"/contacts/{contact.pk}/consent").json()["channels"]["sms"]["state"] == (
        "withdrawn"
    )


def test_a_sales_token_may_not_record_a_grant(tenant, sales, contact):
    response = ApiClient(token_for(sales)).post(
        f"/contacts/{contact.pk}/consent", {"channel": "email", "granted": True}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not Consent.objects.for_tenant(tenant).exists()


def test_a_marketer_token_grants_and_bad_input_is_refused(tenant, marketer, contact):
    api = ApiClient(token_for(marketer))
    done = api.post(f"/contacts/{contact.pk}/consent", {"channel": "wechat", "granted": True})
    assert done.status_code == 200 and done.json()["channels"]["wechat"]["by"] == "li"
    for bad in ({"channel": "fax", "granted": True}, {"channel": "sms"},
                {"channel": "sms", "granted": True, "extra": 1}):  # fmt: skip
        assert api.post(f"/contacts/{contact.pk}/consent", bad).status_code == 400
    assert Consent.objects.for_tenant(tenant).count() == 1


def test_another_companys_contact_is_not_found(tenant, admin, outsider, foreign_contact):
    api = ApiClient(token_for(admin))
    for response in (
        api.get(f"/contacts/{foreign_contact.pk}/consent"),
        api.post(f"/contacts/{foreign_contact.pk}/consent", {"channel": "sms", "granted": False}),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not Consent.objects.for_tenant(foreign_contact.tenant).exists()


def test_an_audience_created_over_the_api_can_require_consent(tenant, marketer):
    api = ApiClient(token_for(marketer))
    response = api.post("/audiences", {"name": "短信优惠", "min_stage": "sql",
                                       "consent_channel": "sms"})  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["consent_channel"] == "sms"
    listed = api.get("/audiences").json()["items"]
    assert [a["consent_channel"] for a in listed] == ["sms"]
    refused = api.post("/audiences", {"name": "x", "min_stage": "sql", "consent_channel": "fax"})
    assert refused.status_code == 400
