"""Rules against real workers (Celery worker and beat) and the Jira simulator in its own
process. Thirty nights of one failing check make one issue with 29 recurrence comments. A
burst of ingested anomalies, with a Jira rate limit and a worker SIGKILLed mid-burst, makes
exactly one issue per recurring failure, every recurrence linked, nothing failed; a worker
SIGKILLed after Jira applied its create (the answer held back) leaves one issue. Prints:

    rules-burst: anomalies=… groups=… issues=… requests=… 429s=… drain=…s creates_tried_again=…
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Connector, SyncEvent, SyncState, TicketingIntegration
from rules.models import ActionState, RuleAction
from tests.conftest import SIM_EMAIL, SIM_TOKEN
from tests.processes import (  # noqa: F401 (the *_fixture imports register fixtures)
    Processes,
    SimulatorProcess,
    broker_url_fixture,
    processes_fixture,
    redis_broker_url_fixture,
    service_env,
    session_processes_fixture,
    wait_until,
)

from .support import ingest, make_rule

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
ANOMALIES = int(os.environ.get("RULES_BURST_ANOMALIES", "500"))
GROUPS = int(os.environ.get("RULES_BURST_GROUPS", "20"))
DRAIN_TIMEOUT = int(os.environ.get("RULES_BURST_DRAIN_TIMEOUT", "240"))
UNFINISHED = (ActionState.PENDING, ActionState.SENDING, ActionState.WAITING)


@pytest.fixture(autouse=True)
def on_the_production_database() -> None:
    """These take ~110 s; they run once, on Postgres (what production runs on). On SQLite the
    same crash recovery is covered in-process, deterministically (test_rules_crash_recovery)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("real-process rules runs are for Postgres; SQLite: test_rules_crash_recovery")


@pytest.fixture(scope="session")
def jira_process(session_processes: Processes) -> SimulatorProcess:
    return session_processes.jira_simulator(email=SIM_EMAIL, token=SIM_TOKEN)


def settled() -> bool:
    return not (
        RuleAction.objects.filter(state__in=UNFINISHED).exists()
        or SyncEvent.objects.filter(state__in=(SyncState.PENDING, SyncState.SENDING)).exists()
    )


def connect(jira_process: SimulatorProcess, manager) -> None:
    TicketingIntegration.objects.create(
        connector=Connector.JIRA,
        host_url=jira_process.url,
        credentials=f"{SIM_EMAIL}:{SIM_TOKEN}",
        default_project_key="DQ",
        account_name="Quality Bot",
        connected_by=manager,
        connected_at=timezone.now(),
    )


def test_it_opens_one_issue_with_29_recurrence_comments_over_30_nights(
    transactional_db, processes, broker_url, jira_process, manager, orders
):
    jira = jira_process.control
    jira.reset()
    seeded = {issue["key"] for issue in jira.issues()}
    connect(jira_process, manager)
    make_rule(manager, summary_template="nightly {{ checks }}")
    env = service_env(broker_url=broker_url)
    processes.celery_worker(env)
    processes.celery_beat(env)
    start = timezone.now() - timedelta(days=30)
    for night in range(30):
        ingest(orders, manager, detected_at=start + timedelta(days=night))
        wait_until(settled, timeout=60, what=lambda: f"every action settling ({states()})")
    (issue,) = [i for i in jira.issues() if i["key"] not in seeded]
    comments = [c["text"] for c in jira.comments(issue["key"])]
    assert len(comments) == 29
    assert all(text.startswith("Recurred at ") for text in comments)
    assert "— 7th time this week." in comments[-1]


def test_it_opens_one_issue_per_failure_through_a_burst_a_rate_limit_and_a_kill(
    transactional_db, processes, broker_url, jira_process, manager, orders, capsys
):
    jira = jira_process.control
    jira.reset()
    seeded = {issue["key"] for issue in jira.issues()}
    jira.set_rate_limit(20)  # requests per second: the burst meets 429s with Retry-After
    connect(jira_process, manager)
    rule = make_rule(manager, summary_template="burst {{ checks }}")
    env = service_env(broker_url=broker_url, RULES_ACTIONS_PER_MINUTE="600")
    worker = processes.celery_worker(env)
    processes.celery_beat(env)
    jira.clear_requests()
    started = time.monotonic()
    for n in range(ANOMALIES):
        ingest(orders, manager, field=f"column_{n % GROUPS}")
        if n == ANOMALIES // 10:
            wait_until(
                lambda: (
                    RuleAction.objects.filter(state=ActionState.SENDING).exists()
                    or RuleAction.objects.filter(kind="create", state=ActionState.DONE).exists()
                ),
                timeout=30,
                what="a worker starting a create",
                every=0.02,
            )
            worker.kill()  # SIGKILL mid-burst
            worker = processes.celery_worker(env)
    wait_until(settled, timeout=DRAIN_TIMEOUT, what=lambda: f"draining ({states()})")
    drain = time.monotonic() - started

    created = [i for i in jira.issues() if i["key"] not in seeded]
    summaries = Counter(issue["fields"]["summary"] for issue in created)
    requests = jira.requests()
    retried = RuleAction.objects.filter(kind="create", attempts__gt=1).count()
    too_many = sum(1 for r in requests if r["status"] == 429)
    with capsys.disabled():
        print(
            f"\nrules-burst: anomalies={ANOMALIES} groups={GROUPS} issues={len(created)} "
            f"requests={len(requests)} 429s={too_many} drain={drain:.1f}s "
            f"creates_tried_again={retried}"
        )
    twice = {summary: count for summary, count in summaries.items() if count > 1}
    assert not twice, f"created twice: {twice}"
    assert len(created) == GROUPS
    assert states() == {"done": ANOMALIES}
    assert not SyncEvent.objects.exclude(state=SyncState.DELIVERED).exists()
    rule.refresh_from_db()
    assert rule.failures_count == 0


def test_a_worker_killed_after_jira_applied_its_create_leaves_one_issue(
    transactional_db, processes, broker_url, jira_process, manager, orders
):
    """The kill lands where a burst's kill may not: Jira has applied the create POST and is
    holding its answer (the simulator's ``hold_after``), so the worker dies with the issue
    made and nothing committed. The next worker finds it by the create marker."""
    jira = jira_process.control
    jira.reset()
    seeded = {issue["key"] for issue in jira.issues()}
    connect(jira_process, manager)
    rule = make_rule(manager, summary_template="killed {{ checks }}")
    jira.add_fault("hold_after", method="POST", path_regex=r"/rest/api/3/issue$", seconds=30)
    # The worker is killed within moments of Jira applying the create, well inside its read
    # timeout; short timeouts keep the create's in-flight limit, so the recovery, short.
    env = {
        **service_env(broker_url=broker_url),
        "JIRA_CONNECT_TIMEOUT": "1",
        "JIRA_READ_TIMEOUT": "3",
    }
    worker = processes.celery_worker(env)
    processes.celery_beat(env)  # its sweeper hands due actions to workers, and returns stale ones
    jira.clear_requests()
    ingest(orders, manager)
    wait_until(
        lambda: [i for i in jira.issues() if i["key"] not in seeded],
        timeout=30,
        what="Jira applying the create",
        every=0.02,
    )
    worker.kill()
    action = RuleAction.objects.get(kind="create")
    assert action.state == ActionState.SENDING  # the outcome was never committed
    processes.celery_worker(env)
    wait_until(settled, timeout=90, what=lambda: f"the action settling ({states()})")

    created = [i for i in jira.issues() if i["key"] not in seeded]
    posts = [
        r for r in jira.requests() if r["method"] == "POST" and r["path"] == "/rest/api/3/issue"
    ]
    assert len(created) == 1
    assert len(posts) == 1
    action.refresh_from_db()
    assert (action.state, action.issue_key) == (ActionState.DONE, created[0]["key"])
    assert action.attempts == 2
    rule.refresh_from_db()
    assert (rule.actions_count, rule.failures_count) == (1, 0)


def states() -> dict[str, int]:
    return dict(Counter(RuleAction.objects.values_list("state", flat=True)))
