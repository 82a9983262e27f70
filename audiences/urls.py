from django.urls import path

from . import views

urlpatterns = [
    path("audiences/", views.audience_list, name="audience_list"),
    path("audiences/new/", views.audience_edit, name="audience_create"),
    path("audiences/<int:audience_id>/", views.audience_detail, name="audience_detail"),
    path("audiences/<int:audience_id>/edit/", views.audience_edit, name="audience_edit"),
    path(
        "audiences/<int:audience_id>/freeze/",
        views.audience_freeze,
        name="audience_freeze",
    ),
]
