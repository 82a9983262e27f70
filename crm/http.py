"""Small request helpers shared by the apps' views."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, fallback: str) -> str:
    """The `next` address the form carried, if it stays on this site; else `fallback`."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return fallback


def client_ip(request) -> str:
    """The address a request comes from: REMOTE_ADDR, or the last X-Forwarded-For entry when
    our own proxy appends it (TRUST_X_FORWARDED_FOR); never a value the client chose."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")


def tenant_url(request, name: str, *args) -> str:
    """The URL of a page of the request's company."""
    return reverse(name, args=[request.tenant.slug, *args])


# A number no row of ours reaches: reverse() fills it in, and each row's id replaces it.
_ID_MARK = "2147483647"


def id_url_maker(name: str, *args) -> Callable[[int], str]:
    """reverse() once for a page that lists many rows: a function from a row's id (the URL's
    last argument) to its URL, the same as reverse() would give, for a fraction of its cost."""
    head, _mark, tail = reverse(name, args=[*args, int(_ID_MARK)]).rpartition(_ID_MARK)
    return lambda pk: f"{head}{int(pk)}{tail}"


class RefusalsOnOneLine(logging.Filter):
    """A refused request (403: a member asking for what their role may not do) is an everyday
    answer, not a fault: `django.request` logs it as "Forbidden (Permission denied): /path"
    without the traceback Django attaches. Errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
