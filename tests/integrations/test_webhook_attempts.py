"""The delivery log shows every attempt with its own answer; "Send again" is one more attempt,
counted, marked as the admin's, and sent once however often it is clicked."""

import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.services import ContactData, contact_create
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.tasks import deliver_webhooks
from tests.integrations.test_webhooks import Receiver, endpoint_for


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def failed_once(admin, tenant, receiver, django_capture_on_commit_callbacks):
    """A delivery whose first sending the receiver answered with 500."""
    endpoint = endpoint_for(tenant, receiver.url)
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    return (
        WebhookDelivery.objects.for_tenant(tenant).select_related("endpoint").get(endpoint=endpoint)
    )


def resend(client, delivery, capture):
    with capture(execute=True):
        return client.post(
            reverse("webhook_delivery_resend", args=[delivery.tenant.slug, delivery.pk]),
            follow=True,
        )


def attempts_of(delivery):
    rows = WebhookAttempt.objects.for_tenant(delivery.tenant).filter(delivery=delivery)
    return list(rows.order_by("number").values_list("number", "status", "resent", "resent_by"))


def test_after_a_failure_and_a_resend_the_log_shows_both_answers(
    admin_client, admin, tenant, failed_once, receiver, django_capture_on_commit_callbacks
):
    resend(admin_client, failed_once, django_capture_on_commit_callbacks)

    failed_once.refresh_from_db()
    assert (failed_once.status, failed_once.attempts, failed_once.last_status) == (
        "delivered", 2, 200,
    )  # fmt: skip
    assert attempts_of(failed_once) == [(1, 500, False, None), (2, 200, True, admin.pk)]
    assert len(receiver.received) == 2
    page = admin_client.get(
        reverse("webhook_endpoint_detail", args=[tenant.slug, failed_once.endpoint_id])
    ).content.decode()
    log = re.search(rf'<tr class="attempt-log" id="attempts-{failed_once.pk}">.*?</tr>\s*</tbody>',
                    page, re.S).group(0)  # fmt: skip
    assert f"Delivery {failed_once.pk}: 2 attempts" in log
    rows = re.findall(r"<tr>\s*<td class=\"num\">(\d)</td>(.*?)</tr>", log, re.S)
    assert [number for number, _cells in rows] == ["1", "2"]
    assert "HTTP 500" in rows[0][1] and "First sending" in rows[0][1]
    assert "HTTP 200" in rows[1][1] and f"Sent again by {admin.display_name}" in rows[1][1]
    assert all(re.search(r"\d+ ms", cells) for _number, cells in rows)


def test_a_resend_of_a_delivery_that_gave_up_counts_on_and_gives_up_again_if_it_fails(
    admin_client, tenant, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(tenant, receiver.url)
    delivery = WebhookDelivery.objects.create(
        tenant=tenant, endpoint=endpoint, event="contact.created", contact_id=1,
        occurred_at=timezone.now(), next_attempt_at=timezone.now(),
    )  # fmt: skip
    receiver.statuses = [503] * 3
    with override_settings(WEBHOOK_MAX_ATTEMPTS=2):
        for _ in range(2):
            deliver_webhooks(tenant.pk)
            WebhookDelivery.objects.for_tenant(tenant).filter(status="pending").update(
                next_attempt_at=timezone.now()
            )
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 2)

        resend(admin_client, delivery, django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert [(n, status) for n, status, *_ in attempts_of(delivery)] == [
        (1, 503), (2, 503), (3, 503),
    ]  # fmt: skip


def test_a_second_send_again_before_the_first_was_sent_is_refused(
    admin_client, tenant, failed_once, receiver
):
    url = reverse("webhook_delivery_resend", args=[tenant.slug, failed_once.pk])
    admin_client.post(url, follow=True)  # not sent yet: no worker ran (on_commit not executed)
    before = WebhookDelivery.objects.for_tenant(tenant).values().get(pk=failed_once.pk)

    response = admin_client.post(url, follow=True)

    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Delivery {failed_once.pk} is already waiting to be sent again."
    ]
    assert WebhookDelivery.objects.for_tenant(tenant).values().get(pk=failed_once.pk) == before
    page = response.content.decode()
    assert "Waiting to be sent again" in page
    deliver_webhooks(tenant.pk)
    assert len(receiver.received) == 2  # the first sending and one resend
    assert len(attempts_of(failed_once)) == 2


def test_another_companys_admin_cannot_resend_or_read_the_log(
    outsider_client, outsider, tenant, failed_once
):
    before = WebhookDelivery.objects.for_tenant(tenant).values().get(pk=failed_once.pk)
    for slug in (tenant.slug, outsider.tenant.slug):
        resend_url = reverse("webhook_delivery_resend", args=[slug, failed_once.pk])
        assert outsider_client.post(resend_url).status_code == 404
        log_url = reverse("webhook_endpoint_detail", args=[slug, failed_once.endpoint_id])
        assert outsider_client.get(log_url).status_code == 404
    assert WebhookDelivery.objects.for_tenant(tenant).values().get(pk=failed_once.pk) == before
    assert len(attempts_of(failed_once)) == 1


def test_the_log_page_costs_the_same_queries_however_many_attempts(
    admin_client, tenant, failed_once
):
    url = reverse("webhook_endpoint_detail", args=[tenant.slug, failed_once.endpoint_id])
    admin_client.get(url)
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url)
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(tenant=tenant, delivery=failed_once, number=n, at=timezone.now(),
                       duration_ms=5, status=500)
        for n in range(2, 12)
    )  # fmt: skip
    with CaptureQueriesContext(connection) as eleven:
        page = admin_client.get(url).content.decode()
    assert page.count("HTTP 500") == 11 + 1  # each attempt, and the delivery's last answer
    assert len(eleven) == len(one)
