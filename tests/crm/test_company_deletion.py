"""Deleting a company removes every row it has in every table, and nothing of anyone else's
(crm/deletion.py). The tables are read from the database's catalogue, not from a list here."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from crm import deletion as deletion_module
from crm.deletion import company_deletion_request, company_deletion_run, company_deletion_start
from crm.models import CompanyDeletion, Membership, Tenant, TenantOwned, User
from crm.services import NotAllowed, ServiceError
from tests.conftest import company_objects
from tests.factories import ContactFactory, MembershipFactory


def tables_with_tenant_id() -> list[str]:
    """Every table of the database with a tenant_id column: whatever made it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'tenant_id' "
            "AND table_schema = current_schema() ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


def rows_of(tenant_id: int) -> dict[str, int]:
    """Rows per table that carry this company's id (run as the owner: row-level security
    would hide them otherwise)."""
    counts = {}
    with connection.cursor() as cursor:
        for table in tables_with_tenant_id():
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE tenant_id = %s', [tenant_id])  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def _value(field, tenant, member):
    """A value that a required field accepts, for a row made only to exist."""
    if field.is_relation:
        target = field.related_model
        if target is Tenant:
            return tenant
        if target is User:
            return member.user
        if issubclass(target, TenantOwned):
            return target.objects.for_tenant(tenant).order_by("pk").first()
        return None
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, ArrayField):
        return []
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DecimalField):
        return Decimal(1)
    if isinstance(field, models.IntegerField | models.FloatField):
        return 1
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return date(2026, 12, 1)
    if isinstance(field, models.BinaryField):
        return b"x"
    if isinstance(field, models.CharField | models.TextField):
        return uuid.uuid4().hex[: field.max_length or 32]
    raise NotImplementedError(f"{field.model._meta.label}.{field.name}: {type(field).__name__}")


def fill_every_tenant_model(tenant, member) -> None:
    """The company's realistic objects first (tests/conftest.py), then one row of each tenant
    model still empty, its links pointing at the company's rows: a new model is covered the
    day it is added."""
    company_objects(tenant, member)
    ContactFactory(tenant=tenant, name="带自定义", custom={"xiao_qu": "浦东"})
    owned = [m for m in apps.get_models() if issubclass(m, TenantOwned) and m._meta.managed]
    for _round in range(4):  # a row's links may need rows of a model filled later
        for model in owned:
            if model.objects.for_tenant(tenant).exists():
                continue
            values = {}
            for field in model._meta.concrete_fields:
                if field.primary_key or (field.has_default() and not field.is_relation):
                    continue
                if field.is_relation and field.related_model is Tenant:
                    values[field.name] = tenant
                    continue
                value = _value(field, tenant, member)
                if value is None and not field.null:
                    break  # its link's model has no row yet: a later round
                values[field.name] = value
            else:
                try:
                    with transaction.atomic():
                        model(**values).save()
                except IntegrityError:
                    pass  # reported below, as an empty table
    # the many-to-many tables (a rule's tags) too
    for model in owned:
        for field in model._meta.many_to_many:
            row = model.objects.for_tenant(tenant).first()
            target = field.related_model.objects.for_tenant(tenant).first()
            getattr(row, field.name).add(target)


@pytest.fixture
def two_full_companies(tenant, other_tenant, admin, outsider):
    fill_every_tenant_model(tenant, admin)
    fill_every_tenant_model(other_tenant, outsider)
    empty = {
        table: n
        for table, n in rows_of(tenant.pk).items()
        if n == 0 and table not in ROWS_NOT_MADE_HERE
    }
    assert empty == {}, "give these tables a row in fill_every_tenant_model"


# tables with a tenant_id whose rows this test does not make, and why
ROWS_NOT_MADE_HERE = {
    # a password link names the company whose admin issued it; the deletion test of links
    # makes one (test_a_password_link_issued_by_the_company_goes_with_it)
    "crm_onetimelink",
}


def through_rows(tenant) -> int:
    """Rows of the many-to-many tables (no tenant_id of their own) hanging on the company."""
    total = 0
    for model in apps.get_models():
        if not issubclass(model, TenantOwned):
            continue
        for field in model._meta.many_to_many:
            total += field.remote_field.through.objects.filter(
                **{f"{model._meta.model_name}__tenant": tenant}
            ).count()
    return total


def test_deleting_a_company_removes_every_row_and_keeps_the_others(
    two_full_companies, tenant, other_tenant, admin, as_app_role
):
    before_other = rows_of(other_tenant.pk)
    assert through_rows(tenant) > 0
    company_id = tenant.pk
    deletion = company_deletion_start(tenant=tenant, requested_by=admin.user, source="command")
    as_app_role()  # as the application's role: row-level security applies throughout
    company_deletion_run(deletion=deletion, chunk=3)
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert {t: n for t, n in rows_of(company_id).items() if n} == {}
    assert through_rows(Tenant(pk=company_id)) == 0
    assert rows_of(other_tenant.pk) == before_other
    assert through_rows(other_tenant) > 0
    assert not Tenant.objects.filter(pk=company_id).exists()
    # the platform's record outlives the company
    record = CompanyDeletion.objects.get(pk=deletion.pk)
    assert (record.company_id, record.company_slug, record.company_name) == (
        company_id,
        "english-school",
        "英语口语培训班",
    )
    assert record.finished_at is not None and record.started_at <= record.finished_at
    assert record.requested_by_label == "wang"
    assert record.counts["crm_contact"] == 3 and record.counts["crm_membership"] >= 1
    assert set(record.counts) >= {"crm_auditentry", "lifecycle_stagechange", "tagging_tag"}


def test_a_killed_run_continues_where_it_stopped(two_full_companies, tenant, admin, monkeypatch):
    company_id = tenant.pk
    deletion = company_deletion_start(tenant=tenant, requested_by=None, source="command")
    calls = []

    def killed(_deletion):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(deletion_module, "_after_chunk", killed)
    with pytest.raises(KeyboardInterrupt):
        company_deletion_run(deletion=deletion, chunk=1)
    left = sum(rows_of(company_id).values())
    record = CompanyDeletion.objects.get(pk=deletion.pk)
    assert record.finished_at is None and sum(record.counts.values()) > 0 and left > 0
    assert Tenant.objects.get(pk=company_id).deletion_started_at is not None
    monkeypatch.undo()
    # the operator runs the command again: it continues, and finishes
    call_command("delete_company", "english-school", "--yes")
    assert sum(rows_of(company_id).values()) == 0
    record.refresh_from_db()
    assert record.finished_at is not None
    assert CompanyDeletion.objects.filter(company_id=company_id).count() == 1


def test_people_of_this_company_only_lose_their_account_the_others_keep_it(
    tenant, other_tenant, admin, marketer, outsider
):
    MembershipFactory(tenant=other_tenant, user=marketer.user, role="sales")
    staff = MembershipFactory(tenant=tenant, role="sales", user__is_staff=True)
    deletion = company_deletion_start(tenant=tenant, requested_by=admin.user, source="settings")
    company_deletion_run(deletion=deletion)
    assert not User.objects.filter(pk=admin.user_id).exists()
    assert User.objects.filter(pk=marketer.user_id).exists()  # still in the rival company
    assert User.objects.filter(pk=staff.user_id).exists()  # the platform's staff
    assert Membership.objects.for_tenant(other_tenant).count() == 2
    deletion.refresh_from_db()
    assert deletion.users_deleted == [admin.user_id]
    assert (deletion.requested_by, deletion.requested_by_label) == (None, "wang")


def test_a_password_link_issued_by_the_company_goes_with_it(tenant, admin, sales):
    from crm.models import OneTimeLink
    from crm.tenancy import member_password_link

    member_password_link(membership=sales, actor=admin)
    assert OneTimeLink.objects.filter(tenant=tenant).count() == 1
    company_id = tenant.pk
    company_deletion_run(
        deletion=company_deletion_start(tenant=tenant, requested_by=None, source="command")
    )
    assert rows_of(company_id)["crm_onetimelink"] == 0


def test_while_it_is_deleted_nobody_enters_it_nor_uses_its_api_tokens(tenant, admin, admin_client):
    from django.urls import reverse

    from integrations.services import api_token_create

    _token, secret = api_token_create(tenant=tenant, actor=None, membership=admin, name="form")
    api = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert admin_client.get("/api/v1/contacts", **api).status_code == 200
    company_deletion_start(tenant=tenant, requested_by=None, source="command")
    assert admin_client.get(reverse("dashboard", args=[tenant.slug])).status_code == 404
    assert admin_client.get("/api/v1/contacts", **api).status_code == 401


def test_only_the_last_admin_may_ask_and_must_type_the_name(
    tenant, admin, marketer, django_capture_on_commit_callbacks
):
    company_id = tenant.pk
    with pytest.raises(NotAllowed):
        company_deletion_request(tenant=tenant, actor=marketer, confirmation=tenant.name)
    second = MembershipFactory(tenant=tenant, role="admin")
    with pytest.raises(NotAllowed, match="last admin"):
        company_deletion_request(tenant=tenant, actor=admin, confirmation=tenant.name)
    second.delete()
    with pytest.raises(ServiceError, match="Type the company's name"):
        company_deletion_request(tenant=tenant, actor=admin, confirmation="英语口语")
    assert Tenant.objects.get(pk=company_id).deletion_started_at is None
    assert not CompanyDeletion.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        company_deletion_request(tenant=tenant, actor=admin, confirmation=" 英语口语培训班 ")
    # no broker in tests: the task ran at once, after the commit
    assert not Tenant.objects.filter(pk=company_id).exists()
    assert CompanyDeletion.objects.get().finished_at is not None


def test_the_plan_covers_every_table_with_a_tenant_id_in_an_order_the_keys_accept(db):
    plan = deletion_module.deletion_plan()
    deleted = [step.table for step in plan if step.clear is None]
    assert set(tables_with_tenant_id()) <= set(deleted)
    position = {table: deleted.index(table) for table in deleted}
    owned = deletion_module.tenant_models()
    for step in plan:
        if step.clear is not None:
            continue
        for field in step.model._meta.concrete_fields:
            target = getattr(field, "related_model", None)
            if field.is_relation and target is not step.model and target in owned:
                assert position[step.table] < position[target._meta.db_table], field


# --- The settings page ---------------------------------------------------------------------------


def delete_url(tenant) -> str:
    from django.urls import reverse

    return reverse("company_delete", args=[tenant.slug])


def test_the_last_admin_reads_what_goes_and_is_offered_an_export_first(tenant, admin, admin_client):
    from django.urls import reverse

    ContactFactory(tenant=tenant)
    page = admin_client.get(delete_url(tenant)).content.decode()
    assert "1 contact with their history" in page and "cannot be undone" in page
    assert reverse("contacts_export", args=[tenant.slug]) in page
    assert "name, “英语口语培训班”, to confirm" in page
    settings_page = admin_client.get(reverse("tenant_settings", args=[tenant.slug]))
    assert delete_url(tenant) in settings_page.content.decode()


def test_a_wrong_name_deletes_nothing(tenant, admin, admin_client):
    response = admin_client.post(delete_url(tenant), {"confirmation": "英语"})
    assert response.status_code == 200
    assert "exactly as it is shown" in response.content.decode()
    assert Tenant.objects.get(pk=tenant.pk).deletion_started_at is None
    assert not CompanyDeletion.objects.exists()


def test_the_typed_name_deletes_the_company_and_signs_its_only_member_out(
    tenant, admin, admin_client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    company_id = tenant.pk
    ContactFactory(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(delete_url(tenant), {"confirmation": "英语口语培训班"})
    assert response.status_code == 302 and response["Location"] == reverse("company_deleted")
    assert sum(rows_of(company_id).values()) == 0
    record = CompanyDeletion.objects.get()
    assert (record.source, record.requested_by_label, record.company_id) == (
        "settings",
        "wang",
        company_id,
    )
    assert record.finished_at is not None
    assert not User.objects.filter(username="wang").exists()
    page = admin_client.get(reverse("company_deleted"), HTTP_ACCEPT_LANGUAGE="en")  # signed out
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()


def test_an_admin_of_another_company_too_goes_there_still_signed_in(
    tenant, other_tenant, admin, admin_client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    MembershipFactory(tenant=other_tenant, user=admin.user, role="sales")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(delete_url(tenant), {"confirmation": "英语口语培训班"})
    assert response["Location"] == reverse("home")
    assert admin_client.get(reverse("home")).status_code == 302  # to their one company left
    assert User.objects.filter(pk=admin.user_id).exists()


def test_other_roles_and_a_non_last_admin_are_refused(tenant, admin, marketer_client, sales_client):
    from tests.conftest import client_for

    for client in (marketer_client, sales_client):
        assert client.get(delete_url(tenant)).status_code == 403
        assert client.post(delete_url(tenant), {"confirmation": tenant.name}).status_code == 403
    second = client_for(MembershipFactory(tenant=tenant, role="admin"))
    page = second.get(delete_url(tenant)).content.decode()
    assert (
        "last admin may delete it. Other admins remain" in page
        and "<form" not in page.split("</h2>")[-1].split("</section>")[0]
    )
    assert second.post(delete_url(tenant), {"confirmation": tenant.name}).status_code == 403
    assert Tenant.objects.get(pk=tenant.pk).deletion_started_at is None
    assert not CompanyDeletion.objects.exists()


def test_another_companys_admin_finds_no_such_page(tenant, admin, outsider_client):
    assert outsider_client.get(delete_url(tenant)).status_code == 404
    assert (
        outsider_client.post(delete_url(tenant), {"confirmation": tenant.name}).status_code == 404
    )
    assert Tenant.objects.get(pk=tenant.pk).deletion_started_at is None


def test_the_request_needs_the_csrf_token(tenant, admin):
    from tests.conftest import client_for

    client = client_for(admin, enforce_csrf_checks=True)
    assert client.post(delete_url(tenant), {"confirmation": tenant.name}).status_code == 403
    assert Tenant.objects.get(pk=tenant.pk).deletion_started_at is None
