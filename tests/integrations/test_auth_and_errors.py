"""Tokens decide the company and the role; every error is JSON; abuse is refused, never a 500."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from crm.models import Contact
from integrations.auth import TokenRateLimit
from integrations.models import ApiToken
from integrations.services import api_token_create, api_token_revoke
from tests.integrations.conftest import ApiClient, error_of, token_for


def test_tokens_are_stored_hashed_with_a_short_prefix_for_display(admin):
    row, token = api_token_create(tenant=admin.tenant, actor=admin, membership=admin, name="官网")
    assert token.startswith("fnl_") and len(token) > 40
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:12]
    assert token not in json.dumps(
        list(ApiToken.objects.for_tenant(admin.tenant).values()), default=str
    )


def test_without_a_token_the_answer_is_401_json(anonymous_api, contact):
    response = anonymous_api.get("/contacts")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["Bearer fnl_wrong", "Bearer ", "Basic d2FuZzpwdw==", "fnl_x", "Bearer " + "x" * 300]
)
def test_a_wrong_token_is_401(db, header):
    response = ApiClient(None).get("/contacts", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_a_revoked_token_stops_working(admin, contact):
    row, token = api_token_create(tenant=admin.tenant, actor=admin, membership=admin, name="x")
    api = ApiClient(token)
    assert api.get("/contacts").status_code == 200
    api_token_revoke(token=row, actor=admin)
    assert api.get("/contacts").status_code == 401


def test_a_removed_member_takes_their_tokens_along(sales, contact):
    api = ApiClient(token_for(sales))
    sales.delete()
    assert api.get("/contacts").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(admin, contact):
    row, token = api_token_create(tenant=admin.tenant, actor=admin, membership=admin, name="x")
    api = ApiClient(token)
    api.get("/contacts")
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None
    api.get("/contacts")
    row.refresh_from_db()
    assert row.last_used_at == first
    ApiToken.objects.for_tenant(admin.tenant).filter(pk=row.pk).update(
        last_used_at=first - timedelta(minutes=2)
    )
    api.get("/contacts")
    row.refresh_from_db()
    assert row.last_used_at > first


def test_messages_follow_the_token_members_language(admin, contact):
    admin.user.language = "zh-hans"
    admin.user.save()
    response = ApiClient(token_for(admin)).get(f"/contacts/{contact.pk + 1000}")
    assert error_of(response)["message"] == "没有这个联系人。"


def test_the_command_prints_the_token_alone_on_one_line(admin, capsys):
    call_command("create_api_token", "english-school", "wang", "--name", "微信商城")
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    token = out.strip()
    row = ApiToken.objects.for_tenant(admin.tenant).get()
    assert (row.name, row.membership, row.token_hash) == (
        "微信商城", admin, hashlib.sha256(token.encode()).hexdigest(),
    )  # fmt: skip
    assert ApiClient(token).get("/funnel").status_code == 200


def test_the_command_refuses_strangers(admin, outsider):
    with pytest.raises(CommandError, match="not a member"):
        call_command("create_api_token", "english-school", "rival")
    with pytest.raises(CommandError, match="No company"):
        call_command("create_api_token", "nowhere", "wang")
    assert not ApiToken.objects.for_tenant(admin.tenant).exists()


# --- errors --------------------------------------------------------------------------------


def test_malformed_json_is_400(admin_api):
    response = admin_api.post("/contacts", b'{"name": "x",')
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_wrong_types_and_unknown_fields_are_400_with_the_fields_named(admin_api, tenant):
    response = admin_api.post("/contacts", {"name": ["x"], "favourite_colour": "red"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert [f["field"] for f in error["fields"]] == ["name", "favourite_colour"]
    assert not Contact.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize("text", ["nul\u0000", "\ud800"])
def test_text_the_database_cannot_store_is_400(admin_api, tenant, text):
    body = json.dumps({"name": text})  # \u0000 and a lone surrogate, as JSON escapes
    response = admin_api.post("/contacts", body)
    assert response.status_code == 400
    assert not Contact.objects.for_tenant(tenant).exists()


def test_nul_in_the_address_is_400(admin_api, contact):
    assert admin_api.get("/contacts?q=a%00b").status_code == 400
    assert admin_api.get("/contacts?tag=a%00&tag=b").status_code == 400
    assert admin_api.delete(f"/contacts/{contact.pk}/tags/a%00b").status_code == 400


def test_a_body_over_a_megabyte_is_413(admin_api, tenant):
    response = admin_api.post("/contacts", {"name": "x", "notes": "长" * 400_000})
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert not Contact.objects.for_tenant(tenant).exists()


def test_huge_ids_unknown_paths_and_wrong_methods_answer_json(admin_api):
    assert error_of(admin_api.get(f"/contacts/{10**30}"))["code"] == "not_found"
    assert error_of(admin_api.get("/contacts/abc"))["code"] == "invalid"
    assert error_of(admin_api.get("/nothing/here"))["code"] == "not_found"
    wrong = admin_api.client.put(
        "/api/v1/contacts", HTTP_AUTHORIZATION=admin_api._headers({})["HTTP_AUTHORIZATION"]
    )
    assert wrong.status_code == 405
    assert error_of(wrong)["code"] == "method_not_allowed"


def test_an_unknown_query_parameter_is_refused(admin_api):
    response = admin_api.get("/contacts", {"stages": "lead"})
    assert response.status_code == 400
    assert error_of(response)["message"] == "Unknown query parameter: stages."


@override_settings(API_RATE_LIMIT=3)
def test_more_than_the_limit_a_minute_is_429_with_retry_after(admin, contact, monkeypatch):
    # the fixed window is a minute long: every request here falls in the same one
    monkeypatch.setattr(TokenRateLimit, "clock", staticmethod(lambda: 1_800_000_015.5))
    # a cache of its own: on Redis, the other test worker's cache.clear() empties the shared one
    monkeypatch.setattr("integrations.auth.cache", LocMemCache("rate-limit-test", {}))
    api = ApiClient(token_for(admin))
    other = ApiClient(token_for(admin, name="another"))
    assert [api.get("/funnel").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/funnel")
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "rate_limited"
    assert limited["Retry-After"] == "45"
    assert other.get("/funnel").status_code == 200  # counted per token


def test_a_refused_post_by_a_role_is_403(sales_api, tenant):
    response = sales_api.post("/audiences", {"name": "SQL+", "min_stage": "sql"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_the_token_is_not_accepted_on_the_pages(admin, tenant):
    from django.test import Client

    response = Client().get(
        f"/t/{tenant.slug}/contacts/", HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}"
    )
    assert response.status_code == 302  # pages need a session; tokens are for the API only


def test_token_lookup_is_by_hash_only(admin):
    row, token = api_token_create(tenant=admin.tenant, actor=admin, membership=admin, name="x")
    row.created_at = timezone.now()
    assert ApiClient(row.prefix).get("/funnel").status_code == 401
    assert ApiClient(token).get("/funnel").status_code == 200


def test_errors_speak_the_language_the_request_asks_for(admin_api, tenant):
    body = {"name": "x", "favourite_colour": "red"}
    chinese = error_of(admin_api.post("/contacts", body, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"))
    assert chinese["message"] == "请求无效：favourite_colour：未知字段"
    english = error_of(admin_api.post("/contacts", body, HTTP_ACCEPT_LANGUAGE="en"))
    assert english["message"] == "Invalid request: favourite_colour: unknown field"
    anonymous = ApiClient(None).get("/contacts", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert error_of(anonymous)["message"].startswith("请发送有效的 API 令牌")
