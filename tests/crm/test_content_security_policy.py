"""A strict Content-Security-Policy on every page: no inline script, no on*= handler, no style=
attribute, no <style> without the response's nonce; and X-Forwarded-Proto trusted only when a
setting says a proxy sets it."""

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse

from crm.models import Contact
from tagging.models import Tag
from tagging.services import contact_tag_add
from tests.conftest import client_for
from tests.urlwalk import tenant_routes

ROOT = Path(__file__).resolve().parents[2]

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}
# Script elements the browser never runs (ninja's docs page keeps its settings in one).
DATA_BLOCK_TYPES = {"application/json"}


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


class InlineCode(HTMLParser):
    """What the policy refuses to run or apply, as `<tag attribute>` strings."""

    def __init__(self, style_nonces: set[str]):
        super().__init__(convert_charrefs=True)
        self.style_nonces = style_nonces
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on") or name == "style" or name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"<{tag} {name}>")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:>")
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src") and attrs.get("type") not in DATA_BLOCK_TYPES:
            self.found.append("<script> without src")
        if tag == "style" and attrs.get("nonce") not in self.style_nonces:
            self.found.append("<style> without the response's nonce")


def inline_code(response) -> list[str]:
    style_nonces = {
        source.removeprefix("'nonce-").removesuffix("'")
        for source in policy_of(response).get("style-src", [])
        if source.startswith("'nonce-")
    }
    parser = InlineCode(style_nonces)
    parser.feed(response.content.decode())
    parser.close()
    return parser.found


def assert_strict(response, url: str) -> None:
    policy = policy_of(response)
    assert policy, f"{url}: no Content-Security-Policy header"
    assert policy["script-src"] == ["'self'"], url
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], url
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"], url
    if response["Content-Type"].startswith("text/html"):
        assert inline_code(response) == [], url


@pytest.fixture
def walk_objects(tenant, admin, own_objects):
    """The company's objects, with the contact tagged so its page shows a coloured chip."""
    contact = Contact.objects.for_tenant(tenant).get(pk=own_objects["contact_id"])
    tag = Tag.objects.for_tenant(tenant).get(pk=own_objects["tag_id"])
    contact_tag_add(contact=contact, tag=tag, actor=admin)
    return own_objects


def test_the_policy_is_the_strict_one(client, db):
    assert policy_of(client.get(reverse("login"))) == POLICY


def test_every_company_page_runs_no_inline_code(admin_client, tenant, walk_objects):
    checked = []
    for route in tenant_routes():
        url = reverse(route.name, args=[tenant.slug] + [walk_objects[k] for k in route.kwargs])
        for headers in ({}, {"HX-Request": "true"}):
            response = admin_client.get(url, headers=headers)
            assert response.status_code in (200, 302, 405), (url, headers, response.status_code)
            assert_strict(response, f"{url} {headers}")
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                checked.append(url)
    assert len(set(checked)) >= 30


def test_pages_outside_a_company_and_error_pages_run_no_inline_code(
    client, admin_client, marketer_client, tenant
):
    visits = [
        (client, reverse("login"), 200),
        (client, reverse("one_time_link", args=["no-such-link"]), 404),
        (client, "/api/v1/docs", 200),
        (admin_client, reverse("profile"), 200),
        (admin_client, "/t/no-such-company/", 404),
        (marketer_client, reverse("member_list", args=[tenant.slug]), 403),
    ]
    for who, url, status in visits:
        response = who.get(url)
        assert response.status_code == status, url
        assert_strict(response, url)


def test_the_api_docs_page_loads_swagger_from_static_files_only(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert inline_code(response) == []
    html = response.content.decode()
    assert 'src="/static/ninja/swagger-ui-init.js"' in html


def test_the_checker_finds_what_the_policy_refuses(client, db):
    page = client.get(reverse("login"))
    page.content = (
        b'<script>alert(1)</script><script type="module">x()</script>'
        b'<form onsubmit="return confirm(1)"><b style="color: red"></b>'
        b'<a href="javascript:go()"></a><button hx-on:click="x()"></button>'
        b'<style>b{}</style><style nonce="guess">b{}</style><script src="/static/js/app.js">'
        b'</script><script type="application/json">{"a": 1}</script>'
    )
    assert inline_code(page) == [
        "<script> without src",
        "<script> without src",
        "<form onsubmit>",
        "<b style>",
        "<a href=javascript:>",
        "<button hx-on:click>",
        "<style> without the response's nonce",
        "<style> without the response's nonce",
    ]


def test_x_forwarded_proto_is_not_trusted_by_default():
    assert settings.SECURE_PROXY_SSL_HEADER is None
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert request.is_secure() is False


def _proxy_header_setting(value: str | None) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "TRUST_X_FORWARDED_PROTO", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(SECRET_KEY="x" * 50, ALLOWED_HOSTS="crm.example.com")
    if value is not None:
        env["TRUST_X_FORWARDED_PROTO"] = value
    return subprocess.run(
        [sys.executable, "-c", "import crm.settings as s; print(s.SECURE_PROXY_SSL_HEADER)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_x_forwarded_proto_is_trusted_only_when_a_proxy_is_said_to_set_it():
    assert "has no attribute 'SECURE_PROXY_SSL_HEADER'" in _proxy_header_setting(None).stderr
    assert "has no attribute" in _proxy_header_setting("false").stderr
    assert _proxy_header_setting("true").stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"
    refused = _proxy_header_setting("sometimes")
    assert refused.returncode != 0
    assert "TRUST_X_FORWARDED_PROTO must be true or false" in refused.stderr


def test_a_refused_form_explains_itself_without_inline_style(admin, tenant):
    client = client_for(admin, enforce_csrf_checks=True)
    response = client.post(reverse("member_add", args=[tenant.slug]), {"username": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Form expired" in html or "表单已过期" in html
    assert "style=" not in html and "<script" not in html
