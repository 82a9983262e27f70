"""Settings → API and webhooks (admins): tokens, webhook endpoints, the delivery log."""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.http import tenant_url
from crm.permissions import can_manage_api, permission_required
from crm.services import ServiceError

from . import selectors, services
from .access import access_api_token, access_webhook_delivery, access_webhook_endpoint
from .docs import STANDARD_SNIPPET
from .forms import ApiSettingsForm, ApiTokenForm, WebhookEndpointForm
from .targets import reason_shown
from .tokens import webhook_secret_standard


def _settings_page(
    request, *, token_form=None, endpoint_form=None, new_token=None, options_form=None, status=200
):
    tenant = request.tenant
    waiting = selectors.webhook_waiting_counts(tenant=tenant)
    endpoints = list(selectors.webhook_endpoints(tenant=tenant))
    for endpoint in endpoints:
        endpoint.waiting = waiting.get(endpoint.pk, 0)
    context = {
        "tokens": selectors.api_tokens(tenant=tenant),
        "token_form": token_form or ApiTokenForm(tenant=tenant),
        "endpoints": endpoints,
        "endpoint_form": endpoint_form or WebhookEndpointForm(),
        "new_token": new_token,
        "options_form": options_form
        or ApiSettingsForm(
            tenant=tenant,
            initial={"new_tag_group": selectors.api_settings_of(tenant=tenant).new_tag_group_id},
        ),
        "api_base": request.build_absolute_uri("/api/v1/"),
    }
    return render(request, "integrations/api_settings.html", context, status=status)


@require_GET
@permission_required(can_manage_api)
def api_settings(request):
    return _settings_page(request)


@require_POST
@permission_required(can_manage_api)
def api_token_create(request):
    form = ApiTokenForm(request.POST, tenant=request.tenant)
    if form.is_valid():
        try:
            row, token = services.api_token_create(
                tenant=request.tenant,
                actor=request.membership,
                membership=form.cleaned_data["membership"],
                name=form.cleaned_data["name"],
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            _keep_for_one_reading(request, row, token)
            # POST, then redirect: reloading the page that shows the token makes no second one.
            return redirect(tenant_url(request, "api_token_created", row.pk))
    return _settings_page(request, token_form=form, status=400)


# A new token waits in the member's session (server-side) for the one page that shows it, and
# is taken out as that page is read: a reload, the back button or another tab find it gone.
# Not read within a few minutes (the redirect never followed), it is dropped unseen.
SHOWN_ONCE = "api_token_shown_once"
SHOWN_ONCE_SECONDS = 300


def _keep_for_one_reading(request, row, token: str) -> None:
    until = (timezone.now() + timedelta(seconds=SHOWN_ONCE_SECONDS)).timestamp()
    request.session[SHOWN_ONCE] = {"id": row.pk, "token": token, "until": until}


def _take_for_reading(request, row) -> str | None:
    kept = request.session.get(SHOWN_ONCE)
    if not kept or kept["id"] != row.pk:
        return None
    del request.session[SHOWN_ONCE]
    return kept["token"] if kept["until"] > timezone.now().timestamp() else None


@require_GET
@permission_required(can_manage_api)
def api_token_created(request, token_id: int):
    """The page a new token is shown on: once, then only that it was."""
    row = access_api_token(request.membership, token_id)
    token = _take_for_reading(request, row)
    response = _settings_page(request, new_token={"row": row, "token": token})
    response["Cache-Control"] = "no-store"  # never kept by a browser or a proxy
    return response


@require_POST
@permission_required(can_manage_api)
def api_options_save(request):
    """Settings → API: the group tags created over the API go into."""
    form = ApiSettingsForm(request.POST, tenant=request.tenant)
    if form.is_valid():
        group = form.cleaned_data["new_tag_group"]
        services.api_settings_save(tenant=request.tenant, actor=request.membership,
                                   new_tag_group=group)  # fmt: skip
        if group is None:
            messages.success(request, _("Saved: tags unknown to the company stay refused."))
        else:
            messages.success(
                request,
                _("Saved: tags created over the API go into “%(group)s”.") % {"group": group.label},
            )
        return redirect(tenant_url(request, "api_settings"))
    return _settings_page(request, options_form=form, status=400)


@require_POST
@permission_required(can_manage_api)
def api_token_revoke(request, token_id: int):
    token = access_api_token(request.membership, token_id)
    services.api_token_revoke(token=token, actor=request.membership)
    messages.success(
        request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name}
    )
    return redirect(tenant_url(request, "api_settings"))


@require_POST
@permission_required(can_manage_api)
def webhook_endpoint_create(request):
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(
                tenant=request.tenant, actor=request.membership, **form.cleaned_data
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Webhook added. Give its secret to the receiver."))
            return redirect(tenant_url(request, "webhook_endpoint_detail", endpoint.pk))
    return _settings_page(request, endpoint_form=form, status=400)


@require_GET
@permission_required(can_manage_api)
def webhook_endpoint_detail(request, endpoint_id: int):
    endpoint = access_webhook_endpoint(request.membership, endpoint_id)
    page = selectors.webhook_deliveries(endpoint=endpoint, after=request.GET.get("after"))
    for delivery in page.items:
        delivery.reason = reason_shown(delivery.last_error)
        for attempt in delivery.attempt_log.all():
            attempt.reason = reason_shown(attempt.error)
    context = {"endpoint": endpoint, "page": page, "standard_snippet": STANDARD_SNIPPET,
               "standard_secret": webhook_secret_standard(endpoint.secret)}  # fmt: skip
    return render(request, "integrations/webhook_endpoint_detail.html", context)


@require_POST
@permission_required(can_manage_api)
def webhook_endpoint_active(request, endpoint_id: int):
    endpoint = access_webhook_endpoint(request.membership, endpoint_id)
    active = request.POST.get("active") == "1"
    services.webhook_endpoint_set_active(endpoint=endpoint, actor=request.membership, active=active)
    if active:
        messages.success(request, _("Webhook on: new events are sent."))
    else:
        messages.success(request, _("Webhook paused: no new events are sent to it."))
    return redirect(tenant_url(request, "webhook_endpoint_detail", endpoint.pk))


@require_POST
@permission_required(can_manage_api)
def webhook_endpoint_delete(request, endpoint_id: int):
    endpoint = access_webhook_endpoint(request.membership, endpoint_id)
    services.webhook_endpoint_delete(endpoint=endpoint, actor=request.membership)
    messages.success(request, _("Webhook %(url)s deleted with its log.") % {"url": endpoint.url})
    return redirect(tenant_url(request, "api_settings"))


@require_POST
@permission_required(can_manage_api)
def webhook_delivery_resend(request, delivery_id: int):
    delivery = access_webhook_delivery(request.membership, delivery_id)
    try:
        services.webhook_delivery_resend(delivery=delivery, actor=request.membership)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Delivery %(id)s will be sent again now.") % {"id": delivery.pk}
        )
    return redirect(tenant_url(request, "webhook_endpoint_detail", delivery.endpoint_id))
