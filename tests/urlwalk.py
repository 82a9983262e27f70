"""Every URL pattern under /t/<tenant_slug>/, for tests that must cover each one."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class TenantRoute:
    name: str
    kwargs: tuple[str, ...]  # besides tenant_slug
    view: object


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def tenant_routes() -> list[TenantRoute]:
    routes = []
    for route, entry in _walk(get_resolver().url_patterns):
        if not route.startswith("t/<slug:tenant_slug>/"):
            continue
        assert entry.name, f"tenant URL {route} needs a name so tests can reach it"
        kwargs = tuple(
            part.split(">")[0].split(":")[-1]
            for part in route.split("<")[1:]
            if not part.startswith("slug:tenant_slug>")
        )
        routes.append(TenantRoute(entry.name, kwargs, entry.callback))
    return routes
