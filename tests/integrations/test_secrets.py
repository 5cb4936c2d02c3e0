"""The sentinel test: a recognisable API token goes in and must never come out — not in a
page, a form, an admin page, a message, a log line, an error, or a database row (PRODUCT §3:
credentials "never appear in any page, form, API response, admin page, log line, error
message or task argument")."""

import base64
import hashlib
import hmac
import json
import logging
import pickle
import time
import traceback
from collections.abc import Callable

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse

from anomalies.models import Tag
from anomalies.services import comment_on_anomaly
from integrations import services
from integrations.jira import JiraClient, JiraError
from integrations.jira import webhook as webhooks
from integrations.jira.connector import client_for, jira_client
from integrations.models import CredentialsUnreadable, SyncEvent, TicketingIntegration
from integrations.services import alerts
from integrations.services.health import stamp_worker_heartbeat
from tests.integrations.connection_support import (
    closed_port_url,
    make_jira_time_out,
    read_raw_credentials,
)

SENTINEL_EMAIL = "sentinel@example.com"
SENTINEL_TOKEN = "SENTINEL-TOKEN-9b1f"
SENTINEL_PAIR = f"{SENTINEL_EMAIL}:{SENTINEL_TOKEN}"
SENTINEL_BASE64 = base64.b64encode(SENTINEL_PAIR.encode()).decode()
# The Jira webhook's secret, and the signature of one delivery made with it.
SENTINEL_WEBHOOK_SECRET = "SENTINEL-WEBHOOK-SECRET-5c2e"
WEBHOOK_BODY = json.dumps(
    {
        "timestamp": int(time.time() * 1000),  # a fresh event: older ones are refused
        "webhookEvent": "jira:issue_updated",
        "issue": {"id": "1", "key": "DQ-1"},
    }
).encode()
SENTINEL_SIGNATURE = hmac.new(
    SENTINEL_WEBHOOK_SECRET.encode(), WEBHOOK_BODY, hashlib.sha256
).hexdigest()
SECRETS = (
    SENTINEL_TOKEN,
    SENTINEL_PAIR,
    SENTINEL_BASE64,
    SENTINEL_WEBHOOK_SECRET,
    SENTINEL_SIGNATURE,
)
# What a careless Jira (or proxy) might send back: the secrets inside an error body.
ECHOED = f"Bad login {SENTINEL_PAIR} (Authorization: Basic {SENTINEL_BASE64})"
PERSONAS = ["admin", "manager", "member_author", "member_reporter", "outsider"]


class Transcript:
    """Everything the app showed or said, each piece labelled with where it came from."""

    def __init__(self) -> None:
        self.pieces: list[tuple[str, str]] = []

    def add(self, where: str, text: str) -> None:
        self.pieces.append((where, text))

    def add_response(self, where: str, response) -> None:
        self.add(f"{where} (body)", response.content.decode())
        self.add(f"{where} (headers)", str(response.headers))
        self.add(f"{where} (cookies)", str(response.cookies))

    def add_logs(self, caplog) -> None:
        for record in caplog.records:
            self.add(f"log {record.name}", f"{record.getMessage()} {record.exc_text or ''}")
        self.add("logs as formatted", caplog.text)

    def leaks(self) -> list[str]:
        return [where for where, text in self.pieces if any(s in text for s in SECRETS)]


@pytest.fixture
def debug_logs(caplog):
    """Every logger at DEBUG, SQL statements with their parameters included."""
    for name in (None, "urllib3", "requests", "django", "django.db.backends", "integrations"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False


@pytest.fixture
def sentinel_account(jira_sim):
    jira_sim.control.add_account(SENTINEL_EMAIL, SENTINEL_TOKEN, display_name="Sentinel Bot")


@pytest.fixture
def sentinel_integration(client, manager, jira_sim, sentinel_account) -> TicketingIntegration:
    """Connected through the Connect page, as a Manager would."""
    client.force_login(manager)
    form = {"host_url": jira_sim.url, "credentials": SENTINEL_PAIR, "default_project_key": "DQ"}
    client.post(reverse("integrations:connect"), form)
    client.logout()
    return TicketingIntegration.objects.get()


def fail_with(status: int, path_regex: str) -> Callable:
    """An arrangement: Jira answers ``status`` with a body echoing the secrets."""

    def arrange(request) -> None:
        jira_sim = request.getfixturevalue("jira_sim")
        body = echoed_body(status)
        jira_sim.control.add_fault(status=status, path_regex=path_regex, count=10, body=body)

    return arrange


def time_out(request) -> None:
    make_jira_time_out(request, r"/rest/api/3/", count=10)


def echoed_body(status: int) -> dict:
    return {"errorMessages": [ECHOED], "errors": {"summary": ECHOED}, "status": status}


CONNECTION_FAILURES = {
    "401": fail_with(401, r"/myself$"),
    "403": fail_with(403, r"/project/DQ$"),
    "404 site": fail_with(404, r"/myself$"),
    "404 project": fail_with(404, r"/project/DQ$"),
    "404 issue types": fail_with(404, r"/issuetypes$"),
    "503": fail_with(503, r"/myself$"),
    "timeout": time_out,
}


def assert_no_leaks(transcript: Transcript, caplog) -> None:
    transcript.add_logs(caplog)
    assert transcript.pieces, "nothing was captured"
    assert transcript.leaks() == []


# --- pages ------------------------------------------------------------------------------


@pytest.fixture
def every_kind_of_row(
    client, manager, anomaly, sentinel_integration, jira_sim, monkeypatch
) -> None:
    """Rows for the admin to show: a ticket created through the page (a TicketLink), a
    comment owed to Jira (a SyncEvent), a Jira webhook set up in Settings and one delivery
    (a WebhookDelivery), history, a tag, a group."""
    client.force_login(manager)
    monkeypatch.setattr(webhooks, "new_webhook_secret", lambda: SENTINEL_WEBHOOK_SECRET)
    client.post(reverse("integrations:webhook_set_up", args=[sentinel_integration.pk]))
    client.post(
        reverse("integrations:jira_webhook", args=[sentinel_integration.pk]),
        WEBHOOK_BODY,
        content_type="application/json",
        headers={"X-Hub-Signature": f"sha256={SENTINEL_SIGNATURE}"},
    )
    create = reverse("integrations:create", args=[anomaly.pk])
    ticket = {"create": "1", "project": "DQ", "issue_type": "10001", "summary": "Null ids"}
    client.post(create, ticket)
    comment_on_anomaly(anomaly, by=manager, text="Please look at this")
    stamp_worker_heartbeat()  # a sweep ran
    alerts.raise_alert(alerts.Alert("test", "An alert", "about nothing", "/"), [manager])
    Tag.objects.create(name="pii")
    Group.objects.create(name="Auditors")
    client.logout()
    ticketing_models = apps.get_app_config("integrations").get_models()
    assert all(model._default_manager.exists() for model in ticketing_models)


def admin_urls() -> list[str]:
    """The admin index, every registered model's list, and its first row when it has one."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{prefix}_change", args=[first.pk]))
    return urls


def app_urls(anomaly, integration) -> list[str]:
    return [
        reverse("anomalies:list"),
        reverse("anomalies:detail", args=[anomaly.pk]),
        reverse("integrations:list"),
        reverse("integrations:edit", args=[integration.pk]),
        reverse("integrations:disconnect", args=[integration.pk]),
        reverse("integrations:create", args=[anomaly.pk]),
        reverse("integrations:search", args=[anomaly.pk]) + "?q=null",
        reverse("integrations:healthz"),
        reverse("integrations:metrics"),
    ]


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_shows_the_token_on_no_page_to_any_persona(
    client, request, persona, anomaly, sentinel_integration, every_kind_of_row, debug_logs
):
    client.force_login(request.getfixturevalue(persona))
    transcript = Transcript()

    for url in app_urls(anomaly, sentinel_integration) + admin_urls():
        transcript.add_response(f"GET {url}", client.get(url, follow=True))

    assert_no_leaks(transcript, debug_logs)


# --- connection error paths -------------------------------------------------------------


@pytest.mark.parametrize("failure", CONNECTION_FAILURES)
def test_it_keeps_the_token_out_of_every_connection_error(
    client, request, manager, jira_sim, sentinel_account, debug_logs, failure
):
    CONNECTION_FAILURES[failure](request)
    client.force_login(manager)
    form = {"host_url": jira_sim.url, "credentials": SENTINEL_PAIR, "default_project_key": "DQ"}
    transcript = Transcript()

    connecting = client.post(reverse("integrations:connect"), form, follow=True)

    transcript.add_response("Connect", connecting)
    assert " — nothing was saved." in connecting.text
    assert_no_leaks(transcript, debug_logs)


def test_it_keeps_the_token_out_of_a_refused_connection(
    client, manager, jira_sim, sentinel_account, debug_logs
):
    client.force_login(manager)
    form = {
        "host_url": closed_port_url(),
        "credentials": SENTINEL_PAIR,
        "default_project_key": "DQ",
    }
    transcript = Transcript()

    connecting = client.post(reverse("integrations:connect"), form)

    transcript.add_response("Connect", connecting)
    assert "Could not talk to Jira" in connecting.text
    assert_no_leaks(transcript, debug_logs)


@pytest.mark.parametrize("failure", CONNECTION_FAILURES)
def test_it_keeps_the_token_out_of_test_and_edit_failures(
    client, request, manager, jira_sim, sentinel_integration, debug_logs, failure
):
    CONNECTION_FAILURES[failure](request)
    client.force_login(manager)
    pk = sentinel_integration.pk
    transcript = Transcript()

    tested = client.post(reverse("integrations:test", args=[pk]), follow=True)
    edited = client.post(
        reverse("integrations:edit", args=[pk]),
        {"credentials": "", "default_project_key": "DQ"},
        follow=True,
    )

    transcript.add_response("Test connection", tested)
    transcript.add_response("Edit", edited)
    assert "Connection test failed." in tested.text
    assert_no_leaks(transcript, debug_logs)


def test_it_keeps_the_token_out_of_rejected_ticket_fields(
    client, request, manager, anomaly, sentinel_integration, debug_logs
):
    fail_with(400, r"/rest/api/3/issue$")(request)
    client.force_login(manager)
    ticket = {"create": "1", "project": "DQ", "issue_type": "10001", "summary": "Null ids"}
    transcript = Transcript()

    created = client.post(reverse("integrations:create", args=[anomaly.pk]), ticket)

    transcript.add_response("Create ticket", created)
    assert "Bad login [redacted]" in created.text  # Jira's field error, shown, scrubbed
    assert_no_leaks(transcript, debug_logs)


@pytest.mark.parametrize("failure", ["401", "timeout"])
def test_it_keeps_the_token_out_of_ticket_pages_when_jira_fails(
    client, request, manager, anomaly, sentinel_integration, debug_logs, failure
):
    {"401": fail_with(401, r"/rest/api/3/"), "timeout": time_out}[failure](request)
    shown_failure = {"401": "Jira rejected the credentials.", "timeout": "Jira did not answer"}
    client.force_login(manager)
    transcript = Transcript()

    pages = {
        "Create ticket": client.get(reverse("integrations:create", args=[anomaly.pk]), follow=True),
        "Link": client.post(
            reverse("integrations:link", args=[anomaly.pk]), {"query": "DQ-1"}, follow=True
        ),
        "Search": client.get(reverse("integrations:search", args=[anomaly.pk]) + "?q=null"),
    }

    for where, response in pages.items():
        transcript.add_response(where, response)
        assert shown_failure[failure] in response.text, where
    assert_no_leaks(transcript, debug_logs)


def test_it_keeps_the_token_out_of_a_sync_paused_by_jira(
    client, request, manager, anomaly, sentinel_integration, every_kind_of_row, debug_logs
):
    fail_with(401, r"/comment$")(request)
    event = SyncEvent.objects.get()

    outcome = services.deliver_sync_event(event.pk)

    assert outcome == "paused"
    client.force_login(manager)
    transcript = Transcript()
    for url in (reverse("integrations:list"), reverse("anomalies:detail", args=[anomaly.pk])):
        transcript.add_response(f"GET {url}", client.get(url))
    assert "Needs attention" in transcript.pieces[0][1]
    assert_no_leaks(transcript, debug_logs)


# --- objects: reprs and raised errors -------------------------------------------------


def errors_from_every_failure(request, jira_sim) -> list[Exception]:
    """What the client raises, for every failure it can meet."""
    raised: list[Exception] = []
    calls = {
        "401": lambda client: client.get_myself(),
        "403": lambda client: client.get_project("DQ"),
        "404 site": lambda client: client.get_myself(),
        "404 project": lambda client: client.get_project("DQ"),
        "404 issue types": lambda client: client.get_issue_types("DQ"),
        "503": lambda client: client.get_myself(),
        "timeout": lambda client: client.get_myself(),
    }
    for failure, call in calls.items():
        jira_sim.control.clear_faults()
        CONNECTION_FAILURES[failure](request)
        raised.append(_raised_by(call, jira_sim.url))
    raised.append(_raised_by(lambda client: client.get_myself(), closed_port_url()))
    jira_sim.control.clear_faults()
    fail_with(400, r"/rest/api/3/issue$")(request)
    raised.append(_raised_by(lambda client: client.create_issue({"summary": "x"}), jira_sim.url))
    return raised


def _raised_by(call: Callable, host_url: str) -> Exception:
    credentials = services.Credentials(SENTINEL_EMAIL, SENTINEL_TOKEN)
    with jira_client(host_url, credentials) as client:
        try:
            call(client)
        except JiraError as error:
            return error
    raise AssertionError(f"{call} did not fail")


def describe_error(error: BaseException) -> str:
    """What a log line, a traceback or a Celery result could carry of an error."""
    return "\n".join(
        [
            str(error),
            repr(error),
            repr(vars(error)),
            "".join(traceback.format_exception(error)),
            repr(pickle.dumps(error)),
        ]
    )


def test_it_keeps_the_token_out_of_every_raised_error(
    request, jira_sim, sentinel_account, debug_logs
):
    errors = errors_from_every_failure(request, jira_sim)
    transcript = Transcript()

    for error in errors:
        transcript.add(f"{type(error).__name__}: {error}", describe_error(error))

    assert len(errors) == len(CONNECTION_FAILURES) + 2
    assert_no_leaks(transcript, debug_logs)


def test_it_keeps_the_token_out_of_service_errors(
    request, manager, anomaly, jira_sim, sentinel_integration, debug_logs
):
    fail_with(400, r"/rest/api/3/issue$")(request)
    new_issue = services.NewTicket(scope="DQ", summary="Null ids", values={"issue_type": "10001"})
    transcript = Transcript()

    with pytest.raises(services.TicketError) as rejected:
        services.create_ticket(anomaly, new_issue, integration=sentinel_integration, by=manager)
    with pytest.raises(services.AlreadyConnected) as refused:
        services.connect_integration(
            host_url=jira_sim.url,
            credentials=services.Credentials(SENTINEL_EMAIL, SENTINEL_TOKEN),
            default_project_key="DQ",
            report=services.ConnectionReport([]),
            by=manager,
        )

    for error in (rejected.value, refused.value, CredentialsUnreadable()):
        transcript.add(type(error).__name__, describe_error(error))
    assert_no_leaks(transcript, debug_logs)


def test_it_keeps_the_token_out_of_reprs(jira_sim, sentinel_integration, debug_logs):
    credentials = services.Credentials(SENTINEL_EMAIL, SENTINEL_TOKEN)
    report = services.check_connection(jira_sim.url, credentials, "DQ")
    transcript = Transcript()

    with client_for(sentinel_integration) as client:
        transcript.add("repr(client)", repr(client))
        transcript.add("str(client)", str(client))
    transcript.add("repr(integration)", repr(sentinel_integration))
    transcript.add("str(integration)", str(sentinel_integration))
    transcript.add("repr(credentials)", repr(credentials))
    transcript.add("repr(report)", repr(report))
    transcript.add("stored checks", repr(sentinel_integration.last_test_checks))

    assert report.ok
    assert isinstance(client, JiraClient)
    assert_no_leaks(transcript, debug_logs)


# --- the database -------------------------------------------------------------------------


def test_it_stores_no_plaintext_in_the_credentials_column(sentinel_integration):
    stored = read_raw_credentials(sentinel_integration.pk)

    for plaintext in (SENTINEL_TOKEN, SENTINEL_EMAIL, SENTINEL_PAIR, SENTINEL_BASE64):
        assert plaintext.encode() not in stored
    assert sentinel_integration.credentials == SENTINEL_PAIR  # and yet it reads back


def all_rows_as_text() -> dict[str, str]:
    quote = connection.ops.quote_name
    rows = {}
    with connection.cursor() as cursor:
        for model in apps.get_models():
            cursor.execute(f"SELECT * FROM {quote(model._meta.db_table)}")
            rows[model._meta.db_table] = repr(cursor.fetchall())
    return rows


def test_it_writes_the_token_to_no_table(
    client, request, manager, sentinel_integration, every_kind_of_row
):
    fail_with(401, r"/rest/api/3/")(request)
    client.force_login(manager)
    client.post(reverse("integrations:test", args=[sentinel_integration.pk]))
    services.deliver_sync_event(SyncEvent.objects.get().pk)

    leaking_tables = [
        table
        for table, text in all_rows_as_text().items()
        if any(secret in text for secret in (*SECRETS, SENTINEL_EMAIL))
    ]

    assert leaking_tables == []
