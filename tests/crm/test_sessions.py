"""Sessions are Django's database sessions; only their read is ours (crm/sessions.py). A signed-in
person stays signed in, an expired or unknown session starts afresh, logging out ends it."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.conftest import client_for


def test_a_session_keeps_its_person_until_it_expires_or_they_log_out(sales, tenant):
    client = client_for(sales)
    dashboard = reverse("dashboard", args=[tenant.slug])
    assert client.get(dashboard).status_code == 200
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    assert client.get(dashboard).status_code == 302  # expired: to the login page
    client = client_for(sales)
    client.post(reverse("logout"))
    assert client.get(dashboard).status_code == 302


def test_an_unknown_session_cookie_is_a_fresh_anonymous_session(client, tenant):
    client.cookies["sessionid"] = "no-such-session-key-0123456789abcdef"
    response = client.get(reverse("dashboard", args=[tenant.slug]))
    assert response.status_code == 302 and reverse("login") in response["Location"]
