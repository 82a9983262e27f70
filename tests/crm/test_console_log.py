"""What `make run`'s console says when a member is refused: one line, once, not a traceback. A
fault on our side still logs its traceback. Read from every console handler the settings'
LOGGING (and Django's defaults beneath it) set up, with DEBUG on as under `make run`."""

import io
import logging

import pytest
from django.test import Client
from django.urls import path, reverse

from crm.urls import urlpatterns as site


def fault(request):
    raise RuntimeError("a fault on our side")


urlpatterns = [path("test-fault/", fault), *site]


def console_handlers() -> set[logging.StreamHandler]:
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    return {
        handler
        for logger in loggers
        for handler in getattr(logger, "handlers", [])
        if type(handler) is logging.StreamHandler  # not pytest's own capture
    }


@pytest.fixture
def console(settings):
    """One buffer standing for the terminal every console handler writes to."""
    settings.DEBUG = True  # as `make run` serves: Django's own console handler is on
    terminal = io.StringIO()
    handlers = console_handlers()
    assert handlers
    streams = {handler: handler.setStream(terminal) for handler in handlers}
    yield terminal
    for handler, stream in streams.items():
        handler.setStream(stream)


def test_a_marketer_refused_the_audit_log_is_one_line_in_the_console(
    tenant, marketer_client, console
):
    address = reverse("audit_log", args=[tenant.slug])
    assert marketer_client.get(address).status_code == 403
    logged = console.getvalue()
    assert logged.splitlines() == [f"Forbidden (Permission denied): {address}"]


@pytest.mark.urls(__name__)
def test_a_fault_on_our_side_keeps_its_traceback(db, console):
    client = Client(raise_request_exception=False)
    assert client.get("/test-fault/").status_code == 500
    logged = console.getvalue()
    assert logged.count("Internal Server Error: /test-fault/") == 1
    assert "Traceback" in logged and "RuntimeError: a fault on our side" in logged
