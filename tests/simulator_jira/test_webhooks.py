"""Admin webhooks (docs/jira-api.md §4): registration through the control API, and what a receiver
gets: v2-style payloads, the HMAC signature, the delivery identifier, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from simulators.jira import ControlAPIError, JiraSimulator, SimulatorControl

from .conftest import JiraClient, adf

SECRET = "webhook-secret-1"
UPDATED, DELETED = "jira:issue_updated", "jira:issue_deleted"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A tiny HTTP server that records each POST and answers the next scripted status."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # then 200 for ever
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.received.append(Received(headers, body))
            return self.answers.pop(0) if self.answers else HTTPStatus.OK


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            self.send_response(receiver.record(headers, body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(receiver))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


def delivered(control: SimulatorControl, receiver: Receiver, count: int) -> list[Received]:
    control.wait_for_webhook_deliveries(count)
    return receiver.received


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- payloads and headers ------------------------------------------------------------------


def test_it_posts_a_signed_v2_payload_when_an_issue_is_transitioned(
    sim: JiraSimulator, control: SimulatorControl, receiver: Receiver
) -> None:
    control.add_webhook(receiver.url, secret=SECRET)

    control.move_issue("DQ-1", status="In Progress")

    [request] = delivered(control, receiver, 1)
    assert request.headers["x-hub-signature"] == signature(request.body)
    assert request.headers["user-agent"] == "Atlassian Webhook HTTP Client"
    assert request.headers["content-type"].startswith("application/json")
    assert "x-atlassian-webhook-retry" not in request.headers
    payload = request.payload
    assert payload["webhookEvent"] == UPDATED
    assert payload["issue_event_type_name"] == "issue_generic"
    assert isinstance(payload["timestamp"], int)
    assert payload["user"]["accountId"] == "712020:sim-alice"
    issue = payload["issue"]
    assert (issue["key"], issue["self"]) == ("DQ-1", f"{sim.site_url}/rest/api/2/{issue['id']}")
    status = issue["fields"]["status"]
    assert status["name"] == "In Progress"
    assert status["statusCategory"]["key"] == "indeterminate"
    assert "/rest/api/3/" not in request.body.decode()
    assert isinstance(issue["fields"]["description"], str)  # v2: plain text, not ADF
    [item] = payload["changelog"]["items"]
    assert (item["field"], item["fromString"], item["toString"]) == (
        "status",
        "To Do",
        "In Progress",
    )


def test_it_posts_the_deleted_issue_with_its_last_fields(
    control: SimulatorControl, receiver: Receiver
) -> None:
    summary = control.issue("DQ-2")["fields"]["summary"]
    control.add_webhook(receiver.url, secret=SECRET)

    control.delete_issue("DQ-2")

    [request] = delivered(control, receiver, 1)
    payload = request.payload
    assert payload["webhookEvent"] == DELETED
    assert payload["issue"]["key"] == "DQ-2"
    assert payload["issue"]["fields"]["summary"] == summary
    assert control.issue("DQ-2") is None


def test_it_posts_a_move_with_the_new_key_in_the_changelog(
    control: SimulatorControl, receiver: Receiver
) -> None:
    control.add_webhook(receiver.url, secret=SECRET)

    control.move_issue("DQ-1", project="OPS")

    [request] = delivered(control, receiver, 1)
    payload = request.payload
    assert payload["issue"]["key"] == "OPS-3"
    assert payload["issue_event_type_name"] == "issue_moved"
    key_change = next(item for item in payload["changelog"]["items"] if item["field"] == "Key")
    assert (key_change["fromString"], key_change["toString"]) == ("DQ-1", "OPS-3")


def test_it_posts_a_comment_as_an_update_and_as_comment_created(
    api: JiraClient, control: SimulatorControl, receiver: Receiver
) -> None:
    control.add_webhook(receiver.url, secret=SECRET, events=(UPDATED, "comment_created"))

    assert api.add_comment("DQ-3", adf("Looked at it")).status_code == HTTPStatus.CREATED

    events = {r.payload["webhookEvent"]: r.payload for r in delivered(control, receiver, 2)}
    assert set(events) == {UPDATED, "comment_created"}
    assert events[UPDATED]["issue_event_type_name"] == "issue_commented"
    assert events["comment_created"]["comment"]["body"] == "Looked at it"
    assert events["comment_created"]["user"]["accountId"] == "712020:sim-bot"


def test_it_sends_no_signature_without_a_secret(
    control: SimulatorControl, receiver: Receiver
) -> None:
    control.add_webhook(receiver.url)

    control.move_issue("DQ-1", status="Done")

    [request] = delivered(control, receiver, 1)
    assert "x-hub-signature" not in request.headers
    assert request.headers["x-atlassian-webhook-identifier"]


def test_it_gives_each_delivery_its_own_identifier(
    control: SimulatorControl, receiver: Receiver
) -> None:
    control.add_webhook(receiver.url, secret=SECRET)

    control.move_issue("DQ-1", status="Done")
    control.move_issue("DQ-1", status="To Do")

    first, second = delivered(control, receiver, 2)
    assert first.payload["issue"]["fields"]["status"]["name"] == "Done"  # in order
    identifiers = {r.headers["x-atlassian-webhook-identifier"] for r in (first, second)}
    assert len(identifiers) == 2


# --- which webhooks fire --------------------------------------------------------------------


def test_it_posts_only_the_registered_events(control: SimulatorControl, receiver: Receiver) -> None:
    control.add_webhook(receiver.url, secret=SECRET, events=(DELETED,))

    control.move_issue("DQ-1", status="Done")
    assert control.webhook_deliveries() == []  # queued at once, or never
    control.delete_issue("DQ-1")

    [request] = delivered(control, receiver, 1)
    assert request.payload["webhookEvent"] == DELETED


def test_it_applies_the_jql_filter(control: SimulatorControl, receiver: Receiver) -> None:
    control.add_webhook(receiver.url, secret=SECRET, jql_filter="project = OPS")

    control.move_issue("DQ-1", status="Done")
    control.move_issue("OPS-1", status="Done")

    [request] = delivered(control, receiver, 1)
    assert request.payload["issue"]["key"] == "OPS-1"


def test_it_fires_nothing_for_a_transition_to_the_same_status(
    control: SimulatorControl, receiver: Receiver
) -> None:
    control.add_webhook(receiver.url, secret=SECRET)

    control.move_issue("DQ-1", status="To Do")

    assert control.webhook_deliveries() == []


# --- retries --------------------------------------------------------------------------------


def test_it_retries_a_5xx_with_the_same_identifier(
    control: SimulatorControl, receiver: Receiver
) -> None:
    receiver.answers = [HTTPStatus.SERVICE_UNAVAILABLE]
    control.add_webhook(receiver.url, secret=SECRET)

    control.move_issue("DQ-1", status="Done")

    first, retry = delivered(control, receiver, 1)
    assert first.body == retry.body
    assert (
        first.headers["x-atlassian-webhook-identifier"]
        == retry.headers["x-atlassian-webhook-identifier"]
    )
    assert retry.headers["x-atlassian-webhook-retry"] == "1"
    [log] = control.webhook_deliveries()
    assert (log["statuses"], log["outcome"]) == ([503, 200], "delivered")


def test_it_does_not_retry_a_client_error(control: SimulatorControl, receiver: Receiver) -> None:
    receiver.answers = [HTTPStatus.UNAUTHORIZED]
    control.add_webhook(receiver.url, secret=SECRET)

    control.move_issue("DQ-1", status="Done")

    [log] = control.wait_for_webhook_deliveries(1)
    assert (log["statuses"], log["outcome"]) == ([401], "failed")
    assert len(receiver.received) == 1


def test_it_retries_a_refused_connection_then_gives_up(control: SimulatorControl) -> None:
    control.add_webhook(closed_port_url(), secret=SECRET)

    control.move_issue("DQ-1", status="Done")

    [log] = control.wait_for_webhook_deliveries(1)
    assert (log["attempts"], log["outcome"]) == (3, "failed")
    assert log["statuses"] == [None, None, None]


# --- the control API ------------------------------------------------------------------------


def test_it_lists_webhooks_without_their_secrets(control: SimulatorControl) -> None:
    created = control.add_webhook("http://127.0.0.1:9/hook", secret=SECRET, jql_filter="")

    listed = control.webhooks()

    assert listed == [created]
    assert created["hasSecret"] is True
    assert SECRET not in json.dumps(listed)
    control.delete_webhook(created["id"])
    assert control.webhooks() == []
    with pytest.raises(ControlAPIError) as missing:
        control.delete_webhook(created["id"])
    assert missing.value.status == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    "spec",
    [
        {"url": "ftp://example.com/hook", "events": [UPDATED]},
        {"url": "http://127.0.0.1:9/hook", "events": ["issue_exploded"]},
        {"url": "http://127.0.0.1:9/hook", "events": []},
        {"url": "http://127.0.0.1:9/hook", "events": [UPDATED], "jqlFilter": "project = = DQ"},
        {"url": "http://127.0.0.1:9/hook", "events": [UPDATED], "secret": 12},
    ],
)
def test_it_refuses_a_bad_registration(sim: JiraSimulator, spec: dict) -> None:
    with pytest.raises(ControlAPIError) as refused:
        sim.control._call("POST", "/_sim/webhooks", spec)

    assert refused.value.status == HTTPStatus.BAD_REQUEST


def test_it_forgets_webhooks_on_reset(sim: JiraSimulator, control: SimulatorControl) -> None:
    control.add_webhook("http://127.0.0.1:9/hook", secret=SECRET)

    sim.reset()

    assert control.webhooks() == []
    control.move_issue("DQ-1", status="Done")
    assert control.webhook_deliveries() == []
