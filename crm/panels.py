"""Panels other apps add to the contact page, so crm needs no import of theirs.

An app registers a function at start-up (AppConfig.ready, registration only); the contact page
calls each one with the request and the contact and includes what it returns.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Panel:
    template: str
    context: dict
    order: int = 100


_providers: list[Callable] = []


def register_contact_panel(provider: Callable) -> Callable:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def contact_panels(request, contact) -> list[Panel]:
    panels = [provider(request, contact) for provider in _providers]
    return sorted((p for p in panels if p is not None), key=lambda p: p.order)
