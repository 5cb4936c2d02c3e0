"""The anomaly endpoints of the JSON API: list, detail, ingestion, status changes, comments."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anomalies import services as anomaly_services
from anomalies.models import (
    Anomaly,
    ApiToken,
    Comment,
    Container,
    Datastore,
    HistoryEntry,
    Level,
    Status,
    Tag,
)
from integrations.models import SyncEvent, SyncState, TicketLink
from tests.api import api_client
from tests.conftest import grant, make_anomaly, make_link, make_user

LIST_URL = reverse("anomalies_api:anomalies")


def detail_url(anomaly) -> str:
    return reverse("anomalies_api:detail", args=[anomaly.pk])


def action_url(anomaly, action: str) -> str:
    return reverse(f"anomalies_api:{action}", args=[anomaly.pk])


def listed_ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def editor(db, warehouse):
    user = make_user("editor")
    grant(user, warehouse, Level.EDITOR)
    return user


def detection(**changes) -> dict:
    """What a detector sends for a new anomaly on the `orders` table of `warehouse`."""
    return {
        "fingerprint": "orders-customer-id-nulls",
        "datastore": "Sales Warehouse",
        "container": "orders",
        "type": "record",
        "weight": 7,
        "anomalous_record_count": 31,
        "description": "31 orders have no customer_id.",
        "detected_at": "2024-01-15T10:30:00Z",
        "failed_checks": [
            {"rule_type": "notNull", "field": "customer_id", "message": "31 nulls."},
            {"rule_type": "matchesPattern", "message": "2 ids do not match."},
        ],
        "tags": ["orders", "nightly"],
        **changes,
    }


# --- the list -----------------------------------------------------------------------------


def test_it_lists_open_anomalies_newest_first_like_the_page(client, member_reporter, orders):
    now = timezone.now()
    old = make_anomaly(orders, detected_at=now - timedelta(days=2))
    new = make_anomaly(orders, detected_at=now)
    make_anomaly(orders, status=Status.RESOLVED)

    response = api_client(client, member_reporter).get(LIST_URL)

    assert response.status_code == HTTPStatus.OK
    assert listed_ids(response) == [new.pk, old.pk]
    row = response.json()["results"][0]
    assert row["datastore"] == {"id": orders.datastore_id, "name": "Sales Warehouse"}
    assert row["container"] == {"id": orders.pk, "name": "orders"}
    assert row["page_url"].endswith(f"/anomalies/{new.pk}/")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "archived"}, ["resolved"]),
        ({"status": "Acknowledged"}, ["acknowledged"]),
        ({"type": "shape"}, ["shape"]),
        ({"q": "duplicated rows"}, ["shape"]),
        ({"sort": "weight", "status": "all"}, ["light", "acknowledged", "shape", "resolved"]),
    ],
)
def test_it_filters_and_sorts_with_the_pages_parameters(
    client, member_reporter, orders, params, expected
):
    made = {
        "light": make_anomaly(orders, weight=1),
        "acknowledged": make_anomaly(orders, status=Status.ACKNOWLEDGED, weight=2),
        "shape": make_anomaly(
            orders, anomaly_type="shape", description="duplicated rows", weight=3
        ),
        "resolved": make_anomaly(orders, status=Status.RESOLVED, weight=4),
    }

    response = api_client(client, member_reporter).get(LIST_URL, params)

    assert listed_ids(response) == [made[name].pk for name in expected]


def test_it_filters_by_datastore_among_those_the_user_sees(
    client, member_reporter, orders, warehouse
):
    lake = Datastore.objects.create(name="Lake")
    grant(member_reporter, lake, Level.REPORTER)
    in_lake = make_anomaly(Container.objects.create(datastore=lake, name="events"))
    make_anomaly(orders)

    response = api_client(client, member_reporter).get(LIST_URL, {"datastore": lake.pk})

    assert listed_ids(response) == [in_lake.pk]


def test_it_refuses_bad_filters_with_field_messages(client, member_reporter, orders):
    hidden = Datastore.objects.create(name="Hidden")

    response = api_client(client, member_reporter).get(
        LIST_URL, {"datastore": hidden.pk, "sort": "sideways"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "Some filters are not valid."
    assert set(response.json()["fields"]) == {"datastore", "sort"}


def test_it_shows_an_outsider_an_empty_list_and_an_admin_everything(
    client, outsider, admin, anomaly
):
    assert api_client(client, outsider).get(LIST_URL).json()["count"] == 0
    assert listed_ids(api_client(client, admin).get(LIST_URL)) == [anomaly.pk]


def test_it_pages_by_fifty_with_links_that_keep_the_filters(client, member_reporter, orders):
    for _ in range(51):
        make_anomaly(orders)
    api = api_client(client, member_reporter)

    first = api.get(LIST_URL, {"type": "record"}).json()
    second = api.get(LIST_URL, {"type": "record", "page": 2}).json()

    assert (first["count"], len(first["results"]), first["previous"]) == (51, 50, None)
    assert first["next"] == "http://testserver/api/anomalies?type=record&page=2"
    assert (len(second["results"]), second["next"]) == (1, None)
    assert second["previous"] == "http://testserver/api/anomalies?type=record&page=1"
    assert api.get(LIST_URL, {"page": 3}).status_code == HTTPStatus.NOT_FOUND
    assert api.get(LIST_URL, {"page": "x"}).json()["fields"] == {"page": "Give a number."}


def test_it_lists_in_a_fixed_number_of_queries(client, member_reporter, orders):
    api = api_client(client, member_reporter)
    api.get(LIST_URL)  # the token's last use is written once a minute; not in the count
    for number in range(30):
        make_anomaly(orders).tags.add(Tag.objects.create(name=f"tag-{number}"))

    with CaptureQueriesContext(connection) as queries:
        response = api.get(LIST_URL)

    assert len(response.json()["results"]) == 30
    # token, the user's datastores (filter choices), count, the page, its tags
    assert len(queries) == 5


# --- one anomaly --------------------------------------------------------------------------


def test_it_shows_every_field_of_an_anomaly(client, member_reporter, member_author, anomaly):
    anomaly.tags.add(Tag.objects.create(name="orders"))
    anomaly.assignees.add(member_author)
    Comment.objects.create(anomaly=anomaly, author=member_author, text="Looking.")

    body = api_client(client, member_reporter).get(detail_url(anomaly)).json()

    assert body["uuid"] == str(anomaly.uuid)
    assert (body["type"], body["status"], body["weight"]) == ("record", "Active", 8)
    assert body["anomalous_record_count"] == 12
    assert body["fingerprint"] == anomaly.fingerprint
    assert body["tags"] == ["orders"]
    assert [user["username"] for user in body["assignees"]] == ["author"]
    assert body["failed_checks"] == [
        {
            "rule_type": "notNull",
            "field": "customer_id",
            "message": "12 records have a null customer_id.",
        }
    ]
    assert [(c["author"]["username"], c["text"]) for c in body["comments"]] == [
        ("author", "Looking.")
    ]
    assert body["ticket_links"] == []
    assert body["access"] == {
        "level": "Reporter",
        "view": True,
        "create_ticket": True,
        "comment": False,
        "change_status": False,
        "link_ticket": False,
    }


def test_it_hides_an_anomaly_from_an_outsider_with_404(client, outsider, anomaly):
    response = api_client(client, outsider).get(detail_url(anomaly))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"error": "No anomaly found.", "fields": {}}


# --- ingestion ------------------------------------------------------------------------------


def test_it_ingests_a_new_anomaly_with_its_checks_and_tags(client, editor, orders):
    response = api_client(client, editor).post(LIST_URL, detection())

    assert response.status_code == HTTPStatus.CREATED
    anomaly = Anomaly.objects.get(pk=response.json()["id"])
    assert (anomaly.datastore, anomaly.container, anomaly.status) == (
        orders.datastore,
        orders,
        "Active",
    )
    assert (anomaly.weight, anomaly.anomalous_record_count) == (7, 31)
    assert anomaly.detected_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert [(c.rule_type, c.field_name) for c in anomaly.failed_checks.all()] == [
        ("notNull", "customer_id"),
        ("matchesPattern", ""),
    ]
    assert sorted(anomaly.tags.values_list("name", flat=True)) == ["nightly", "orders"]
    entry = HistoryEntry.objects.get(anomaly=anomaly)
    assert (entry.action, entry.actor) == ("ingested", editor)


def test_it_answers_a_known_fingerprint_with_the_anomaly_unchanged(client, editor, orders):
    api = api_client(client, editor)
    first = api.post(LIST_URL, detection())

    again = api.post(LIST_URL, detection(description="Reworded.", weight=99, tags=["new"]))

    assert again.status_code == HTTPStatus.OK
    assert again.json()["id"] == first.json()["id"]
    anomaly = Anomaly.objects.get()
    assert (anomaly.description, anomaly.weight) == ("31 orders have no customer_id.", 7)
    assert not Tag.objects.filter(name="new").exists()
    assert HistoryEntry.objects.count() == 1


def test_it_answers_a_duplicate_sent_at_the_same_moment_with_the_first(
    client, editor, orders, monkeypatch
):
    ingest = anomaly_services.ingest_anomaly
    first = []

    def lose_the_race(data, **options):  # another request stores the fingerprint just before
        first.append(make_anomaly(orders, fingerprint=data["fingerprint"]))
        return ingest(data, **options)

    monkeypatch.setattr(anomaly_services, "ingest_anomaly", lose_the_race)

    response = api_client(client, editor).post(LIST_URL, detection())

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == first[0].pk
    assert Anomaly.objects.count() == 1


def test_it_finds_the_datastore_and_container_by_id_too(client, editor, orders):
    body = detection(datastore=orders.datastore_id, container=orders.pk, tags=[])

    response = api_client(client, editor).post(LIST_URL, body)

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["container"]["id"] == orders.pk


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"type": "cube"}, {"type"}),
        ({"detected_at": "yesterday"}, {"detected_at"}),
        ({"weight": -1, "anomalous_record_count": "many"}, {"weight", "anomalous_record_count"}),
        ({"fingerprint": "", "description": ["a list"]}, {"fingerprint", "description"}),
        ({"failed_checks": [{"rule_type": "notNull"}]}, {"failed_checks"}),
        ({"failed_checks": {"rule_type": "notNull"}}, {"failed_checks"}),
        ({"tags": ["has spaces ok", ""]}, {"tags"}),
        ({"colour": "red"}, {"colour"}),
        ({"container": "invoices"}, {"container"}),
    ],
)
def test_it_refuses_invalid_detections_with_field_messages(client, editor, orders, changes, fields):
    response = api_client(client, editor).post(LIST_URL, detection(**changes))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()["fields"]) == fields
    assert not Anomaly.objects.exists()


def test_it_says_what_is_wrong_with_a_failed_check(client, editor, orders):
    checks = [{"rule_type": "notNull", "message": "ok"}, {"rule_type": "notNull"}]

    response = api_client(client, editor).post(LIST_URL, detection(failed_checks=checks))

    assert response.json()["fields"] == {"failed_checks": "Check 2: message is required text."}


def test_it_treats_a_datastore_the_user_cannot_see_as_unknown(client, outsider, orders):
    response = api_client(client, outsider).post(LIST_URL, detection())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["fields"] == {
        "datastore": "No datastore 'Sales Warehouse' that you can see; give its name or id."
    }


@pytest.mark.parametrize("persona", ["member_reporter", "member_author", "manager"])
def test_it_needs_editor_to_ingest(client, request, orders, persona):
    response = api_client(client, request.getfixturevalue(persona)).post(LIST_URL, detection())

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"] == (
        "Ingesting anomalies needs Editor permission on Sales Warehouse."
    )


def test_it_lets_an_admin_ingest_anywhere(client, admin, orders):
    assert api_client(client, admin).post(LIST_URL, detection()).status_code == HTTPStatus.CREATED


def test_it_refuses_a_fingerprint_taken_where_the_user_cannot_see(client, editor, orders):
    lake = Datastore.objects.create(name="Lake")
    make_anomaly(Container.objects.create(datastore=lake, name="events"), fingerprint="taken")

    response = api_client(client, editor).post(LIST_URL, detection(fingerprint="taken"))

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["error"] == "This fingerprint already identifies another anomaly."
    assert Anomaly.objects.count() == 1


# --- status changes and comments ----------------------------------------------------------

ACTIONS = [
    ("acknowledge", {}, "member_author", "member_viewer"),
    ("archive", {"reason": "Resolved"}, "member_author", "member_viewer"),
    ("comments", {"text": "Seen."}, "member_viewer", "member_reporter"),
]


@pytest.mark.parametrize(("action", "body", "allowed", "too_low"), ACTIONS)
def test_it_applies_the_pages_permissions_to_each_action(
    client, request, anomaly, outsider, action, body, allowed, too_low
):
    def post(persona):
        user = persona if not isinstance(persona, str) else request.getfixturevalue(persona)
        return api_client(client, user).post(action_url(anomaly, action), body)

    assert post(outsider).status_code == HTTPStatus.NOT_FOUND
    forbidden = post(too_low)
    assert forbidden.status_code == HTTPStatus.FORBIDDEN
    assert "permission on Sales Warehouse" in forbidden.json()["error"]
    assert post(allowed).status_code in (HTTPStatus.OK, HTTPStatus.CREATED)


def test_it_restores_only_with_author(client, member_viewer, member_author, orders):
    archived = make_anomaly(orders, status=Status.DISCARDED)

    refused = api_client(client, member_viewer).post(action_url(archived, "restore"))
    restored = api_client(client, member_author).post(action_url(archived, "restore"))

    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert restored.status_code == HTTPStatus.OK
    assert restored.json()["status"] == "Acknowledged"


def test_it_archives_with_a_reason_and_a_note(client, member_author, anomaly):
    response = api_client(client, member_author).post(
        action_url(anomaly, "archive"), {"reason": "Duplicate", "note": "Same as #1."}
    )

    assert response.status_code == HTTPStatus.OK
    assert (response.json()["status"], response.json()["archive_note"]) == (
        "Duplicate",
        "Same as #1.",
    )
    assert response.json()["history"][0]["summary"] == "Archived as Duplicate: Same as #1."


def test_it_refuses_an_archive_without_a_known_reason(client, member_author, anomaly):
    response = api_client(client, member_author).post(
        action_url(anomaly, "archive"), {"reason": "Bored"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "reason" in response.json()["fields"]
    anomaly.refresh_from_db()
    assert anomaly.status == Status.ACTIVE


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("Acknowledged", "acknowledge", "Only an Active anomaly can be acknowledged"),
        ("Resolved", "archive", "This anomaly is already archived as Resolved."),
        ("Active", "restore", "Only an archived anomaly can be restored."),
        ("Invalid", "comments", "This anomaly is archived as Invalid and takes no comments."),
    ],
)
def test_it_answers_a_refused_change_with_409(
    client, member_author, orders, status, action, message
):
    anomaly = make_anomaly(orders, status=status)
    body = {"archive": {"reason": "Resolved"}, "comments": {"text": "x"}}.get(action, {})

    response = api_client(client, member_author).post(action_url(anomaly, action), body)

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["error"].startswith(message)


def test_it_refuses_an_empty_comment_with_a_field_message(client, member_viewer, anomaly):
    response = api_client(client, member_viewer).post(
        action_url(anomaly, "comments"), {"text": "   "}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["fields"] == {"text": "Write something before adding a comment."}


def test_it_returns_the_new_comment(client, member_viewer, anomaly):
    response = api_client(client, member_viewer).post(
        action_url(anomaly, "comments"), {"text": "Checked the loader."}
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["author"]["username"] == "viewer"
    assert response.json()["text"] == "Checked the loader."


# --- reaching Jira: the same sync events as the page --------------------------------------


@pytest.fixture
def linked(anomaly, jira_integration, manager) -> TicketLink:
    return make_link(anomaly, jira_integration, linked_by=manager)


def test_it_queues_a_jira_comment_for_each_status_change(client, member_author, anomaly, linked):
    api = api_client(client, member_author)

    api.post(action_url(anomaly, "acknowledge"))
    api.post(action_url(anomaly, "archive"), {"reason": "Invalid", "note": "Test data."})
    api.post(action_url(anomaly, "restore"))

    events = list(SyncEvent.objects.filter(link=linked).order_by("id"))
    assert [event.kind for event in events] == ["acknowledged", "archived", "restored"]
    assert events[1].body.endswith("Qualytics Anomaly Status: Invalid\nNote: Test data.")
    assert {event.state for event in events} == {SyncState.PENDING}


def test_it_queues_a_jira_comment_for_a_comment(client, member_viewer, anomaly, linked):
    api_client(client, member_viewer).post(action_url(anomaly, "comments"), {"text": "On it."})

    event = SyncEvent.objects.get(link=linked)
    assert event.kind == "commented"
    assert event.body.endswith("Comment from Qualytics (viewer): On it.")


def test_it_shows_the_pending_comment_on_the_link(client, member_viewer, anomaly, linked):
    api = api_client(client, member_viewer)
    api.post(action_url(anomaly, "comments"), {"text": "On it."})

    (link,) = api.get(detail_url(anomaly)).json()["ticket_links"]

    assert link["issue_key"] == "DQ-1"
    assert link["sync"]["state"] == "pending"
    assert link["sync"]["pending"] == 1


def test_it_keeps_tokens_out_of_the_anomaly(client, member_reporter, anomaly):
    api = api_client(client, member_reporter)

    body = api.get(detail_url(anomaly)).content.decode()

    assert api.key not in body
    assert ApiToken.objects.get().prefix not in body
