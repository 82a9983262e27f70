from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import (
    consent_views,
    customfield_views,
    deletion_views,
    merge_views,
    savedview_views,
    search_views,
    views,
)

tenant_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", search_views.search, name="search"),
    path("recent/", views.dashboard_recent, name="dashboard_recent"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/count/", views.contact_count, name="contact_count"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="contact_delete"),
    path(
        "contacts/<int:contact_id>/consent/",
        consent_views.contact_consent,
        name="contact_consent",
    ),
    path(
        "contacts/<int:contact_id>/duplicates/",
        merge_views.contact_duplicates,
        name="contact_duplicates",
    ),
    path(
        "contacts/<int:contact_id>/merge/<int:other_id>/",
        merge_views.contact_merge,
        name="contact_merge",
    ),
    path("settings/", views.tenant_settings, name="tenant_settings"),
    path("settings/delete/", deletion_views.company_delete, name="company_delete"),
    path("settings/members/", views.member_list, name="member_list"),
    path("settings/audit/", views.audit_log, name="audit_log"),
    path("settings/audit/export.csv", views.audit_export, name="audit_export"),
    path("settings/members/add/", views.member_add, name="member_add"),
    path("settings/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "settings/members/<int:membership_id>/hand-over/",
        views.member_hand_over,
        name="member_hand_over",
    ),
    path("contacts/bulk/owner/", views.contacts_bulk_assign, name="contacts_bulk_assign"),
    path(
        "settings/members/<int:membership_id>/password-link/",
        views.member_password_link,
        name="member_password_link",
    ),
    path(
        "settings/members/invitations/<int:invitation_id>/cancel/",
        views.invitation_cancel,
        name="invitation_cancel",
    ),
    # fields: Settings → Custom fields (crm/customfield_views.py)
    path("settings/fields/", customfield_views.custom_field_list, name="custom_field_list"),
    path(
        "settings/fields/<int:field_id>/edit/",
        customfield_views.custom_field_edit,
        name="custom_field_edit",
    ),
    path(
        "settings/fields/<int:field_id>/move/",
        customfield_views.custom_field_move,
        name="custom_field_move",
    ),
    path(
        "settings/fields/<int:field_id>/delete/",
        customfield_views.custom_field_delete,
        name="custom_field_delete",
    ),
    # saved views of the contact list (crm/savedview_views.py)
    path("contacts/views/new/", savedview_views.saved_view_create, name="saved_view_create"),
    path(
        "contacts/views/<int:view_id>/edit/",
        savedview_views.saved_view_edit,
        name="saved_view_edit",
    ),
    path(
        "contacts/views/<int:view_id>/update/",
        savedview_views.saved_view_update,
        name="saved_view_update",
    ),
    path(
        "contacts/views/<int:view_id>/delete/",
        savedview_views.saved_view_delete,
        name="saved_view_delete",
    ),
    path(
        "contacts/views/<int:view_id>/default/",
        savedview_views.saved_view_default,
        name="saved_view_default",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="crm/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/language/", views.language_switch, name="language_switch"),
    path("accounts/profile/", views.profile, name="profile"),
    path("company-deleted/", deletion_views.company_deleted, name="company_deleted"),
    path("accounts/link/<str:token>/", views.one_time_link, name="one_time_link"),
    path(
        "accounts/invitations/<int:invitation_id>/accept/",
        views.invitation_answer,
        {"answer": "accept"},
        name="invitation_accept",
    ),
    path(
        "accounts/invitations/<int:invitation_id>/decline/",
        views.invitation_answer,
        {"answer": "decline"},
        name="invitation_decline",
    ),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
    path("t/<slug:tenant_slug>/", include("lifecycle.urls")),
    path("t/<slug:tenant_slug>/", include("tagging.urls")),
    path("t/<slug:tenant_slug>/", include("activities.urls")),
    path("t/<slug:tenant_slug>/", include("grading.urls")),
    path("t/<slug:tenant_slug>/", include("team.urls")),
    path("t/<slug:tenant_slug>/", include("audiences.urls")),
    path("t/<slug:tenant_slug>/", include("spreadsheets.urls")),
    path("t/<slug:tenant_slug>/", include("integrations.urls")),
    path("t/<slug:tenant_slug>/", include("personaldata.urls")),
    # The JSON API and its docs; the token, not the address, names the company.
    path("api/v1/", include("integrations.api_urls")),
]
