from django.urls import path

from . import views

urlpatterns = [
    path("settings/tiers/", views.tier_list, name="tier_list"),
    path("settings/tiers/thresholds/", views.grading_settings, name="grading_settings"),
    path("settings/tiers/<int:tier_id>/", views.tier_edit, name="tier_edit"),
    path("settings/tiers/<int:tier_id>/delete/", views.tier_delete, name="tier_delete"),
    path("at-risk/", views.at_risk_list, name="at_risk_list"),
]
