"""The outbound host policy: the ticketing host must resolve to public addresses only.

Checked when a Manager connects (the form) and again at every TCP connection the client makes
(DNS answers can change after the check). A real listener on 127.0.0.1 counts connections, so
"refused" means no TCP connection was ever attempted, not merely that a request failed.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from anomalies.services import acknowledge_anomaly
from integrations.connectors import Credentials
from integrations.forms import ConnectForm
from integrations.host_policy import HostNotAllowed, HostPolicy, is_public_address
from integrations.jira import JiraClient, JiraError, JiraHostNotAllowed, JiraUnavailable
from integrations.jira.connector import jira_client
from integrations.jira.errors import HINT_HOST_NOT_ALLOWED
from integrations.models import Connector, SyncEvent, SyncState, TicketingIntegration
from integrations.services import sync
from tests.api import api_client
from tests.conftest import SIM_EMAIL, SIM_TOKEN, make_link
from tests.test_settings import run_check

REAL_GETADDRINFO = socket.getaddrinfo
PUBLIC_IP = "185.166.143.1"  # any global unicast address; nothing connects to it here
NOT_ALLOWED = "is not allowed: it resolves to a private or reserved address."

# Names the fake resolver answers; everything else goes to the real resolver.
FAKE_NAMES = {
    "localhost.": ["127.0.0.1"],
    "jira.localtest.me": ["127.0.0.1"],
    "metadata.google.internal": ["169.254.169.254"],
    "jira.corp.internal": ["10.20.30.40"],
    "intranet": ["192.168.1.10"],
    "carrier.example": ["100.64.0.7"],
    "v6only.internal": ["fd12:3456::1"],
    "half-public.example": [PUBLIC_IP, "10.0.0.1"],
    "your-domain.atlassian.net": [PUBLIC_IP],
}
REFUSED_HOSTS = [
    # loopback, in every spelling a resolver accepts
    "localhost",
    "localhost.",
    "LOCALHOST",
    "jira.localtest.me",
    "127.0.0.1",
    "127.1",
    "127.000.000.001",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::1]",
    # unspecified: connecting to it reaches this machine
    "0",
    "0.0.0.0",
    "[::]",
    # private, link-local (cloud metadata), CGNAT, benchmarking, multicast, reserved
    "10.0.0.1",
    "172.16.5.4",
    "192.168.0.1",
    "169.254.169.254",
    "metadata.google.internal",
    "100.64.0.1",
    "198.18.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b:1::a00:1]",
    "[2002:a9fe:a9fe::1]",
    "[fc00::1]",
    "[fd00:ec2::254]",
    "[fe80::1]",
    "[fec0::1]",
    "[3fff::1]",
    "[ff02::1]",
    "[2001::1]",
    # internal names, and a name with one private address among public ones
    "jira.corp.internal",
    "intranet",
    "carrier.example",
    "v6only.internal",
    "half-public.example",
]
PUBLIC_HOSTS = [
    "your-domain.atlassian.net",
    PUBLIC_IP,
    "[2606:4700:4700::1111]",
    "[::ffff:185.166.143.1]",
    "[64:ff9b::b9a6:8f01]",
]
# Spellings that reach the IPv4 listener on 127.0.0.1 if anything connects.
LISTENER_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "localhost.",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "jira.localtest.me",
]


class Listener:
    """A TCP socket listening on 127.0.0.1 that never answers; counts connections made."""

    def __init__(self, server: socket.socket) -> None:
        self.server = server
        self.port = server.getsockname()[1]
        self.accepted = 0

    def connections(self) -> int:
        """Connections made so far: the kernel queues each one whether or not we accept."""
        self.server.setblocking(False)
        while True:
            try:
                conn, _ = self.server.accept()
            except BlockingIOError:
                return self.accepted
            conn.close()
            self.accepted += 1


@pytest.fixture
def listener() -> Iterator[Listener]:
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield Listener(server)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str] | Callable[[], list[str]]]:
    """A resolver the test controls: name -> addresses (or a function giving them)."""
    answers: dict[str, list[str] | Callable[[], list[str]]] = dict(FAKE_NAMES)

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        answer = answers.get(str(host).lower())
        if answer is None:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        addresses = answer() if callable(answer) else answer
        found = []
        for address in addresses:
            try:
                found += REAL_GETADDRINFO(address, port, family, type, proto, socket.AI_NUMERICHOST)
            except socket.gaierror:  # an IPv6 answer to an IPv4-only question
                continue
        return found

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def strict(settings):
    """Production: no loopback flag, nothing opened by the operator."""
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = False
    settings.TICKETING_ALLOWED_PRIVATE_HOSTS = []
    settings.JIRA_CONNECT_TIMEOUT = 0.5
    settings.JIRA_READ_TIMEOUT = 0.5
    return settings


def form_errors(host_url: str) -> list[str]:
    form = ConnectForm(
        {
            "host_url": host_url,
            "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
            "default_project_key": "DQ",
        }
    )
    return [] if form.is_valid() else form.errors.get("host_url", [])


def client_error(host_url: str) -> JiraError:
    with (
        jira_client(host_url, Credentials(SIM_EMAIL, SIM_TOKEN)) as client,
        pytest.raises(JiraError) as caught,
    ):
        client.get_myself()
    return caught.value


def bare_host(host: str) -> str:
    return host.strip("[]").lower()


# --- the table of spellings -------------------------------------------------------------


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_it_refuses_every_private_spelling_in_the_connect_form(host, strict, dns, db):
    errors = form_errors(f"https://{host}")

    assert errors == [f"The host {bare_host(host)} {NOT_ALLOWED}"]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_it_refuses_every_private_spelling_at_connection_time(host, strict, dns, listener):
    error = client_error(f"https://{host}:{listener.port}")

    assert isinstance(error, JiraHostNotAllowed)
    assert NOT_ALLOWED in error.message and error.hint == HINT_HOST_NOT_ALLOWED
    assert error.permanent and not error.outcome_unknown
    assert listener.connections() == 0


@pytest.mark.parametrize("host", PUBLIC_HOSTS)
def test_it_accepts_public_hosts(host, strict, dns, db):
    assert form_errors(f"https://{host}") == []


def test_it_says_when_a_name_does_not_resolve(strict, dns, db):
    dns["nowhere.example"] = []

    assert form_errors("https://nowhere.example") == [
        "The host nowhere.example could not be resolved."
    ]


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"],
)
def test_it_judges_ipv6_forms_of_a_public_ipv4_address_by_that_address(address):
    assert is_public_address(ipaddress.ip_address(address))


# --- no TCP connection to a refused address ---------------------------------------------


@pytest.mark.parametrize("host", LISTENER_SPELLINGS)
def test_it_makes_no_connection_when_the_connect_page_refuses(
    client, manager, strict, dns, listener, host
):
    client.force_login(manager)

    response = client.post(
        reverse("integrations:connect"),
        {
            "host_url": f"https://{host}:{listener.port}",
            "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
            "default_project_key": "DQ",
        },
    )

    assert response.status_code == HTTPStatus.OK
    assert NOT_ALLOWED in response.text
    assert not TicketingIntegration.objects.exists()
    assert listener.connections() == 0


def test_it_refuses_in_the_api_too(client, manager, strict, listener):
    response = api_client(client, manager).post(
        reverse("integrations_api:integration"),
        {
            "host_url": f"https://169.254.169.254:{listener.port}",
            "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
            "default_project_key": "DQ",
        },
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert NOT_ALLOWED in response.text
    assert not TicketingIntegration.objects.exists()


def rebinding(answers: list[list[str]]) -> Callable[[], list[str]]:
    """A DNS answer that changes: the first lookups get the first answers, then the last."""
    lookups: list[list[str]] = []

    def answer() -> list[str]:
        lookups.append(answers[min(len(lookups), len(answers) - 1)])
        return lookups[-1]

    answer.lookups = lookups  # type: ignore[attr-defined]
    return answer


def test_it_refuses_a_host_that_rebinds_to_loopback_after_the_form_check(
    client, manager, strict, dns, listener
):
    dns["rebind.example"] = answer = rebinding([[PUBLIC_IP], ["127.0.0.1"]])
    client.force_login(manager)

    response = client.post(
        reverse("integrations:connect"),
        {
            "host_url": f"https://rebind.example:{listener.port}",
            "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
            "default_project_key": "DQ",
        },
    )

    assert answer.lookups == [[PUBLIC_IP], ["127.0.0.1"]]  # form check passed, then connect
    assert "Host not allowed — nothing was saved." in response.text
    assert f"The host rebind.example {NOT_ALLOWED}" in response.text
    assert not TicketingIntegration.objects.exists()
    assert listener.connections() == 0


def test_it_fails_sync_for_good_when_a_connected_host_rebinds_inside(
    anomaly, member_author, manager, strict, dns, listener, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    dns["rebind.example"] = rebinding([["127.0.0.1"]])
    integration = stored_integration(f"https://rebind.example:{listener.port}", manager)
    link = make_link(anomaly, integration, "DQ-1")
    enqueued: list[tuple[int, float | None]] = []
    monkeypatch.setattr(
        sync, "enqueue_delivery", lambda pk, *, countdown=None: enqueued.append((pk, countdown))
    )
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)
    (event,) = SyncEvent.objects.filter(link=link)
    enqueued.clear()

    outcome = sync.deliver_sync_event(event.pk)

    event.refresh_from_db()
    assert outcome == "failed" and event.state == SyncState.FAILED
    assert f"The host rebind.example {NOT_ALLOWED}" in event.finished_reason
    assert HINT_HOST_NOT_ALLOWED in event.finished_reason
    assert event.pk not in [pk for pk, _ in enqueued]  # not retried
    assert listener.connections() == 0


def stored_integration(host_url: str, by) -> TicketingIntegration:
    return TicketingIntegration.objects.create(
        connector=Connector.JIRA,
        host_url=host_url,
        credentials=f"{SIM_EMAIL}:{SIM_TOKEN}",
        default_project_key="DQ",
        connected_by=by,
        connected_at=timezone.now(),
    )


def test_the_test_button_refuses_a_stored_host_the_policy_no_longer_opens(
    client, manager, strict, listener
):
    integration = stored_integration(f"https://127.0.0.1:{listener.port}", manager)
    client.force_login(manager)

    response = client.post(reverse("integrations:test", args=[integration.pk]), follow=True)

    integration.refresh_from_db()
    assert escape(HINT_HOST_NOT_ALLOWED) in response.text
    assert integration.last_test_ok is False
    assert NOT_ALLOWED in integration.last_test_checks[0]["detail"]
    assert listener.connections() == 0


def test_an_edit_refuses_a_stored_host_the_policy_no_longer_opens(
    client, manager, strict, listener
):
    integration = stored_integration(f"https://127.0.0.1:{listener.port}", manager)
    client.force_login(manager)

    response = client.post(
        reverse("integrations:edit", args=[integration.pk]), {"default_project_key": "OPS"}
    )

    integration.refresh_from_db()
    assert escape(HINT_HOST_NOT_ALLOWED) in response.text and NOT_ALLOWED in response.text
    assert integration.default_project_key == "DQ"
    assert listener.connections() == 0


def test_the_api_answers_502_not_400_for_a_refused_host(
    client, member_author, anomaly, manager, strict, listener
):
    stored_integration(f"https://127.0.0.1:{listener.port}", manager)

    response = api_client(client, member_author).post(
        reverse("integrations_api:ticket_links", args=[anomaly.pk]), {"issue": "DQ-2"}
    )

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert NOT_ALLOWED in response.json()["error"]
    assert listener.connections() == 0


# --- what the operator opens ------------------------------------------------------------


def test_it_opens_exactly_the_named_private_host(strict, dns, listener, db):
    strict.TICKETING_ALLOWED_PRIVATE_HOSTS = ["jira.corp.internal"]
    for name in ("jira.corp.internal", "jira.corp.internal.", "other.corp.internal"):
        dns[name] = ["127.0.0.1"]

    assert form_errors("https://jira.corp.internal") == []
    assert form_errors("https://JIRA.corp.internal.") == []
    assert form_errors("https://other.corp.internal") == [
        f"The host other.corp.internal {NOT_ALLOWED}"
    ]
    assert form_errors("https://127.0.0.1") == [f"The host 127.0.0.1 {NOT_ALLOWED}"]

    refused = client_error(f"https://other.corp.internal:{listener.port}")
    assert isinstance(refused, JiraHostNotAllowed) and listener.connections() == 0
    allowed = client_error(f"https://jira.corp.internal:{listener.port}")
    assert isinstance(allowed, JiraUnavailable)  # it connected; our listener speaks no TLS
    assert listener.connections() == 1


def test_it_opens_exactly_the_named_range(strict, dns, db):
    strict.TICKETING_ALLOWED_PRIVATE_HOSTS = ["10.20.0.0/16", "192.168.7.7"]

    assert form_errors("https://jira.corp.internal") == []  # 10.20.30.40
    assert form_errors("https://10.20.255.1") == []
    assert form_errors("https://192.168.7.7") == []
    assert form_errors("https://[::ffff:10.20.0.1]") == []
    assert form_errors("https://10.21.0.1") == [f"The host 10.21.0.1 {NOT_ALLOWED}"]
    assert form_errors("https://192.168.7.8") == [f"The host 192.168.7.8 {NOT_ALLOWED}"]
    assert form_errors("https://169.254.169.254") == [f"The host 169.254.169.254 {NOT_ALLOWED}"]


def test_the_loopback_flag_opens_loopback_and_nothing_else(strict, dns, db):
    strict.JIRA_ALLOW_INSECURE_LOOPBACK = True

    for url in ("http://127.0.0.1:8089", "http://localhost:8089", "http://[::1]:8089"):
        assert form_errors(url) == [], url
    for host in ("127.1", "2130706433", "[::ffff:127.0.0.1]", "localhost."):
        assert form_errors(f"https://{host}") == [], host
    for host in ("0.0.0.0", "10.0.0.1", "169.254.169.254", "jira.corp.internal", "[fc00::1]"):
        assert form_errors(f"https://{host}") == [f"The host {bare_host(host)} {NOT_ALLOWED}"]


def test_a_malformed_allow_list_entry_stops_start_up():
    result = run_check(
        DEBUG="1", TICKETING_ALLOWED_PRIVATE_HOSTS="jira.corp.internal,http://10.0.0.1/x"
    )

    assert result.returncode != 0
    assert "TICKETING_ALLOWED_PRIVATE_HOSTS: Not a host name" in result.stderr
    assert "'http://10.0.0.1/x'" in result.stderr
    fine = run_check(DEBUG="1", TICKETING_ALLOWED_PRIVATE_HOSTS="jira.corp.internal,10.0.0.0/8")
    assert fine.returncode == 0, fine.stderr


def test_it_reads_names_addresses_and_ranges():
    policy = HostPolicy.from_entries([" Jira.Corp. ", "[fd00::1]", "10.0.0.0/8", ""])

    assert policy.allowed_names == frozenset({"jira.corp"})
    assert [str(network) for network in policy.allowed_networks] == ["fd00::1/128", "10.0.0.0/8"]


# --- refusals say nothing about the port -------------------------------------------------


def test_a_refusal_reads_the_same_whether_the_port_is_open_or_closed(
    strict, listener, closed_port, db
):
    open_url, closed_url = (f"https://127.0.0.1:{port}" for port in (listener.port, closed_port))

    assert form_errors(open_url) == form_errors(closed_url) == [f"The host 127.0.0.1 {NOT_ALLOWED}"]
    at_open, at_closed = client_error(open_url), client_error(closed_url)
    assert type(at_open) is type(at_closed) is JiraHostNotAllowed
    assert (at_open.message, at_open.hint) == (at_closed.message, at_closed.hint)
    assert listener.connections() == 0


def test_it_resolves_at_every_connection(dns):
    dns["flip.example"] = answer = rebinding([[PUBLIC_IP], ["10.0.0.1"]])
    policy = HostPolicy()

    assert policy.resolve("flip.example", 443)
    with pytest.raises(HostNotAllowed):
        policy.resolve("flip.example", 443)
    assert len(answer.lookups) == 2


def test_it_ignores_proxies_from_the_environment(jira_sim, listener, monkeypatch):
    proxy = f"http://127.0.0.1:{listener.port}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    policy = HostPolicy(allow_loopback=True)

    with JiraClient(jira_sim.url, SIM_EMAIL, SIM_TOKEN, host_policy=policy) as client:
        assert client.get_myself().display_name

    assert listener.connections() == 0


# --- TLS still checks the name, though the socket goes to the vetted address -------------


def self_signed(name: str, folder) -> tuple[str, str]:
    """A certificate for ``name`` and its key, as PEM files; the certificate is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@contextmanager
def tls_jira(cert_path: str, key_path: str) -> Iterator[tuple[int, list[dict]]]:
    """An HTTPS server on 127.0.0.1 answering /myself; records each request's SNI and Host."""
    seen: list[dict] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    sni: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"sni": sni[-1] if sni else None, "host": self.headers["Host"]})
            body = json.dumps({"accountId": "1", "displayName": "Quality Bot"}).encode()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_it_keeps_the_name_for_sni_certificates_and_host(strict, dns, tmp_path, monkeypatch):
    strict.TICKETING_ALLOWED_PRIVATE_HOSTS = ["jira.corp.internal", "impostor.corp.internal"]
    dns["jira.corp.internal"] = dns["impostor.corp.internal"] = ["127.0.0.1"]
    cert_path, key_path = self_signed("jira.corp.internal", tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert_path)

    with tls_jira(cert_path, key_path) as (port, seen):
        with jira_client(f"https://jira.corp.internal:{port}", Credentials("a@b.c", "t")) as jira:
            assert jira.get_myself().display_name == "Quality Bot"
        impostor = client_error(f"https://impostor.corp.internal:{port}")

    assert seen == [{"sni": "jira.corp.internal", "host": f"jira.corp.internal:{port}"}]
    assert isinstance(impostor, JiraUnavailable) and "TLS handshake failed" in impostor.message
