"""Sync truth through the JSON API: a link's sync state (paused with its reason, failed,
broken), each pending or failed event with the id a retry takes, and the events list."""

from __future__ import annotations

from datetime import datetime, timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import SyncEvent, SyncState, TicketLink
from tests.api import api_client
from tests.conftest import make_link

PAUSE_REASON = "Jira rejected the API token (HTTP 401). Re-enter the credentials."


def detail_url(anomaly) -> str:
    return reverse("anomalies_api:detail", args=[anomaly.pk])


def events_url(anomaly) -> str:
    return reverse("integrations_api:anomaly_sync_events", args=[anomaly.pk])


def only_link(client, user, anomaly) -> dict:
    response = api_client(client, user).get(detail_url(anomaly))
    assert response.status_code == HTTPStatus.OK
    (link,) = response.json()["ticket_links"]
    return link


def add_event(link: TicketLink, kind: str = "acknowledged", **fields) -> SyncEvent:
    return SyncEvent.objects.create(
        link=link, kind=kind, body=f"[t] {kind}", created_at=timezone.now(), **fields
    )


@pytest.fixture
def link(anomaly, jira_integration, manager) -> TicketLink:
    return make_link(anomaly, jira_integration, status_name="In Progress", linked_by=manager)


def test_it_shows_a_paused_link_with_the_reason_and_each_waiting_event(
    client, member_reporter, anomaly, jira_integration, link
):
    jira_integration.attention_reason = PAUSE_REASON
    jira_integration.save(update_fields=["attention_reason"])
    next_try = timezone.now() + timedelta(minutes=2)
    head = add_event(link, attempts=3, last_error=PAUSE_REASON, next_attempt_at=next_try)
    behind = add_event(link, kind="commented")

    sync = only_link(client, member_reporter, anomaly)["sync"]

    assert (sync["state"], sync["reason"]) == ("paused", PAUSE_REASON)
    assert sync["summary"] == f"paused: {PAUSE_REASON}"
    assert sync["last_error"] == PAUSE_REASON
    assert [(e["id"], e["kind"], e["state"]) for e in sync["events"]] == [
        (head.pk, "acknowledged", "pending"),
        (behind.pk, "commented", "pending"),
    ]
    first = sync["events"][0]
    assert (first["attempts"], first["last_error"]) == (3, PAUSE_REASON)
    shown_next_try = datetime.fromisoformat(first["next_attempt_at"].replace("Z", "+00:00"))
    assert abs(shown_next_try - next_try) < timedelta(milliseconds=1)
    assert first["retry_url"] is None


def test_it_lists_a_failed_event_whose_id_the_retry_takes(
    client, member_author, anomaly, link, jira_integration
):
    add_event(link, state=SyncState.DELIVERED)
    failed = add_event(
        link, kind="commented", state=SyncState.FAILED, attempts=7, finished_reason="Gave up."
    )
    api = api_client(client, member_author)

    sync = only_link(client, member_author, anomaly)["sync"]
    (event,) = sync["events"]
    assert (sync["state"], sync["reason"]) == ("failed", "Gave up.")
    assert (event["id"], event["failed_reason"], event["attempts"]) == (failed.pk, "Gave up.", 7)

    response = api.post(event["retry_url"])

    assert response.status_code == HTTPStatus.OK
    failed.refresh_from_db()
    assert failed.state == SyncState.PENDING
    assert only_link(client, member_author, anomaly)["sync"]["state"] == "pending"


def test_it_says_a_broken_link_is_broken_not_its_last_status(
    client, member_reporter, anomaly, link
):
    # A delivery found the issue deleted: the link keeps the status it last had in the row.
    TicketLink.objects.filter(pk=link.pk).update(broken_reason="Issue DQ-1 does not exist.")
    add_event(link, state=SyncState.FAILED, finished_reason="The Jira issue was deleted.")

    shown = only_link(client, member_reporter, anomaly)

    assert shown["status"] == {
        "name": "Broken",
        "category": "unknown",
        "error": "Issue DQ-1 does not exist.",
    }
    assert (shown["sync"]["state"], shown["sync"]["reason"]) == (
        "broken",
        "Issue DQ-1 does not exist.",
    )


def test_it_lists_an_anomalys_sync_events_newest_first_with_filters(
    client, member_reporter, anomaly, jira_integration, link
):
    other_link = make_link(anomaly, jira_integration, "DQ-2", issue_id="10002")
    delivered = add_event(link, state=SyncState.DELIVERED)
    failed = add_event(link, state=SyncState.FAILED, finished_reason="No.")
    pending = add_event(other_link, last_error="Jira answered 503.")
    api = api_client(client, member_reporter)

    everything = api.get(events_url(anomaly)).json()["results"]
    of_link = api.get(events_url(anomaly), {"link": link.pk}).json()["results"]
    open_ones = api.get(events_url(anomaly), {"state": "pending,failed"}).json()["results"]

    assert [e["id"] for e in everything] == [pending.pk, failed.pk, delivered.pk]
    assert [e["id"] for e in of_link] == [failed.pk, delivered.pk]
    assert [e["id"] for e in open_ones] == [pending.pk, failed.pk]
    assert everything[0]["last_error"] == "Jira answered 503."


def test_it_refuses_an_unknown_state_filter(client, member_reporter, anomaly, link):
    response = api_client(client, member_reporter).get(events_url(anomaly), {"state": "lost"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "lost" in response.json()["fields"]["state"]


def test_it_hides_sync_events_from_outsiders(client, outsider, anomaly, link):
    add_event(link)

    response = api_client(client, outsider).get(events_url(anomaly))

    assert response.status_code == HTTPStatus.NOT_FOUND
