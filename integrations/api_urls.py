"""/api/v1/: ninja's views, each wrapped so that every 4xx is JSON, and a JSON 404 for anything
else under the prefix.

CSRF: the API authenticates by token only (a browser's session never authorises a call), so no
view here is reachable by a cross-site form. Ninja's own views are csrf_exempt (it would check
CSRF itself for cookie authentication, which this API has none of); the catch-all must be too,
else Django's CSRF middleware answers a POST to an unknown address with its HTML 403 page
before the JSON 404 is reached."""

from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from . import api_company, api_consent, api_tags, api_work  # noqa: F401 - api_consent registers on the router
from .endpoints import api
from .errors import guarded, not_found_view

# the endpoint groups kept in their own modules, on the same API (one document, one prefix)
for module in (api_tags, api_company, api_work):
    api.add_router("", module.router)

patterns, ninja_app, ninja_namespace = api.urls
for pattern in patterns:
    pattern.callback = guarded(pattern.callback)

urlpatterns = [
    path("", include((patterns, ninja_app), namespace=ninja_namespace)),
    re_path(r"^.*$", csrf_exempt(guarded(not_found_view)), name="api_not_found"),
]
