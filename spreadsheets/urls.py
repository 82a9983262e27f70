from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/columns/", views.import_map, name="import_map"),
    path("imports/<int:job_id>/cancel/", views.import_cancel, name="import_cancel"),
    path("imports/<int:job_id>/continue/", views.import_continue, name="import_continue"),
    path("imports/<int:job_id>/undo/", views.import_undo, name="import_undo"),
    path("imports/<int:job_id>/errors.csv", views.import_errors, name="import_errors"),
    path("contacts/export/", views.contacts_export, name="contacts_export"),
    path(
        "audiences/<int:audience_id>/export/",
        views.audience_export,
        name="audience_export",
    ),
    path(
        "audiences/lists/<int:snapshot_id>/export/",
        views.snapshot_export,
        name="snapshot_export",
    ),
]
