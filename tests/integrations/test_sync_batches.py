"""A worker delivers a Jira issue's due queue in batches (docs/sync.md, "Batches"): one broker
message, one claim and one record per batch instead of two transactions per comment, with
the same guarantees: in order, each comment once, and after a worker dies mid-batch, each
comment whose POST may have landed is looked for before it is posted again.

Statement counts are pinned, not times (speed is measured by `make bench`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anomalies.models import HistoryEntry
from integrations import tasks
from integrations.models import SyncEvent, SyncState, TicketLink, remote_issue_key
from integrations.services import sweep_sync_events, sync
from tests.conftest import make_link

COMMENTS = r"/comment$"
BATCH = sync.DELIVERY_BATCH
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")  # SQLite logs them
# Real commits, as in production, so the statements counted are the ones a worker runs.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def published(monkeypatch) -> list[tuple[tuple, dict]]:
    """The delivery messages handed to the broker: (args, kwargs), in order."""
    messages: list[tuple[tuple, dict]] = []

    def record(task, *args, countdown=None, **kwargs) -> bool:
        messages.append((args, kwargs))
        return True

    monkeypatch.setattr(sync, "publish", record)
    return messages


def run_worker(published: list) -> list[str]:
    """Run every published message, in order, like one worker draining the broker."""
    outcomes = []
    while published:
        args, kwargs = published.pop(0)
        outcomes.append(tasks.deliver_sync_event(*args, **kwargs))
        assert len(outcomes) < 100, "the queue never drained"
    return outcomes


@pytest.fixture
def dq2(anomaly, jira_integration) -> TicketLink:
    from simulators.jira import SimulatorControl

    issue = SimulatorControl(jira_integration.host_url).issue("DQ-2")
    return make_link(anomaly, jira_integration, "DQ-2", issue_id=issue["id"])


def queue_comments(link: TicketLink, count: int) -> list[SyncEvent]:
    """``count`` comments owed to the link's issue, as committed changes leave them."""
    remote_issue = remote_issue_key(link.integration_id, link.issue_id)
    return SyncEvent.objects.bulk_create(
        SyncEvent(
            link=link,
            remote_issue=remote_issue,
            kind="commented",
            body=f"comment {number}",
            created_at=timezone.now(),
        )
        for number in range(count)
    )


def jira_texts(jira_sim, key: str = "DQ-2") -> list[str]:
    return [comment["text"] for comment in jira_sim.control.comments(key)]


def comment_posts(jira_sim) -> int:
    return sum(
        1 for r in jira_sim.control.requests() if r["method"] == "POST" and "/comment" in r["path"]
    )


def states(events: list[SyncEvent]) -> list[str]:
    by_id = dict(SyncEvent.objects.values_list("pk", "state"))
    return [by_id[event.pk] for event in events]


def fail_post_number(monkeypatch, jira_sim, number: int, fault) -> None:
    """Let Jira answer the ``number``-th comment POST (1-based) with ``fault``."""
    real_send = sync._send
    sent = []

    def send(connector, event):
        sent.append(event.pk)
        if len(sent) == number:
            fault(jira_sim.control)
        return real_send(connector, event)

    monkeypatch.setattr(sync, "_send", send)


def test_it_delivers_a_batch_of_due_comments_with_one_message_and_six_statements(
    dq2, jira_sim, published
):
    status_read_at = dq2.last_synced_at
    events = queue_comments(dq2, BATCH)
    sync.enqueue_next(events[0].remote_issue)  # what a bulk action publishes per issue
    assert published == [((events[0].pk,), {"batch": BATCH, "rounds": sync.DELIVERY_ROUNDS})]

    with CaptureQueriesContext(connection) as queries:
        assert run_worker(published) == [f"{BATCH} delivered"]

    assert jira_texts(jira_sim) == [f"comment {n}" for n in range(BATCH)]
    assert published == []  # nothing left to hand on
    # Claim (lock the run, read the integration, mark the run sending), record (events,
    # history lines), look for the next head: 6 for a batch, against 12 per comment
    # delivered one by one.
    statements = [q["sql"] for q in queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
    assert len(statements) <= 6, "\n".join(sql[:120] for sql in statements)
    delivered = SyncEvent.objects.filter(state=SyncState.DELIVERED).order_by("pk")
    assert [int(e.remote_note_id) for e in delivered] == sorted(
        int(e.remote_note_id) for e in delivered
    )
    assert all(e.attempts == 1 and e.sending_since is None for e in delivered)
    history = HistoryEntry.objects.filter(action="sync_delivered")
    assert history.count() == BATCH
    assert history.first().summary == "Comment posted to Jira issue DQ-2"
    dq2.refresh_from_db()
    assert dq2.last_synced_at == status_read_at  # "status read …" is about the status only


def test_it_delivers_a_long_queue_batch_after_batch_and_hands_on_the_rest(dq2, jira_sim, published):
    per_message = BATCH * sync.DELIVERY_ROUNDS
    events = queue_comments(dq2, per_message + 5)
    sync.enqueue_next(events[0].remote_issue)

    with CaptureQueriesContext(connection) as queries:
        outcomes = run_worker(published)

    # One message carries DELIVERY_ROUNDS batches; the rest goes to the broker as one more.
    assert outcomes == [f"{per_message} delivered", "5 delivered"]
    assert jira_texts(jira_sim) == [f"comment {n}" for n in range(per_message + 5)]
    statements = [q["sql"] for q in queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
    assert len(statements) <= 7 * (sync.DELIVERY_ROUNDS + 1)


def test_a_503_mid_batch_keeps_what_landed_retries_that_comment_and_holds_the_rest(
    dq2, jira_sim, published, monkeypatch
):
    events = queue_comments(dq2, 6)
    fail_post_number(
        monkeypatch,
        jira_sim,
        3,
        lambda control: control.add_unavailable(count=1, method="POST", path_regex=COMMENTS),
    )

    assert sync.deliver_sync_events(events[0].pk) == ["delivered", "delivered", "retry"]

    assert states(events) == ["delivered"] * 2 + ["pending"] * 4
    failed = SyncEvent.objects.get(pk=events[2].pk)
    assert failed.outcome_unknown and failed.attempts == 1 and failed.next_attempt_at
    behind = SyncEvent.objects.filter(pk__in=[e.pk for e in events[3:]])
    # Never sent: no look needed, no attempt counted, nothing set for later.
    assert {(e.outcome_unknown, e.attempts, e.next_attempt_at) for e in behind} == {
        (False, 0, None)
    }
    # One message: the retry of the comment that met the 503 (the rest waits behind it).
    assert [args for args, _ in published] == [(events[2].pk,)]
    assert sync.deliver_sync_events(events[3].pk) == ["skipped"]
    assert jira_texts(jira_sim) == ["comment 0", "comment 1"]


def test_a_403_mid_batch_holds_only_that_issue(
    anomaly, dq2, jira_integration, jira_sim, published, monkeypatch
):
    from simulators.jira import SimulatorControl

    other_issue = SimulatorControl(jira_integration.host_url).issue("DQ-3")
    dq3 = make_link(anomaly, jira_integration, "DQ-3", issue_id=other_issue["id"])
    events = queue_comments(dq2, 4)
    others = queue_comments(dq3, 2)
    fail_post_number(
        monkeypatch,
        jira_sim,
        2,
        lambda control: control.add_fault(status=403, method="POST", path_regex=COMMENTS),
    )

    assert sync.deliver_sync_events(events[0].pk) == ["delivered", "held"]
    monkeypatch.undo()
    monkeypatch.setattr(sync, "publish", lambda *args, **kwargs: True)
    assert sync.deliver_sync_events(others[0].pk) == ["delivered", "delivered"]

    assert states(events) == ["delivered", "pending", "pending", "pending"]
    assert jira_texts(jira_sim) == ["comment 0"]
    assert jira_texts(jira_sim, "DQ-3") == ["comment 0", "comment 1"]


def test_after_a_worker_dies_mid_batch_it_looks_for_each_comment_and_posts_each_once(
    dq2, jira_sim, published, monkeypatch, settings
):
    events = queue_comments(dq2, 5)
    real_send = sync._send
    sent = []

    def send_then_die(connector, event):
        if len(sent) == 3:  # the fourth POST never starts: the worker is killed
            raise SystemExit("killed")
        sent.append(event.pk)
        return real_send(connector, event)

    monkeypatch.setattr(sync, "_send", send_then_die)
    monkeypatch.setattr(sync, "_record_delivered", lambda *args: None)  # died before recording
    with pytest.raises(SystemExit):
        sync.deliver_sync_events(events[0].pk)
    monkeypatch.undo()
    monkeypatch.setattr(sync, "publish", lambda *args, **kwargs: published.append(args) or True)
    assert states(events) == ["sending"] * 5
    assert jira_texts(jira_sim) == ["comment 0", "comment 1", "comment 2"]

    # The lease runs out: the sweeper hands every claimed event back as "outcome unknown".
    stale = timezone.now() - timedelta(seconds=settings.SYNC_SENDING_STALE_SECONDS + 1)
    SyncEvent.objects.update(sending_since=stale)
    assert sweep_sync_events() == {"recovered": 5, "enqueued": 1}

    jira_sim.control.clear_requests()
    outcomes = []
    for _ in range(20):
        head = SyncEvent.objects.filter(state=SyncState.PENDING).order_by("pk").first()
        if head is None:
            break
        outcome = sync.deliver_sync_events(head.pk)
        outcomes += outcome
        if outcome == ["looking"]:  # the fourth may still land: the margin passes
            margin = timedelta(seconds=settings.SYNC_LOOKBACK_MARGIN_SECONDS + 1)
            SyncEvent.objects.filter(state=SyncState.PENDING).update(
                next_attempt_at=None, uncertain_since=timezone.now() - margin
            )
    # The three that landed are found, not posted again; the fourth is posted only after a
    # look once the margin has passed; each is looked for, one at a time, in order.
    assert outcomes == ["delivered"] * 3 + ["looking", "delivered", "delivered"]
    assert jira_texts(jira_sim) == [f"comment {n}" for n in range(5)]
    assert comment_posts(jira_sim) == 2


def test_a_batch_stops_sending_once_the_sweeper_took_its_claim_over(
    dq2, jira_sim, published, monkeypatch, settings
):
    settings.SYNC_SENDING_STALE_SECONDS = 0  # every send after the first checks the lease
    events = queue_comments(dq2, 4)
    real_send = sync._send
    sent = []

    def send_while_the_sweeper_runs(connector, event):
        note = real_send(connector, event)
        sent.append(event.pk)
        if len(sent) == 2:  # the sweeper finds the claim stale and hands it over
            sweep_sync_events()
        return note

    monkeypatch.setattr(sync, "_send", send_while_the_sweeper_runs)
    assert sync.deliver_sync_events(events[0].pk) == ["delivered", "delivered"]

    assert comment_posts(jira_sim) == 2
    # What this worker sent is recorded; the rest is the sweeper's, to be looked for first.
    assert states(events) == ["delivered", "delivered", "pending", "pending"]
    rest = SyncEvent.objects.filter(pk__in=[e.pk for e in events[2:]])
    assert all(event.outcome_unknown for event in rest)


def test_a_batch_renews_its_claim_while_it_holds_it(dq2, jira_sim, published, settings):
    settings.SYNC_SENDING_STALE_SECONDS = 0  # every send after the first renews the lease
    events = queue_comments(dq2, 3)

    assert sync.deliver_sync_events(events[0].pk) == ["delivered"] * 3
    assert jira_texts(jira_sim) == ["comment 0", "comment 1", "comment 2"]


def test_a_comment_behind_the_batch_waiting_for_a_look_is_sent_alone_after_it(
    dq2, jira_sim, published
):
    events = queue_comments(dq2, 4)
    SyncEvent.objects.filter(pk=events[2].pk).update(outcome_unknown=True)

    assert sync.deliver_sync_events(events[0].pk) == ["delivered", "delivered"]
    assert [args for args, _ in published] == [(events[2].pk,)]
    jira_sim.control.clear_requests()
    assert run_worker(published) == ["2 delivered"]
    methods = [r["method"] for r in jira_sim.control.requests()]
    assert methods == ["GET", "POST", "POST"]  # looked for, posted alone; then the next batch
