"""Where webhooks may go: the public internet only, so a company's webhook cannot make our
workers call into our own network (loopback, private ranges, a cloud's metadata service).

A host is resolved once, every address it stands for is judged, and the connection opens to a
judged address: DNS that answers differently a moment later (rebinding) changes nothing.
WEBHOOKS_ALLOW_PRIVATE_TARGETS lifts the refusal (development, tests, a closed network).
"""

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import SplitResult

from django.conf import settings
from django.utils.translation import gettext_lazy as _

# What WebhookDelivery.last_error stores: a code, worded in the reader's language when shown.
# Never the text a receiver answered: what an internal service says is not ours to show.
REASONS = {
    "refused_address": _("refused: not an http or https address"),
    "refused_private": _("refused: private address"),
    "host_not_found": _("the host could not be found"),
    "timeout": _("timeout"),
    "connection_refused": _("connection refused"),
    "connection_failed": _("connection failed"),
    "tls": _("secure connection failed (certificate)"),
    "redirect": _("redirect not followed"),
    "our_error": _("could not build the message (our error)"),
}


def reason_shown(code: str) -> str:
    """The reason for a stored code; rows logged before codes held free text: a generic word."""
    if not code:
        return ""
    return str(REASONS.get(code, _("delivery failed")))


class Refused(Exception):
    """Nothing is sent; `code` is one of REASONS."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


_METADATA = {
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
}
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Alibaba's metadata lives here
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_refused(address: str) -> bool:
    """Whether an address is off the public internet. The explicit checks keep the answer the
    same across Python versions, whose `is_global` has changed."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one reaches that IPv4 address: judge it.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refused(str(embedded))
        if ip.is_site_local:
            return True
    return (
        not ip.is_global
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or ip in _SHARED
        or ip in _METADATA
    )


def resolve(host: str, port: int | None) -> list[tuple]:
    """getaddrinfo's answers for `host`. Raises Refused when it is unknown or when any address
    is refused: a host with one address inside is an inside host."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused("host_not_found") from None
    if not settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS and any(
        address_refused(sockaddr[0]) for *_, sockaddr in found
    ):
        raise Refused("refused_private")
    return found


def _connect(found: list[tuple], timeout: float) -> socket.socket:
    """A socket to the first judged address that answers; no second lookup."""
    error = OSError("no address")
    for family, kind, proto, _name, sockaddr in found:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as failed:
            sock.close()
            error = failed
        else:
            return sock
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Speaks to `host` (its Host header) at an address already judged."""

    def __init__(self, host: str, port: int, *, found: list[tuple], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.found = found

    def connect(self):
        self.sock = _connect(self.found, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, found: list[tuple], timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.found = found

    def connect(self):
        # SNI and the certificate check are for the host the URL names, not the address.
        sock = _connect(self.found, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def connection_for(parts: SplitResult, *, timeout: float) -> http.client.HTTPConnection:
    """An unopened connection to the URL's host, pinned to its judged addresses. Raises
    Refused."""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port out of range
        raise Refused("refused_address") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("refused_address")
    found = resolve(parts.hostname, port)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    return kind(parts.hostname, port, found=found, timeout=timeout)
