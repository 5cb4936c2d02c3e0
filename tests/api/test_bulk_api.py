"""The JSON API's bulk actions and assignments: the pages' rules, one request, a result per
anomaly."""

import pytest
from django.urls import reverse

from anomalies.models import Container, Datastore, HistoryEntry, Level, Status
from tests.api import api_client
from tests.conftest import grant, make_anomaly

BULK_URL = reverse("anomalies_api:bulk")


@pytest.fixture
def lake(db) -> Container:
    return Container.objects.create(datastore=Datastore.objects.create(name="Lake"), name="ev")


@pytest.fixture
def api(client, member_author, lake):
    grant(member_author, lake.datastore, Level.VIEWER)
    return api_client(client, member_author)


def test_it_reports_a_result_per_anomaly(api, orders, lake):
    done = make_anomaly(orders)
    archived = make_anomaly(orders, status=Status.INVALID)
    read_only = make_anomaly(lake)

    response = api.post(
        BULK_URL, {"action": "acknowledge", "ids": [done.pk, archived.pk, read_only.pk, 999999]}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == (
        "1 acknowledged, 1 skipped: archived, 1 skipped: needs Author permission, "
        "1 skipped: not found"
    )
    assert body["results"] == [
        {"id": done.pk, "result": "done"},
        {"id": archived.pk, "result": "skipped", "reason": "archived"},
        {"id": read_only.pk, "result": "skipped", "reason": "needs Author permission"},
        {"id": 999999, "result": "skipped", "reason": "not found"},
    ]


def test_it_acts_on_every_anomaly_matching_filters(api, orders):
    shapes = [make_anomaly(orders, anomaly_type="shape") for _ in range(2)]
    record = make_anomaly(orders)

    response = api.post(
        BULK_URL, {"action": "comment", "filters": {"type": "shape"}, "text": "Looking"}
    )

    assert response.json()["done"] == 2
    assert [c.text for s in shapes for c in s.comments.all()] == ["Looking", "Looking"]
    assert not record.comments.exists()


def test_it_refuses_bad_options_and_changes_nothing(api, orders):
    anomaly = make_anomaly(orders)

    response = api.post(BULK_URL, {"action": "archive", "ids": [anomaly.pk], "reason": "Gone"})

    assert response.status_code == 400
    assert response.json()["error"].startswith("Archive: Select a valid choice.")
    assert not HistoryEntry.objects.filter(anomaly=anomaly).exists()


def test_it_refuses_an_unknown_action(api, orders):
    response = api.post(BULK_URL, {"action": "delete", "ids": [make_anomaly(orders).pk]})

    assert (response.status_code, response.json()["error"]) == (400, "Unknown bulk action.")


def test_it_assigns_and_unassigns(api, orders, member_reporter):
    anomaly = make_anomaly(orders)
    url = reverse("anomalies_api:assignees", args=[anomaly.pk])

    assigned = api.post(url, {"user": member_reporter.pk})
    again = api.post(url, {"user": member_reporter.pk})
    removed = api.delete(reverse("anomalies_api:assignee", args=[anomaly.pk, member_reporter.pk]))

    assert [a["username"] for a in assigned.json()["assignees"]] == ["reporter"]
    assert again.status_code == 409
    assert removed.json()["assignees"] == []


def test_it_refuses_an_assignee_who_cannot_see_the_datastore(api, orders, outsider):
    anomaly = make_anomaly(orders)

    response = api.post(
        reverse("anomalies_api:assignees", args=[anomaly.pk]), {"user": outsider.pk}
    )

    assert response.status_code == 409
    assert response.json()["error"] == "outsider cannot see Sales Warehouse."
    assert not anomaly.assignees.exists()


def test_it_needs_author_to_assign(client, member_reporter, orders):
    anomaly = make_anomaly(orders)

    response = api_client(client, member_reporter).post(
        reverse("anomalies_api:assignees", args=[anomaly.pk]), {"user": member_reporter.pk}
    )

    assert response.status_code == 403
