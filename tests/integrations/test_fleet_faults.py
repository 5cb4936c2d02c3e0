"""Sync at fleet scale through real faults: a frozen broker (redis-server stopped with
SIGSTOP: connections open, nothing answers) and two beat schedulers with two workers.

Real processes as in test_sync_faults.py (gunicorn, Celery workers and beat, a Redis, the
Jira simulator). Each test prints one line of figures:

    sync-faults <test>: events=… duplicates=… losses=… drain=…s inversions=… …
"""

# The fixtures imported from test_sync_faults are taken as test arguments by name.
# ruff: noqa: F811

from __future__ import annotations

import os
import signal
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest
import requests

from anomalies.models import Anomaly, Status
from integrations.models import SyncEvent, SyncState
from tests.conftest import require_service
from tests.integrations.test_sync_faults import (  # noqa: F401 (fixtures register by import)
    COMMENTS,
    WebUser,
    acknowledge,
    figures,
    four_changes,
    integration,
    jira,
    jira_process,
    jira_texts,
    linked_anomaly,
    new_issues,
    settle_and_compare,
    start_stack,
    status_text,
)
from tests.processes import (  # noqa: F401 (the *_fixture imports register fixtures)
    Processes,
    broker_url_fixture,
    processes_fixture,
    redis_broker_url_fixture,
    redis_server_installed,
    service_env,
    session_processes_fixture,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# What a user would notice: an acknowledge that takes more than a second. The publish
# timeout is 0.3 s (BROKER_PUBLISH_TIMEOUT), paid once per web process per sweep interval.
FROZEN_BROKER_REQUEST_LIMIT = 1.0
FREEZE_SECONDS = 12  # longer than the workers' 10 s socket timeout: they must reconnect


def inversions(expected: dict[str, list[str]], actual: dict[str, list[str]]) -> int:
    """Pairs of one issue's comments that Jira holds in the other order than owed."""
    count = 0
    for key, owed in expected.items():
        position = {text: n for n, text in enumerate(owed)}
        seen = [position[text] for text in actual[key] if text in position]
        count += sum(1 for i, a in enumerate(seen) for b in seen[i + 1 :] if a > b)
    return count


def test_it_answers_at_once_and_delivers_everything_after_a_frozen_broker(
    transactional_db, processes, orders, member_author, integration, jira, figures
):
    require_service("redis-server", redis_server_installed(), "to freeze a private broker")
    redis = processes.redis_server()
    stack = start_stack(processes, redis.url(0))
    keys = new_issues(integration, 40)
    anomalies = [linked_anomaly(orders, integration, key) for key in keys]
    author = WebUser(stack.web_url, "author")
    # The usual time: ten at once with the broker answering (this also warms every web
    # process, as a running deployment is).
    usual = acknowledge_all(author, anomalies[:10])

    os.kill(redis.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=1) as other_user:
            login_page = other_user.submit(timed_get, stack.web_url + "/login/")
            latencies = acknowledge_all(author, anomalies[10:])
            unrelated = login_page.result()
        assert redis.running, "the broker must be frozen, not gone"
        time.sleep(max(0.0, FREEZE_SECONDS - (time.monotonic() - frozen_at)))
    finally:
        os.kill(redis.pid, signal.SIGCONT)
    thawed = time.monotonic()

    assert Anomaly.objects.filter(status=Status.ACKNOWLEDGED).count() == 40
    slowest = max(latencies)
    assert slowest < FROZEN_BROKER_REQUEST_LIMIT, f"an acknowledge took {slowest:.2f} s"
    assert unrelated < FROZEN_BROKER_REQUEST_LIMIT, f"the login page took {unrelated:.2f} s"
    expected = {
        key: [status_text(a, "Acknowledged")] for key, a in zip(keys, anomalies, strict=True)
    }
    result = settle_and_compare(jira, expected, thawed)
    figures(
        result,
        usual_request_max=f"{max(usual):.3f}s",
        frozen_request_median=f"{statistics.median(latencies):.3f}s",
        frozen_request_max=f"{slowest:.3f}s",
        unrelated_page=f"{unrelated:.3f}s",
        freeze=f"{thawed - frozen_at:.1f}s",
    )


def acknowledge_all(author: WebUser, anomalies: list[Anomaly]) -> list[float]:
    """Ten at a time, like ten users clicking at once; each request's seconds."""
    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(lambda anomaly: acknowledge(author, anomaly), anomalies))


def timed_get(url: str) -> float:
    started = time.monotonic()
    response = requests.get(url, timeout=60)
    assert response.status_code == HTTPStatus.OK
    return time.monotonic() - started


def test_it_delivers_once_and_in_order_with_two_beats_and_two_workers(
    transactional_db, processes, broker_url, orders, member_author, integration, jira, figures
):
    env = service_env(broker_url=broker_url)
    started = [
        processes.celery_worker(env, wait=False),
        processes.celery_worker(env, wait=False),
        processes.celery_beat(env, wait=False),
        processes.celery_beat(env, wait=False),  # a second scheduler by mistake
        web := processes.gunicorn(env, wait=False),
    ]
    for process in started:
        process.wait_ready()
    keys = new_issues(integration, 6)
    anomalies = {key: linked_anomaly(orders, integration, key) for key in keys}
    author = WebUser(web.url, "author")
    # Failures put events back to the sweepers of both beats: 503s for 4 s, and posts whose
    # answer is lost (the comment is created; the retry must look before sending again).
    jira.add_fault(
        status=HTTPStatus.SERVICE_UNAVAILABLE, method="POST", path_regex=COMMENTS, for_seconds=4
    )
    jira.add_fault(action="drop_after", method="POST", path_regex=COMMENTS, count=3)

    with ThreadPoolExecutor(max_workers=3) as pool:
        owed = dict(
            zip(keys, pool.map(lambda k: four_changes(author, anomalies[k]), keys), strict=True)
        )
    recovered = time.monotonic()

    result = settle_and_compare(jira, owed, recovered)
    actual = jira_texts(jira, owed)
    assert inversions(owed, actual) == 0
    assert SyncEvent.objects.filter(state=SyncState.DELIVERED).count() == 24
    assert not jira.faults(), "every fault should have been met"
    answered_503 = sum(1 for r in jira.requests() if r["status"] == HTTPStatus.SERVICE_UNAVAILABLE)
    assert answered_503 and SyncEvent.objects.filter(outcome_unknown=True).count() >= 3
    sweeps = [p.log().count("Sending due task sweep-sync-events") for p in started[2:4]]
    assert all(sweeps), f"both beats must have scheduled sweeps: {sweeps}"
    figures(
        result,
        inversions=0,
        answered_503=answered_503,
        sweeps_per_beat="/".join(map(str, sweeps)),
    )
