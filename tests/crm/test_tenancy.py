"""A user of company A never sees, counts or touches anything of company B."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db.models import F
from django.urls import reverse

from crm.models import Contact, TenantOwned
from tests.urlwalk import tenant_routes

ROOT = Path(__file__).resolve().parents[2]
OUR_APPS = tuple(settings.OUR_APPS)

# Models that are not tenant-owned, and why.
NOT_TENANT_OWNED = {
    "crm.User": "a person can belong to several companies",
    "crm.Tenant": "it is the tenant",
    "crm.OneTimeLink": "a password link belongs to a user, found by its token's hash",
    "crm.CompanyDeletion": "the platform's record of a company's deletion outlives the company",
}

# Every kwarg a tenant URL may take; company_objects() in conftest makes one of each.
URL_KWARGS = {
    "contact_id", "membership_id", "group_id", "tag_id", "alias_id", "rule_id", "audience_id",
    "snapshot_id", "job_id", "other_id", "stage", "token_id", "endpoint_id", "delivery_id",
    "invitation_id", "activity_id", "task_id", "task_rule_id", "assignment_rule_id", "tier_id",
    "view_id", "field_id", "undo_id", "kind",
}  # fmt: skip
NOT_AN_ID = {"stage"}


def test_every_model_of_ours_is_tenant_owned_or_says_why():
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        label = model._meta.label
        if label in NOT_TENANT_OWNED:
            continue
        assert issubclass(model, TenantOwned), f"{label} must extend TenantOwned"
        tenant_field = model._meta.get_field("tenant")
        assert tenant_field.remote_field.on_delete.__name__ == "PROTECT"


# Indexes on an expression, which has no leading column, and how they start from the company.
EXPRESSION_INDEXES = {
    "crm.ContactText.contacttext_grams": "GIN over the text's grams: every key starts with the "
    "tenant's id ('7:小雨'), so a search seeks only its company's keys",
}


def test_indexes_and_unique_constraints_lead_with_tenant():
    for model in apps.get_models():
        if not issubclass(model, TenantOwned):
            continue
        for index in model._meta.indexes:
            name = f"{model._meta.label}.{index.name}"
            if index.expressions:
                assert name in EXPRESSION_INDEXES, f"{name}: say how it leads with the tenant"
                assert index.expressions[0].source_expressions[0] == F("tenant"), name
                continue
            assert index.fields[0] == "tenant", name
        for constraint in model._meta.constraints:
            fields = getattr(constraint, "fields", ())
            if fields:
                assert fields[0] == "tenant", f"{model._meta.label}.{constraint.name}"


def test_for_tenant_refuses_to_run_without_a_tenant():
    with pytest.raises(ValueError):
        Contact.objects.for_tenant(None)


def test_queries_on_tenant_owned_models_start_with_for_tenant():
    """`Model.objects.` on a tenant-owned model must be followed by for_tenant (or be listed)."""
    allowed = {
        # resolves the tenant itself from the URL slug and the logged-in user
        ("crm/selectors.py", 'Membership.objects.select_related("tenant", "user")'),
        ("crm/selectors.py", "Membership.objects.filter(user=user)"),
        # a failed login is recorded in each company of the user (read below crm.selectors,
        # whose custom fields' services write audit entries too)
        ("crm/audit.py", "Membership.objects.filter(user=user)"),
        # an invitee's own invitations, across the companies that sent them
        ("crm/selectors.py", "Invitation.objects.filter("),
        # which companies a user belongs to, to judge who may reset their password
        ("crm/tenancy.py", "Membership.objects.filter(user=admin_user, role=Role.ADMIN).values_"),
        ("crm/tenancy.py", "Membership.objects.filter(user=user).values_list("),
        # the API token names the tenant: it is looked up by its (globally unique) hash
        ("integrations/selectors.py", "ApiToken.objects.filter(token_hash=hashed, revoked_at"),
    }
    names = [m.__name__ for m in apps.get_models() if issubclass(m, TenantOwned)]
    # Creating rows is fine (each carries its tenant), and so is saving rows that were read
    # scoped (bulk_update); every read and every filtered update starts scoped.
    pattern = re.compile(
        r"\b({})\.objects\.(?!for_tenant\(|create\(|bulk_create\(|bulk_update\(|none\(\)"
        r"|get_or_create\(tenant=)[^\n]*".format("|".join(names))
    )
    offenders = []
    for app in OUR_APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            for match in pattern.finditer(path.read_text()):
                if not any(rel == f and match.group(0).startswith(s) for f, s in allowed):
                    offenders.append(f"{rel}: {match.group(0)}")
    assert offenders == []


def test_every_tenant_url_is_covered_by_the_cross_tenant_walk():
    routes = tenant_routes()
    assert len(routes) >= 10
    for route in routes:
        for kwarg in route.kwargs:
            assert kwarg in URL_KWARGS, (
                f"URL '{route.name}' takes '{kwarg}': add it to URL_KWARGS and to "
                "company_objects() in tests/conftest.py so the cross-tenant walk covers it"
            )


def _url(route, tenant_slug, objs):
    return reverse(route.name, args=[tenant_slug] + [objs[k] for k in route.kwargs])


def _snapshot(tenant):
    from django.apps import apps

    return [
        list(model.objects.for_tenant(tenant).order_by("pk").values())
        for model in apps.get_models()
        if issubclass(model, TenantOwned)
    ]


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_companys_ids_are_not_found_in_my_company(
    admin_client, tenant, outsider, foreign_objects, method
):
    before = _snapshot(outsider.tenant)
    checked = 0
    for route in tenant_routes():
        if not set(route.kwargs) - NOT_AN_ID:
            continue
        response = getattr(admin_client, method)(_url(route, tenant.slug, foreign_objects))
        assert response.status_code in (404, 405), route.name
        checked += 1
    assert checked >= 15
    assert _snapshot(outsider.tenant) == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_non_member_gets_404_for_every_url_of_the_company(
    outsider_client, tenant, admin, own_objects, method
):
    before = _snapshot(tenant)
    for route in tenant_routes():
        response = getattr(outsider_client, method)(_url(route, tenant.slug, own_objects))
        assert response.status_code in (404, 405), route.name
    assert _snapshot(tenant) == before


def test_anonymous_visitors_are_sent_to_log_in(client, tenant, own_objects):
    for route in tenant_routes():
        response = client.get(_url(route, tenant.slug, own_objects))
        assert response.status_code == 302, route.name
        assert response.url.startswith(reverse("login"))


def test_an_unknown_company_is_not_found(admin_client):
    assert admin_client.get("/t/no-such-company/contacts/").status_code == 404


def test_marketer_and_sales_get_a_clear_403_on_admin_pages(marketer_client, sales_client, tenant):
    for client in (marketer_client, sales_client):
        response = client.get(reverse("member_list", args=[tenant.slug]))
        assert response.status_code == 403
        assert "Your role does not allow this" in response.content.decode()
        assert tenant.name in response.content.decode()


def test_refused_role_change_changes_nothing(sales_client, tenant, admin, sales):
    url = reverse("member_role", args=[tenant.slug, sales.pk])
    response = sales_client.post(url, {"role": "admin"})
    assert response.status_code == 403
    sales.refresh_from_db()
    assert sales.role == "sales"
