"""The sync outbox (PRODUCT.md §5), service by service, against the in-process Jira simulator.

The test plays the worker: what the product hands to the broker is recorded by the autouse
`enqueued` fixture instead, and the test runs the delivery task itself, so it decides exactly
when each "worker" runs and what Jira answers at that moment.
"""

from __future__ import annotations

import threading
import time
import types
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

import anomalies.models
from anomalies.models import Anomaly, Container, Datastore, HistoryEntry, User
from anomalies.services import (
    acknowledge_anomaly,
    archive_anomaly,
    comment_on_anomaly,
    restore_anomaly,
)
from integrations import tasks
from integrations.models import (
    IntegrationState,
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
)
from integrations.services import (
    Credentials,
    check_connection,
    disconnect_integration,
    remove_ticket_link,
    retry_sync_event,
    sweep_sync_events,
    sync,
    update_integration,
)
from tests.conftest import SIM_EMAIL, SIM_TOKEN, make_anomaly, make_link

REAL_ENQUEUE_DELIVERY = sync.enqueue_delivery
AT = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
STAMP = "[2024-01-15 10:30:00 UTC]"
COMMENTS = r"/comment$"
PROPERTY_KEY = "qualytics-sync-event"


# --- fixtures and helpers -------------------------------------------------------------


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[tuple[int, float | None]]:
    """What the product handed to the broker: (event id, countdown), in order."""
    calls: list[tuple[int, float | None]] = []

    def record(event_id: int, *, countdown: float | None = None) -> bool:
        calls.append((event_id, countdown))
        return True

    monkeypatch.setattr(sync, "enqueue_delivery", record)
    return calls


@pytest.fixture
def status_clock(monkeypatch):
    """Status changes happen at 2024-01-15 10:30:00 UTC, so comment texts are literal."""
    monkeypatch.setattr(anomalies.models, "timezone", types.SimpleNamespace(now=lambda: AT))


def link_issue(anomaly: Anomaly, integration: TicketingIntegration, key: str, **fields):
    issue = integration_sim(integration).issue(key)
    return make_link(anomaly, integration, key, issue_id=issue["id"], **fields)


def integration_sim(integration: TicketingIntegration):
    from simulators.jira import SimulatorControl

    return SimulatorControl(integration.host_url)


@pytest.fixture
def dq2(anomaly, jira_integration) -> TicketLink:
    return link_issue(anomaly, jira_integration, "DQ-2")


def deliver(event: SyncEvent) -> str:
    """One worker run of the delivery task for this event."""
    return tasks.deliver_sync_event(event.pk)


def run_worker(enqueued: list) -> list[str]:
    """Deliver everything handed to the broker, in order, like one worker draining it."""
    outcomes = []
    for _ in range(100):
        if not enqueued:
            return outcomes
        event_id, _countdown = enqueued.pop(0)
        outcomes.append(tasks.deliver_sync_event(event_id))
    raise AssertionError(f"the queue never drained: {outcomes[-10:]}")


def make_due(event: SyncEvent, *, lookback_over: bool = False) -> None:
    """Let the backoff pass (the test does not wait for real); with ``lookback_over``, also
    the look-back margin after a send whose outcome is unknown."""
    SyncEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    TicketingIntegration.objects.update(rate_limited_until=None)
    if lookback_over:
        margin = timedelta(seconds=django_settings.SYNC_LOOKBACK_MARGIN_SECONDS + 1)
        SyncEvent.objects.filter(pk=event.pk).update(uncertain_since=timezone.now() - margin)


def jira_texts(jira_sim, key: str) -> list[str]:
    return [comment["text"] for comment in jira_sim.control.comments(key)]


def comment_posts(jira_sim) -> list[dict]:
    return [
        r for r in jira_sim.control.requests() if r["method"] == "POST" and "/comment" in r["path"]
    ]


def only_event(link: TicketLink) -> SyncEvent:
    (event,) = SyncEvent.objects.filter(link=link)
    return event


def acknowledged(anomaly: Anomaly, user: User, link: TicketLink, captured) -> SyncEvent:
    with captured(execute=True):
        acknowledge_anomaly(anomaly, by=user)
    return only_event(link)


# --- what Jira receives ----------------------------------------------------------------


def test_it_posts_the_acknowledgement_with_its_event_property(
    anomaly,
    member_author,
    dq2,
    jira_sim,
    enqueued,
    status_clock,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)
    event = only_event(dq2)

    assert enqueued == [(event.pk, None)]
    assert run_worker(enqueued) == ["delivered"]
    (comment,) = jira_sim.control.comments("DQ-2")
    assert comment["text"] == f"{STAMP} Qualytics Anomaly Status: Acknowledged"
    assert comment["properties"] == [{"key": PROPERTY_KEY, "value": {"event": str(event.uuid)}}]
    event.refresh_from_db()
    assert (event.state, event.remote_note_id) == (SyncState.DELIVERED, comment["id"])


def test_it_posts_the_archive_reason_and_note(
    anomaly,
    member_author,
    dq2,
    jira_sim,
    enqueued,
    status_clock,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        archive_anomaly(
            anomaly, by=member_author, reason="Duplicate", note="  Same as anomaly 41.  "
        )
    run_worker(enqueued)

    assert jira_texts(jira_sim, "DQ-2") == [
        f"{STAMP} Qualytics Anomaly Status: Duplicate\nNote: Same as anomaly 41."
    ]


def test_it_posts_acknowledged_again_on_restore(
    anomaly,
    member_author,
    dq2,
    jira_sim,
    enqueued,
    status_clock,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        archive_anomaly(anomaly, by=member_author, reason="Resolved")
    with django_capture_on_commit_callbacks(execute=True):
        restore_anomaly(anomaly, by=member_author)
    run_worker(enqueued)

    assert jira_texts(jira_sim, "DQ-2") == [
        f"{STAMP} Qualytics Anomaly Status: Resolved",
        f"{STAMP} Qualytics Anomaly Status: Acknowledged",
    ]


def test_it_posts_a_comment_with_its_author_name(
    anomaly, member_author, dq2, jira_sim, enqueued, django_capture_on_commit_callbacks
):
    member_author.first_name, member_author.last_name = "Ada", "Lovelace"
    member_author.save(update_fields=["first_name", "last_name"])
    with django_capture_on_commit_callbacks(execute=True):
        comment = comment_on_anomaly(anomaly, by=member_author, text="Loader fixed; re-run due.")
    run_worker(enqueued)

    stamp = comment.created_at.astimezone(UTC).strftime("[%Y-%m-%d %H:%M:%S UTC]")
    assert jira_texts(jira_sim, "DQ-2") == [
        f"{stamp} Comment from Qualytics (Ada Lovelace): Loader fixed; re-run due."
    ]


# --- which links get an event ----------------------------------------------------------


def test_it_queues_one_event_per_current_link_and_fails_a_broken_ones_at_once(
    anomaly, member_author, manager, jira_integration, enqueued, django_capture_on_commit_callbacks
):
    for key in ("DQ-1", "DQ-2"):
        link_issue(anomaly, jira_integration, key)
    link_issue(anomaly, jira_integration, "DQ-3", removed_at=timezone.now(), removed_by=manager)
    link_issue(anomaly, jira_integration, "OPS-1", broken_reason="Jira issue not found.")

    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)

    states = {e.link.issue_key: (e.state, e.finished_reason) for e in SyncEvent.objects.all()}
    assert states == {
        "DQ-1": ("pending", ""),
        "DQ-2": ("pending", ""),
        "OPS-1": (
            "failed",
            "Not sent: the Jira issue is a broken reference (Jira issue not found.)",
        ),
    }
    assert sorted(SyncEvent.objects.get(pk=pk).link.issue_key for pk, _ in enqueued) == [
        "DQ-1",
        "DQ-2",
    ]
    assert anomaly.history.filter(action="sync_failed", summary__contains="OPS-1").exists()


def test_it_queues_nothing_once_the_integration_is_disconnected(
    anomaly, member_author, manager, dq2, jira_integration, django_capture_on_commit_callbacks
):
    disconnect_integration(jira_integration, by=manager)

    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)

    # Kept only as a cancelled event, sent if the same site is reconnected and someone asks.
    (held,) = SyncEvent.objects.all()
    assert (held.state, held.finished_reason) == (
        SyncState.CANCELLED,
        "Not sent: the integration was disconnected at the time.",
    )


@pytest.fixture
def dead_broker(monkeypatch) -> list[tuple]:
    """Publishing really tries the broker, which refuses every connection; the attempts."""
    monkeypatch.setattr(sync, "enqueue_delivery", REAL_ENQUEUE_DELIVERY)
    attempts: list[tuple] = []

    def broker_down(*args, **kwargs):
        attempts.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.deliver_sync_event, "apply_async", broker_down)
    return attempts


def test_it_stops_enqueuing_at_the_first_broker_failure(
    anomaly, member_author, jira_integration, dead_broker, django_capture_on_commit_callbacks
):
    # Each failed publish costs a broker connection timeout (2 s) inside the web request;
    # the sweeper enqueues whatever was not handed over.
    for key in ("DQ-1", "DQ-2", "DQ-3"):
        link_issue(anomaly, jira_integration, key)

    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)

    assert SyncEvent.objects.filter(state=SyncState.PENDING).count() == 3
    assert len(dead_broker) == 1


def test_it_stops_trying_a_dead_broker_for_a_sweep_interval(
    anomaly,
    member_author,
    jira_integration,
    dead_broker,
    broker_breaker,
    settings,
    django_capture_on_commit_callbacks,
):
    # Once a publish failed, later requests skip the broker instead of each paying its
    # connection timeout; the sweeper delivers what they committed.
    settings.SYNC_SWEEP_SECONDS = 30
    link_issue(anomaly, jira_integration, "DQ-1")
    attempts = dead_broker
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="While the broker is down")

    assert len(attempts) == 1
    assert broker_breaker.is_open
    assert SyncEvent.objects.filter(state=SyncState.PENDING).count() == 2

    broker_breaker.reset()  # the pause is over: the next change tries the broker again
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="Broker back?")
    assert len(attempts) == 2


def test_it_commits_the_event_with_the_change_or_not_at_all(anomaly, member_author, dq2):
    # The change fails its status rule: neither the change nor the event may remain.
    Anomaly.objects.filter(pk=anomaly.pk).update(status="Resolved")

    with pytest.raises(anomalies.models.StatusTransitionError):
        acknowledge_anomaly(anomaly, by=member_author)

    assert not SyncEvent.objects.exists()


# --- order -----------------------------------------------------------------------------


def test_it_sends_the_events_of_one_link_strictly_in_order(
    anomaly, member_author, dq2, jira_sim, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="Second.")
    first, second = SyncEvent.objects.filter(link=dq2).order_by("pk")
    enqueued.clear()

    assert deliver(second) == "skipped"
    assert jira_sim.control.comments("DQ-2") == []
    assert deliver(first) == "delivered"
    assert enqueued == [(second.pk, None)]  # the next one is handed on at once
    assert run_worker(enqueued) == ["delivered"]
    texts = jira_texts(jira_sim, "DQ-2")
    assert [text.split("] ", 1)[1] for text in texts] == [
        "Qualytics Anomaly Status: Acknowledged",
        "Comment from Qualytics (author): Second.",
    ]


def test_it_holds_later_events_while_an_earlier_one_waits_to_retry(
    anomaly, member_author, dq2, jira_sim, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="Second.")
    first, second = SyncEvent.objects.filter(link=dq2).order_by("pk")
    jira_sim.control.add_unavailable(count=1, method="POST", path_regex=COMMENTS)

    assert deliver(first) == "retry"
    assert deliver(second) == "skipped"
    enqueued.clear()
    make_due(first, lookback_over=True)
    sweep_sync_events()

    assert enqueued == [(first.pk, None)]  # the sweeper enqueues heads of queues only
    assert run_worker(enqueued) == ["delivered", "delivered"]
    assert len(jira_texts(jira_sim, "DQ-2")) == 2


def test_it_keeps_one_order_per_jira_issue_across_the_anomalies_linked_to_it(
    anomaly,
    orders,
    member_author,
    dq2,
    jira_sim,
    jira_integration,
    enqueued,
    django_capture_on_commit_callbacks,
):
    other = make_anomaly(orders, description="Another anomaly on the same issue")
    shared = link_issue(other, jira_integration, "DQ-2")
    first = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    second = acknowledged(other, member_author, shared, django_capture_on_commit_callbacks)
    assert first.remote_issue == second.remote_issue
    jira_sim.control.add_unavailable(count=1, method="POST", path_regex=COMMENTS)

    assert deliver(first) == "retry"
    # The other anomaly's event waits behind it, though it belongs to another link.
    assert deliver(second) == "skipped"
    assert comment_posts(jira_sim)[-1]["status"] == HTTPStatus.SERVICE_UNAVAILABLE
    enqueued.clear()
    make_due(first, lookback_over=True)
    sweep_sync_events()

    assert enqueued == [(first.pk, None)]
    assert run_worker(enqueued) == ["delivered", "delivered"]
    delivered = SyncEvent.objects.order_by("delivered_at").values_list("pk", flat=True)
    assert list(delivered) == [first.pk, second.pk]
    assert len(jira_texts(jira_sim, "DQ-2")) == 2


# serialized_rollback: like every transactional test here, so the tables it empties are
# refilled the same way for the transactional tests after it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_makes_a_change_to_an_issue_wait_until_an_earlier_change_to_it_commits(
    anomaly, orders, member_author, jira_integration
):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks across connections (SQLite has one writer at a time)")
    # In another datastore: a change locks its anomaly's datastore and container rows too.
    lake = Datastore.objects.create(name="Lake", connection_type="Snowflake")
    events_table = Container.objects.create(datastore=lake, name="events")
    other = make_anomaly(events_table, description="Another anomaly on the same issue")
    for linked in (anomaly, other):
        make_link(linked, jira_integration, "DQ-2", issue_id="10042")
    committed_at: list[float] = []
    second_done_at: list[float] = []

    def second_change() -> None:
        try:
            comment_on_anomaly(other, by=member_author, text="Second.")
            second_done_at.append(time.monotonic())
        finally:
            connection.close()

    with transaction.atomic():
        comment_on_anomaly(anomaly, by=member_author, text="First.")
        racer = threading.Thread(target=second_change)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "the second change must wait for the issue's queue lock"
    committed_at.append(time.monotonic())
    racer.join(timeout=10)

    assert second_done_at and second_done_at[0] > committed_at[0]
    first, second = SyncEvent.objects.order_by("pk")
    assert (first.link.anomaly_id, second.link.anomaly_id) == (anomaly.pk, other.pk)
    assert first.remote_issue == second.remote_issue


def test_it_lets_other_issues_go_while_one_issue_waits(
    anomaly,
    orders,
    member_author,
    dq2,
    jira_sim,
    jira_integration,
    enqueued,
    django_capture_on_commit_callbacks,
):
    other = make_anomaly(orders, description="Another anomaly")
    dq3 = link_issue(other, jira_integration, "DQ-3")
    jira_sim.control.add_unavailable(count=1, method="POST", path_regex=r"/DQ-2/comment$")
    blocked = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    free = acknowledged(other, member_author, dq3, django_capture_on_commit_callbacks)

    assert deliver(blocked) == "retry"
    assert deliver(free) == "delivered"


# --- what each answer of Jira does -----------------------------------------------------


def test_it_retries_a_503_with_backoff_looking_for_the_comment_first(
    anomaly, member_author, dq2, jira_sim, enqueued, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_BACKOFF_BASE_SECONDS = 10
    settings.JIRA_READ_TIMEOUT = 1  # the first look waits at least this long
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_sim.control.add_unavailable(count=1, method="POST", path_regex=COMMENTS)
    enqueued.clear()

    before = timezone.now()
    assert deliver(event) == "retry"
    after = timezone.now()

    event.refresh_from_db()
    assert (event.state, event.attempts) == (SyncState.PENDING, 1)
    assert "HTTP 503" in event.last_error
    # A 503 may come from a proxy after Jira added the comment: look before resending.
    assert event.outcome_unknown is True
    assert before + timedelta(seconds=7) <= event.next_attempt_at <= after + timedelta(seconds=13)
    ((event_id, countdown),) = enqueued
    assert event_id == event.pk and 7 <= countdown <= 13
    make_due(event, lookback_over=True)
    jira_sim.control.clear_requests()
    assert deliver(event) == "delivered"
    calls = [(r["method"], r["query"].get("expand")) for r in jira_sim.control.requests()]
    assert calls == [("GET", "properties"), ("POST", None)]


def test_it_marks_a_502_on_a_write_as_outcome_unknown_and_looks_before_resending(
    anomaly, member_author, dq2, jira_sim, django_capture_on_commit_callbacks
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_sim.control.add_fault(status=HTTPStatus.BAD_GATEWAY, method="POST", path_regex=COMMENTS)

    assert deliver(event) == "retry"
    event.refresh_from_db()
    assert event.outcome_unknown is True

    jira_sim.control.clear_requests()
    make_due(event, lookback_over=True)
    assert deliver(event) == "delivered"
    calls = [(r["method"], r["query"].get("expand")) for r in jira_sim.control.requests()]
    assert calls == [("GET", "properties"), ("POST", None)]


def test_it_waits_for_retry_after_on_a_429_across_the_whole_integration(
    anomaly,
    member_author,
    dq2,
    orders,
    jira_sim,
    jira_integration,
    enqueued,
    django_capture_on_commit_callbacks,
):
    other = make_anomaly(orders, description="Another anomaly")
    other_link = link_issue(other, jira_integration, "DQ-3")
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(other, by=member_author)
    other_event = only_event(other_link)
    jira_sim.control.add_rate_limited(count=1, retry_after=2, method="POST", path_regex=COMMENTS)

    before = timezone.now()
    assert deliver(event) == "retry"
    event.refresh_from_db()
    jira_integration.refresh_from_db()
    assert event.next_attempt_at >= before + timedelta(seconds=2)
    assert jira_integration.rate_limited_until >= before + timedelta(seconds=2)
    assert "HTTP 429" in event.last_error

    # Another issue's event waits too, without asking Jira (the limit is per site).
    posts_before = len(comment_posts(jira_sim))
    assert deliver(other_event) == "skipped"
    other_event.refresh_from_db()
    assert other_event.next_attempt_at == jira_integration.rate_limited_until
    assert len(comment_posts(jira_sim)) == posts_before


@pytest.mark.parametrize(
    "fault",
    [
        {"action": "drop_after"},  # Jira adds the comment, the connection closes unanswered
        {"action": "delay", "seconds": 1.0},  # Jira answers after our read timeout
    ],
    ids=["connection-dropped", "read-timeout"],
)
def test_it_finds_a_comment_whose_post_timed_out_instead_of_posting_twice(
    fault, anomaly, member_author, dq2, jira_sim, settings, django_capture_on_commit_callbacks
):
    settings.JIRA_READ_TIMEOUT = 0.3
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_sim.control.add_fault(method="POST", path_regex=COMMENTS, **fault)

    assert deliver(event) == "retry"
    event.refresh_from_db()
    assert event.outcome_unknown is True
    wait_for_comments(jira_sim, "DQ-2", count=1)  # Jira finished the late request

    jira_sim.control.clear_requests()
    make_due(event)
    assert deliver(event) == "delivered"
    (comment,) = jira_sim.control.comments("DQ-2")
    event.refresh_from_db()
    assert event.remote_note_id == comment["id"]
    assert comment_posts(jira_sim) == []  # found by its property, not posted again


def test_it_finds_a_comment_jira_added_before_answering_503_instead_of_posting_twice(
    anomaly, member_author, dq2, jira_sim, django_capture_on_commit_callbacks
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_sim.control.add_fault(
        "status_after", status=HTTPStatus.SERVICE_UNAVAILABLE, method="POST", path_regex=COMMENTS
    )

    assert deliver(event) == "retry"
    jira_sim.control.clear_requests()
    make_due(event)  # the first look, well inside the look-back margin
    assert deliver(event) == "delivered"

    assert len(jira_sim.control.comments("DQ-2")) == 1
    assert comment_posts(jira_sim) == []


def test_it_looks_again_after_the_margin_before_resending_a_stalled_post(
    anomaly, member_author, dq2, jira_sim, settings, django_capture_on_commit_callbacks
):
    settings.JIRA_READ_TIMEOUT = 0.3
    settings.SYNC_LOOKBACK_MARGIN_SECONDS = 120
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    # Jira completes the post 1.5 s after it arrived, long after the client gave up.
    jira_sim.control.add_fault("delay", method="POST", path_regex=COMMENTS, seconds=1.5)

    assert deliver(event) == "retry"
    make_due(event)
    assert deliver(event) == "looking"  # nothing there yet, and Jira may still add it
    event.refresh_from_db()
    assert event.next_attempt_at == event.uncertain_since + timedelta(seconds=120)
    assert "looking again" in event.last_error

    wait_for_comments(jira_sim, "DQ-2", count=1)  # the stalled post lands
    assert len(comment_posts(jira_sim)) == 1  # and was not resent
    make_due(event, lookback_over=True)
    assert deliver(event) == "delivered"
    assert len(jira_sim.control.comments("DQ-2")) == 1
    assert len(comment_posts(jira_sim)) == 1


def test_it_resends_after_the_margin_when_the_comment_never_landed(
    anomaly, member_author, dq2, jira_sim, django_capture_on_commit_callbacks
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_sim.control.add_unavailable(count=1, method="POST", path_regex=COMMENTS)

    assert deliver(event) == "retry"
    make_due(event)
    assert deliver(event) == "looking"
    make_due(event, lookback_over=True)
    assert deliver(event) == "delivered"

    assert len(jira_sim.control.comments("DQ-2")) == 1
    assert len(comment_posts(jira_sim)) == 2


def test_it_waits_at_least_a_read_timeout_before_checking_an_unknown_outcome(
    anomaly, member_author, dq2, jira_sim, settings, enqueued, django_capture_on_commit_callbacks
):
    # A request Jira is still working on must have finished before we look for its comment.
    settings.JIRA_READ_TIMEOUT = 30
    settings.SYNC_BACKOFF_BASE_SECONDS = 0.5
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_sim.control.add_fault(status=HTTPStatus.BAD_GATEWAY, method="POST", path_regex=COMMENTS)
    enqueued.clear()

    assert deliver(event) == "retry"

    ((event_id, countdown),) = enqueued
    assert event_id == event.pk and countdown >= 30


def wait_for_comments(jira_sim, key: str, *, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(jira_sim.control.comments(key)) < count:
        assert time.monotonic() < deadline, f"{key} never got {count} comment(s)"
        time.sleep(0.05)


def test_it_pauses_the_integration_on_401_and_resumes_after_the_credentials_are_fixed(
    anomaly,
    member_author,
    dq2,
    jira_sim,
    jira_integration,
    enqueued,
    django_capture_on_commit_callbacks,
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_integration.credentials = f"{SIM_EMAIL}:revoked-token"
    jira_integration.save(update_fields=["credentials"])

    assert deliver(event) == "paused"
    jira_integration.refresh_from_db()
    event.refresh_from_db()
    assert "credentials" in jira_integration.attention_reason
    assert event.state == SyncState.PENDING
    assert deliver(event) == "skipped"  # nothing more is sent while paused

    assert_resumes_after_fixing_credentials(
        jira_integration, event, jira_sim, enqueued, django_capture_on_commit_callbacks
    )


def test_it_pauses_the_integration_on_403s_in_two_projects_and_resumes_once_fixed(
    anomaly,
    orders,
    member_author,
    dq2,
    jira_sim,
    jira_integration,
    enqueued,
    django_capture_on_commit_callbacks,
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    other = make_anomaly(orders, description="An operations anomaly")
    ops1 = link_issue(other, jira_integration, "OPS-1")
    ops_event = acknowledged(other, member_author, ops1, django_capture_on_commit_callbacks)
    # The seeded viewer account may browse but not comment: Jira answers 403 everywhere.
    jira_integration.credentials = "viewer@example.com:viewer-token"
    jira_integration.save(update_fields=["credentials"])

    # One refused issue holds only its own queue...
    assert deliver(event) == "held"
    jira_integration.refresh_from_db()
    assert jira_integration.attention_reason == ""
    # ...a refusal in a second project means the account itself lacks the permission.
    assert deliver(ops_event) == "held"
    jira_integration.refresh_from_db()
    event.refresh_from_db()
    assert "permissions" in jira_integration.attention_reason
    assert "projects DQ, OPS" in jira_integration.attention_reason
    assert event.state == SyncState.PENDING and "refused access to issue DQ-2" in event.last_error

    make_due(event)
    make_due(ops_event)
    assert_resumes_after_fixing_credentials(
        jira_integration, event, jira_sim, enqueued, django_capture_on_commit_callbacks
    )


def test_it_holds_only_the_refused_issue_then_fails_it_visibly_and_retryably(
    anomaly,
    orders,
    member_author,
    dq2,
    jira_sim,
    jira_integration,
    enqueued,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.SYNC_FORBIDDEN_ATTEMPTS = 3
    other = make_anomaly(orders, description="Another anomaly")
    dq3 = link_issue(other, jira_integration, "DQ-3")
    # Issue-level security hides DQ-2 from the account; the rest of the project is fine.
    jira_sim.control.add_fault(
        status=HTTPStatus.FORBIDDEN, method="POST", path_regex=r"/DQ-2/comment$", count=100
    )
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="Behind the refused one.")
    behind = SyncEvent.objects.filter(link=dq2).exclude(pk=event.pk).get()
    free = acknowledged(other, member_author, dq3, django_capture_on_commit_callbacks)

    outcomes = [deliver(event)]
    assert deliver(free) == "delivered"  # another issue is not held
    assert deliver(behind) == "skipped"  # the refused issue's own queue is
    for _ in range(2):
        make_due(event)
        outcomes.append(deliver(event))

    assert outcomes == ["held", "held", "failed"]
    jira_integration.refresh_from_db()
    assert jira_integration.attention_reason == ""  # one issue never pauses the integration
    for failed in (event, behind):
        failed.refresh_from_db()
        assert failed.state == SyncState.FAILED
        assert failed.finished_reason.startswith("Jira refused access to issue DQ-2 3 times")
    history = HistoryEntry.objects.filter(anomaly=anomaly, action="sync_failed")
    assert history.count() == 2
    assert len(comment_posts(jira_sim)) == 4  # 3 tries for DQ-2, 1 for DQ-3; no loop

    jira_sim.control.clear_faults()  # the permission is fixed in Jira
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        retry_sync_event(event)
    with django_capture_on_commit_callbacks(execute=True):
        retry_sync_event(behind)
    assert run_worker(enqueued).count("delivered") == 2
    assert len(jira_texts(jira_sim, "DQ-2")) == 2


def test_it_ends_a_403_that_stays_after_a_resume_instead_of_pausing_forever(
    anomaly,
    orders,
    member_author,
    dq2,
    jira_sim,
    jira_integration,
    enqueued,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.SYNC_FORBIDDEN_ATTEMPTS = 3
    other = make_anomaly(orders, description="An operations anomaly")
    ops1 = link_issue(other, jira_integration, "OPS-1")
    events = [
        acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks),
        acknowledged(other, member_author, ops1, django_capture_on_commit_callbacks),
    ]
    jira_sim.control.add_fault(
        status=HTTPStatus.FORBIDDEN, method="POST", path_regex=COMMENTS, count=100
    )

    rounds = 0
    while SyncEvent.objects.filter(state=SyncState.PENDING).exists():
        rounds += 1
        assert rounds <= 5, "a 403 that stays must end in failed events, not a loop"
        for event in events:
            make_due(event)
            deliver(event)
            # A Manager re-saves the same credentials: the integration resumes.
            TicketingIntegration.objects.update(attention_reason="")

    assert rounds == 3
    assert set(SyncEvent.objects.values_list("state", flat=True)) == {SyncState.FAILED}
    assert len(comment_posts(jira_sim)) == 6


def assert_resumes_after_fixing_credentials(
    integration, event, jira_sim, enqueued, captured
) -> None:
    credentials = Credentials(SIM_EMAIL, SIM_TOKEN)
    report = check_connection(integration.host_url, credentials, "DQ")
    enqueued.clear()
    with captured(execute=True):
        update_integration(
            integration, credentials=credentials, default_project_key="DQ", report=report
        )

    integration.refresh_from_db()
    assert integration.attention_reason == ""
    waiting = list(SyncEvent.objects.filter(state=SyncState.PENDING).values_list("pk", flat=True))
    assert enqueued == [(pk, None) for pk in waiting] and event.pk in waiting
    assert run_worker(enqueued) == ["delivered"] * len(waiting)
    assert len(jira_sim.control.comments("DQ-2")) == 1


def test_it_marks_the_link_broken_and_fails_its_events_on_404(
    anomaly, member_author, dq2, jira_sim, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="Second.")
    first, second = SyncEvent.objects.filter(link=dq2).order_by("pk")
    jira_sim.control.delete_issue("DQ-2")

    assert deliver(first) == "failed"

    dq2.refresh_from_db()
    assert dq2.is_broken
    for event in (first, second):
        event.refresh_from_db()
        assert event.state == SyncState.FAILED
        assert "deleted or cannot be seen" in event.finished_reason
    assert len(comment_posts(jira_sim)) == 1  # the second was failed without trying


def test_it_fails_on_400_with_jiras_message(
    anomaly, member_author, dq2, jira_sim, django_capture_on_commit_callbacks
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_sim.control.add_fault(
        status=HTTPStatus.BAD_REQUEST,
        method="POST",
        path_regex=COMMENTS,
        body={"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}},
    )

    assert deliver(event) == "failed"

    event.refresh_from_db()
    assert event.state == SyncState.FAILED
    assert "Comment body can not be empty!" in event.finished_reason


def test_it_moves_on_to_the_next_event_right_after_one_fails(
    anomaly, member_author, dq2, jira_sim, enqueued, django_capture_on_commit_callbacks
):
    first = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="Second")
    second = dq2.sync_events.exclude(pk=first.pk).get()
    jira_sim.control.add_fault(status=HTTPStatus.BAD_REQUEST, method="POST", path_regex=COMMENTS)
    enqueued.clear()

    assert deliver(first) == "failed"

    # No waiting for the sweeper: the failed head hands over to the next event at once.
    assert [event_id for event_id, _ in enqueued] == [second.pk]
    assert run_worker(enqueued) == ["delivered"]


def test_it_gives_up_visibly_after_the_retry_horizon(
    client, anomaly, member_author, dq2, jira_sim, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_RETRY_HORIZON_HOURS = 48
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    SyncEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(hours=48))
    jira_sim.control.add_unavailable(count=1, method="POST", path_regex=COMMENTS)

    assert deliver(event) == "failed"

    event.refresh_from_db()
    assert event.state == SyncState.FAILED
    assert event.finished_reason.startswith("Gave up after 1 attempts: Jira is unavailable.")
    client.force_login(member_author)
    page = client.get(reverse("anomalies:detail", args=[anomaly.pk])).content.decode()
    assert "Failed: Gave up after 1 attempts" in page


# --- backoff ---------------------------------------------------------------------------


def test_it_doubles_the_backoff_within_the_jitter_bounds_up_to_the_cap(settings):
    settings.SYNC_BACKOFF_BASE_SECONDS = 5
    settings.SYNC_BACKOFF_MAX_SECONDS = 900
    samples = {n: [sync.backoff_seconds(n) for _ in range(200)] for n in range(1, 12)}

    for attempts, delays in samples.items():
        nominal = min(5 * 2 ** (attempts - 1), 900)
        assert all(0.7 * nominal <= d <= 1.3 * nominal for d in delays), attempts
    for attempts in range(1, 8):  # 5 · 2⁷ = 640 s is the last step below the cap
        assert max(samples[attempts]) < min(samples[attempts + 1])
    assert max(samples[11]) <= 1.3 * 900


# --- recovering, cancelling, retrying --------------------------------------------------


def test_it_recovers_a_stale_send_without_posting_twice(
    anomaly,
    member_author,
    dq2,
    jira_sim,
    jira_integration,
    enqueued,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.SYNC_SENDING_STALE_SECONDS = 120
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    # A worker claimed it, posted the comment, and died before recording the outcome.
    stale = timezone.now() - timedelta(seconds=121)
    SyncEvent.objects.filter(pk=event.pk).update(
        state=SyncState.SENDING, sending_since=stale, attempts=1
    )
    posted_by_dead_worker(jira_integration, event)
    enqueued.clear()

    assert sweep_sync_events() == {"recovered": 1, "enqueued": 1}

    event.refresh_from_db()
    assert (event.state, event.outcome_unknown) == (SyncState.PENDING, True)
    assert run_worker(enqueued) == ["delivered"]
    assert len(jira_sim.control.comments("DQ-2")) == 1


def posted_by_dead_worker(integration: TicketingIntegration, event: SyncEvent) -> None:
    from integrations.jira.adf import text_to_adf
    from integrations.jira.connector import client_for

    with client_for(integration) as client:
        client.add_comment(
            event.link.issue_key,
            text_to_adf(event.body),
            properties={PROPERTY_KEY: {"event": str(event.uuid)}},
        )


def test_it_leaves_a_send_in_progress_alone(
    anomaly, member_author, dq2, enqueued, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_SENDING_STALE_SECONDS = 120
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    SyncEvent.objects.filter(pk=event.pk).update(
        state=SyncState.SENDING, sending_since=timezone.now() - timedelta(seconds=60)
    )

    assert sweep_sync_events() == {"recovered": 0, "enqueued": 0}


def test_it_cancels_pending_events_when_the_link_is_removed(
    anomaly, member_author, dq2, jira_sim, django_capture_on_commit_callbacks
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)

    remove_ticket_link(dq2, by=member_author)

    event.refresh_from_db()
    assert (event.state, event.finished_reason) == (SyncState.CANCELLED, "The link was removed.")
    assert deliver(event) == "skipped"
    assert comment_posts(jira_sim) == []


def test_it_cancels_pending_events_when_the_integration_is_disconnected(
    anomaly,
    member_author,
    manager,
    dq2,
    jira_sim,
    jira_integration,
    django_capture_on_commit_callbacks,
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)

    assert disconnect_integration(jira_integration, by=manager) == 1

    event.refresh_from_db()
    assert event.state == SyncState.CANCELLED
    assert event.finished_reason == "The integration was disconnected."
    assert TicketingIntegration.objects.get().state == IntegrationState.DISCONNECTED
    assert deliver(event) == "skipped"
    assert comment_posts(jira_sim) == []


def test_it_resends_a_failed_event_on_retry(
    anomaly, member_author, dq2, jira_sim, enqueued, django_capture_on_commit_callbacks
):
    event = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    jira_sim.control.add_fault(status=HTTPStatus.BAD_REQUEST, method="POST", path_regex=COMMENTS)
    assert deliver(event) == "failed"
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        retry_sync_event(event)

    event.refresh_from_db()
    assert (event.state, event.attempts, event.finished_reason) == (SyncState.PENDING, 0, "")
    assert event.retried_at is not None
    assert run_worker(enqueued) == ["delivered"]
    assert len(jira_sim.control.comments("DQ-2")) == 1


# --- history -----------------------------------------------------------------------------


def sync_history(anomaly: Anomaly) -> list[tuple[str, str, int | None]]:
    return list(
        HistoryEntry.objects.filter(anomaly=anomaly, action__startswith="sync_")
        .order_by("pk")
        .values_list("action", "summary", "actor")
    )


def test_it_records_delivered_and_failed_outcomes_in_the_anomaly_history(
    anomaly, member_author, dq2, jira_sim, django_capture_on_commit_callbacks
):
    delivered = acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    deliver(delivered)
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="Will fail.")
    failed = SyncEvent.objects.filter(link=dq2).latest("pk")
    jira_sim.control.add_fault(status=HTTPStatus.BAD_REQUEST, method="POST", path_regex=COMMENTS)
    deliver(failed)

    assert sync_history(anomaly) == [
        ("sync_delivered", "Acknowledgement posted to Jira issue DQ-2", None),
        (
            "sync_failed",
            "Comment to Jira issue DQ-2 failed: Jira rejected the request. (HTTP 400) "
            "Simulated HTTP 400 Jira rejected some of the values sent: correct them and try "
            "again.",
            None,
        ),
    ]


def test_it_records_cancelled_events_in_the_anomaly_history(
    anomaly, member_author, dq2, django_capture_on_commit_callbacks
):
    acknowledged(anomaly, member_author, dq2, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="Never sent.")

    remove_ticket_link(dq2, by=member_author)

    assert sync_history(anomaly) == [
        (
            "sync_cancelled",
            "2 pending comments to Jira issue DQ-2 cancelled: The link was removed.",
            None,
        )
    ]
