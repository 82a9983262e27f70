from django.urls import path

from . import views

urlpatterns = [
    path("contacts/<int:contact_id>/timeline/", views.contact_timeline, name="contact_timeline"),
    path(
        "contacts/<int:contact_id>/activities/",
        views.contact_activity_log,
        name="contact_activity_log",
    ),
    path(
        "contacts/<int:contact_id>/activities/<int:activity_id>/remove/",
        views.contact_activity_remove,
        name="contact_activity_remove",
    ),
]
