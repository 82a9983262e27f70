"""The settings pages of the API and webhooks, under the company's address."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/api/", views.api_settings, name="api_settings"),
    path("settings/api/tokens/", views.api_token_create, name="api_token_create"),
    path("settings/api/tokens/<int:token_id>/", views.api_token_created, name="api_token_created"),
    path("settings/api/options/", views.api_options_save, name="api_options_save"),
    path(
        "settings/api/tokens/<int:token_id>/revoke/",
        views.api_token_revoke,
        name="api_token_revoke",
    ),
    path("settings/webhooks/", views.webhook_endpoint_create, name="webhook_endpoint_create"),
    path(
        "settings/webhooks/<int:endpoint_id>/",
        views.webhook_endpoint_detail,
        name="webhook_endpoint_detail",
    ),
    path(
        "settings/webhooks/<int:endpoint_id>/active/",
        views.webhook_endpoint_active,
        name="webhook_endpoint_active",
    ),
    path(
        "settings/webhooks/<int:endpoint_id>/delete/",
        views.webhook_endpoint_delete,
        name="webhook_endpoint_delete",
    ),
    path(
        "settings/webhooks/deliveries/<int:delivery_id>/resend/",
        views.webhook_delivery_resend,
        name="webhook_delivery_resend",
    ),
]
