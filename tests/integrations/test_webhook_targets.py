"""Webhooks reach only the public internet: a refused address is never connected to, neither
when a delivery is sent nor when a webhook is registered, and the address that was checked is
the address connected to (no DNS rebinding)."""

import socket
import ssl

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.services import ServiceError
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.targets import address_refused
from integrations.tasks import deliver_webhooks
from tests.integrations.test_webhooks import Receiver, endpoint_for

REFUSED = [
    "127.0.0.1", "::1", "0.0.0.0", "::ffff:127.0.0.1", "10.0.0.5", "172.16.0.1", "192.168.1.1",  # noqa: S104 - addresses refused, nothing binds
    "169.254.169.254", "100.100.100.200", "fd00::1", "224.0.0.1",
]  # fmt: skip
PUBLIC = "93.184.215.14"


def url_of(address: str, scheme: str = "http") -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{scheme}://{host}/hook"


def answers(*addresses: str, port: int = 80) -> list[tuple]:
    """What socket.getaddrinfo answers for a host with these addresses."""
    return [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
        if ":" in a
        else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
        for a in addresses
    ]


@pytest.fixture
def private_refused(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket is asked to connect to; none is reached."""
    asked = []

    def connect(sock, address):
        asked.append(address[0])
        raise ConnectionRefusedError

    def create_connection(address, *args, **kwargs):
        asked.append(address[0])
        raise ConnectionRefusedError

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return asked


def waiting_delivery(tenant, url: str) -> WebhookDelivery:
    """A delivery due now for an endpoint saved as is, e.g. before its host moved inside."""
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant, url=url, events=["contact.created"], secret="whsec_test"
    )
    return WebhookDelivery.objects.create(
        tenant=tenant, endpoint=endpoint, event="contact.created", contact_id=1,
        occurred_at=timezone.now(), next_attempt_at=timezone.now(),
    )  # fmt: skip


@pytest.mark.parametrize("address", REFUSED)
def test_a_refused_address_is_never_connected_to_and_the_log_says_why(
    tenant, private_refused, connections, address
):
    delivery = waiting_delivery(tenant, url_of(address))
    deliver_webhooks(tenant.pk)
    delivery.refresh_from_db()
    assert connections == []
    assert (delivery.status, delivery.attempts, delivery.last_status, delivery.last_error) == (
        "pending", 1, None, "refused_private",
    )  # fmt: skip


def test_a_host_with_any_inside_address_is_refused(
    tenant, private_refused, connections, monkeypatch
):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers(PUBLIC, "10.0.0.5"))
    delivery = waiting_delivery(tenant, "https://hooks.example.com/hook")
    deliver_webhooks(tenant.pk)
    delivery.refresh_from_db()
    assert (connections, delivery.last_error) == ([], "refused_private")


def test_the_checked_address_is_the_one_connected_to_whatever_dns_answers_next(
    tenant, private_refused, monkeypatch
):
    """First a public address, then 127.0.0.1 (rebinding): the connection goes to the public
    one, asking for the host by name. The receiver stands in for the public address."""
    lookups = iter([answers(PUBLIC), answers("127.0.0.1")])
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: next(lookups))
    connected = []
    real_connect = socket.socket.connect
    with Receiver() as receiver:

        def connect(sock, address):
            connected.append(address[0])
            real_connect(sock, ("127.0.0.1", receiver.server.server_port))

        monkeypatch.setattr(socket.socket, "connect", connect)
        delivery = waiting_delivery(tenant, "http://hooks.example.com/funnel-hook")
        deliver_webhooks(tenant.pk)
    delivery.refresh_from_db()
    assert connected == [PUBLIC]
    assert [(path, headers["Host"]) for path, headers, _b in receiver.received] == [
        ("/funnel-hook", "hooks.example.com")
    ]
    assert (delivery.status, delivery.last_status) == ("delivered", 200)


def test_https_checks_the_certificate_of_the_host_named_not_of_the_address(
    tenant, private_refused, monkeypatch
):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers(PUBLIC, port=443))
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: None)
    wrapped = []

    def wrap_socket(context, sock, server_hostname=None, **kwargs):
        wrapped.append((server_hostname, context.verify_mode, context.check_hostname))
        raise ssl.SSLCertVerificationError("certificate verify failed")

    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", wrap_socket)
    delivery = waiting_delivery(tenant, "https://hooks.example.com/hook")
    deliver_webhooks(tenant.pk)
    delivery.refresh_from_db()
    assert wrapped == [("hooks.example.com", ssl.CERT_REQUIRED, True)]
    assert delivery.last_error == "tls"


@pytest.mark.parametrize(
    "address",
    ["2002:7f00:1::1", "64:ff9b::a00:5", "100.64.0.1", "fd00:ec2::254", "fe80::1", "fec0::1",
     "240.0.0.1", "255.255.255.255", "::7f00:1"],
)  # fmt: skip
def test_addresses_that_hide_an_inside_one_are_refused(address):
    assert address_refused(address)


@pytest.mark.parametrize(
    "address", [PUBLIC, "::ffff:93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
)
def test_public_addresses_are_allowed(address):
    assert not address_refused(address)


# --- registering ---------------------------------------------------------------------------


@pytest.mark.parametrize("address", REFUSED)
def test_registering_a_refused_address_is_refused_and_nothing_is_saved(
    tenant, private_refused, connections, address
):
    with pytest.raises(ServiceError) as refused:
        endpoint_for(tenant, url_of(address, "https"))
    assert refused.value.message == (
        f"Refused: {address} is a private address. Webhooks are only sent to addresses on the "
        "public internet."
    )
    assert not WebhookEndpoint.objects.for_tenant(tenant).exists()
    assert connections == []


def test_registering_a_host_that_resolves_inside_is_refused(tenant, private_refused, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers("169.254.169.254"))
    with pytest.raises(ServiceError, match="hooks.example.com is a private address"):
        endpoint_for(tenant, "https://hooks.example.com/hook")
    assert not WebhookEndpoint.objects.for_tenant(tenant).exists()


def test_registering_a_host_that_cannot_be_found_is_refused(tenant, private_refused, monkeypatch):
    def unknown(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(ServiceError) as refused:
        endpoint_for(tenant, "https://nowhere.example.com/hook")
    assert refused.value.message == (
        "The host nowhere.example.com could not be found. Check the address."
    )
    assert not WebhookEndpoint.objects.for_tenant(tenant).exists()


def test_registering_a_public_host_works(tenant, private_refused, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers(PUBLIC))
    endpoint = endpoint_for(tenant, "https://hooks.example.com/hook")
    assert WebhookEndpoint.objects.for_tenant(tenant).get() == endpoint


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Refused: 127.0.0.1 is a private address."),
        ("zh-hans", "已拒绝：127.0.0.1 是内网地址。Webhook 只发送到公网地址。"),
    ],
)
def test_the_settings_page_says_why_an_address_is_refused_in_the_readers_language(
    admin_client, admin, tenant, private_refused, language, message
):
    admin.user.language = language
    admin.user.save()
    response = admin_client.post(
        reverse("webhook_endpoint_create", args=[tenant.slug]),
        {"url": "http://127.0.0.1:8000/hook", "events": ["contact.created"]},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize(
    ("language", "reason"), [("en", "refused: private address"), ("zh-hans", "已拒绝：内网地址")]
)
def test_the_log_shows_the_refusal_in_the_readers_language(
    admin_client, admin, tenant, private_refused, connections, language, reason
):
    admin.user.language = language
    admin.user.save()
    delivery = waiting_delivery(tenant, "http://169.254.169.254/latest/meta-data/")
    deliver_webhooks(tenant.pk)
    page = admin_client.get(
        reverse("webhook_endpoint_detail", args=[tenant.slug, delivery.endpoint_id])
    )
    assert reason in page.content.decode()
    assert "refused_private" not in page.content.decode()
