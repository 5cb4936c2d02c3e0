"""Sync through real faults, on ServiceNow: the same stack as tests/integrations/test_sync_faults.py
(gunicorn, a Redis broker, a Celery worker and beat) with the ServiceNow simulator in a process
of its own. Each test acts through the web server, breaks something, then compares, incident by
incident, the work notes in the simulator with the expected list, and prints one line:

    sync-faults <test>: events=… duplicates=… losses=… inversions=… drain=…s
"""

from __future__ import annotations

import re
import time
from collections import Counter
from http import HTTPStatus

import pytest

from anomalies.models import Anomaly, Status
from integrations.models import SyncEvent, SyncState, TicketingIntegration
from tests.conftest import (
    SN_PASSWORD,
    SN_USERNAME,
    connect_servicenow,
    make_anomaly,
    make_link,
    require_service,
)
from tests.integrations import test_sync_faults as jira_faults
from tests.integrations.test_sync_faults import (
    DRAIN_TIMEOUT,
    UNFINISHED,
    WebUser,
    acknowledge,
    event_states,
    four_changes,
    start_stack,
    status_text,
    tally,
)
from tests.processes import (  # noqa: F401 (the *_fixture imports register fixtures)
    Processes,
    ServiceNowSimulatorProcess,
    broker_url_fixture,
    processes_fixture,
    redis_broker_url_fixture,
    redis_server_installed,
    session_processes_fixture,
    wait_until,
)

# The same stack and figure line as the Jira fault tests (fixtures register by assignment).
stack = jira_faults.stack
figures = jira_faults.figures

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NOTES = r"/api/now/table/incident/[0-9a-f]{32}$"
MARKER_LINE = re.compile(r"\n\n\[qualytics-event:[^\]]+\]$")
INCIDENTS = ["INC0010001", "INC0010002", "INC0010003"]


@pytest.fixture(scope="session")
def servicenow_process(session_processes: Processes) -> ServiceNowSimulatorProcess:
    return session_processes.servicenow_simulator(username=SN_USERNAME, password=SN_PASSWORD)


@pytest.fixture
def servicenow(servicenow_process: ServiceNowSimulatorProcess, processes: Processes):
    control = servicenow_process.control
    control.reset()
    processes.add_report("requests ServiceNow received (last 30)", lambda: _tail(control))
    return control


def _tail(control) -> str:
    rows = control.requests()[-30:]
    return "\n".join(f"{r['method']} {r['path']} -> {r['status']} ({r['outcome']})" for r in rows)


@pytest.fixture
def integration(manager, servicenow, servicenow_process) -> TicketingIntegration:
    return connect_servicenow(servicenow_process.url, manager)


def linked_anomaly(orders, integration, servicenow, number: str):
    anomaly = make_anomaly(orders, description=f"Anomaly for {number}")
    sys_id = servicenow.incident(number)["sys_id"]
    url = f"{integration.host_url}/incident.do?sysparm_query=number={number}"
    make_link(anomaly, integration, number, issue_id=sys_id, url=url)
    return anomaly


def notes_of(servicenow, numbers) -> dict[str, list[str]]:
    """Work notes added by the product (the seed's own notes left out), marker line off."""
    return {
        number: [
            MARKER_LINE.sub("", text)
            for text in servicenow.work_notes(number)
            if MARKER_LINE.search(text)
        ]
        for number in numbers
    }


def settle_and_compare(servicenow, expected: dict[str, list[str]], since: float):
    wait_until(
        lambda: not SyncEvent.objects.filter(state__in=UNFINISHED).exists(),
        timeout=DRAIN_TIMEOUT,
        what=lambda: f"every sync event being settled (states now: {event_states()})",
    )
    drain = time.monotonic() - since
    actual = notes_of(servicenow, expected)
    result = tally(expected, actual, drain)
    assert actual == expected, "the work notes differ from what the anomalies' changes owe"
    return result


def test_it_delivers_in_order_through_an_outage_and_a_rate_limit(
    orders, member_author, integration, stack, servicenow, figures
):
    anomalies = {n: linked_anomaly(orders, integration, servicenow, n) for n in INCIDENTS}
    author = WebUser(stack.web_url, "author")
    # 503 for 8 s, then two 429s with Retry-After: 2 (docs/servicenow-api.md §8.1).
    servicenow.add_fault(
        status=HTTPStatus.SERVICE_UNAVAILABLE, method="PATCH", path_regex=NOTES, for_seconds=8
    )
    servicenow.add_rate_limited(count=2, retry_after=2, method="PATCH", path_regex=NOTES)
    recovered = time.monotonic() + 8

    expected = {n: four_changes(author, anomaly) for n, anomaly in anomalies.items()}

    result = settle_and_compare(servicenow, expected, recovered)
    answers = Counter(r["status"] for r in servicenow.requests() if r["method"] == "PATCH")
    assert answers[HTTPStatus.SERVICE_UNAVAILABLE] >= 3 and answers[HTTPStatus.TOO_MANY_REQUESTS]
    assert TicketingIntegration.objects.get().rate_limited_until is not None
    figures(result, answered_503=answers[503], answered_429=answers[429])


def test_it_posts_once_when_answers_are_lost_after_processing(
    orders, member_author, integration, stack, servicenow, figures
):
    anomalies = {n: linked_anomaly(orders, integration, servicenow, n) for n in INCIDENTS}
    author = WebUser(stack.web_url, "author")
    # The first four work notes are added, then the connection drops before the answer.
    servicenow.add_fault("drop_after", method="PATCH", path_regex=NOTES, count=4)
    started = time.monotonic()

    expected = {n: four_changes(author, anomaly) for n, anomaly in anomalies.items()}

    result = settle_and_compare(servicenow, expected, started)
    dropped = [r for r in servicenow.requests() if r["outcome"] == "fault:drop_after"]
    assert len(dropped) == 4
    assert SyncEvent.objects.filter(outcome_unknown=True).count() >= 4
    figures(result, dropped_after_processing=len(dropped))


def test_it_posts_once_when_the_worker_is_killed_mid_delivery(
    orders, member_author, integration, stack, servicenow, figures
):
    anomaly = linked_anomaly(orders, integration, servicenow, "INC0010001")
    author = WebUser(stack.web_url, "author")
    # The PATCH is held 3 s, then applied: the worker dies inside the request.
    servicenow.add_fault("delay", method="PATCH", path_regex=NOTES, seconds=3)

    acknowledge(author, anomaly)
    wait_until(lambda: not servicenow.faults(), timeout=30, what="the PATCH reaching ServiceNow")
    killed = time.monotonic()
    stack.worker.kill()
    assert SyncEvent.objects.get().state == SyncState.SENDING
    stack.replace_worker()

    expected = {"INC0010001": [status_text(anomaly, "Acknowledged")]}
    result = settle_and_compare(servicenow, expected, killed)
    event = SyncEvent.objects.get()
    assert event.state == SyncState.DELIVERED
    assert event.outcome_unknown, "the retry should have looked for the work note first"
    figures(result)


def test_it_delivers_everything_committed_while_the_broker_was_down(
    transactional_db, processes, orders, member_author, integration, servicenow, figures
):
    require_service("redis-server", redis_server_installed(), "to stop and restart a broker")
    redis = processes.redis_server()  # a private broker: stopping the shared one breaks others
    stack = start_stack(processes, redis.url(0))
    numbers = ["INC0010001", "INC0010002", "INC0010003", "INC0010004", "INC0010005"]
    anomalies = [linked_anomaly(orders, integration, servicenow, n) for n in numbers]
    author = WebUser(stack.web_url, "author")

    redis.shutdown()
    assert not redis.ping()
    for anomaly in anomalies:
        acknowledge(author, anomaly)
    assert Anomaly.objects.filter(status=Status.ACKNOWLEDGED).count() == len(numbers)
    assert SyncEvent.objects.filter(state=SyncState.PENDING).count() == len(numbers)
    processes.redis_server(port=redis.port)
    restarted = time.monotonic()

    expected = {
        n: [status_text(a, "Acknowledged")] for n, a in zip(numbers, anomalies, strict=True)
    }
    figures(settle_and_compare(servicenow, expected, restarted))
