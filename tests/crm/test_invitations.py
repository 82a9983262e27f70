"""People join a company by invitation. An admin of one company can never change, learn or
use anything of a user of another company: not their password, not whether the name exists."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Invitation, Membership, OneTimeLink, User
from crm.services import ServiceError
from crm.tenancy import member_invite, membership_add, tenant_create
from tests.conftest import PASSWORD, client_for, logs_in
from tests.factories import MembershipFactory, UserFactory

STRONG = "Lantern-Harbor-2026"


def invite(client, tenant, **data):
    return client.post(reverse("member_add", args=[tenant.slug]), data)


def link_in(response) -> str:
    assert response["Cache-Control"] == "no-store"
    match = re.search(
        r'value="(http://testserver/accounts/link/[^"]+/)"', response.content.decode()
    )
    assert match, "the page shows the one-time link"
    return match.group(1).removeprefix("http://testserver")


def page_without_link(response) -> str:
    html = response.content.decode()
    html = re.sub(r"/accounts/link/[^\"/]+/", "/accounts/link/TOKEN/", html)
    html = re.sub(r"/invitations/\d+/", "/invitations/ID/", html)
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


def test_admin_adding_another_companys_user_with_a_password_changes_nothing_and_grants_nothing(
    admin_client, tenant, outsider
):
    rival = outsider.user
    before = User.objects.get(pk=rival.pk)

    response = invite(
        admin_client, tenant, username="rival", role="admin", password=STRONG,
        email="attacker@example.com",
    )  # fmt: skip

    assert response.status_code == 200
    after = User.objects.get(pk=rival.pk)
    assert (after.password, after.email, after.first_name, after.last_name) == (
        before.password, before.email, before.first_name, before.last_name,
    )  # fmt: skip
    assert not after.must_change_password
    assert not logs_in(Client(), "rival", STRONG)
    assert logs_in(Client(), "rival", PASSWORD)
    # no access to A until they accept, and B is untouched
    assert not Membership.objects.for_tenant(tenant).filter(user=rival).exists()
    assert Membership.objects.for_tenant(outsider.tenant).get(user=rival).role == "admin"
    assert client_for(outsider).get(reverse("dashboard", args=[tenant.slug])).status_code == 404


def test_the_page_answers_the_same_for_a_taken_and_a_new_username(admin_client, tenant, outsider):
    taken = invite(admin_client, tenant, username="rival", role="sales", password=STRONG)
    Invitation.objects.for_tenant(tenant).all().delete()
    new = invite(admin_client, tenant, username="xinren", role="sales", password=STRONG)

    assert taken.status_code == new.status_code == 200
    assert page_without_link(taken).replace("rival", "NAME") == (
        page_without_link(new).replace("xinren", "NAME")
    )


def test_weak_passwords_are_refused_in_the_users_language(admin_client, tenant):
    for weak in ("1", "123", "12345678", "xiaoming", "password"):
        response = invite(admin_client, tenant, username="xiaoming", role="sales", password=weak)
        assert response.status_code == 400
    assert not User.objects.filter(username="xiaoming").exists()
    admin_client.post(reverse("language_switch"), {"language": "zh-hans"})
    response = invite(admin_client, tenant, username="xiaoming", role="sales", password="123")
    assert "密码" in response.content.decode()


def test_the_role_has_no_default(admin_client, tenant):
    response = invite(admin_client, tenant, username="xiaoming")
    assert response.status_code == 400
    assert not User.objects.filter(username="xiaoming").exists()
    html = admin_client.get(reverse("member_list", args=[tenant.slug])).content.decode()
    add_form = html[html.index('id="id_role"') :]
    assert add_form.split("</select>")[0].count("selected") == 1
    assert '<option value="" selected>' in add_form


def test_a_new_user_chooses_a_password_with_the_link_and_joins(admin_client, tenant):
    link = link_in(invite(admin_client, tenant, username="sun", role="marketer"))
    newcomer = Client()

    weak = newcomer.post(link, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200
    response = newcomer.post(link, {"new_password1": STRONG, "new_password2": STRONG})

    assert response.status_code == 302
    assert Membership.objects.for_tenant(tenant).get(user__username="sun").role == "marketer"
    assert newcomer.get(reverse("dashboard", args=[tenant.slug])).status_code == 200
    # single use
    assert Client().get(link).status_code == 404
    stored = OneTimeLink.objects.get(user__username="sun")
    assert link.split("/")[-2] not in stored.token_hash and len(stored.token_hash) == 64


def test_a_link_expires_after_seven_days(admin_client, tenant):
    link = link_in(invite(admin_client, tenant, username="sun", role="sales"))
    OneTimeLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().post(link, {"new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 404
    assert not User.objects.get(username="sun").has_usable_password()


def test_an_existing_user_sees_the_invitation_after_login_and_accepts(
    admin_client, tenant, outsider
):
    link = link_in(invite(admin_client, tenant, username="rival", role="sales"))
    # the link cannot set the password of someone who has one
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = stranger.post(link, {"new_password1": STRONG, "new_password2": STRONG})
    assert "Log in as rival" in response.content.decode()
    assert logs_in(Client(), "rival", PASSWORD)

    rival = client_for(outsider)
    home = rival.get(reverse("home")).content.decode()
    assert f"{tenant.name} invites you as Sales" in home
    invitation = Invitation.objects.for_tenant(tenant).get()
    response = rival.post(reverse("invitation_accept", args=[invitation.pk]))

    assert response.status_code == 302
    assert Membership.objects.for_tenant(tenant).get(user=outsider.user).role == "sales"
    assert rival.get(reverse("dashboard", args=[tenant.slug])).status_code == 200


def test_a_declined_invitation_grants_nothing(admin_client, tenant, outsider):
    invite(admin_client, tenant, username="rival", role="sales")
    invitation = Invitation.objects.for_tenant(tenant).get()
    rival = client_for(outsider)
    rival.post(reverse("invitation_decline", args=[invitation.pk]))
    assert not Membership.objects.for_tenant(tenant).filter(user=outsider.user).exists()
    assert rival.post(reverse("invitation_accept", args=[invitation.pk])).status_code == 404


def test_nobody_else_can_answer_an_invitation(admin_client, tenant, outsider, sales):
    invite(admin_client, tenant, username="rival", role="admin")
    invitation = Invitation.objects.for_tenant(tenant).get()
    intruder = MembershipFactory(tenant=outsider.tenant, role="sales")
    for client in (client_for(intruder), client_for(sales)):
        assert client.post(reverse("invitation_accept", args=[invitation.pk])).status_code == 404
    assert Membership.objects.for_tenant(tenant).filter(role="admin").count() == 1


def test_an_admin_chosen_first_password_must_be_replaced_before_anything_else(admin_client, tenant):
    invite(admin_client, tenant, username="sun", role="sales", password=STRONG)
    sun = Client()
    assert logs_in(sun, "sun", STRONG)
    invitation = Invitation.objects.for_tenant(tenant).get()
    # nothing but the profile until the password is theirs, not even accepting
    for url in (reverse("home"), reverse("invitation_accept", args=[invitation.pk])):
        assert sun.post(url)["Location"] == reverse("profile")
    assert not Membership.objects.for_tenant(tenant).filter(user__username="sun").exists()

    same = sun.post(
        reverse("profile"),
        {"old_password": STRONG, "new_password1": STRONG, "new_password2": STRONG},
    )
    assert same.status_code == 200  # the admin's password is not one of their own
    assert User.objects.get(username="sun").must_change_password
    response = sun.post(
        reverse("profile"),
        {"old_password": STRONG, "new_password1": "Quiet-River-7788", "new_password2":
         "Quiet-River-7788"},
    )  # fmt: skip

    assert response.status_code == 302
    sun.post(reverse("invitation_accept", args=[invitation.pk]))
    assert sun.get(reverse("dashboard", args=[tenant.slug])).status_code == 200


def test_a_member_changes_their_own_password(sales_client, sales):
    response = sales_client.post(
        reverse("profile"),
        {"old_password": PASSWORD, "new_password1": "Quiet-River-7788",
         "new_password2": "Quiet-River-7788"},
    )  # fmt: skip
    assert response.status_code == 302
    assert logs_in(Client(), sales.user.username, "Quiet-River-7788")
    weak = sales_client.post(
        reverse("profile"),
        {"old_password": "Quiet-River-7788", "new_password1": "1", "new_password2": "1"},
    )
    assert weak.status_code == 200
    assert logs_in(Client(), sales.user.username, "Quiet-River-7788")


def test_an_admin_issues_a_password_link_never_types_the_password(admin_client, tenant, sales):
    response = admin_client.post(reverse("member_password_link", args=[tenant.slug, sales.pk]))
    link = link_in(response)
    assert logs_in(Client(), sales.user.username, PASSWORD)  # unchanged so far

    Client().post(link, {"new_password1": STRONG, "new_password2": STRONG})

    assert logs_in(Client(), sales.user.username, STRONG)


def test_no_password_link_for_someone_who_also_belongs_to_another_company(
    admin_client, tenant, outsider
):
    shared = MembershipFactory(tenant=tenant, role="sales", user=outsider.user)
    response = admin_client.post(
        reverse("member_password_link", args=[tenant.slug, shared.pk]), follow=True
    )
    assert "only they can change their password" in response.content.decode()
    assert not OneTimeLink.objects.exists()


def test_a_password_link_stops_working_when_its_holder_joins_another_company(
    admin_client, tenant, sales, outsider
):
    link = link_in(admin_client.post(reverse("member_password_link", args=[tenant.slug, sales.pk])))
    Membership.objects.create(tenant=outsider.tenant, user=sales.user, role="sales")

    Client().post(link, {"new_password1": STRONG, "new_password2": STRONG})

    assert logs_in(Client(), sales.user.username, PASSWORD)


def test_the_other_companys_admin_cannot_withdraw_or_see_our_invitations(
    admin_client, tenant, outsider
):
    invite(admin_client, tenant, username="xinren", role="sales")
    invitation = Invitation.objects.for_tenant(tenant).get()
    rival = client_for(outsider)
    url = reverse("invitation_cancel", args=[outsider.tenant.slug, invitation.pk])
    assert rival.post(url).status_code == 404
    assert Invitation.objects.for_tenant(tenant).get().status == "pending"
    html = rival.get(reverse("member_list", args=[outsider.tenant.slug])).content.decode()
    assert "xinren" not in html


def test_withdrawing_an_invitation_kills_its_link(admin_client, tenant):
    link = link_in(invite(admin_client, tenant, username="sun", role="sales"))
    invitation = Invitation.objects.for_tenant(tenant).get()
    admin_client.post(reverse("invitation_cancel", args=[tenant.slug, invitation.pk]))
    assert Client().get(link).status_code == 404


def test_services_never_change_an_existing_user(tenant, outsider, admin):
    rival = outsider.user
    before = rival.password
    with pytest.raises(ServiceError):
        membership_add(tenant=tenant, actor=None, username="rival", role="sales", password=STRONG)
    member_invite(tenant=tenant, actor=admin, username="rival", role="sales", password=STRONG)
    rival.refresh_from_db()
    assert rival.password == before


@pytest.mark.parametrize("weak", ["1", "123", "boss", "password"])
def test_create_tenant_and_add_member_refuse_weak_passwords(db, weak):
    with pytest.raises(ServiceError):
        tenant_create(slug="acme", name="Acme", admin_username="boss", admin_password=weak)
    tenant, _m, _c = tenant_create(
        slug="acme", name="Acme", admin_username="boss", admin_password=STRONG
    )
    with pytest.raises(ServiceError):
        membership_add(tenant=tenant, actor=None, username="qian", role="sales", password=weak)
    assert not User.objects.filter(username="qian").exists()


def test_marketers_and_sales_cannot_invite(marketer_client, sales_client, tenant):
    for client in (marketer_client, sales_client):
        assert invite(client, tenant, username="sun", role="admin").status_code == 403
    assert not User.objects.filter(username="sun").exists()


def test_a_user_in_no_company_with_no_invitation_is_told_to_ask(db):
    user = UserFactory(username="lonely")
    html = client_for(MembershipFactory.build(user=user)).get(reverse("home")).content.decode()
    assert "Ask your company" in html


def test_another_companys_invitation_cannot_choose_the_password_of_a_new_account(
    admin_client, tenant, outsider
):
    """A invites a new name; B's admin invites the same name to get a link of their own: that
    link must not set the password (and so reach A's invitation)."""
    ours = link_in(invite(admin_client, tenant, username="sun", role="admin"))
    theirs = link_in(invite(client_for(outsider), outsider.tenant, username="sun", role="sales"))

    refused = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        theirs, {"new_password1": STRONG, "new_password2": STRONG}
    )

    assert "Log in as sun" in refused.content.decode()
    assert not User.objects.get(username="sun").has_usable_password()
    Client().post(ours, {"new_password1": STRONG, "new_password2": STRONG})
    assert Membership.objects.for_tenant(tenant).get(user__username="sun").role == "admin"
    assert not Membership.objects.for_tenant(outsider.tenant).filter(user__username="sun").exists()
