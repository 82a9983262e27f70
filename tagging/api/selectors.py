"""Reads for API tokens, webhook endpoints and their deliveries."""

from django.db.models import Count, QuerySet

from crm.models import Tenant
from crm.pagination import KeysetPage, keyset_page

from ..models import ApiToken, WebhookDelivery, WebhookEndpoint
from .tokens import TOKEN_PREFIX, token_hash


def api_token_resolve(*, token: str) -> ApiToken | None:
    """The active token this string is, with its member and company. The one tenant lookup that
    starts from the token: the request names no company."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return (
        ApiToken.objects.select_related("membership__user", "membership__tenant", "tenant")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .first()
    )


def api_tokens(*, tenant: Tenant) -> QuerySet[ApiToken]:
    return ApiToken.objects.for_tenant(tenant).select_related("membership__user")


def webhook_endpoints(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_tenant(tenant)


def webhook_deliveries(
    *, endpoint: WebhookEndpoint, after: str | None = None, size: int = 50
) -> KeysetPage:
    rows = WebhookDelivery.objects.for_tenant(endpoint.tenant).filter(endpoint=endpoint)
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
