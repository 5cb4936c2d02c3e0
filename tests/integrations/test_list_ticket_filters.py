"""The list's ticket filters and Jira-key search, which integrations registers with the list."""

import pytest
from django.urls import reverse
from django.utils import timezone

from anomalies.models import Status
from integrations.models import StatusCategory, SyncEvent, SyncState
from tests.api import api_client
from tests.conftest import make_anomaly, make_link

LIST_URL = reverse("anomalies:list")


def ids(response) -> list[int]:
    assert response.status_code == 200
    return sorted(anomaly.pk for anomaly in response.context["page"].object_list)


@pytest.fixture
def author_client(client, member_author):
    client.force_login(member_author)
    return client


def event(link, state: str) -> SyncEvent:
    return SyncEvent.objects.create(
        link=link, kind="acknowledged", body="x", state=state, created_at=timezone.now()
    )


@pytest.fixture
def rows(orders, jira_integration):
    """Anomalies in each ticket situation the filters tell apart."""
    found = {name: make_anomaly(orders) for name in ("bare", "todo", "failed", "pending")}
    found["history_only"] = make_anomaly(orders)
    found["done_open"] = make_anomaly(orders)
    found["done_archived"] = make_anomaly(orders, status=Status.RESOLVED)
    make_link(found["todo"], jira_integration, "DQ-10", issue_id="10", status_category="new")
    failed = make_link(found["failed"], jira_integration, "DQ-11", issue_id="11")
    event(failed, SyncState.FAILED)
    pending = make_link(found["pending"], jira_integration, "DQ-12", issue_id="12")
    event(pending, SyncState.PENDING)
    make_link(
        found["history_only"],
        jira_integration,
        "DQ-13",
        issue_id="13",
        removed_at=timezone.now(),
    )
    for name, number in (("done_open", 14), ("done_archived", 15)):
        make_link(
            found[name],
            jira_integration,
            f"DQ-{number}",
            issue_id=str(number),
            status_category=StatusCategory.DONE,
        )
    return {name: anomaly.pk for name, anomaly in found.items()}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"ticket": "has"}, ["todo", "failed", "pending", "done_open", "done_archived"]),
        ({"ticket": "none"}, ["bare", "history_only"]),
        ({"ticket": "sync_failed"}, ["failed"]),
        ({"ticket": "sync_pending"}, ["pending"]),
        ({"ticket": "done_open"}, ["done_open"]),
        ({"ticket_status": "done"}, ["done_open", "done_archived"]),
        ({"ticket_status": "new"}, ["todo"]),
        ({"ticket_status": "indeterminate"}, []),
    ],
)
def test_it_filters_by_ticket(author_client, rows, params, expected):
    response = author_client.get(LIST_URL, {"status": "all", **params})

    assert ids(response) == sorted(rows[name] for name in expected)


def test_it_finds_an_anomaly_by_its_jira_key_in_any_case(author_client, rows):
    assert ids(author_client.get(LIST_URL, {"q": "DQ-11"})) == [rows["failed"]]
    assert ids(author_client.get(LIST_URL, {"q": "dq-11"})) == [rows["failed"]]
    # A removed link is history: its key no longer finds the anomaly.
    assert ids(author_client.get(LIST_URL, {"q": "DQ-13"})) == []


def test_it_refuses_an_unknown_ticket_filter_in_the_api(client, member_author, rows):
    response = api_client(client, member_author).get("/api/anomalies", {"ticket": "maybe"})

    assert response.status_code == 400


def test_it_offers_the_ticket_filters_on_the_page(author_client, rows):
    page = author_client.get(LIST_URL).content.decode()

    assert 'name="ticket"' in page
    assert "Ticket Done, anomaly still open" in page
    assert 'name="ticket_status"' in page
