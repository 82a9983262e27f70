"""Per-request tenancy, language and database scope. No queries at import time; one per request
to reset the database scope (row-level security), which anonymous pages pay too."""

import zoneinfo
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import timezone, translation
from django_htmx.http import HttpResponseClientRedirect

from .scope import scope_reset, scope_set_tenant
from .selectors import membership_for_user


class UserLanguageMiddleware:
    """The user's own language setting wins over the browser's; LocaleMiddleware did the rest."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """A user whose first password an admin typed replaces it before reaching anything else:
    until then the admin who chose it could log in as them."""

    ALLOWED = ("profile", "logout", "language_switch")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if not (user is not None and user.is_authenticated and user.must_change_password):
            return None
        if request.resolver_match and request.resolver_match.url_name in self.ALLOWED:
            return None
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(resolve_url("profile"))
        return HttpResponseRedirect(resolve_url("profile"))


class DatabaseScopeMiddleware:
    """Every request starts with no company set on its database connection, only the person
    (row-level security: crm/scope.py); TenantMiddleware sets the company once it is known."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        scope_reset(user_id=user.pk if user is not None and user.is_authenticated else None)
        return self.get_response(request)


class TenantMiddleware:
    """Resolves `/t/<tenant_slug>/…` to request.tenant and request.membership, or 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.pop("tenant_slug", None)
        if slug is None:
            return None
        if not request.user.is_authenticated:
            if getattr(request, "htmx", False):
                # A fragment request after the session ended: send the whole page to log in.
                current = request.htmx.current_url_abs_path or request.get_full_path()
                return HttpResponseClientRedirect(
                    f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': current})}"
                )
            return redirect_to_login(request.get_full_path())
        membership, request.my_memberships = membership_for_user(
            user=request.user, tenant_slug=slug
        )
        if membership is None:
            raise Http404
        request.membership = membership
        request.tenant = membership.tenant
        scope_set_tenant(membership.tenant_id)
        timezone.activate(zoneinfo.ZoneInfo(membership.tenant.time_zone))
        return None
