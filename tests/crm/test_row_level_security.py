"""The second wall: even a query that forgets `for_tenant` sees only the company its
connection is set to, and none with nothing set. Run as a role like the application's (the
suite otherwise runs as the owner, whom a superuser's rights let through)."""

import pytest
from celery import shared_task
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.urls import reverse

from crm.models import Contact, Membership
from crm.rls import tenant_tables
from crm.scope import scope_reset, tenant_scope
from tests.conftest import client_for
from tests.factories import ContactFactory
from tests.urlwalk import tenant_routes


@shared_task
def contacts_seen(tenant_id: int) -> list[str]:
    return sorted(Contact.objects.values_list("name", flat=True))  # no for_tenant, on purpose


@pytest.fixture
def two_companies(tenant, other_tenant, admin, outsider):
    ContactFactory(tenant=tenant, name="我们的客户")
    ContactFactory(tenant=other_tenant, name="别家的客户")


def names() -> list[str]:
    return sorted(Contact.objects.values_list("name", flat=True))


def test_every_tenant_table_forces_row_level_security_with_a_policy(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, count(p.policyname) "
            "FROM pg_class c LEFT JOIN pg_policies p ON p.tablename = c.relname "
            "WHERE c.relname = ANY(%s) GROUP BY 1, 2, 3 ORDER BY 1",
            [tenant_tables()],
        )
        rows = cursor.fetchall()
    assert len(rows) == len(tenant_tables()) > 15
    assert [r for r in rows if r[1:] != (True, True, 1)] == []


def test_a_query_that_forgets_for_tenant_sees_only_the_company_set(
    two_companies, tenant, as_app_role
):
    as_app_role()
    with tenant_scope(tenant):
        assert names() == ["我们的客户"]
    scope_reset()
    assert names() == []  # nothing set: nothing at all


def test_a_row_of_another_company_cannot_be_written(
    two_companies, tenant, other_tenant, as_app_role
):
    as_app_role()
    with tenant_scope(tenant):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            Contact.objects.create(tenant=other_tenant, name="塞进别家")
        with transaction.atomic():
            moved = Contact.objects.filter(name="别家的客户").update(name="改别家的")
    assert moved == 0
    with tenant_scope(other_tenant):
        assert names() == ["别家的客户"]


def test_one_connection_serving_a_then_b_shows_b_only(two_companies, tenant, other_tenant, admin,
                                                       outsider, as_app_role):  # fmt: skip
    as_app_role()
    ours = client_for(admin).get(reverse("contact_list", args=[tenant.slug])).content.decode()
    theirs = client_for(outsider).get(reverse("contact_list", args=[other_tenant.slug]))
    assert "我们的客户" in ours and "别家的客户" not in ours
    assert "别家的客户" in theirs.content.decode() and "我们的客户" not in theirs.content.decode()
    assert names() == ["别家的客户"]  # the connection still stands where B's request left it


def test_a_task_for_one_company_cannot_read_another(two_companies, tenant, as_app_role):
    as_app_role()
    assert contacts_seen.apply(args=[tenant.pk]).get() == ["我们的客户"]
    assert names() == []  # the task left the connection as it found it


def test_login_and_the_company_switcher_see_the_users_own_memberships(
    two_companies, tenant, other_tenant, admin, as_app_role
):
    Membership.objects.create(tenant=other_tenant, user=admin.user, role="sales")
    as_app_role()
    html = client_for(admin).get(reverse("home")).content.decode()
    assert tenant.name in html and other_tenant.name in html


def test_an_api_token_finds_its_company_and_nothing_else(two_companies, tenant, admin, as_app_role):
    from integrations.services import api_token_create
    from tests.integrations.conftest import ApiClient

    _row, token = api_token_create(tenant=tenant, actor=admin, membership=admin, name="表单")
    as_app_role()
    listed = ApiClient(token).get("/contacts").json()
    assert [c["name"] for c in listed["items"]] == ["我们的客户"]


def test_the_tenancy_url_walk_answers_with_row_level_security_on(
    admin_client, tenant, admin, own_objects, foreign_objects, as_app_role
):
    as_app_role()
    for route in tenant_routes():
        ours = [tenant.slug] + [own_objects[k] for k in route.kwargs]
        theirs = [tenant.slug] + [foreign_objects[k] for k in route.kwargs]
        assert admin_client.get(reverse(route.name, args=ours)).status_code in (200, 302, 405), (
            route.name
        )
        if route.kwargs and set(route.kwargs) != {"stage"}:
            assert admin_client.get(reverse(route.name, args=theirs)).status_code in (404, 405)


def test_nothing_set_means_no_insert_either(tenant, as_app_role):
    as_app_role()
    scope_reset()
    with pytest.raises((ProgrammingError, IntegrityError)), transaction.atomic():
        Contact.objects.create(tenant=tenant, name="无主")
