"""The funnel and audiences through the API, and the docs page an integrator reads first."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from audiences.models import Audience
from lifecycle.models import FunnelCount
from tagging.models import ContactTag
from tests.factories import ContactFactory
from tests.integrations.conftest import error_of


def test_the_funnel_reads_the_stored_counts_with_labels(admin_api, tenant):
    FunnelCount.objects.create(tenant=tenant, stage="lead", status="active", count=12)
    FunnelCount.objects.create(tenant=tenant, stage="lead", status="lost", count=3)
    body = admin_api.get("/funnel").json()
    assert [s["stage"] for s in body["stages"]] == [
        "subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist",
    ]  # fmt: skip
    assert body["stages"][1] == {"stage": "lead", "label": "潜在客户", "active": 12, "lost": 3}
    assert body["computed_at"] is not None


@pytest.fixture
def adult(make_tag):
    return make_tag("课程", "成人口语")


def test_create_an_audience_with_a_stage_gate_and_tags(
    marketer_api, tenant, adult, django_capture_on_commit_callbacks
):
    inside = ContactFactory(tenant=tenant, stage="sql", furthest_stage="sql")
    ContactTag.objects.create(tenant=tenant, contact=inside, tag=adult)
    ContactFactory(tenant=tenant, stage="sql")  # no tag
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_api.post(
            "/audiences", {"name": "SQL+ 成人口语", "min_stage": "sql", "tags_all": ["成人口语"]}
        )
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("name", "min_stage", "stages", "status", "tags_all")} == {
        "name": "SQL+ 成人口语", "min_stage": "sql", "stages": None, "status": None,
        "tags_all": ["成人口语"],
    }  # fmt: skip
    audience = Audience.objects.for_tenant(tenant).get()
    assert (audience.gate, audience.stages, audience.tag_all) == ("at_or_past", ["sql"], [adult.pk])

    # members are computed after commit (by a worker, or at once without one)
    got = marketer_api.get(f"/audiences/{audience.pk}").json()
    assert got == {**body, "size": 1, "computed_at": got["computed_at"]}
    assert got["computed_at"] is not None
    members = marketer_api.get(f"/audiences/{audience.pk}/members").json()
    assert [m["id"] for m in members["items"]] == [inside.pk]
    assert members["next"] is None
    assert marketer_api.get("/audiences").json()["items"] == [got]


def test_an_audience_gate_is_min_stage_or_stages_not_both(admin_api, tenant):
    both = admin_api.post("/audiences", {"name": "x", "min_stage": "sql", "stages": ["lead"]})
    neither = admin_api.post("/audiences", {"name": "x"})
    exact = admin_api.post("/audiences", {"name": "线索", "stages": ["mql", "lead"]})
    assert (both.status_code, neither.status_code, exact.status_code) == (400, 400, 201)
    assert (exact.json()["min_stage"], exact.json()["stages"]) == (None, ["lead", "mql"])
    assert Audience.objects.for_tenant(tenant).count() == 1


def test_audience_members_page_with_a_cursor(admin_api, tenant, django_capture_on_commit_callbacks):
    made = [ContactFactory(tenant=tenant, stage="lead").pk for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        audience_id = admin_api.post("/audiences", {"name": "L", "stages": ["lead"]}).json()["id"]
    first = admin_api.get(f"/audiences/{audience_id}/members", {"limit": 2}).json()
    second = admin_api.get(
        f"/audiences/{audience_id}/members", {"limit": 2, "cursor": first["next"]}
    ).json()
    assert [m["id"] for m in first["items"] + second["items"]] == made
    assert second["next"] is None


def test_another_companys_audience_is_404(outsider_api, admin_api, tenant):
    audience = Audience.objects.create(tenant=tenant, name="SQL+", stages=["sql"])
    for path in (f"/audiences/{audience.pk}", f"/audiences/{audience.pk}/members"):
        response = outsider_api.get(path)
        assert response.status_code == 404
        assert error_of(response) == {"code": "not_found", "message": "No such audience."}
    assert outsider_api.get("/audiences").json() == {"items": [], "next": None}


def test_the_docs_page_uses_our_own_static_files_and_no_cdn(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/ninja/swagger-ui-bundle.js" in assets
    assert "/static/ninja/swagger-ui.css" in assets
    assert [a for a in assets if not a.startswith("/")] == []
    assert "cdn" not in html.lower() and "https://" not in html
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset


def test_the_openapi_document_explains_auth_errors_pages_and_webhook_signatures(db):
    document = Client().get("/api/v1/openapi.json").json()
    description = document["info"]["description"]
    for words in ("Authorization: Bearer", '{"error": {"code"', "?cursor=", "X-Funnel-Signature",
                  "def verify(secret: str, body: bytes, header: str"):  # fmt: skip
        assert words in description
    assert document["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "http", "scheme": "bearer",
    }  # fmt: skip
    paths = set(document["paths"])
    assert {
        "/api/v1/contacts", "/api/v1/contacts/{contact_id}", "/api/v1/contacts/{contact_id}/stage",
        "/api/v1/contacts/{contact_id}/tags", "/api/v1/contacts/{contact_id}/tags/{tag}",
        "/api/v1/contacts/{contact_id}/events", "/api/v1/funnel", "/api/v1/audiences",
        "/api/v1/audiences/{audience_id}", "/api/v1/audiences/{audience_id}/members",
        "/api/v1/contacts/{contact_id}/consent",
        "/api/v1/tags", "/api/v1/tags/{tag_id}", "/api/v1/tag-groups",
        "/api/v1/tag-groups/{group_id}", "/api/v1/stages", "/api/v1/custom-fields",
        "/api/v1/members", "/api/v1/contacts/{contact_id}/activities",
        "/api/v1/contacts/{contact_id}/tasks", "/api/v1/tasks", "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/complete", "/api/v1/tasks/{task_id}/reopen",
    } == paths  # fmt: skip
    events = document["paths"]["/api/v1/contacts/{contact_id}/events"]
    assert set(events) == {"get", "post"}  # one address, both methods
    move = document["paths"]["/api/v1/contacts/{contact_id}/stage"]["post"]["responses"]
    assert {"200", "400", "401", "404", "409", "429"} <= set(move)
