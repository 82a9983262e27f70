"""A breadth-first walk over the pages a signed-in user can reach by following links.

GET only: links (`<a href>`), htmx fragments (`hx-get`, fetched as htmx fetches them) and GET
forms submitted with the values they show. Every change in the app is a POST, so the walk
changes nothing. Each kind of page (view, company, filtered or not, htmx or not) is visited a
bounded number of times, so a list with thousands of rows does not crowd out the rest of the app.
"""

from collections import Counter, deque
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

from django.test import Client
from django.urls import Resolver404, resolve

SKIP_PREFIXES = ("/static/", "/media/")


@dataclass(frozen=True)
class Visit:
    url: str
    htmx: bool
    status: int
    error: str = ""


class _Page(HTMLParser):
    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[tuple[str, bool]] = []  # (url, fetched by htmx)
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.found.append((attrs["href"], False))
        if attrs.get("hx-get"):
            self.found.append((attrs["hx-get"], True))
        if tag == "form" and (attrs.get("method") or "get").lower() == "get":
            self._form = {"action": attrs.get("action") or self.base, "fields": []}
        elif self._form is not None and attrs.get("name") and "disabled" not in attrs:
            kind = (attrs.get("type") or "").lower()
            if tag == "input" and kind not in ("submit", "button", "file", "checkbox", "radio"):
                self._form["fields"].append((attrs["name"], attrs.get("value") or ""))
            elif tag == "input" and "checked" in attrs:
                self._form["fields"].append((attrs["name"], attrs.get("value") or "on"))
            elif tag == "select":
                self._form["select"] = attrs["name"]
        if tag == "option" and self._form and self._form.get("select") and "selected" in attrs:
            self._form["fields"].append((self._form["select"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "select" and self._form is not None:
            self._form.pop("select", None)
        if tag == "form" and self._form is not None:
            query = urlencode(self._form["fields"])
            self.found.append((f"{self._form['action'].split('?')[0]}?{query}", False))
            self._form = None


def _shape(path: str, query: str, htmx: bool):
    """The kind of page: which view, for which company, filtered or not, whole or a fragment."""
    try:
        match = resolve(path)
    except Resolver404:
        return path, "", bool(query), htmx
    return match.url_name, match.kwargs.get("tenant_slug", ""), bool(query), htmx


def links_on(html: str, page_url: str) -> list[tuple[str, bool]]:
    """Same-site GET targets on a page, as absolute paths with their query."""
    parser = _Page(base=page_url)
    parser.feed(html)
    targets = []
    for raw, htmx in parser.found:
        if raw.startswith(("#", "mailto:", "tel:", "javascript:")):
            continue
        target = _local(page_url, raw)
        if target and not target.startswith(SKIP_PREFIXES):
            targets.append((target, htmx))
    return targets


def _local(base: str, location: str) -> str | None:
    parts = urlsplit(urljoin(f"http://testserver{base}", location))
    if parts.netloc != "testserver":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client: Client, start: str, *, limit: int = 150, per_shape: int = 8) -> list[Visit]:
    """Visits up to `limit` pages from `start`, breadth-first within each kind of page and
    round-robin across kinds (every kind found once before any kind twice); returns the visits."""
    pending: dict[tuple, deque] = {}
    shapes, seen, visits = Counter(), set(), []

    def enqueue(url: str, htmx: bool) -> None:
        if (url, htmx) in seen:
            return
        seen.add((url, htmx))
        parts = urlsplit(url)
        pending.setdefault(_shape(parts.path, parts.query, htmx), deque()).append((url, htmx))

    enqueue(start, False)
    while len(visits) < limit:
        ready = [s for s, urls in pending.items() if urls and shapes[s] < per_shape]
        if not ready:
            break
        shape = min(ready, key=shapes.__getitem__)
        shapes[shape] += 1
        url, htmx = pending[shape].popleft()
        headers = {"HX-Request": "true"} if htmx else {}
        try:
            response = client.get(url, headers=headers)
            body = b"".join(response.streaming_content) if response.streaming else response.content
        except Exception as error:  # noqa: BLE001 - the walk names the page and goes on
            visits.append(Visit(url, htmx, 500, f"{type(error).__name__}: {error}"))
            continue
        visits.append(Visit(url, htmx, response.status_code))
        if response.status_code in (301, 302, 303, 307, 308):
            if target := _local(url, response["Location"]):
                enqueue(target, htmx)
        elif "html" in response.get("Content-Type", ""):
            for link, by_htmx in links_on(body.decode(), url):
                enqueue(link, by_htmx)
    return visits
