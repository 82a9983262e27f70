"""Every answer under /api/v1/ is the JSON error shape: unknown addresses (404) and methods
(405), whatever the method, and CSRF never applies to a call that sends a token."""

import pytest
from django.test import Client

from tests.integrations.conftest import error_of, token_for


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_address_is_a_json_404_for_every_method(admin, method):
    client = Client(enforce_csrf_checks=True)
    body = None if method == "get" else "{}"
    response = getattr(client, method)(
        "/api/v1/nothing/here", body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}",
    )  # fmt: skip
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unknown_address_is_a_json_404_without_a_token_too(db, method):
    response = getattr(Client(enforce_csrf_checks=True), method)(
        "/api/v1/tagz", "{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [("put", "/contacts"), ("delete", "/contacts"), ("put", "/tags"), ("delete", "/funnel"),
     ("post", "/funnel"), ("post", "/members"), ("put", "/stages")],
)  # fmt: skip
def test_a_wrong_method_is_a_json_405_with_what_is_allowed(admin, method, path):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(
        f"/api/v1{path}", "{}", content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}",
    )  # fmt: skip
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response["Allow"]


def test_a_bearer_post_is_never_refused_for_csrf(admin, tenant):
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32  # a browser's cookie beside the token changes nothing
    response = client.post(
        "/api/v1/contacts", '{"name": "张伟"}', content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}",
    )  # fmt: skip
    assert response.status_code == 201, response.content[:300]


def test_a_logged_in_browser_without_a_token_gets_401_not_a_write(admin_client, tenant):
    """A page's session never authorises the API: a cross-site form cannot write through it."""
    admin_client.handler.enforce_csrf_checks = True
    response = admin_client.post(
        "/api/v1/contacts", '{"name": "x"}', content_type="application/json"
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
