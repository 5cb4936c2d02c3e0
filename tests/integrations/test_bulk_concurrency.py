"""Two bulk actions at once over overlapping selections that share Jira issues (Postgres:
real concurrent transactions). Each anomaly is its own transaction, holding its row and then
its issues' queue rows in key order, so neither run waits on the other in a cycle: Postgres
never has to abort one (a deadlock would show as "database error; try again" skips)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from anomalies.bulk import bulk_actions, run_bulk_action, select_anomalies
from anomalies.models import Anomaly, Comment
from integrations.models import SyncEvent
from integrations.services import sync
from tests.conftest import make_anomaly, make_link

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
RUNS_PER_SIDE = 3


@pytest.fixture
def no_broker(monkeypatch) -> None:
    monkeypatch.setattr(sync, "enqueue_delivery", lambda event_id, *, countdown=None: True)


def _linked_in_blocks(orders, integration, blocks: list[tuple[str, str]], size: int) -> list:
    """`size` anomalies per block, each linked to the block's issue: (key, issue id)."""
    anomalies = []
    for key, issue_id in blocks:
        for _ in range(size):
            anomaly = make_anomaly(orders)
            make_link(anomaly, integration, key, issue_id=issue_id)
            anomalies.append(anomaly)
    return anomalies


def test_it_runs_two_bulk_comments_over_shared_issues_at_once_without_a_deadlock(
    orders, member_author, jira_integration, no_broker
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no deadlock to risk")
    # Blocks of anomalies on DQ-1, DQ-2, DQ-1: the first run takes DQ-1 then DQ-2, the second
    # DQ-2 then DQ-1, and both take the middle block's anomalies (an overlap).
    size = 10
    blocks = [("DQ-1", "10001"), ("DQ-2", "10002"), ("DQ-1", "10001")]
    anomalies = _linked_in_blocks(orders, jira_integration, blocks, size)
    first_run, second_run = anomalies[: 2 * size], anomalies[size:]
    comment = bulk_actions()["comment"]
    start = threading.Barrier(2 * RUNS_PER_SIDE)
    errors: list[BaseException] = []
    summaries: list[str] = []

    def run(selection: list[Anomaly], text: str) -> None:
        try:
            found, _ = select_anomalies(Anomaly.objects.all(), [a.pk for a in selection])
            start.wait()
            result = run_bulk_action(comment, found, by=member_author, text=text)
            summaries.append(result.summary())
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(selection, f"{name} {n}"))
        for n in range(RUNS_PER_SIDE)
        for name, selection in (("first", first_run), ("second", second_run))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(summaries) == sorted(
        [f"{2 * size} commented; {2 * size} Jira comments queued"] * (2 * RUNS_PER_SIDE)
    )
    runs = 2 * RUNS_PER_SIDE
    assert Comment.objects.count() == runs * 2 * size
    # Each comment has its one event, and on each issue the events' ids follow the order in
    # which their comments committed.
    assert SyncEvent.objects.count() == runs * 2 * size
    for remote in set(SyncEvent.objects.values_list("remote_issue", flat=True)):
        events = SyncEvent.objects.filter(remote_issue=remote).order_by("pk")
        created = [event.created_at for event in events]
        assert created == sorted(created)
