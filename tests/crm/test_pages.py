"""Logging in, finding one's company, the language, CSRF and the rule that GET changes nothing."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from crm.models import AuditEntry, AuditKind, Contact
from tests.factories import MembershipFactory
from tests.urlwalk import tenant_routes


def test_login_page_then_a_one_company_user_lands_on_its_dashboard(sales, tenant):
    client = Client()
    assert "csrfmiddlewaretoken" in client.get(reverse("login")).content.decode()
    response = client.post(
        reverse("login"), {"username": "zhao", "password": "pw-for-tests"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("dashboard", args=[tenant.slug])
    assert tenant.name in response.content.decode()


def test_a_wrong_password_is_refused_clearly(sales):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        reverse("login"), {"username": "zhao", "password": "nope"}
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_a_user_of_several_companies_picks_one_and_can_switch(admin_client, admin, outsider):
    MembershipFactory(tenant=outsider.tenant, user=admin.user, role="sales")
    html = admin_client.get(reverse("home")).content.decode()
    assert "Choose a company" in html
    assert admin.tenant.name in html and outsider.tenant.name in html
    dash = admin_client.get(reverse("dashboard", args=[admin.tenant.slug])).content.decode()
    assert f'href="{reverse("dashboard", args=[outsider.tenant.slug])}"' in dash


def test_logout_is_a_post(admin_client):
    assert admin_client.get(reverse("logout")).status_code == 405
    response = admin_client.post(reverse("logout"))
    assert response.status_code == 302
    assert admin_client.get(reverse("home")).status_code == 302


def test_pages_speak_the_users_language_first(admin, tenant):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin.user)
    admin.user.language = "zh-hans"
    admin.user.save()
    html = client.get(reverse("contact_list", args=[tenant.slug])).content.decode()
    assert "联系人" in html and 'lang="zh-hans"' in html


def test_without_a_setting_pages_follow_the_browser(admin, tenant):
    admin.user.language = ""
    admin.user.save()
    for header, word in (("zh-CN,zh;q=0.9", "联系人"), ("en-US,en;q=0.9", "Contacts")):
        client = Client(HTTP_ACCEPT_LANGUAGE=header)
        client.force_login(admin.user)
        assert word in client.get(reverse("contact_list", args=[tenant.slug])).content.decode()


def test_the_language_switcher_remembers_the_choice(admin_client, admin, tenant):
    response = admin_client.post(
        reverse("language_switch"), {"language": "zh-hans", "next": "/t/english-school/"}
    )
    assert response.url == "/t/english-school/"
    admin.user.refresh_from_db()
    assert admin.user.language == "zh-hans"
    assert "联系人" in admin_client.get(response.url).content.decode()


def test_the_language_switcher_refuses_to_redirect_elsewhere(client, db):
    response = client.post(
        reverse("language_switch"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response.url == "/"


def test_forms_refuse_posts_without_a_csrf_token(sales, tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales.user)
    response = client.post(reverse("contact_create", args=[tenant.slug]), {"name": "王芳"})
    assert response.status_code == 403
    assert not Contact.objects.for_tenant(tenant).exists()


def test_forms_accept_posts_with_the_csrf_token(sales, tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales.user)
    client.get(reverse("contact_create", args=[tenant.slug]))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("contact_create", args=[tenant.slug]),
        {"name": "王芳", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Contact.objects.for_tenant(tenant).get().name == "王芳"


def test_htmx_requests_carry_the_csrf_token_in_a_header(sales, tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales.user)
    page = client.get(reverse("dashboard", args=[tenant.slug])).content.decode()
    token = client.cookies["csrftoken"].value
    assert "hx-headers='{&quot;X-CSRFToken&quot;" in page or '"X-CSRFToken"' in page
    response = client.post(
        reverse("contact_create", args=[tenant.slug]),
        {"name": "赵敏"},
        HTTP_X_CSRFTOKEN=token,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 302


def _snapshot():
    from django.apps import apps

    return [
        list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in settings.OUR_APPS
        # reading people's data out (an export, a GET) is itself recorded, and only that
        and model is not AuditEntry
    ]


def test_no_get_request_changes_anything(admin_client, tenant, admin, sales, own_objects):
    objs = own_objects
    before = _snapshot()
    # an access request's reading (personaldata) is an export too
    exports = (AuditKind.EXPORT, AuditKind.CONTACT_DATA_EXPORTED)
    logged = AuditEntry.objects.for_tenant(tenant).exclude(kind__in=exports).order_by("pk")
    logged_before = list(logged.values_list("pk", flat=True))
    for route in tenant_routes():
        args = [tenant.slug] + [objs[k] for k in route.kwargs]
        response = admin_client.get(reverse(route.name, args=args))
        assert response.status_code in (200, 302, 405), route.name
    assert _snapshot() == before
    assert list(logged.values_list("pk", flat=True)) == logged_before


@pytest.mark.parametrize("name", ["contact_list", "dashboard", "contact_create", "member_list"])
def test_user_strings_are_escaped(admin_client, tenant, admin, name):
    tenant.name = "<script>alert(1)</script>"
    tenant.save()
    html = admin_client.get(reverse(name, args=[tenant.slug])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_static_assets_and_htmx_are_served_by_us(admin_client, tenant):
    html = admin_client.get(reverse("dashboard", args=[tenant.slug])).content.decode()
    assert "/static/django_htmx/htmx-2" in html
    assert "https://" not in html.split("<body")[0]


def test_tenant_time_zone_is_used_for_dates(admin_client, tenant, contact):
    import datetime as dt

    contact.created_at = dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.UTC)
    contact.save()
    tenant.time_zone = "Asia/Shanghai"
    tenant.save()
    html = admin_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk])).content
    assert "2026-01-02" in html.decode()


def test_an_htmx_request_after_the_session_ended_sends_the_page_to_log_in(client, tenant):
    response = client.get(
        reverse("contact_list", args=[tenant.slug]),
        {"q": "王"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/t/english-school/contacts/",
    )
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Ft%2Fenglish-school%2Fcontacts%2F"


@pytest.mark.parametrize(
    "name, current",
    [("dashboard", "Dashboard"), ("board", "Board"), ("contact_list", "Contacts"),
     ("member_list", "Settings")],
)  # fmt: skip
def test_the_navigation_marks_exactly_the_current_section(admin_client, tenant, name, current):
    html = admin_client.get(reverse(name, args=[tenant.slug])).content.decode()
    nav = html[html.index('<nav class="mainnav"') : html.index("</nav>")]
    assert nav.count('aria-current="page"') == 1
    assert f'aria-current="page">{current}</a>' in nav
