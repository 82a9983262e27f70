"""Webhooks: an outbox written with the change, sent by Celery, signed, retried with growing
pauses until the receiver answers 2xx.

1. The services that write history call `crm.services.change_recorded` inside their
   transaction; `deliveries_record` (registered in TaggingConfig.ready) inserts one
   WebhookDelivery per subscribed endpoint, set-based, in that same transaction. A change that
   rolls back sends nothing; a committed change cannot lose its deliveries.
2. After commit, `deliveries_waiting` enqueues `deliver_webhooks(tenant_id)`; beat's
   `deliver_due_webhooks` every minute picks up anything due (retries, a lost message, a worker
   that died mid-send).
3. A worker claims due rows with a short lease (next_attempt_at moved ahead), sends each outside
   any transaction, then records the answer. At least once: receivers dedupe on the delivery id.
"""

import base64
import hashlib
import hmac
import http.client
import json
import logging
import ssl
import time
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation

from activities.models import Activity, Task
from audiences.models import Audience
from crm.models import Contact, Tenant
from crm.queueing import enqueue_on_commit, enqueued_task_started
from crm.selectors import tier_names_of
from grading.models import GradeChange
from lifecycle.models import StageChange
from tagging.models import Tag

from . import targets
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .schemas import contact_out, labels_of
from .tokens import webhook_key

logger = logging.getLogger(__name__)

DELIVER = "tagging.api.tasks.deliver_webhooks"

LEASE = timedelta(minutes=5)  # longer than one send's timeout: a claimed row is not sent twice
BATCH = 50
USER_AGENT = "FunnelCRM-Webhooks/1"


def backoff(attempts: int) -> timedelta:
    """Pause after the n-th failed attempt: 1, 2, 4, 8 … minutes, at most 6 hours."""
    return timedelta(seconds=min(60 * 2 ** (attempts - 1), 6 * 3600))


# --- 1. the outbox, written with the change ----------------------------------------------


def deliveries_record(*, tenant: Tenant, event: str, rows: QuerySet) -> None:
    """A change listener: one pending delivery per endpoint that wants `event`, for each row of
    `rows` (values: contact id, ref id, time), in the transaction of the change."""
    if event not in WebhookEvent.values:
        return
    endpoints = [
        pk
        for pk, events in WebhookEndpoint.objects.for_tenant(tenant)
        .filter(active=True)
        .values_list("pk", "events")
        if event in events
    ]
    if not endpoints:
        return
    try:
        select, params = rows.query.get_compiler(using=rows.db).as_sql()
    except EmptyResultSet:  # e.g. `pk__in=[]`: nothing happened to anyone
        return
    now = timezone.now()
    # Our own SQL around a compiled queryset; every value is a parameter.
    sql = (
        "INSERT INTO tagging_webhookdelivery (tenant_id, endpoint_id, event, status, attempts, "  # noqa: S608
        "next_attempt_at, last_error, created_at, contact_id, ref_id, occurred_at) "
        f"SELECT %s, %s, %s, %s, 0, %s, '', %s, r.* FROM ({select}) r"
    )
    with connection.cursor() as cursor:
        for endpoint_id in endpoints:
            cursor.execute(
                sql, [tenant.pk, endpoint_id, event, WebhookDelivery.PENDING, now, now, *params]
            )
    deliveries_waiting(tenant.pk)


def deliveries_waiting(tenant_id: int) -> None:
    """Call inside the transaction that made deliveries due: they are sent after commit, a
    burst of changes by one task (it clears the key when it starts)."""
    enqueue_on_commit(DELIVER, tenant_id, tenant_id=tenant_id, countdown=1, debounce=60)


def delivery_started(tenant_id: int) -> None:
    enqueued_task_started(DELIVER, tenant_id)


# --- 2. what is sent ----------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Funnel-Signature header: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">.
    Sent for one more release beside the Standard Webhooks headers (sign_standard)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def sign_standard(secret: str, msg_id: str, body: bytes, timestamp: int) -> str:
    """The webhook-signature header of Standard Webhooks (standardwebhooks.com):
    "v1,<base64 HMAC-SHA256 of '<id>.<timestamp>.<body>'>", keyed with the bytes that the
    endpoint's secret in its whsec_ form (tokens.webhook_secret_standard) writes."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(webhook_key(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def delivery_headers(delivery: WebhookDelivery, body: bytes, timestamp: int) -> dict:
    """Every attempt's headers. The id is the delivery's, the same on each retry and resend
    (receivers dedupe on it); the timestamp and signatures are the attempt's own."""
    secret, msg_id = delivery.endpoint.secret, str(delivery.pk)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Funnel-Event": delivery.event,
        "X-Funnel-Delivery": msg_id,
        "X-Funnel-Signature": sign(secret, body, timestamp),
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(secret, msg_id, body, timestamp),
    }


def delivery_payload(delivery: WebhookDelivery) -> dict:
    """The event as JSON. Its facts (stages, tag, audience, tier change) are those of the moment
    it happened; `contact` is the contact as it is when sent. `contact.erased` carries the
    contact's id and the time only: nothing of what was erased is read or sent."""
    tenant = delivery.tenant
    if delivery.event == WebhookEvent.CONTACT_ERASED:
        data: dict = {"contact": {"id": delivery.contact_id}}
    else:
        with translation.override(tenant.default_language):
            data = _event_data(delivery, tenant)
    return {
        "id": str(delivery.pk),
        "type": delivery.event,
        "occurred_at": delivery.occurred_at,
        "company": tenant.slug,
        "data": data,
    }


def _event_data(delivery: WebhookDelivery, tenant: Tenant) -> dict:
    labels = labels_of(tenant)
    contact = (
        Contact.objects.for_tenant(tenant)
        .select_related("owner__user")
        .prefetch_related("contact_tags__tag")
        .filter(pk=delivery.contact_id)
        .first()
    )
    if contact is not None:
        tier = tier_names_of(tenant=tenant, contact_ids=[contact.pk]).get(contact.pk)
        data: dict = {"contact": contact_out(contact, labels, tier)}
    else:  # deleted, or merged into another since
        data = {"contact": {"id": delivery.contact_id}}
    event, ref_id = delivery.event, delivery.ref_id
    if event == WebhookEvent.CONTACT_STAGE_CHANGED:
        change = StageChange.objects.for_tenant(tenant).filter(pk=ref_id).first()
        if change is not None:
            data.update(
                from_stage=change.from_stage,
                from_stage_label=labels.get(change.from_stage, ""),
                to_stage=change.to_stage,
                to_stage_label=labels[change.to_stage],
                reason=change.reason,
                channel=change.channel,
            )
    elif event == WebhookEvent.CONTACT_TAGGED:
        tag = Tag.objects.for_tenant(tenant).filter(pk=ref_id).first()
        data["tag"] = (
            {"id": tag.pk, "label": tag.label, "group": tag.group.label} if tag else {"id": ref_id}
        )
    elif event in (WebhookEvent.TASK_DUE, WebhookEvent.TASK_CREATED):
        task = (
            Task.objects.for_tenant(tenant)
            .select_related("assignee__user")
            .filter(pk=ref_id)
            .first()
        )
        data["task"] = (
            {
                "id": task.pk,
                "title": task.title,
                "due_at": task.due_at,
                "assignee": task.assignee.display_name if task.assignee else None,
                "done": task.done_at is not None,
                "activity_id": task.activity_id,
            }  # fmt: skip
            if task
            else {"id": ref_id}
        )
    elif event == WebhookEvent.ACTIVITY_LOGGED:
        activity = (
            Activity.objects.for_tenant(tenant)
            .select_related("author__user")
            .filter(pk=ref_id)
            .first()
        )
        data["activity"] = (
            {
                "id": activity.pk,
                "kind": activity.kind,
                "kind_label": activity.get_kind_display(),
                "occurred_at": activity.occurred_at,
                "author": activity.author.display_name if activity.author else None,
                "text": activity.text,
                "outcome": activity.outcome,
            }  # fmt: skip
            if activity
            else {"id": ref_id}  # taken back by its author since
        )
    elif event == WebhookEvent.CONTACT_TIER_CHANGED:
        change = (
            GradeChange.objects.for_tenant(tenant)
            .filter(pk=ref_id, what=GradeChange.What.TIER)
            .first()
        )
        if change is not None:
            data.update(
                from_tier=change.from_value or None,
                to_tier=change.to_value or None,
                to_tier_id=change.to_tier_id,
                paid=change.paid,
                window_days=change.window_days,
            )
    elif event == WebhookEvent.CONTACT_MERGED:
        # the contact that stays is `contact`; the other one no longer exists
        data["merged_contact"] = {"id": ref_id}
    elif event in (WebhookEvent.AUDIENCE_ENTERED, WebhookEvent.AUDIENCE_LEFT):
        audience = Audience.objects.for_tenant(tenant).filter(pk=ref_id).first()
        data["audience"] = {"id": ref_id, "name": audience.name if audience else ""}
    return data  # contact.created: the contact alone


def delivery_body(delivery: WebhookDelivery) -> bytes:
    payload = delivery_payload(delivery)
    return json.dumps(
        payload, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
    ).encode()


def post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    """POSTs once, to an address of the URL's host that was judged (targets). A redirect is an
    answer like any other non-2xx, never followed: it could point anywhere. Returns (HTTP status
    or None, a code of targets.REASONS or "")."""
    parts = urlsplit(url)
    try:
        connection = targets.connection_for(parts, timeout=settings.WEBHOOK_TIMEOUT)
    except targets.Refused as refused:
        return None, refused.code
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    try:
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status  # its body is never read, nor kept
    except TimeoutError:
        return None, "timeout"
    except ConnectionRefusedError:
        return None, "connection_refused"
    except ssl.SSLError:
        return None, "tls"
    except (http.client.HTTPException, OSError, ValueError):
        return None, "connection_failed"
    finally:
        connection.close()
    return status, "redirect" if 300 <= status < 400 else ""


# --- 3. sending ---------------------------------------------------------------------------


def deliveries_claim(*, tenant: Tenant, limit: int = BATCH) -> list[int]:
    """Takes up to `limit` due deliveries for this worker: their next attempt moves a lease
    ahead, so other workers (and beat) leave them alone until then."""
    now = timezone.now()
    with transaction.atomic():
        due = (
            WebhookDelivery.objects.for_tenant(tenant)
            .filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
        )
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            WebhookDelivery.objects.for_tenant(tenant).filter(pk__in=ids).update(
                next_attempt_at=now + LEASE
            )
    return ids


def delivery_attempt(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends one delivery now and records the answer: delivered, or the next attempt."""
    endpoint = delivery.endpoint
    started, clock = timezone.now(), time.monotonic()
    try:
        body = delivery_body(delivery)
    except Exception:  # a bug of ours must not retry forever without counting
        logger.exception("Could not build webhook delivery %s", delivery.pk)
        return _record(delivery, None, "our_error", started=started, took=0)
    status, error = post(endpoint.url, body, delivery_headers(delivery, body, int(time.time())))
    took = round((time.monotonic() - clock) * 1000)
    return _record(delivery, status, error, started=started, took=took)


@transaction.atomic
def _record(
    delivery: WebhookDelivery, status: int | None, error: str, *, started, took: int
) -> WebhookDelivery:
    """`error` is a code of targets.REASONS ("" beside a status: the status says it). The
    attempt goes into the log with its own answer, time and duration (`took`, ms)."""
    now = timezone.now()
    delivery.attempts += 1
    WebhookAttempt.objects.create(
        tenant_id=delivery.tenant_id, delivery=delivery, number=delivery.attempts, at=started,
        duration_ms=took, status=status, error=error,
        resent=delivery.resend_asked_at is not None, resent_by_id=delivery.resend_asked_by_id,
    )  # fmt: skip
    delivery.last_attempt_at = now
    delivery.last_status = status
    if status is not None and 200 <= status < 300:
        delivery.status = WebhookDelivery.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
    else:
        delivery.last_error = error
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
    WebhookDelivery.objects.for_tenant(delivery.tenant).filter(pk=delivery.pk).update(
        status=delivery.status,
        attempts=delivery.attempts,
        last_attempt_at=now,
        last_status=status,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        next_attempt_at=delivery.next_attempt_at,
        resend_asked_at=None,
        resend_asked_by=None,
    )
    delivery.resend_asked_at = delivery.resend_asked_by = None
    return delivery


def deliveries_send(*, tenant: Tenant, budget: int = 200) -> int:
    """Sends what is due for this tenant, a batch at a time, up to `budget` attempts (the rest
    waits for the next run). Each row is attempted at most once per run, so a failing receiver
    never makes this loop: its next attempt lies in the future. Returns attempts made."""
    made = 0
    while made < budget:
        ids = deliveries_claim(tenant=tenant, limit=min(BATCH, budget - made))
        if not ids:
            break
        rows = (
            WebhookDelivery.objects.for_tenant(tenant)
            .select_related("endpoint", "tenant")
            .filter(pk__in=ids)
            .order_by("id")
        )
        for delivery in rows:
            delivery_attempt(delivery=delivery)
            made += 1
    return made


def deliveries_due(*, tenant: Tenant) -> bool:
    return (
        WebhookDelivery.objects.for_tenant(tenant)
        .filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=timezone.now())
        .exists()
    )
