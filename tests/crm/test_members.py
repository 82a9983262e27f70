"""Admins add people to their company and give them roles; operators do it from the shell."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from crm.models import Membership, Tenant


def members_url(tenant, name="member_list", *args):
    return reverse(name, args=[tenant.slug, *args])


def test_admin_changes_a_role(admin_client, tenant, sales):
    admin_client.post(members_url(tenant, "member_role", sales.pk), {"role": "marketer"})
    sales.refresh_from_db()
    assert sales.role == "marketer"


def test_the_last_admin_cannot_be_demoted_or_removed(admin_client, tenant, admin):
    response = admin_client.post(
        members_url(tenant, "member_role", admin.pk), {"role": "sales"}, follow=True
    )
    assert "at least one admin" in response.content.decode()
    admin_client.post(members_url(tenant, "member_remove", admin.pk))
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_removing_a_member_keeps_their_contacts_without_owner(admin_client, tenant, sales, contact):
    response = admin_client.post(members_url(tenant, "member_remove", sales.pk))
    assert response.status_code == 302
    assert not Membership.objects.for_tenant(tenant).filter(pk=sales.pk).exists()
    contact.refresh_from_db()
    assert contact.owner is None


def test_the_members_page_lists_the_company_only(admin_client, tenant, admin, sales, outsider):
    html = admin_client.get(members_url(tenant)).content.decode()
    assert "zhao" in html and "wang" in html
    assert "rival" not in html


def test_admin_edits_company_settings(admin_client, tenant):
    response = admin_client.post(
        reverse("tenant_settings", args=[tenant.slug]),
        {"name": "英语口语培训班（总校）", "time_zone": "Asia/Hong_Kong", "default_language": "en"},
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.time_zone, tenant.default_language) == (
        "英语口语培训班（总校）",
        "Asia/Hong_Kong",
        "en",
    )


def test_create_tenant_command_creates_company_and_admin(db, capsys):
    call_command(
        "create_tenant", "acme", "--name", "Acme 贸易", "--admin", "boss", "--password", "pw-123456"
    )
    tenant = Tenant.objects.get(slug="acme")
    assert Membership.objects.for_tenant(tenant).get(user__username="boss").role == "admin"
    out = capsys.readouterr().out
    assert "Created company 'Acme 贸易' at /t/acme/ with admin 'boss' (new user)" in out


def test_create_tenant_refuses_a_taken_slug(tenant):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", tenant.slug, "--name", "x", "--admin", "y", "--password", "p")


def test_add_member_command_adds_and_re_roles(tenant, admin, capsys):
    call_command("add_member", tenant.slug, "qian", "--role", "sales", "--password", "pw-123456")
    call_command("add_member", tenant.slug, "qian", "--role", "marketer")
    assert Membership.objects.for_tenant(tenant).get(user__username="qian").role == "marketer"
    assert "'qian' (existing user) is marketer" in capsys.readouterr().out


def test_add_member_command_explains_an_unknown_company(db):
    with pytest.raises(CommandError, match="No company"):
        call_command("add_member", "nope", "qian", "--role", "sales")


def test_chinese_names_show_family_name_first(tenant):
    from tests.factories import MembershipFactory

    member = MembershipFactory(tenant=tenant, user__first_name="校长", user__last_name="王")
    assert member.display_name == "王校长"
    member.user.first_name, member.user.last_name = "Ada", "Lovelace"
    assert member.display_name == "Ada Lovelace"
