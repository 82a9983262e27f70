"""/api/v1/: ninja's views, each wrapped so that every 4xx is JSON, and a JSON 404 for anything
else under the prefix."""

from django.urls import include, path, re_path

from . import api_consent  # noqa: F401 - registers its endpoints on the router
from .endpoints import api
from .errors import guarded, not_found_view

patterns, ninja_app, ninja_namespace = api.urls
for pattern in patterns:
    pattern.callback = guarded(pattern.callback)

urlpatterns = [
    path("", include((patterns, ninja_app), namespace=ninja_namespace)),
    re_path(r"^.*$", guarded(not_found_view), name="api_not_found"),
]
