"""The API as an integrator meets it: a Django test client that sends a token and JSON."""

import json

import pytest
from django.test import Client

from integrations.services import api_token_create


class ApiClient:
    def __init__(self, token: str | None):
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict | None) -> dict:
        sent = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        return {**sent, **(headers or {})}

    def get(self, path: str, data=None, **headers):
        return self.client.get(f"/api/v1{path}", data, **self._headers(headers))

    def _send(self, method: str, path: str, body, headers):
        raw = body if isinstance(body, bytes | str) else json.dumps(body)
        return getattr(self.client, method)(
            f"/api/v1{path}", raw, content_type="application/json", **self._headers(headers)
        )

    def post(self, path: str, body=None, **headers):
        return self._send("post", path, {} if body is None else body, headers)

    def patch(self, path: str, body=None, **headers):
        return self._send("patch", path, {} if body is None else body, headers)

    def delete(self, path: str, **headers):
        return self.client.delete(f"/api/v1{path}", **self._headers(headers))


def token_for(membership, name: str = "test") -> str:
    return api_token_create(tenant=membership.tenant, actor=None, membership=membership, name=name)[
        1
    ]


@pytest.fixture
def admin_api(admin):
    return ApiClient(token_for(admin))


@pytest.fixture
def marketer_api(marketer):
    return ApiClient(token_for(marketer))


@pytest.fixture
def sales_api(sales):
    return ApiClient(token_for(sales))


@pytest.fixture
def outsider_api(outsider):
    return ApiClient(token_for(outsider))


@pytest.fixture
def anonymous_api(db):
    return ApiClient(None)


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]
