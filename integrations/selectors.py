"""Reads for API tokens, webhook endpoints and their deliveries."""

from django.db.models import Count, Prefetch, QuerySet

from crm.models import Tenant
from crm.pagination import KeysetPage, keyset_page
from crm.scope import token_scope

from .models import ApiSettings, ApiToken, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .tokens import TOKEN_PREFIX, token_hash


def api_token_company(*, token: str) -> tuple[int, int] | None:
    """(token id, company id) of the active token this string is. The one tenant lookup that
    starts from the token, since the request names no company: row-level security shows the
    token row to a connection that names its hash, and nothing else of the company."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    hashed = token_hash(token)
    with token_scope(hashed):
        return (
            ApiToken.objects.filter(token_hash=hashed, revoked_at__isnull=True)
            .values_list("pk", "tenant_id")
            .first()
        )


def api_token_get(*, tenant: Tenant, token_id: int) -> ApiToken:
    return (
        ApiToken.objects.for_tenant(tenant)
        .select_related("membership__user", "membership__tenant", "tenant")
        .get(pk=token_id)
    )


def api_tokens(*, tenant: Tenant) -> QuerySet[ApiToken]:
    return ApiToken.objects.for_tenant(tenant).select_related("membership__user")


def webhook_endpoints(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_tenant(tenant)


def webhook_deliveries(
    *, endpoint: WebhookEndpoint, after: str | None = None, size: int = 50
) -> KeysetPage:
    """A page of the endpoint's delivery log, each delivery with its attempts in order."""
    attempts = (
        WebhookAttempt.objects.for_tenant(endpoint.tenant)
        .select_related("resent_by__user")
        .order_by("number", "id")
    )
    rows = (
        WebhookDelivery.objects.for_tenant(endpoint.tenant)
        .filter(endpoint=endpoint)
        .prefetch_related(Prefetch("attempt_log", queryset=attempts))
    )
    return keyset_page(rows, ordering=("-created_at", "-id"), size=size, after=after)


def webhook_waiting_counts(*, tenant: Tenant) -> dict[int, int]:
    """Per endpoint, how many deliveries wait to be sent (delivered ones are not counted: the
    log only grows)."""
    rows = (
        WebhookDelivery.objects.for_tenant(tenant)
        .filter(status=WebhookDelivery.PENDING)
        .order_by()
        .values("endpoint_id")
        .annotate(n=Count("id"))
    )
    return {row["endpoint_id"]: row["n"] for row in rows}


def api_settings_of(*, tenant: Tenant) -> ApiSettings:
    """The company's API settings (unsaved defaults until an admin saves theirs)."""
    row = ApiSettings.objects.for_tenant(tenant).select_related("new_tag_group").first()
    return row or ApiSettings(tenant=tenant)
