"""Webhooks against a real HTTP receiver on 127.0.0.1: signed, verifiable with the documented
snippet, retried when the receiver fails, never lost, never looping."""

import base64
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

import integrations.views
from crm.services import ContactData, ServiceError, contact_create
from integrations.docs import VERIFY_SNIPPET
from integrations.models import ApiToken, WebhookDelivery, WebhookEndpoint
from integrations.services import webhook_endpoint_create
from integrations.tasks import deliver_due_webhooks, deliver_webhooks
from integrations.tokens import webhook_secret_standard
from integrations.webhooks import delivery_body, delivery_headers, delivery_payload
from lifecycle.bulk_moves import contacts_bulk_move
from tests.conftest import client_for
from tests.factories import ContactFactory, MembershipFactory
from tests.integrations.conftest import ApiClient, token_for

ALL_EVENTS = [
    "contact.created", "contact.stage_changed", "contact.tagged", "audience.entered",
    "audience.left",
]  # fmt: skip


class Receiver:
    """Answers POSTs with the given statuses in turn (then 200) and keeps what it received."""

    def __init__(self):
        self.statuses: list[int] = []
        self.answer = b"ok"  # the body of each answer
        self.phrase: str | None = None  # the words after the status; None: the usual ones
        self.received: list[tuple[str, dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status, receiver.phrase)
                if status in (301, 302, 307):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *args):
                """Quiet: the server's access log would only clutter the test output."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/funnel-hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def verify():
    namespace: dict = {}
    exec(VERIFY_SNIPPET, namespace)  # noqa: S102 - the documented snippet, as integrators copy it
    return namespace["verify"]


def endpoint_for(tenant, url, events=("contact.created",)):
    return webhook_endpoint_create(tenant=tenant, actor=None, url=url, events=list(events))


def test_a_new_contact_arrives_signed_and_the_documented_snippet_verifies_it(
    admin, tenant, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(tenant, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        response = ApiClient(token_for(admin)).post(
            "/contacts", {"name": "李雷", "phone": "13900001111"}
        )
    assert response.status_code == 201
    assert len(receiver.received) == 1
    path, headers, body = receiver.received[0]
    assert path == "/funnel-hook"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["X-Funnel-Event"] == "contact.created"
    assert verify()(endpoint.secret, body, headers["X-Funnel-Signature"])
    assert not verify()(endpoint.secret, body + b" ", headers["X-Funnel-Signature"])
    assert not verify()("whsec_other", body, headers["X-Funnel-Signature"])
    payload = json.loads(body)
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert payload["id"] == headers["X-Funnel-Delivery"] == str(delivery.pk)
    assert (payload["type"], payload["company"]) == ("contact.created", "english-school")
    assert payload["data"]["contact"]["id"] == response.json()["id"]
    assert payload["data"]["contact"]["stage_label"] == "围观者"
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)


def test_a_receiver_that_fails_gets_the_delivery_again_later_and_nothing_is_lost(
    admin, tenant, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(tenant, receiver.url)
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert delivery.last_error == ""  # the status says it; the receiver's words are not kept
    wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=59) < wait <= timedelta(seconds=60)

    deliver_due_webhooks()  # beat, before the pause is over: nothing is due
    assert len(receiver.received) == 1

    WebhookDelivery.objects.for_tenant(tenant).update(next_attempt_at=timezone.now())
    deliver_due_webhooks()  # beat, once it is due
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 2, 200)
    assert delivery.last_error == ""
    first, second = receiver.received
    assert first[1]["X-Funnel-Delivery"] == second[1]["X-Funnel-Delivery"] == str(delivery.pk)
    assert verify()(endpoint.secret, second[2], second[1]["X-Funnel-Signature"])


def test_the_pause_doubles_and_the_delivery_is_given_up_after_the_last_attempt(tenant, receiver):
    endpoint = endpoint_for(tenant, receiver.url)
    delivery = WebhookDelivery.objects.create(
        tenant=tenant, endpoint=endpoint, event="contact.created", contact_id=1,
        occurred_at=timezone.now(), next_attempt_at=timezone.now(),
    )  # fmt: skip
    receiver.statuses = [503] * 5
    pauses = []
    with override_settings(WEBHOOK_MAX_ATTEMPTS=3):
        for _ in range(3):
            deliver_webhooks(tenant.pk)
            delivery.refresh_from_db()
            if delivery.next_attempt_at:
                pauses.append(
                    round((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
                )
                WebhookDelivery.objects.for_tenant(tenant).update(next_attempt_at=timezone.now())
    assert pauses == [60, 120]
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    deliver_webhooks(tenant.pk)
    assert len(receiver.received) == 3


def test_an_eager_run_never_loops_on_a_failing_receiver(
    admin, tenant, receiver, django_capture_on_commit_callbacks
):
    endpoint_for(tenant, receiver.url)
    receiver.statuses = [500] * 10
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    deliver_webhooks(tenant.pk)
    assert len(receiver.received) == 1


def test_a_receiver_that_is_down_is_retried(tenant, admin, django_capture_on_commit_callbacks):
    with Receiver() as gone:
        url = gone.url
    endpoint_for(tenant, url)
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, None)
    assert delivery.last_error == "connection_refused"


def test_redirects_are_not_followed(tenant, admin, receiver, django_capture_on_commit_callbacks):
    endpoint_for(tenant, receiver.url)
    receiver.statuses = [302]
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    assert [path for path, _h, _b in receiver.received] == ["/funnel-hook"]
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert (delivery.status, delivery.last_status, delivery.last_error) == (
        "pending", 302, "redirect",
    )  # fmt: skip


def test_only_http_addresses_are_accepted(tenant):
    for url in ("ftp://example.com/x", "file:///etc/passwd", "https://user:pw@example.com/", "x"):
        with pytest.raises(ServiceError):
            endpoint_for(tenant, url)
    assert not WebhookEndpoint.objects.for_tenant(tenant).exists()


def test_a_change_that_rolls_back_sends_nothing(tenant, admin, receiver):
    endpoint_for(tenant, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
        raise RuntimeError("the request failed after the contact was saved")
    assert not WebhookDelivery.objects.for_tenant(tenant).exists()
    assert receiver.received == []


def test_each_endpoint_gets_only_its_events_and_paused_ones_none(tenant, admin, other_tenant):
    created = endpoint_for(tenant, "https://a.example.com/", ["contact.created"])
    endpoint_for(tenant, "https://b.example.com/", ["contact.tagged"])
    paused = endpoint_for(tenant, "https://c.example.com/", ["contact.created"])
    paused.active = False
    paused.save()
    endpoint_for(other_tenant, "https://d.example.com/", ["contact.created"])
    contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    rows = WebhookDelivery.objects.for_tenant(tenant).values_list("endpoint_id", "event")
    assert list(rows) == [(created.pk, "contact.created")]
    assert not WebhookDelivery.objects.for_tenant(other_tenant).exists()


def test_moves_tags_and_audiences_are_recorded_with_what_happened(
    admin, tenant, make_tag, receiver, django_capture_on_commit_callbacks
):
    endpoint_for(tenant, receiver.url, ALL_EVENTS)
    make_tag("课程", "成人口语")
    api = ApiClient(token_for(admin))
    with django_capture_on_commit_callbacks(execute=True):
        contact_id = api.post("/contacts", {"name": "李雷", "phone": "13900001111"}).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/contacts/{contact_id}/stage", {"stage": "sql"})
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/contacts/{contact_id}/tags", {"tags": ["成人口语"]})
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/audiences", {"name": "SQL+", "min_stage": "sql"})
    assert [h["X-Funnel-Event"] for _p, h, _b in receiver.received] == [
        "contact.created", "contact.stage_changed", "contact.tagged", "audience.entered",
    ]  # fmt: skip
    rows = WebhookDelivery.objects.for_tenant(tenant).order_by("id")
    assert [d.event for d in rows] == [
        "contact.created",
        "contact.stage_changed",
        "contact.tagged",
        "audience.entered",
    ]
    payloads = {d.event: delivery_payload(d)["data"] for d in rows}
    moved = payloads["contact.stage_changed"]
    assert {k: moved[k] for k in ("from_stage", "to_stage", "to_stage_label", "channel")} == {
        "from_stage": "subscriber", "to_stage": "sql", "to_stage_label": "销售合格",
        "channel": "api",
    }  # fmt: skip
    assert payloads["contact.tagged"]["tag"]["label"] == "成人口语"
    assert payloads["audience.entered"]["audience"]["name"] == "SQL+"
    assert {p["contact"]["id"] for p in payloads.values()} == {contact_id}


def test_a_bulk_move_records_one_delivery_per_moved_contact(tenant, admin):
    endpoint_for(tenant, "https://hooks.example.com/", ["contact.stage_changed"])
    moved = [ContactFactory(tenant=tenant).pk for _ in range(3)]
    already = ContactFactory(tenant=tenant, stage="mql", furthest_stage="mql")
    result = contacts_bulk_move(
        tenant=tenant, actor=admin, contacts=[*moved, already.pk], to_stage="mql"
    )
    assert result.done == 3
    rows = WebhookDelivery.objects.for_tenant(tenant).order_by("contact_id")
    assert [d.contact_id for d in rows] == moved
    assert {delivery_payload(d)["data"]["to_stage"] for d in rows} == {"mql"}


# --- the settings page ---------------------------------------------------------------------


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(admin_client, admin, tenant):
    response = admin_client.post(
        reverse("api_token_create", args=[tenant.slug]),
        {"name": "官网表单", "membership": admin.pk},
    )
    row = ApiToken.objects.for_tenant(tenant).get()
    shown_once = reverse("api_token_created", args=[tenant.slug, row.pk])
    assert (response.status_code, response.url) == (302, shown_once)  # the token is not in it

    first = admin_client.get(shown_once)

    assert first["Cache-Control"] == "no-store"
    token = first.context["new_token"]["token"]
    assert token.startswith(row.prefix) and token in first.content.decode()
    assert ApiClient(token).get("/funnel").status_code == 200

    reload = admin_client.get(shown_once)  # a reload, the back button, another tab

    assert reload.status_code == 200 and reload["Cache-Control"] == "no-store"
    assert token not in reload.content.decode()
    assert "was shown once, when it was created, and cannot be shown again" in (
        reload.content.decode()
    )
    assert ApiToken.objects.for_tenant(tenant).count() == 1  # reloading made no second token
    page = admin_client.get(reverse("api_settings", args=[tenant.slug])).content.decode()
    assert "官网表单" in page and row.prefix in page and token not in page
    admin_client.post(reverse("api_token_revoke", args=[tenant.slug, row.pk]))
    assert ApiClient(token).get("/funnel").status_code == 401


def test_a_new_token_is_shown_to_no_one_but_the_admin_who_made_it_on_their_next_page(
    admin_client, admin, tenant, outsider_client, outsider
):
    other_admin = client_for(MembershipFactory(tenant=tenant, role="admin"))
    admin_client.post(
        reverse("api_token_create", args=[tenant.slug]),
        {"name": "官网表单", "membership": admin.pk},
    )
    row = ApiToken.objects.for_tenant(tenant).get()
    theirs = reverse("api_token_created", args=[tenant.slug, row.pk])

    assert other_admin.get(theirs).context["new_token"]["token"] is None
    assert outsider_client.get(theirs).status_code == 404
    in_own_company = reverse("api_token_created", args=[outsider.tenant.slug, row.pk])
    assert outsider_client.get(in_own_company).status_code == 404
    # the admin who made it still sees it once: nobody else's reading took it
    assert admin_client.get(theirs).context["new_token"]["token"].startswith(row.prefix)


def test_a_new_token_not_read_in_time_is_dropped_unseen(admin_client, admin, tenant, monkeypatch):
    monkeypatch.setattr(integrations.views, "SHOWN_ONCE_SECONDS", -1)
    response = admin_client.post(
        reverse("api_token_create", args=[tenant.slug]),
        {"name": "官网表单", "membership": admin.pk},
    )
    page = admin_client.get(response.url)
    assert page.context["new_token"]["token"] is None
    assert "api_token_shown_once" not in admin_client.session


def test_marketers_and_sales_cannot_manage_tokens_or_webhooks(
    marketer_client, sales_client, marketer, tenant
):
    for client in (marketer_client, sales_client):
        assert client.get(reverse("api_settings", args=[tenant.slug])).status_code == 403
        response = client.post(
            reverse("api_token_create", args=[tenant.slug]),
            {"name": "x", "membership": marketer.pk},
        )
        assert response.status_code == 403
    assert not ApiToken.objects.for_tenant(tenant).exists()


def test_an_admin_adds_a_webhook_sees_its_secret_and_log_and_resends(
    admin_client, tenant, admin, receiver, django_capture_on_commit_callbacks
):
    response = admin_client.post(
        reverse("webhook_endpoint_create", args=[tenant.slug]),
        {"url": receiver.url, "events": ["contact.created", "contact.tagged"]},
    )
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).get()
    detail = reverse("webhook_endpoint_detail", args=[tenant.slug, endpoint.pk])
    assert response.url == detail
    assert endpoint.events == ["contact.created", "contact.tagged"]
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    page = admin_client.get(detail).content.decode()
    assert endpoint.secret in page
    assert "HTTP 500" in page and "Waiting" in page
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("webhook_delivery_resend", args=[tenant.slug, delivery.pk]))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status) == ("delivered", 200)
    assert len(receiver.received) == 2


def test_the_settings_page_refuses_a_bad_address_and_changes_nothing(admin_client, tenant):
    response = admin_client.post(
        reverse("webhook_endpoint_create", args=[tenant.slug]),
        {"url": "ftp://example.com/", "events": ["contact.created"]},
    )
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.for_tenant(tenant).exists()


def test_the_log_shows_a_short_reason_and_never_what_the_receiver_answered(
    admin_client, admin, tenant, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(tenant, receiver.url)
    receiver.statuses = [500]
    receiver.answer = b"db password: hunter2"
    receiver.phrase = "internal-host db-7.corp"
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    page = admin_client.get(reverse("webhook_endpoint_detail", args=[tenant.slug, endpoint.pk]))
    text = page.content.decode()
    assert "HTTP 500" in text
    assert "hunter2" not in text and "db-7.corp" not in text
    assert WebhookDelivery.objects.for_tenant(tenant).get().last_error == ""


# --- Standard Webhooks signatures (beside X-Funnel-Signature for one release) ----------------
# Verified with the `standardwebhooks` package from PyPI: what receivers' own verifiers run.


def standard(endpoint) -> Webhook:
    return Webhook(webhook_secret_standard(endpoint.secret))


def test_a_delivery_verifies_with_the_standard_webhooks_package_and_the_old_header_too(
    admin, tenant, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(tenant, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    ((_path, headers, body),) = receiver.received
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert headers["webhook-id"] == headers["X-Funnel-Delivery"] == str(delivery.pk)
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    payload = standard(endpoint).verify(body, headers)
    assert payload["type"] == "contact.created" and payload["data"]["contact"]["id"] == contact.pk
    assert verify()(endpoint.secret, body, headers["X-Funnel-Signature"])  # the old way, still


def test_a_tampered_body_an_old_timestamp_or_another_secret_fails_to_verify(
    admin, tenant, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(tenant, receiver.url)
    other = endpoint_for(tenant, "https://other.example.com/in")
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    ((_path, headers, body),) = receiver.received
    with pytest.raises(WebhookVerificationError):
        standard(endpoint).verify(body.replace("李雷".encode(), "韩梅梅".encode()), headers)
    with pytest.raises(WebhookVerificationError):
        standard(other).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # another delivery's id, same signature
        standard(endpoint).verify(body, {**headers, "webhook-id": "1"})
    # the same delivery signed ten minutes ago (a replay): refused as too old
    delivery = WebhookDelivery.objects.for_tenant(tenant).get(endpoint=endpoint)
    old = delivery_headers(delivery, body, int(time.time()) - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        standard(endpoint).verify(body, old)
    standard(endpoint).verify(body, delivery_headers(delivery, body, int(time.time())))


def test_retries_and_a_resend_keep_the_webhook_id_and_each_attempt_verifies(
    admin_client, admin, tenant, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(tenant, receiver.url)
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    WebhookDelivery.objects.for_tenant(tenant).update(next_attempt_at=timezone.now())
    deliver_due_webhooks()  # the retry
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("webhook_delivery_resend", args=[tenant.slug, delivery.pk]))
    assert len(receiver.received) == 3
    assert {h["webhook-id"] for _p, h, _b in receiver.received} == {str(delivery.pk)}
    for _path, headers, body in receiver.received:
        standard(endpoint).verify(body, headers)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status) == ("delivered", 200)


def test_a_secret_with_url_safe_characters_has_its_own_standard_form_that_verifies(tenant):
    endpoint = endpoint_for(tenant, "https://hooks.example.com/in")
    key = bytes(range(200, 232))  # its URL-safe base64 holds "-" and "_"
    endpoint.secret = "whsec_" + base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert "-" in endpoint.secret or "_" in endpoint.secret
    shown = webhook_secret_standard(endpoint.secret)
    assert shown == "whsec_" + base64.b64encode(key).decode() != endpoint.secret
    contact_create(tenant=tenant, actor=None, data=ContactData(name="李雷"))
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    delivery.endpoint = endpoint
    body = delivery_body(delivery)
    Webhook(shown).verify(body, delivery_headers(delivery, body, int(time.time())))


def test_the_settings_page_shows_both_secrets_and_says_the_old_header_goes(admin_client, tenant):
    endpoint = endpoint_for(tenant, "https://hooks.example.com/in")
    endpoint.secret = "whsec_" + base64.urlsafe_b64encode(bytes(range(200, 232))).decode()
    endpoint.secret = endpoint.secret.rstrip("=")
    endpoint.save()
    page = admin_client.get(
        reverse("webhook_endpoint_detail", args=[tenant.slug, endpoint.pk])
    ).content.decode()
    assert webhook_secret_standard(endpoint.secret) in page and endpoint.secret in page
    assert "webhook-signature" in page and "X-Funnel-Signature" in page
    assert "standardwebhooks" in page
    docs = admin_client.get("/api/v1/openapi.json").json()["info"]["description"]
    assert "webhook-signature" in docs and "X-Funnel-Signature" in docs
