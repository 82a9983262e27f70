"""Who calls: `Authorization: Bearer <token>` names a token, the token a member of one company.
And how often: a fixed one-minute window per token, counted in the cache (Redis in
production), so several web processes share one count."""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation
from ninja.errors import Throttled
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from crm.http import client_ip
from crm.models import Tenant
from crm.scope import scope_set_tenant

from .selectors import api_token_company, api_token_get
from .services import api_token_touch


class TokenAuth(HttpBearer):
    def __call__(self, request):
        # Messages in the language the request asks for (Accept-Language), else the one the
        # token's member chose (see authenticate), else English.
        language = "en"
        request.language_asked = "HTTP_ACCEPT_LANGUAGE" in request.META
        if request.language_asked:
            language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        return super().__call__(request)

    def authenticate(self, request, token: str):
        guesses = BadTokenCount(request)
        if guesses.exhausted():
            raise Throttled(wait=guesses.wait())
        found = api_token_company(token=token)
        if found is None:
            guesses.add()
            return None
        token_id, tenant_id = found
        scope_set_tenant(tenant_id)  # the request's company, for row-level security too
        api_token = api_token_get(tenant=Tenant(pk=tenant_id), token_id=token_id)
        membership = api_token.membership
        if membership.tenant.deletion_started_at is not None:
            return None  # the company is being deleted (crm/deletion.py): 401, as a bad token
        request.tenant = membership.tenant
        request.membership = membership
        if membership.user.language and not request.language_asked:
            translation.activate(membership.user.language)
            request.LANGUAGE_CODE = membership.user.language
        api_token_touch(token=api_token, now=timezone.now())
        return api_token


class BadTokenCount:
    """Invalid tokens sent from one client address in the current minute: past
    settings.API_BAD_TOKEN_LIMIT, that address is refused (429) until the minute turns, so
    tokens cannot be guessed at speed."""

    window = 60
    clock = staticmethod(time.time)

    def __init__(self, request):
        now = self.clock()
        self.remaining = self.window - now % self.window
        self.key = f"api-bad-token:{client_ip(request)}:{int(now // self.window)}"

    def exhausted(self) -> bool:
        try:
            return (cache.get(self.key) or 0) >= settings.API_BAD_TOKEN_LIMIT
        except Exception:  # the cache is down: the per-token limits still hold
            return False

    def add(self) -> None:
        try:
            if not cache.add(self.key, 1, timeout=self.window + 5):
                cache.incr(self.key)
        except Exception:  # noqa: S110 - the cache is down or the key just expired
            pass

    def wait(self) -> int:
        return max(math.ceil(self.remaining), 1)


class TokenRateLimit(BaseThrottle):
    """At most settings.API_RATE_LIMIT requests per token per minute (fixed window)."""

    window = 60
    clock = staticmethod(time.time)

    def allow_request(self, request) -> bool:
        limit = settings.API_RATE_LIMIT
        now = self.clock()
        start = int(now // self.window) * self.window
        key = f"api-rate:{request.auth.pk}:{start}"
        try:
            if cache.add(key, 1, timeout=self.window + 5):
                return True
            return cache.incr(key) <= limit
        except ValueError:  # the key expired between add and incr: a new window
            cache.add(key, 1, timeout=self.window + 5)
            return True
        except Exception:  # the cache is down: serve rather than refuse everyone
            return True

    def wait(self) -> float:
        """Seconds until the window turns (no state on self: one instance serves all threads)."""
        return max(self.window - self.clock() % self.window, 1)
