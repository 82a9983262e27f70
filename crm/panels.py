"""Panels other apps add to crm's pages (the dashboard, the contact page, the header's search),
so crm needs no import of theirs.

An app registers a function at start-up (AppConfig.ready, registration only); the page calls
each one with the request (and the contact, or what was searched) and includes what it returns
(nothing, for None).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Panel:
    template: str
    context: dict
    order: int = 100


_providers: dict[str, list[Callable]] = {"contact": [], "dashboard": [], "search": []}


def register_panel(page: str, provider: Callable) -> Callable:
    if provider not in _providers[page]:
        _providers[page].append(provider)
    return provider


def _collect(page: str, *args) -> list[Panel]:
    panels = [provider(*args) for provider in _providers[page]]
    return sorted((p for p in panels if p is not None), key=lambda p: p.order)


def contact_panels(request, contact) -> list[Panel]:
    return _collect("contact", request, contact)


def dashboard_panels(request) -> list[Panel]:
    return _collect("dashboard", request)


def search_panels(request, term: str) -> list[Panel]:
    return _collect("search", request, term)
