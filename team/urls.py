from django.urls import path

from . import views

urlpatterns = [
    path("team/", views.team, name="team"),
    path("team/panel/", views.team_panel, name="team_panel"),
]
