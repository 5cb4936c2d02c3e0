"""Sync through real faults (PRODUCT.md §5): "a broker outage, a worker crash or a Jira outage
loses nothing: it is delivered later, once, in order per issue".

Real processes (tests/processes.py): gunicorn for the user's clicks, a Redis broker, a Celery
worker and beat with short sync timings, and the Jira simulator in a process of its own. Each
test acts through the web server, breaks something, then compares, issue by issue, the list of
comment texts in Jira with the expected list, and prints one line of figures:

    sync-faults <test>: events=… duplicates=… losses=… inversions=… drain=…s

Inversions are counted per Jira issue: two comments in Jira in the opposite order of the
changes that owe them (for the shared-issue test: the later one's request had ended before
the earlier one's began, so their commit order is certain).
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
    inversions: int = 0

    def line(self, name: str, **extra) -> str:
        figures = [
            f"events={self.events}",
            f"duplicates={self.duplicates}",
            f"losses={self.losses}",
            f"inversions={self.inversions}",
            f"drain={self.drain_seconds:.1f}s",
            *(f"{key}={value}" for key, value in extra.items()),
        ]
        return f"sync-faults {name}: " + " ".join(figures)


def jira_texts(jira, keys) -> dict[str, list[str]]:
    return {key: [c["text"] for c in jira.comments(key)] for key in keys}


def tally(expected: dict[str, list[str]], actual: dict[str, list[str]], drain: float) -> Tally:
    duplicates = losses = inversions = 0
    for key, texts in expected.items():
        extra = Counter(actual[key]) - Counter(texts)
        missing = Counter(texts) - Counter(actual[key])
        duplicates += sum(extra.values())
        losses += sum(missing.values())
        inversions += inverted_pairs([texts.index(t) for t in actual[key] if t in texts])
    return Tally(sum(map(len, expected.values())), duplicates, losses, drain, inversions)


def inverted_pairs(ranks: list[int]) -> int:
    """Pairs that appear in the opposite order of their ranks."""
    return sum(1 for i, earlier in enumerate(ranks) for later in ranks[i + 1 :] if later < earlier)


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

    def show(result: Tally, scenario: str = "", **extra) -> None:
        name = f"{request.node.name}[{scenario}]" if scenario else request.node.name
        with capsys.disabled():
            print("\n" + result.line(name, **extra))

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
    assert "Broken reference" in page and "Failed: The Jira issue was deleted" in page
    posts = [r for r in jira.requests() if r["method"] == "POST" and "/comment" in r["path"]]
    assert [r["status"] for r in posts] == [HTTPStatus.NOT_FOUND]  # tried once, not retried
    figures(Tally(events=1, duplicates=0, losses=0, drain_seconds=drain), failed=1)


# --- one queue per Jira issue, 403 on one issue, outcome unknown (issue 12) -----------------


@dataclass
class Change:
    """One comment typed on one anomaly: when its request started and ended (monotonic)."""

    marker: str
    keys: tuple[str, ...]
    started: float
    ended: float


def comment_series(user: WebUser, anomaly: Anomaly, keys, count: int) -> list[Change]:
    changes = []
    for n in range(count):
        marker = f"anomaly {anomaly.pk} change {n}."
        started = time.monotonic()
        comment(user, anomaly, marker)
        changes.append(Change(marker, tuple(keys), started, time.monotonic()))
    return changes


def issue_order(jira, changes: list[Change], keys) -> dict[str, list[Change]]:
    """Each issue's changes in the order Jira shows their comments."""
    by_marker = {change.marker: change for change in changes}
    order: dict[str, list[Change]] = {}
    for key in keys:
        shown = [c["text"].rsplit(": ", 1)[-1] for c in jira.comments(key)]
        order[key] = [by_marker[text] for text in shown if text in by_marker]
    return order


def certain_inversions(shown: list[Change]) -> int:
    """Pairs Jira shows in the opposite order of two changes that did not overlap."""
    return sum(
        1
        for i, first in enumerate(shown)
        for second in shown[i + 1 :]
        if second.ended < first.started
    )


def test_it_keeps_one_order_per_jira_issue_across_anomalies_workers_and_faults(
    orders, member_author, integration, stack, jira, figures
):
    stack.processes.celery_worker(stack.env)  # a second worker process, two children each
    keys = ["DQ-2", "DQ-3", "OPS-2"]
    anomalies = []
    for n in range(12):  # twelve anomalies on three issues; every fourth on two issues
        anomaly = linked_anomaly(orders, integration, keys[n % 3])
        linked = [keys[n % 3]]
        if n % 4 == 0:
            link_more(anomaly, integration, keys[(n + 1) % 3])
            linked.append(keys[(n + 1) % 3])
        anomalies.append((anomaly, linked))
    author = WebUser(stack.web_url, "author")
    jira.add_fault(
        status=HTTPStatus.SERVICE_UNAVAILABLE, method="POST", path_regex=COMMENTS, for_seconds=3
    )
    jira.add_rate_limited(count=2, retry_after=1, method="POST", path_regex=COMMENTS)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        series = pool.map(lambda pair: comment_series(author, pair[0], pair[1], 3), anomalies)
        changes = [change for one in series for change in one]
    owed = {key: [c.marker for c in changes if key in c.keys] for key in keys}
    wait_until(
        lambda: not SyncEvent.objects.filter(state__in=UNFINISHED).exists(),
        timeout=DRAIN_TIMEOUT,
        what=lambda: f"every sync event being settled (states now: {event_states()})",
    )
    drain = time.monotonic() - started

    shown = issue_order(jira, changes, keys)
    actual = {key: [c.marker for c in shown[key]] for key in keys}
    result = tally(owed, actual, drain)
    result.inversions = sum(certain_inversions(shown[key]) for key in keys)
    assert (result.duplicates, result.losses, result.inversions) == (0, 0, 0)
    # The stronger rule behind it: each issue gets its events in id order, which is the
    # order their changes committed (docs/sync.md).
    for key in keys:
        by_id = SyncEvent.objects.filter(link__issue_key=key).order_by("pk")
        assert actual[key] == [event.body.rsplit(": ", 1)[-1] for event in by_id]
    answers = Counter(r["status"] for r in jira.requests() if r["path"].endswith("/comment"))
    assert answers[HTTPStatus.SERVICE_UNAVAILABLE] and answers[HTTPStatus.TOO_MANY_REQUESTS]
    figures(result, issues=len(keys), anomalies=len(anomalies), worker_processes=2)


def test_it_keeps_delivering_other_issues_while_jira_refuses_one(
    orders, member_author, integration, stack, jira, figures
):
    keys = ["DQ-2", "DQ-3", "OPS-2"]
    anomalies = {key: linked_anomaly(orders, integration, key) for key in keys}
    # Issue-level security hides DQ-3 from the account: every comment on it gets 403.
    jira.add_fault(
        status=HTTPStatus.FORBIDDEN, method="POST", path_regex=r"/DQ-3/comment$", count=1000
    )
    author = WebUser(stack.web_url, "author")

    started = time.monotonic()
    expected = {key: four_changes(author, anomaly) for key, anomaly in anomalies.items()}
    refused = expected.pop("DQ-3")
    wait_until(
        lambda: not SyncEvent.objects.filter(state__in=UNFINISHED).exists(),
        timeout=DRAIN_TIMEOUT,
        what=lambda: f"every sync event being settled (states now: {event_states()})",
    )
    result = tally(expected, jira_texts(jira, expected), time.monotonic() - started)
    assert jira_texts(jira, expected) == expected  # the other issues, complete and in order
    assert jira.comments("DQ-3") == []
    failed = SyncEvent.objects.filter(link__issue_key="DQ-3")
    assert {event.state for event in failed} == {SyncState.FAILED}
    assert all("Jira refused access to issue DQ-3" in e.finished_reason for e in failed)
    assert TicketingIntegration.objects.get().attention_reason == ""
    posts = [r for r in jira.requests() if r["path"].endswith("/DQ-3/comment")]
    # Three refusals fail the queue; a change made after that is tried once, then fails.
    assert len(posts) <= 3 + len(refused) - 1, "refused a bounded number of times"

    # Visible on the page with a Retry button; once Jira allows it, a retry delivers.
    page = author.page(f"/anomalies/{anomalies['DQ-3'].pk}/")
    assert "Failed: Jira refused access to issue DQ-3" in page and ">Retry</button>" in page
    jira.clear_faults()
    retried = time.monotonic()
    for event in failed.order_by("pk"):
        author.act(f"/sync-events/{event.pk}/retry/")
    retried_result = settle_and_compare(jira, {"DQ-3": refused}, retried)
    figures(result, refused_posts=len(posts), retried_events=retried_result.events)


def test_it_posts_once_when_the_outcome_of_a_post_was_unknown(
    orders, member_author, integration, stack, jira, figures
):
    """Two scenarios on one stack (each stack costs seconds to start): a 503 answered after
    Jira added the comment, then a post Jira completes after the client's read timeout."""
    keys = ["DQ-2", "DQ-3", "OPS-2"]
    anomalies = {key: linked_anomaly(orders, integration, key) for key in keys}
    author = WebUser(stack.web_url, "author")
    # A proxy answers 503 although Jira added the comment, five times in a row.
    jira.add_fault(
        "status_after",
        status=HTTPStatus.SERVICE_UNAVAILABLE,
        method="POST",
        path_regex=COMMENTS,
        count=5,
    )

    started = time.monotonic()
    expected = {key: four_changes(author, anomaly) for key, anomaly in anomalies.items()}

    result = settle_and_compare(jira, expected, started)
    looks = [r for r in jira.requests() if r["method"] == "GET" and "/comment" in r["path"]]
    assert not jira.faults(), "every 503-after-processing fault was met"
    assert len(looks) >= 5
    figures(result, "503-after-processing", answered_503_after_processing=5, looks=len(looks))

    # Jira finishes the next post 5 s after it arrived; the worker gave up at 2 s (read
    # timeout), looks at about 4 s (nothing yet) and must not post again before the 4 s
    # margin after giving up (6 s) has passed.
    jira.clear_requests()
    jira.add_fault("delay", method="POST", path_regex=r"/DQ-2/comment$", seconds=5)
    stalled = linked_anomaly(orders, integration, "DQ-2")
    started = time.monotonic()
    acknowledge(author, stalled)
    expected["DQ-2"].append(status_text(stalled, "Acknowledged"))

    result = settle_and_compare(jira, {"DQ-2": expected["DQ-2"]}, started)
    calls = [(r["method"], r["outcome"]) for r in jira.requests() if "/comment" in r["path"]]
    posts = [call for call in calls if call[0] == "POST"]
    looks = [call for call in calls if call[0] == "GET"]
    assert posts == [("POST", "fault:delay")], "posted once, by the stalled request"
    assert looks, "looked for the comment before posting again"
    event = SyncEvent.objects.get(link__anomaly=stalled)
    assert event.outcome_unknown and event.state == SyncState.DELIVERED
    figures(
        result,
        "stall-past-read-timeout",
        new_events=1,
        stall="5s",
        read_timeout="2s",
        margin="4s",
        looks=len(looks),
    )
