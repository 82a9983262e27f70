"""Token, endpoint and delivery rows reached by id: scoped to the member's company, else 404."""

from crm.access import get_scoped_or_404
from crm.models import Membership

from .models import ApiToken, WebhookDelivery, WebhookEndpoint


def access_api_token(membership: Membership, token_id: int) -> ApiToken:
    return get_scoped_or_404(ApiToken.objects.for_tenant(membership.tenant), token_id)


def access_webhook_endpoint(membership: Membership, endpoint_id: int) -> WebhookEndpoint:
    return get_scoped_or_404(WebhookEndpoint.objects.for_tenant(membership.tenant), endpoint_id)


def access_webhook_delivery(membership: Membership, delivery_id: int) -> WebhookDelivery:
    qs = WebhookDelivery.objects.for_tenant(membership.tenant).select_related("endpoint")
    return get_scoped_or_404(qs, delivery_id)
