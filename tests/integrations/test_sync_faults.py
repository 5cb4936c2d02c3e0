"""Sync through real faults (PRODUCT.md §5): "a broker outage, a worker crash or a Jira outage
loses nothing: it is delivered later, once, in order per issue".

Real processes (tests/processes.py): gunicorn for the user's clicks, a Redis broker, a Celery
worker and beat with short sync timings, and the Jira simulator in a process of its own. Each
test acts through the web server, breaks something, then compares, issue by issue, the list of
comment texts in Jira with the expected list, and prints one line of figures:

    sync-faults <test>: events=… duplicates=… losses=… drain=…s
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
import requests
from django.utils import timezone

from anomalies.models import Anomaly, Comment, Status
from integrations.host_policy import HostPolicy
from integrations.jira import JiraClient
from integrations.models import Connector, SyncEvent, SyncState, TicketingIntegration, TicketLink
from tests.conftest import SIM_EMAIL, SIM_TOKEN, make_anomaly, make_link, require_service
from tests.processes import (  # noqa: F401 (the *_fixture imports register fixtures)
    ManagedProcess,
    Processes,
    SimulatorProcess,
    broker_url_fixture,
    processes_fixture,
    redis_broker_url_fixture,
    redis_server_installed,
    service_env,
    session_processes_fixture,
    wait_until,
)

# serialized_rollback: the tables are emptied after each test; this puts back what the
# migrations created (the Public team every new user joins).
pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

COMMENTS = r"/comment$"
PASSWORD = "pw"
UNFINISHED = (SyncState.PENDING, SyncState.SENDING)
DRAIN_TIMEOUT = 60
LOCAL = HostPolicy(allow_loopback=True)  # the Jira simulator listens on 127.0.0.1
# A guard against hanging requests, not a speed target: the broker connection timeout is
# 2 s, and paying it once per request (not once per event) is pinned by
# test_sync.py::test_it_stops_enqueuing_at_the_first_broker_failure. The figures are printed.
BROKER_DOWN_REQUEST_LIMIT = 10.0


# --- the stack ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def jira_process(session_processes: Processes) -> SimulatorProcess:
    return session_processes.jira_simulator(email=SIM_EMAIL, token=SIM_TOKEN)


@pytest.fixture
def jira(jira_process: SimulatorProcess, processes: Processes):
    """The simulator's control API, its data back to the seed; its log printed on failure."""
    control = jira_process.control
    control.reset()
    processes.add_report("requests Jira received (last 30)", lambda: _requests_tail(control))
    return control


def _requests_tail(control) -> str:
    rows = control.requests()[-30:]
    return "\n".join(f"{r['method']} {r['path']} -> {r['status']} ({r['outcome']})" for r in rows)


@dataclass
class Stack:
    processes: Processes
    env: dict[str, str]
    web_url: str
    worker: ManagedProcess

    def replace_worker(self) -> None:
        self.worker = self.processes.celery_worker(self.env)


def start_stack(processes: Processes, broker: str) -> Stack:
    """Worker, beat and web against the test database and ``broker``, started together."""
    env = service_env(broker_url=broker)
    started = [
        processes.celery_worker(env, wait=False),
        processes.celery_beat(env, wait=False),
        processes.gunicorn(env, wait=False),
    ]
    for process in started:
        process.wait_ready()
    return Stack(processes, env, started[2].url, started[0])


@pytest.fixture
def stack(transactional_db, processes: Processes, broker_url: str) -> Stack:
    # transactional_db first: the processes stop before pytest-django empties the tables.
    return start_stack(processes, broker_url)


# --- anomalies and links (personas from tests/conftest.py: member_author is "author") -------


@pytest.fixture
def integration(manager, jira, jira_process) -> TicketingIntegration:
    return TicketingIntegration.objects.create(
        connector=Connector.JIRA,
        host_url=jira_process.url,
        credentials=f"{SIM_EMAIL}:{SIM_TOKEN}",
        default_project_key="DQ",
        account_name="Quality Bot",
        connected_by=manager,
        connected_at=timezone.now(),
    )


def linked_anomaly(orders, integration: TicketingIntegration, key: str) -> Anomaly:
    anomaly = make_anomaly(orders, description=f"Anomaly for {key}")
    link_more(anomaly, integration, key)
    return anomaly


def jira_issue_id(integration: TicketingIntegration, key: str) -> str:
    with JiraClient(integration.host_url, SIM_EMAIL, SIM_TOKEN, host_policy=LOCAL) as client:
        return client.get_issue(key).id


def new_issues(integration: TicketingIntegration, count: int) -> list[str]:
    with JiraClient(integration.host_url, SIM_EMAIL, SIM_TOKEN, host_policy=LOCAL) as client:
        return [
            client.create_issue(
                {
                    "project": {"key": "DQ"},
                    "issuetype": {"id": "10001"},
                    "summary": f"Sync fault test issue {n}",
                }
            )["key"]
            for n in range(count)
        ]


# --- acting through the web server ---------------------------------------------------------


class WebUser:
    """A signed-in browser session against gunicorn, without the browser."""

    def __init__(self, base_url: str, username: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.get(self._url("/login/"), timeout=10)
        response = self.post("/login/", {"username": username, "password": PASSWORD})
        assert response.status_code == HTTPStatus.FOUND, f"{username} could not sign in"

    def _url(self, path: str) -> str:
        return self.base_url + path

    def post(self, path: str, data: dict | None = None) -> requests.Response:
        form = {"csrfmiddlewaretoken": self.session.cookies["csrftoken"], **(data or {})}
        return self.session.post(self._url(path), data=form, allow_redirects=False, timeout=30)

    def act(self, path: str, data: dict | None = None) -> float:
        """POST an anomaly action; returns how long the request took, in seconds."""
        started = time.monotonic()
        response = self.post(path, data)
        elapsed = time.monotonic() - started
        assert response.status_code == HTTPStatus.FOUND, f"POST {path}: {response.status_code}"
        return elapsed

    def page(self, path: str) -> str:
        response = self.session.get(self._url(path), timeout=10)
        assert response.status_code == HTTPStatus.OK, f"GET {path}: {response.status_code}"
        return response.text


def acknowledge(user: WebUser, anomaly: Anomaly) -> float:
    return user.act(f"/anomalies/{anomaly.pk}/acknowledge/")


def comment(user: WebUser, anomaly: Anomaly, text: str) -> float:
    return user.act(f"/anomalies/{anomaly.pk}/comments/", {"text": text})


def archive(user: WebUser, anomaly: Anomaly, reason: str, note: str = "") -> float:
    return user.act(f"/anomalies/{anomaly.pk}/archive/", {"reason": reason, "note": note})


# --- what Jira should hold ---------------------------------------------------------------


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("[%Y-%m-%d %H:%M:%S UTC]")


def status_text(anomaly: Anomaly, status: str, note: str = "") -> str:
    anomaly.refresh_from_db()
    text = f"{stamp(anomaly.status_changed_at)} Qualytics Anomaly Status: {status}"
    return f"{text}\nNote: {note}" if note else text


def comment_text(anomaly: Anomaly, text: str, author: str = "author") -> str:
    posted = Comment.objects.get(anomaly=anomaly, text=text)
    return f"{stamp(posted.created_at)} Comment from Qualytics ({author}): {text}"


@dataclass
class Tally:
    events: int
    duplicates: int
    losses: int
    drain_seconds: float

    def line(self, name: str, **extra) -> str:
        figures = [
            f"events={self.events}",
            f"duplicates={self.duplicates}",
            f"losses={self.losses}",
            f"drain={self.drain_seconds:.1f}s",
            *(f"{key}={value}" for key, value in extra.items()),
        ]
        return f"sync-faults {name}: " + " ".join(figures)


def jira_texts(jira, keys) -> dict[str, list[str]]:
    return {key: [c["text"] for c in jira.comments(key)] for key in keys}


def tally(expected: dict[str, list[str]], actual: dict[str, list[str]], drain: float) -> Tally:
    duplicates = losses = 0
    for key, texts in expected.items():
        extra = Counter(actual[key]) - Counter(texts)
        missing = Counter(texts) - Counter(actual[key])
        duplicates += sum(extra.values())
        losses += sum(missing.values())
    return Tally(sum(map(len, expected.values())), duplicates, losses, drain)


def settle_and_compare(jira, expected: dict[str, list[str]], since: float) -> Tally:
    """Wait until no event is unfinished, then compare what Jira holds, issue by issue."""
    wait_until(
        lambda: not SyncEvent.objects.filter(state__in=UNFINISHED).exists(),
        timeout=DRAIN_TIMEOUT,
        what=lambda: f"every sync event being settled (states now: {event_states()})",
    )
    drain = time.monotonic() - since
    actual = jira_texts(jira, expected)
    result = tally(expected, actual, drain)
    assert actual == expected, "Jira's comments differ from what the anomalies' changes owe it"
    return result


def event_states() -> dict[str, int]:
    return dict(Counter(SyncEvent.objects.values_list("state", flat=True)))


@pytest.fixture
def figures(request, capsys):
    """Prints a test's figure line on the terminal, even when output is captured."""

    def show(result: Tally, **extra) -> None:
        with capsys.disabled():
            print("\n" + result.line(request.node.name, **extra))

    return show


# --- the tests ---------------------------------------------------------------------------


def test_it_posts_the_acknowledgement_from_a_worker(
    orders, member_author, integration, stack, jira, figures
):
    anomaly = linked_anomaly(orders, integration, "DQ-2")
    author = WebUser(stack.web_url, "author")

    started = time.monotonic()
    acknowledge(author, anomaly)

    expected = {"DQ-2": [status_text(anomaly, "Acknowledged")]}
    result = settle_and_compare(jira, expected, started)
    (event,) = SyncEvent.objects.all()
    (posted,) = jira.comments("DQ-2")
    assert posted["properties"] == [
        {"key": "qualytics-sync-event", "value": {"event": str(event.uuid)}}
    ]
    assert event.state == SyncState.DELIVERED
    figures(result)


def test_it_posts_once_when_the_worker_is_killed_mid_delivery(
    orders, member_author, integration, stack, jira, figures
):
    anomaly = linked_anomaly(orders, integration, "DQ-2")
    author = WebUser(stack.web_url, "author")
    # Jira holds the POST for 3 s, then adds the comment: the worker dies inside the request.
    jira.add_fault("delay", method="POST", path_regex=COMMENTS, seconds=3)

    acknowledge(author, anomaly)
    wait_until(lambda: not jira.faults(), timeout=30, what="the comment POST reaching Jira")
    killed = time.monotonic()
    stack.worker.kill()
    assert SyncEvent.objects.get().state == SyncState.SENDING
    stack.replace_worker()

    expected = {"DQ-2": [status_text(anomaly, "Acknowledged")]}
    result = settle_and_compare(jira, expected, killed)
    event = SyncEvent.objects.get()
    assert event.state == SyncState.DELIVERED
    assert event.outcome_unknown, "the retry should have looked for the comment first"
    figures(result)


def test_it_delivers_everything_committed_while_the_broker_was_down(
    transactional_db, processes, orders, member_author, integration, jira, figures
):
    require_service("redis-server", redis_server_installed(), "to stop and restart a broker")
    # A private Redis: stopping the shared one would break other runs using it.
    redis = processes.redis_server()
    stack = start_stack(processes, redis.url(0))
    keys = new_issues(integration, 53)
    singles = [linked_anomaly(orders, integration, key) for key in keys[:50]]
    triple = linked_anomaly(orders, integration, keys[50])  # and two more issues:
    for key in keys[51:]:
        link_more(triple, integration, key)
    author = WebUser(stack.web_url, "author")

    redis.shutdown()
    assert not redis.ping()
    with ThreadPoolExecutor(max_workers=10) as pool:
        latencies = list(pool.map(lambda anomaly: acknowledge(author, anomaly), singles))
    triple_latency = acknowledge(author, triple)

    # Every change committed with its events, though no worker could be told about them.
    assert Anomaly.objects.filter(status=Status.ACKNOWLEDGED).count() == 51
    assert SyncEvent.objects.filter(state=SyncState.PENDING).count() == 53
    # No request hangs while the broker is down, however many issues the anomaly has.
    assert max(latencies) < BROKER_DOWN_REQUEST_LIMIT, f"a request took {max(latencies):.1f} s"
    assert triple_latency < BROKER_DOWN_REQUEST_LIMIT, f"3 links took {triple_latency:.1f} s"
    processes.redis_server(port=redis.port)
    restarted = time.monotonic()

    expected = {
        key: [status_text(a, "Acknowledged")] for key, a in zip(keys[:50], singles, strict=True)
    }
    expected |= {key: [status_text(triple, "Acknowledged")] for key in keys[50:]}
    result = settle_and_compare(jira, expected, restarted)
    figures(
        result,
        request_median=f"{statistics.median(latencies):.2f}s",
        request_max=f"{max(latencies):.2f}s",
        three_links_request=f"{triple_latency:.2f}s",
    )


def link_more(anomaly: Anomaly, integration: TicketingIntegration, key: str) -> None:
    make_link(anomaly, integration, key, issue_id=jira_issue_id(integration, key))


def test_it_delivers_in_order_through_a_jira_outage_and_a_rate_limit(
    orders, member_author, integration, stack, jira, figures
):
    keys = ["DQ-2", "DQ-3", "OPS-2"]
    anomalies = {key: linked_anomaly(orders, integration, key) for key in keys}
    author = WebUser(stack.web_url, "author")
    # 503 for 10 s, then two 429s with Retry-After: 2 (faults apply in the order added).
    jira.add_fault(
        status=HTTPStatus.SERVICE_UNAVAILABLE, method="POST", path_regex=COMMENTS, for_seconds=10
    )
    jira.add_rate_limited(count=2, retry_after=2, method="POST", path_regex=COMMENTS)
    recovered = time.monotonic() + 10

    expected = {key: four_changes(author, anomaly) for key, anomaly in anomalies.items()}

    result = settle_and_compare(jira, expected, recovered)
    answers = Counter(r["status"] for r in jira.requests() if r["path"].endswith("/comment"))
    assert answers[HTTPStatus.SERVICE_UNAVAILABLE] >= 3 and answers[HTTPStatus.TOO_MANY_REQUESTS]
    assert TicketingIntegration.objects.get().rate_limited_until is not None
    figures(result, answered_503=answers[503], answered_429=answers[429])


def four_changes(author: WebUser, anomaly: Anomaly) -> list[str]:
    """Acknowledge, two comments, archive with a note: the texts Jira should get, in order."""
    acknowledge(author, anomaly)
    texts = [status_text(anomaly, "Acknowledged")]
    for line in ("Loader re-run started.", "Loader re-run finished."):
        comment(author, anomaly, line)
        texts.append(comment_text(anomaly, line))
    archive(author, anomaly, "Resolved", "Fixed upstream.")
    return [*texts, status_text(anomaly, "Resolved", "Fixed upstream.")]


def test_it_pauses_on_401_and_delivers_once_the_credentials_are_edited(
    orders, member_author, integration, stack, jira, figures
):
    anomaly = linked_anomaly(orders, integration, "DQ-2")
    integration.credentials = f"{SIM_EMAIL}:revoked-token"  # the API token was revoked
    integration.save(update_fields=["credentials"])
    author = WebUser(stack.web_url, "author")

    acknowledge(author, anomaly)
    expected = {"DQ-2": [status_text(anomaly, "Acknowledged")]}
    wait_until(
        lambda: TicketingIntegration.objects.get().attention_reason,
        timeout=30,
        what="the integration being paused",
    )
    comment(author, anomaly, "Still owed to Jira.")
    expected["DQ-2"].append(comment_text(anomaly, "Still owed to Jira."))

    assert "Sync to Jira is paused" in author.page(f"/anomalies/{anomaly.pk}/")
    manager = WebUser(stack.web_url, "manager")
    assert "Needs attention" in manager.page("/settings/integrations/")
    assert_nothing_sent_while_paused(stack, jira)
    assert set(SyncEvent.objects.values_list("state", flat=True)) == {SyncState.PENDING}

    edited = time.monotonic()
    manager.act(
        f"/settings/integrations/{integration.pk}/edit/",
        {"credentials": f"{SIM_EMAIL}:{SIM_TOKEN}", "default_project_key": "DQ"},
    )

    result = settle_and_compare(jira, expected, edited)
    assert "Needs attention" not in manager.page("/settings/integrations/")
    figures(result)


def assert_nothing_sent_while_paused(stack: Stack, jira) -> None:
    """The worker runs two more sweeps; still no comment reaches Jira."""
    swept = re.compile(r"integrations\.tasks\.sweep_sync_events\[[^\]]+\] succeeded")

    def sweeps() -> int:
        return len(swept.findall(stack.worker.log()))

    seen = sweeps()
    wait_until(lambda: sweeps() >= seen + 2, timeout=10, what="two more sweeps")
    posts = [r for r in jira.requests() if r["method"] == "POST" and "/comment" in r["path"]]
    assert len(posts) == 1, "only the first attempt may reach Jira while paused"


def test_it_marks_a_deleted_issue_broken_and_fails_its_event(
    orders, member_author, integration, stack, jira, figures
):
    anomaly = linked_anomaly(orders, integration, "DQ-2")
    jira.delete_issue("DQ-2")
    author = WebUser(stack.web_url, "author")

    started = time.monotonic()
    acknowledge(author, anomaly)
    wait_until(
        lambda: not SyncEvent.objects.filter(state__in=UNFINISHED).exists(),
        timeout=DRAIN_TIMEOUT,
        what="the event being settled",
    )
    drain = time.monotonic() - started

    event = SyncEvent.objects.get()
    assert event.state == SyncState.FAILED
    assert event.finished_reason.startswith("The Jira issue was deleted or cannot be seen")
    assert TicketLink.objects.get().is_broken
    page = author.page(f"/anomalies/{anomaly.pk}/")
    assert "Broken reference" in page and "Sync failed: The Jira issue was deleted" in page
    posts = [r for r in jira.requests() if r["method"] == "POST" and "/comment" in r["path"]]
    assert [r["status"] for r in posts] == [HTTPStatus.NOT_FOUND]  # tried once, not retried
    figures(Tally(events=1, duplicates=0, losses=0, drain_seconds=drain), failed=1)
