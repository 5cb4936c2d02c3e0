"""The fuzz suite's settings and world.

Hypothesis profiles: `ci` (the default; derandomized, so a failure reproduces, and sized to
run in about a minute) and `deep` (HYPOTHESIS_PROFILE=deep: random, many more examples).
Requests run with DEBUG off, as in production. Jira is the in-process simulator; `responses`
refuses any other outbound request, so no real host is ever contacted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

import pytest
import responses
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, settings

from anomalies.models import (
    Anomaly,
    ApiToken,
    Comment,
    Container,
    Datastore,
    FailedCheck,
    HistoryEntry,
    Level,
    Tag,
    User,
)
from anomalies.validation import is_clean_text
from integrations.models import (
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
    WebhookDelivery,
)
from tests.conftest import grant, make_anomaly, make_link, make_user

from . import recorder
from .strategies import encoded

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "deep", parent=settings.get_profile("ci"), max_examples=400, derandomize=False
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PERSONAS = ("admin", "manager", "editor", "member_author", "member_reporter", "outsider")
WEBHOOK_SECRET = "fuzz-webhook-secret"
COUNTED = (
    Anomaly,
    Comment,
    FailedCheck,
    HistoryEntry,
    Tag,
    TicketLink,
    SyncEvent,
    TicketingIntegration,
    WebhookDelivery,
    Datastore,
    Container,
)
# Every text column a request can write: none may ever hold NUL or a lone surrogate.
STORED_TEXT = {
    Anomaly: ("description", "fingerprint", "archive_note"),
    Comment: ("text",),
    FailedCheck: ("rule_type", "field_name", "message"),
    HistoryEntry: ("summary",),
    Tag: ("name",),
    TicketLink: ("issue_key", "summary", "status_name"),
    WebhookDelivery: ("identifier", "event", "issue_key"),
}


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@dataclass
class World:
    """The personas, their API keys, and rows to aim at: an anomaly every member sees, one
    on a datastore no member sees, a ticket link and a failed sync event."""

    users: dict[str, User]
    keys: dict[str, str]
    anomaly: Anomaly
    hidden: Anomaly
    integration: TicketingIntegration | None = None
    link: TicketLink | None = None
    event: SyncEvent | None = None
    extra: dict = field(default_factory=dict)


class Fuzzer:
    """Sends one request as a persona, counts it, and checks the answer: never a 5xx, and a
    refusal (4xx) writes nothing."""

    def __init__(self, client, world: World) -> None:
        self.client = client
        self.world = world

    def target(self, choice) -> int:
        return {"own": self.world.anomaly.pk, "hidden": self.world.hidden.pk}.get(choice, choice)

    def api(self, label: str, persona: str, method: str, path: str, *, body=b"", query=""):
        headers = {"Authorization": f"Token {self.world.keys[persona]}"}
        url = f"{path}?{query}" if query else path
        return self._checked(
            label,
            lambda: self.client.generic(
                method, url, body, content_type="application/json", headers=headers
            ),
        )

    def page(self, label: str, persona: str, method: str, path: str, *, form=None, query=""):
        self.client.force_login(self.world.users[persona])
        url = f"{path}?{query}" if query else path
        body = encoded(form) if form is not None else ""
        return self._checked(
            label,
            lambda: self.client.generic(
                method, url, body, content_type="application/x-www-form-urlencoded"
            ),
        )

    def webhook(self, label: str, path: str, body: bytes, headers: dict[str, str]):
        return self._checked(
            label,
            lambda: self.client.generic(
                "POST", path, body, content_type="application/json", headers=headers
            ),
        )

    def _checked(self, label: str, send):
        before = row_counts()
        recorder.REQUESTS[label] += 1
        response = send()
        assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR, label
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            assert row_counts() == before, f"{label} refused with {response.status_code}"
        return response

    def assert_lists_answer(self) -> None:
        """After the fuzzing, every list still answers, for every persona."""
        list_page = reverse("anomalies:list")
        for persona in PERSONAS:
            self.client.force_login(self.world.users[persona])
            for query in ("", "status=all"):
                self._get_ok("GET /anomalies/ (after)", f"{list_page}?{query}")
            api = self.api(
                "GET /api/anomalies (after)",
                persona,
                "GET",
                reverse("anomalies_api:anomalies"),
                query="status=all",
            )
            assert api.status_code == HTTPStatus.OK
        self.client.force_login(self.world.users["admin"])
        self._get_ok("GET admin changelist (after)", reverse("admin:anomalies_anomaly_changelist"))
        for anomaly in Anomaly.objects.all()[:20]:
            detail = reverse("anomalies:detail", args=[anomaly.pk])
            self._get_ok("GET /anomalies/<id>/ (after)", detail)
        assert_stored_text_is_clean()

    def _get_ok(self, label: str, path: str) -> None:
        recorder.REQUESTS[label] += 1
        assert self.client.get(path).status_code == HTTPStatus.OK, path


def assert_stored_text_is_clean() -> None:
    for model, columns in STORED_TEXT.items():
        for row in model.objects.values_list(*columns):
            assert all(value is None or is_clean_text(value) for value in row), model.__name__


@pytest.fixture(autouse=True)
def production_like(settings) -> None:
    settings.DEBUG = False


@pytest.fixture
def outbound_blocked(jira_sim) -> Iterator[responses.RequestsMock]:
    """Only the in-process simulator may be reached; any other host fails to connect."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(jira_sim.url)
        yield mock


@pytest.fixture
def world(db, admin, manager, member_author, member_reporter, outsider, warehouse, anomaly):
    users = {
        "admin": admin,
        "manager": manager,
        "member_author": member_author,
        "member_reporter": member_reporter,
        "outsider": outsider,
        "editor": make_user("editor"),
    }
    grant(users["editor"], warehouse, Level.EDITOR)
    elsewhere = Datastore.objects.create(name="Hidden Lake")
    hidden = make_anomaly(Container.objects.create(datastore=elsewhere, name="secrets"))
    keys = {
        persona: ApiToken.objects.issue(user, name="fuzz")[1] for persona, user in users.items()
    }
    return World(users=users, keys=keys, anomaly=anomaly, hidden=hidden)


@pytest.fixture
def connected_world(world, jira_integration, outbound_blocked) -> World:
    jira_integration.webhook_secret = WEBHOOK_SECRET
    jira_integration.save(update_fields=["webhook_secret"])
    world.integration = jira_integration
    world.link = make_link(world.anomaly, jira_integration, "DQ-1", status_name="To Do")
    world.event = SyncEvent.objects.create(
        link=world.link,
        kind="commented",
        body="Looked at it.",
        state=SyncState.FAILED,
        created_at=timezone.now(),
    )
    return world


@pytest.fixture
def fuzz(client, world) -> Fuzzer:
    return Fuzzer(client, world)


def pytest_terminal_summary(terminalreporter) -> None:
    if not recorder.REQUESTS:
        return
    lines = [
        f"{label}: {recorder.EXAMPLES[label]} examples, {count} requests"
        for label, count in sorted(recorder.REQUESTS.items())
    ]
    total = sum(recorder.REQUESTS.values())
    terminalreporter.section("fuzz suite")
    for line in lines:
        terminalreporter.write_line(line)
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    terminalreporter.write_line(
        f"total: {sum(recorder.EXAMPLES.values())} examples, {total} requests ({profile})"
    )
    report = Path(__file__).resolve().parents[2] / "var" / "fuzz-report.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(
        json.dumps(
            {
                "examples": dict(recorder.EXAMPLES),
                "requests": dict(recorder.REQUESTS),
                "total_requests": total,
            },
            indent=2,
            sort_keys=True,
        )
    )
