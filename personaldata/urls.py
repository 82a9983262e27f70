from django.urls import path

from . import views

urlpatterns = [
    path("contacts/<int:contact_id>/data/", views.contact_data, name="contact_data"),
    path("contacts/<int:contact_id>/data.json", views.contact_data_json, name="contact_data_json"),
    path("contacts/<int:contact_id>/erase/", views.contact_erase_confirm, name="contact_erase"),
]
