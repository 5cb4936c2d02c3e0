"""Bulk actions too large for the request: answered at once, carried out by a worker, shown
live, and exactly once per anomaly through a crash or a second worker (anomalies.bulk_runs).

BULK_INLINE_LIMIT is lowered to 2 so a handful of anomalies stands for a thousand."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from anomalies import bulk_runs
from anomalies.bulk import bulk_actions, run_bulk_action, select_anomalies
from anomalies.models import (
    Anomaly,
    BulkRun,
    BulkRunOutcome,
    BulkRunState,
    Comment,
    Container,
    Datastore,
    Level,
    Status,
)
from anomalies.tasks import prune_bulk_runs, resume_bulk_runs, run_bulk
from tests.api import api_client
from tests.conftest import grant, make_anomaly, make_user

BULK_URL = reverse("anomalies:bulk")


@pytest.fixture(autouse=True)
def small_inline_limit(monkeypatch):
    monkeypatch.setattr(bulk_runs, "BULK_INLINE_LIMIT", 2)


@pytest.fixture
def handed_out(monkeypatch) -> list[int]:
    """The run ids handed to the broker."""
    runs: list[int] = []
    monkeypatch.setattr(bulk_runs, "publish", lambda task, run_id: runs.append(run_id))
    return runs


@pytest.fixture
def lake(db) -> Container:
    return Container.objects.create(datastore=Datastore.objects.create(name="Lake"), name="ev")


def post_bulk(client, action: str, anomalies, **options):
    data = {"action": action, "scope": "selected", "ids": [a.pk for a in anomalies], **options}
    return client.post(BULK_URL, {**data, "filters": "type=record"})


def page_text(client, url: str) -> str:
    return client.get(url).content.decode()


def statuses(anomalies) -> list[str]:
    return [Anomaly.objects.get(pk=a.pk).status for a in anomalies]


def test_a_large_selection_is_answered_at_once_and_done_by_a_worker(
    client, member_author, orders, lake, handed_out
):
    grant(member_author, lake.datastore, Level.VIEWER)
    writable = [make_anomaly(orders) for _ in range(3)]
    archived = make_anomaly(orders, status=Status.RESOLVED)
    read_only = make_anomaly(lake)
    client.force_login(member_author)

    answer = post_bulk(client, "acknowledge", [*writable, archived, read_only])

    [run_id] = handed_out
    assert answer.status_code == 302
    assert answer["Location"] == reverse("anomalies:bulk_run", args=[run_id])
    waiting = page_text(client, answer["Location"])
    assert "Waiting for a worker to start" in waiting
    assert 'hx-trigger="every 1s"' in waiting
    assert statuses(writable) == [Status.ACTIVE] * 3, "the request itself changed nothing"

    assert run_bulk(run_id) == "done"

    finished = page_text(client, answer["Location"])
    assert "3 acknowledged, 1 skipped: archived, 1 skipped: needs Author permission." in finished
    assert "hx-trigger" not in finished, "a finished run is not polled"
    assert 'href="/anomalies/?type=record"' in finished, "the way back keeps the filters"
    assert statuses(writable) == [Status.ACKNOWLEDGED] * 3
    assert statuses([read_only]) == [Status.ACTIVE]


def test_the_progress_region_counts_what_is_done_while_it_runs(
    client, member_author, orders, handed_out
):
    anomalies = [make_anomaly(orders) for _ in range(4)]
    client.force_login(member_author)
    post_bulk(client, "acknowledge", anomalies)
    run = BulkRun.objects.get()
    BulkRunOutcome.objects.create(run=run, anomaly_id=anomalies[0].pk)
    BulkRunOutcome.objects.create(run=run, anomaly_id=anomalies[1].pk, skipped="archived")

    progress = page_text(client, reverse("anomalies:bulk_run_progress", args=[run.pk]))

    assert "2 of 4 done" in progress
    assert '<progress class="bulk-progress" max="4" value="2"' in progress


def test_only_the_user_who_started_a_run_sees_it(client, member_author, orders, handed_out):
    client.force_login(member_author)
    post_bulk(client, "acknowledge", [make_anomaly(orders) for _ in range(3)])
    run = BulkRun.objects.get()
    client.force_login(make_user("someone-else"))

    for name in ("anomalies:bulk_run", "anomalies:bulk_run_progress"):
        assert client.get(reverse(name, args=[run.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("anomalies:bulk_run", args=[run.pk])).status_code == 302


def test_a_selection_within_the_limit_still_runs_in_the_request(
    client, member_author, orders, handed_out
):
    pair = [make_anomaly(orders) for _ in range(2)]
    client.force_login(member_author)

    response = client.post(
        BULK_URL, {"action": "acknowledge", "scope": "selected", "ids": [a.pk for a in pair]}
    )

    assert handed_out == []
    assert response["Location"].startswith(reverse("anomalies:list"))
    assert statuses(pair) == [Status.ACKNOWLEDGED] * 2


def worker_dies_after(monkeypatch, count: int) -> None:
    """The worker process dies (as on SIGKILL: nothing after it runs) after `count` anomalies."""
    seen = {"n": 0}

    class WorkerDied(BaseException):
        pass

    def progressed(self) -> None:
        seen["n"] += 1
        if seen["n"] == count:
            raise WorkerDied

    monkeypatch.setattr(bulk_runs.OutcomeRecorder, "progressed", progressed)
    return WorkerDied


def test_a_run_whose_worker_died_is_taken_over_and_applies_each_anomaly_once(
    client, member_author, orders, handed_out, monkeypatch
):
    anomalies = [make_anomaly(orders) for _ in range(5)]
    client.force_login(member_author)
    post_bulk(client, "comment", anomalies, text="Looking into it")
    run = BulkRun.objects.get()
    died = worker_dies_after(monkeypatch, 2)
    with pytest.raises(died):
        run_bulk(run.pk)
    monkeypatch.undo()  # the next worker is healthy
    monkeypatch.setattr(bulk_runs, "publish", lambda task, run_id: handed_out.append(run_id))
    handed_out.clear()

    assert resume_bulk_runs() == 0, "a run with a fresh heartbeat is left to its worker"
    assert run_bulk(run.pk) != "done", "nor can another worker claim it"
    BulkRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - bulk_runs.STALE_AFTER - timedelta(seconds=1)
    )
    assert resume_bulk_runs() == 1 and handed_out == [run.pk]
    assert run_bulk(run.pk) == "done"

    assert [Comment.objects.filter(anomaly=a).count() for a in anomalies] == [1] * 5
    assert "5 commented" in page_text(client, reverse("anomalies:bulk_run", args=[run.pk]))


def test_a_worker_that_lost_its_claim_stops_at_its_next_heartbeat(
    client, member_author, orders, handed_out, monkeypatch
):
    anomalies = [make_anomaly(orders) for _ in range(4)]
    client.force_login(member_author)
    post_bulk(client, "comment", anomalies, text="Seen")
    run = BulkRun.objects.get()
    monkeypatch.setattr(bulk_runs, "HEARTBEAT_EVERY", 1)
    real_done = bulk_runs.OutcomeRecorder.done

    def done_then_stolen(self, anomaly_id: int) -> None:
        real_done(self, anomaly_id)
        BulkRun.objects.filter(pk=run.pk).update(claim="another-worker")

    monkeypatch.setattr(bulk_runs.OutcomeRecorder, "done", done_then_stolen)

    assert run_bulk(run.pk) == "taken over"
    assert Comment.objects.count() == 1, "it stopped after the anomaly it was on"


def test_an_anomaly_another_worker_recorded_is_rolled_back_not_applied_twice(member_author, orders):
    anomalies = [make_anomaly(orders) for _ in range(2)]
    ids = [a.pk for a in anomalies]
    run = BulkRun.objects.create(user=member_author, action="comment", anomaly_ids=ids)
    BulkRunOutcome.objects.create(run=run, anomaly_id=ids[0])  # the other worker's
    found, _ = select_anomalies(Anomaly.objects.all(), ids)

    result = run_bulk_action(
        bulk_actions()["comment"],
        found,
        by=member_author,
        record=bulk_runs.OutcomeRecorder(run, claim=""),
        text="Twice?",
    )

    assert result.skipped == {ids[0]: bulk_runs.DONE_ELSEWHERE}
    assert not Comment.objects.filter(anomaly_id=ids[0]).exists()
    assert Comment.objects.filter(anomaly_id=ids[1]).count() == 1, "the run went on"


def test_options_that_no_longer_hold_refuse_the_whole_run(
    client, member_author, orders, handed_out
):
    assignee = make_user("leaver")
    grant(assignee, orders.datastore, Level.VIEWER)
    anomalies = [make_anomaly(orders) for _ in range(3)]
    client.force_login(member_author)
    post_bulk(client, "assign", anomalies, assignee=assignee.pk)
    run = BulkRun.objects.get()
    assignee.delete()

    assert run_bulk(run.pk) == "refused"

    page = page_text(client, reverse("anomalies:bulk_run", args=[run.pk]))
    assert "Assign: No such user." in page
    assert not any(a.assignees.exists() for a in anomalies)


def test_a_queued_run_whose_message_was_lost_is_handed_out_again(member_author, handed_out):
    fresh = BulkRun.objects.create(user=member_author, action="acknowledge", anomaly_ids=[1])
    lost = BulkRun.objects.create(
        user=member_author,
        action="acknowledge",
        anomaly_ids=[1],
        created_at=timezone.now() - bulk_runs.STALE_AFTER - timedelta(seconds=1),
    )
    BulkRun.objects.create(
        user=member_author, action="acknowledge", anomaly_ids=[1], state=BulkRunState.DONE
    )

    assert resume_bulk_runs() == 1
    assert handed_out == [lost.pk] and fresh.pk not in handed_out


def test_the_api_answers_202_and_the_run_gives_the_results_when_done(
    client, member_author, orders, handed_out
):
    anomalies = [make_anomaly(orders) for _ in range(3)]
    api = api_client(client, member_author)

    accepted = api.post(
        reverse("anomalies_api:bulk"),
        {"action": "acknowledge", "ids": [a.pk for a in anomalies] + [999999]},
    )

    assert accepted.status_code == 202
    body = accepted.json()
    assert body["state"] == "queued" and body["total"] == 4 and body["processed"] == 0
    assert accepted["Location"] == body["url"]
    assert "results" not in body
    run_bulk(body["run"])
    done = api.get(body["url"]).json()
    assert done["state"] == "done"
    assert done["summary"] == "3 acknowledged, 1 skipped: not found"
    assert done["results"][-1] == {"id": 999999, "result": "skipped", "reason": "not found"}
    other = api_client(client, make_user("other"))
    assert other.get(body["url"]).status_code == 404


def test_finished_runs_are_forgotten_after_a_week(member_author):
    week_ago = timezone.now() - bulk_runs.KEEP_FINISHED - timedelta(minutes=1)
    old = BulkRun.objects.create(
        user=member_author, action="acknowledge", state=BulkRunState.DONE, finished_at=week_ago
    )
    BulkRunOutcome.objects.create(run=old, anomaly_id=1)
    recent = BulkRun.objects.create(
        user=member_author,
        action="acknowledge",
        state=BulkRunState.DONE,
        finished_at=timezone.now(),
    )
    unfinished = BulkRun.objects.create(user=member_author, action="acknowledge")

    prune_bulk_runs()

    assert set(BulkRun.objects.values_list("pk", flat=True)) == {recent.pk, unfinished.pk}
    assert not BulkRunOutcome.objects.exists()


def test_the_list_reminds_its_user_of_a_run_until_they_have_seen_it_finished(
    client, member_author, orders, handed_out
):
    client.force_login(member_author)
    answer = post_bulk(client, "acknowledge", [make_anomaly(orders) for _ in range(3)])
    run_page = answer["Location"]

    reminder = page_text(client, reverse("anomalies:list"))
    assert "Your bulk action “Acknowledge 3 anomalies”" in reminder
    assert f'<a href="{run_page}">see its progress and outcome</a>' in reminder
    page_text(client, run_page)  # still running: the reminder stays
    assert run_page in page_text(client, reverse("anomalies:list"))

    run_bulk(handed_out[0])
    assert "3 acknowledged" in page_text(client, run_page)
    assert run_page not in page_text(client, reverse("anomalies:list"))
