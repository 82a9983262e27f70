"""Every 4xx answers `{"error": {"code": ..., "message": ...}}`: ninja's own handlers (which
answer `{"detail": ...}`) are replaced, service refusals become 400/403/409, and what never
reaches ninja (unknown address, wrong method, oversized body, NUL bytes) is caught around it."""

import json
import math
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser

from crm.services import CustomValuesInvalid, DuplicateContactError, NotAllowed, ServiceError
from crm.words import listed
from lifecycle.services import MissingRequirements, MoveRefused

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
}


class BadText(ValueError):
    pass


def _check_text(value) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise BadText("NUL")
        value.encode("utf-8")  # lone surrogates ("\ud800") cannot be stored
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class StrictJSONParser(Parser):
    """JSON whose text the database can store: no NUL characters, no lone surrogates."""

    def parse_body(self, request):
        data = json.loads(request.body)
        _check_text(data)
        return data


def error(status: int, code: str, message: str, **extra) -> JsonResponse:
    body = {"code": code, "message": str(message), **{k: v for k, v in extra.items() if v}}
    response = JsonResponse(
        {"error": body}, status=status, json_dumps_params={"ensure_ascii": False}
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path")]
    return ".".join(parts) or str(loc[0] if loc else "")


def _validation_message(error: dict) -> str:
    """pydantic's message for the usual mistakes in the reader's language; its own otherwise."""
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return _("unknown field")
    if kind == "missing":
        return _("required")
    if kind.endswith(("_type", "_parsing")):
        return _("wrong type (%(detail)s)") % {"detail": error.get("msg", "")}
    return error.get("msg", "")


ROLE_REFUSALS = frozenset({"backward_not_allowed", "not_allowed"})


def install_handlers(api) -> None:
    @api.exception_handler(ValidationError)
    def invalid(request, exc):
        fields = [
            {"field": _field(e.get("loc", ())), "message": _validation_message(e)}
            for e in exc.errors
        ]
        first = fields[0] if fields else {"field": "", "message": ""}
        message = _("Invalid request: %(field)s: %(message)s") % first
        return error(400, "invalid", message, fields=fields)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return error(
            401, "unauthorized", _("Send a valid API token: “Authorization: Bearer <token>”.")
        )

    @api.exception_handler(Throttled)
    def throttled(request, exc):
        response = error(429, "rate_limited", _("Too many requests: wait a moment and retry."))
        if exc.wait:
            response["Retry-After"] = str(math.ceil(exc.wait))
        return response

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            return error(
                400,
                "malformed_json",
                _("The body must be JSON (UTF-8, without NUL characters)."),
            )
        return error(exc.status_code, CODES.get(exc.status_code, "error"), str(exc))

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return error(404, "not_found", str(exc.args[0]) if exc.args else _("Not found."))

    @api.exception_handler(DuplicateContactError)
    def duplicate(request, exc):
        existing = next(iter(exc.duplicates.values()), None)
        return error(409, "duplicate", exc.message, existing_id=existing.pk if existing else None)

    @api.exception_handler(MissingRequirements)
    def missing(request, exc):
        return error(409, "missing_requirements", exc.message, missing=exc.missing)

    @api.exception_handler(MoveRefused)
    def refused_move(request, exc):
        # the token's role is the reason: 403, as the docs say; the contact's state: 409
        status = 403 if exc.code in ROLE_REFUSALS else 409
        return error(status, exc.code, exc.message, current_stage=exc.current_stage)

    @api.exception_handler(CustomValuesInvalid)
    def invalid_custom(request, exc):
        # as a schema's refusal: each value under its field, "custom.<key>"
        fields = [
            {"field": f"custom.{key}", "message": message}
            for key, messages in exc.errors.items()
            for message in messages
        ]
        message = _("Invalid request: %(field)s: %(message)s") % fields[0]
        return error(400, "invalid", message, fields=fields)

    @api.exception_handler(NotAllowed)
    def not_allowed(request, exc):
        return error(403, "forbidden", exc.message)

    @api.exception_handler(ServiceError)
    def refused(request, exc):
        return error(400, "refused", exc.message)


def known_query_only(view_func):
    """An unknown query parameter (a typo like ?stages=) is refused, never silently ignored.
    Ninja passes every parameter it knows to the view, so the rest are unknown."""

    @wraps(view_func)
    def wrapper(request, *args, **kwargs):
        unknown = sorted(set(request.GET) - set(kwargs))
        if unknown:
            raise HttpError(
                400, _("Unknown query parameter: %(names)s.") % {"names": listed(unknown)}
            )
        return view_func(request, *args, **kwargs)

    return wrapper


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def guarded(view):
    """Wraps every view of the API: refuses oversized bodies and NUL bytes before anything is
    read, and turns Django's own 4xx pages (405, 404) into the JSON error shape."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY:
            return error(
                413,
                "too_large",
                _("The body is larger than %(size)s bytes.") % {"size": settings.API_MAX_BODY},
            )
        texts = [request.path, *(t for k, vs in request.GET.lists() for t in (k, *vs))]
        if any("\x00" in text for text in texts):
            return error(400, "bad_request", _("Addresses cannot contain NUL characters."))
        response = view(request, *args, **kwargs)
        if 400 <= response.status_code < 500 and not _is_json(response):
            status = response.status_code
            allow = response.get("Allow")
            response = error(status, CODES.get(status, "error"), _("This cannot be done here."))
            if allow:
                response["Allow"] = allow
        return response

    return wrapper


def not_found_view(request, *args, **kwargs) -> HttpResponse:
    return error(404, "not_found", _("There is no such address in the API; see /api/v1/docs."))
