"""Ticket operations through the JSON API, over real HTTP to the Jira simulator: an anomaly's
ticket links, creating an issue, searching Jira, and the create form's specification."""

from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import IntegrationState, SyncEvent, SyncState, TicketLink
from tests.api import api_client, fresh_jira_log
from tests.conftest import make_anomaly, make_link

SEEDED_ISSUE_COUNT = 5  # DQ-1..DQ-3, OPS-1, OPS-2 (simulators/jira/seed.py)
TASK, BUG, STORY, INCIDENT = "10001", "10002", "10003", "10004"
HIGH = "2"
PIPELINES = "10101"
ALICE = "712020:sim-alice"
SEARCH_URL = reverse("integrations_api:search")
SPEC_URL = reverse("integrations_api:form_specification")
READS_SENT_AS_POST = {"/rest/api/3/search/jql"}


def links_url(anomaly) -> str:
    return reverse("integrations_api:ticket_links", args=[anomaly.pk])


def link_url(anomaly, link) -> str:
    return reverse("integrations_api:ticket_link", args=[anomaly.pk, link.pk])


def create_url(anomaly) -> str:
    return reverse("integrations_api:create_ticket", args=[anomaly.pk])


def jira_writes(jira_sim) -> list[tuple[str, str]]:
    return [
        (entry["method"], entry["path"])
        for entry in jira_sim.control.requests()
        if entry["method"] != "GET" and entry["path"] not in READS_SENT_AS_POST
    ]


def created_issues(jira_sim) -> list[dict]:
    return jira_sim.control.issues()[SEEDED_ISSUE_COUNT:]


def current_keys(anomaly) -> list[str]:
    return list(
        TicketLink.objects.current().filter(anomaly=anomaly).values_list("issue_key", flat=True)
    )


@pytest.fixture
def linked(anomaly, jira_integration, manager) -> TicketLink:
    return make_link(
        anomaly,
        jira_integration,
        summary="Null values in orders.customer_id",
        status_name="To Do",
        status_category="new",
        linked_by=manager,
    )


# --- listing links --------------------------------------------------------------------------


def test_it_lists_links_with_their_jira_status_and_sync_state(
    client, member_reporter, anomaly, linked
):
    SyncEvent.objects.create(link=linked, kind="acknowledged", body="x", created_at=timezone.now())
    SyncEvent.objects.create(
        link=linked,
        kind="commented",
        body="y",
        created_at=timezone.now(),
        state=SyncState.FAILED,
        finished_reason="Jira refused the comment.",
    )

    response = api_client(client, member_reporter).get(links_url(anomaly))

    (link,) = response.json()["results"]
    assert (link["issue_key"], link["url"]) == ("DQ-1", linked.url)
    assert link["status"] == {"name": "To Do", "category": "new", "error": ""}
    assert link["sync"]["state"] == "failed"
    assert link["sync"]["failed_reason"] == "Jira refused the comment."
    assert link["sync"]["pending"] == 1
    assert link["history_only"] is False


def test_it_marks_links_of_a_disconnected_integration_as_history(
    client, member_reporter, anomaly, linked
):
    linked.integration.state = IntegrationState.DISCONNECTED
    linked.integration.save(update_fields=["state"])

    (link,) = api_client(client, member_reporter).get(links_url(anomaly)).json()["results"]

    assert link["history_only"] is True


def test_it_hides_links_from_an_outsider(client, outsider, anomaly, linked):
    assert api_client(client, outsider).get(links_url(anomaly)).status_code == HTTPStatus.NOT_FOUND


# --- linking ------------------------------------------------------------------------------


def test_it_links_an_issue_by_key_without_writing_to_jira(
    client, member_author, anomaly, jira_sim, jira_integration
):
    fresh_jira_log(jira_sim)

    response = api_client(client, member_author).post(links_url(anomaly), {"issue": "dq-2"})

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["issue_key"] == "DQ-2"
    assert response.json()["status"]["name"] == "In Progress"
    assert current_keys(anomaly) == ["DQ-2"]
    assert jira_writes(jira_sim) == []


def test_it_links_an_issue_by_its_browse_url(
    client, member_author, anomaly, jira_sim, jira_integration
):
    response = api_client(client, member_author).post(
        links_url(anomaly), {"issue": f"{jira_sim.url}/browse/DQ-3"}
    )

    assert response.status_code == HTTPStatus.CREATED
    assert current_keys(anomaly) == ["DQ-3"]


def test_it_answers_linking_the_same_issue_twice_with_409(client, member_author, anomaly, linked):
    response = api_client(client, member_author).post(links_url(anomaly), {"issue": "DQ-1"})

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["error"] == "DQ-1 is already linked to this anomaly."


@pytest.mark.parametrize(
    ("issue", "message"),
    [
        ("DQ-999", "not found"),
        ("https://elsewhere.atlassian.net/browse/DQ-1", "not an issue of the connected Jira"),
        ("null customer", "Not an issue key or URL"),
    ],
)
def test_it_refuses_what_cannot_be_linked_with_a_field_message(
    client, member_author, anomaly, jira_integration, issue, message
):
    response = api_client(client, member_author).post(links_url(anomaly), {"issue": issue})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.json()["fields"]["issue"]
    assert not TicketLink.objects.exists()


def test_it_answers_502_when_jira_is_unavailable(
    client, member_author, anomaly, jira_sim, jira_integration
):
    jira_sim.control.add_unavailable(count=5, path_regex="/issue/")

    response = api_client(client, member_author).post(links_url(anomaly), {"issue": "DQ-2"})

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert not TicketLink.objects.exists()


def test_it_answers_409_when_no_integration_is_connected(client, member_author, anomaly):
    response = api_client(client, member_author).post(links_url(anomaly), {"issue": "DQ-2"})

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["error"] == "No ticketing integration is connected."


@pytest.mark.parametrize(
    ("persona", "status"),
    [("outsider", HTTPStatus.NOT_FOUND), ("member_viewer", HTTPStatus.FORBIDDEN)],
)
def test_it_lets_only_authors_link(
    client, request, anomaly, jira_sim, jira_integration, persona, status
):
    fresh_jira_log(jira_sim)
    api = api_client(client, request.getfixturevalue(persona))

    assert api.post(links_url(anomaly), {"issue": "DQ-2"}).status_code == status
    assert jira_sim.control.requests() == []


# --- removing a link --------------------------------------------------------------------


def test_it_removes_a_link_and_leaves_jira_untouched(
    client, member_author, anomaly, linked, jira_sim
):
    fresh_jira_log(jira_sim)
    pending = SyncEvent.objects.create(
        link=linked, kind="acknowledged", body="x", created_at=timezone.now()
    )

    response = api_client(client, member_author).delete(link_url(anomaly, linked))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert current_keys(anomaly) == []
    pending.refresh_from_db()
    assert pending.state == SyncState.CANCELLED
    assert jira_sim.control.requests() == []


@pytest.mark.parametrize(
    ("persona", "status"),
    [("outsider", HTTPStatus.NOT_FOUND), ("member_reporter", HTTPStatus.FORBIDDEN)],
)
def test_it_lets_only_authors_remove(client, request, anomaly, linked, persona, status):
    api = api_client(client, request.getfixturevalue(persona))

    assert api.delete(link_url(anomaly, linked)).status_code == status
    assert current_keys(anomaly) == ["DQ-1"]


def test_it_finds_no_link_under_another_anomaly(client, member_author, orders, linked):
    other = make_anomaly(orders)

    response = api_client(client, member_author).delete(link_url(other, linked))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert current_keys(linked.anomaly) == ["DQ-1"]


def test_it_keeps_a_disconnected_integrations_link_as_history(
    client, member_author, anomaly, linked
):
    linked.integration.state = IntegrationState.DISCONNECTED
    linked.integration.save(update_fields=["state"])

    response = api_client(client, member_author).delete(link_url(anomaly, linked))

    assert response.status_code == HTTPStatus.CONFLICT
    assert "kept as history" in response.json()["error"]


# --- creating a ticket ----------------------------------------------------------------------


def ticket(**changes) -> dict:
    return {
        "project": "DQ",
        "issue_type": BUG,
        "summary": "Null customer ids in orders",
        "description": "Seen after the nightly load.",
        "priority": HIGH,
        "labels": ["data-quality", "orders"],
        "assignee": ALICE,
        **changes,
    }


def test_it_creates_an_issue_with_all_seven_fields(
    client, member_reporter, anomaly, jira_sim, jira_integration
):
    response = api_client(client, member_reporter).post(create_url(anomaly), ticket())

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["issue_key"] == "DQ-4"
    (issue,) = created_issues(jira_sim)
    fields = issue["fields"]
    assert (fields["issuetype"]["name"], fields["priority"]["name"]) == ("Bug", "High")
    assert fields["labels"] == ["data-quality", "orders"]
    assert fields["assignee"]["accountId"] == ALICE
    assert TicketLink.objects.get().linked_by == member_reporter
    assert jira_sim.control.violations() == {"count": 0, "violations": []}


def test_it_defaults_the_project_and_summary_as_the_page_does(
    client, member_reporter, anomaly, jira_sim, jira_integration
):
    response = api_client(client, member_reporter).post(create_url(anomaly), {"issue_type": TASK})

    assert response.status_code == HTTPStatus.CREATED
    (issue,) = created_issues(jira_sim)
    assert issue["fields"]["project"]["key"] == "DQ"
    assert issue["fields"]["summary"] == (
        f"Anomaly #{anomaly.pk}: 12 records have a null customer_id."
    )


def test_it_sets_a_required_custom_field(
    client, member_reporter, anomaly, jira_sim, jira_integration
):
    body = ticket(project="OPS", issue_type=INCIDENT, assignee="")

    missing = api_client(client, member_reporter).post(create_url(anomaly), body)
    given = api_client(client, member_reporter).post(
        create_url(anomaly), {**body, "fields": {"customfield_10050": PIPELINES}}
    )

    assert missing.status_code == HTTPStatus.BAD_REQUEST
    assert missing.json()["fields"] == {"fields.customfield_10050": "This field is required."}
    assert given.status_code == HTTPStatus.CREATED
    (issue,) = created_issues(jira_sim)
    assert issue["fields"]["customfield_10050"]["value"] == "Pipelines"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"labels": ["has space"]}, "labels"),
        ({"summary": "x" * 256}, "summary"),
        ({"issue_type": "99999"}, "issue_type"),
        ({"project": "NOPE"}, "project"),
        ({"fields": {"customfield_10060": "loader"}}, "fields.customfield_10060"),
        ({"labels": 5, "colour": "red"}, "colour"),
    ],
)
def test_it_refuses_invalid_tickets_before_calling_jira(
    client, member_reporter, anomaly, jira_sim, jira_integration, changes, field
):
    response = api_client(client, member_reporter).post(create_url(anomaly), ticket(**changes))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["fields"]
    assert created_issues(jira_sim) == []


def test_it_places_jiras_field_error_on_the_field(
    client, member_reporter, anomaly, jira_sim, jira_integration
):
    response = api_client(client, member_reporter).post(
        create_url(anomaly), ticket(description="word " * 7000)
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "The ticket was not created."
    assert "exceeds the allowed limit" in response.json()["fields"]["description"]
    assert not TicketLink.objects.exists()


def test_it_hides_the_anomaly_from_an_outsider_before_calling_jira(
    client, outsider, anomaly, jira_sim, jira_integration
):
    fresh_jira_log(jira_sim)

    response = api_client(client, outsider).post(create_url(anomaly), ticket())

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert jira_sim.control.requests() == []


# --- searching and the form specification -------------------------------------------------


def test_it_searches_jira_for_authors(client, member_author, jira_sim, jira_integration):
    response = api_client(client, member_author).get(SEARCH_URL, {"query": "DQ-1"})

    assert response.status_code == HTTPStatus.OK
    first = response.json()["results"][0]
    assert (first["key"], first["url"]) == ("DQ-1", f"{jira_sim.url}/browse/DQ-1")
    assert first["summary"] == "Null values in orders.customer_id"


@pytest.mark.parametrize("persona", ["outsider", "member_reporter"])
def test_it_refuses_search_below_author(client, request, jira_sim, jira_integration, persona):
    fresh_jira_log(jira_sim)

    response = api_client(client, request.getfixturevalue(persona)).get(
        SEARCH_URL, {"query": "orders"}
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert jira_sim.control.requests() == []


def test_it_asks_for_something_to_search(client, member_author, jira_integration):
    response = api_client(client, member_author).get(SEARCH_URL, {"query": " "})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "query" in response.json()["fields"]


def fields_by_name(response) -> dict[str, dict]:
    return {field["name"]: field for field in response.json()["fields"]}


def test_it_describes_the_seven_fields_with_choices_from_jira(
    client, member_reporter, jira_integration
):
    response = api_client(client, member_reporter).get(SPEC_URL)

    fields = fields_by_name(response)
    assert list(fields) == [
        "project",
        "issue_type",
        "summary",
        "description",
        "priority",
        "labels",
        "assignee",
    ]
    assert response.json()["project"] == "DQ"
    assert fields["project"]["default"] == "DQ"
    assert [c["value"] for c in fields["project"]["choices"]] == ["DQ", "OPS"]
    assert [c["label"] for c in fields["issue_type"]["choices"]] == ["Task", "Bug", "Story"]
    assert [c["label"] for c in fields["priority"]["choices"]] == [
        "Highest",
        "High",
        "Medium",
        "Low",
        "Lowest",
    ]
    assert (fields["summary"]["required"], fields["summary"]["max_length"]) == (True, 255)
    assert fields["labels"]["type"] == "labels"


def test_it_describes_a_required_custom_field_and_the_assignees_found(
    client, member_reporter, jira_integration
):
    response = api_client(client, member_reporter).get(
        SPEC_URL, {"project": "OPS", "issue_type": INCIDENT, "assignee_query": "carol"}
    )

    fields = fields_by_name(response)
    custom = fields["fields.customfield_10050"]
    assert (custom["label"], custom["type"], custom["required"]) == (
        "Impacted system",
        "choice",
        True,
    )
    assert [c["label"] for c in custom["choices"]] == ["Warehouse", "Pipelines", "Dashboards"]
    assert [c["label"] for c in fields["assignee"]["choices"]] == ["Carol Castillo"]


def test_it_leaves_out_the_priority_of_an_issue_type_without_one(
    client, member_reporter, jira_integration
):
    response = api_client(client, member_reporter).get(SPEC_URL, {"issue_type": STORY})

    assert "priority" not in fields_by_name(response)


def test_it_refuses_a_project_jira_does_not_offer(client, member_reporter, jira_integration):
    response = api_client(client, member_reporter).get(SPEC_URL, {"project": "NOPE"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()["fields"]) == {"project"}


def test_it_gives_the_specification_only_to_users_with_a_datastore(
    client, outsider, jira_sim, jira_integration
):
    fresh_jira_log(jira_sim)

    response = api_client(client, outsider).get(SPEC_URL)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert jira_sim.control.requests() == []


def test_it_gives_jiras_refusal_of_the_whole_request_in_words(
    client, member_reporter, anomaly, jira_sim, jira_integration
):
    jira_sim.control.add_fault(
        method="POST",
        path_regex="^/rest/api/3/issue$",
        status=HTTPStatus.BAD_REQUEST,
        body={"errorMessages": ["Issue creation is disabled for this project."], "errors": {}},
    )

    response = api_client(client, member_reporter).post(create_url(anomaly), ticket())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Issue creation is disabled for this project." in response.json()["error"]
    assert not TicketLink.objects.exists()


def test_it_answers_502_when_jira_cannot_give_the_create_metadata(
    client, member_reporter, anomaly, jira_sim, jira_integration
):
    jira_sim.control.add_unavailable(count=5, path_regex="/project/search")

    response = api_client(client, member_reporter).post(create_url(anomaly), ticket())

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert not TicketLink.objects.exists()


def test_it_needs_a_connected_integration_for_every_jira_call(client, admin, anomaly):
    api = api_client(client, admin)

    responses = [
        api.post(create_url(anomaly), ticket()),
        api.get(SEARCH_URL, {"query": "orders"}),
        api.get(SPEC_URL),
    ]

    assert {response.status_code for response in responses} == {HTTPStatus.CONFLICT}


def failed_event(anomaly, integration, by) -> SyncEvent:
    link = make_link(anomaly, integration, linked_by=by)
    return SyncEvent.objects.create(
        link=link,
        kind="commented",
        body="[t] Comment",
        created_at=timezone.now(),
        state=SyncState.FAILED,
        finished_reason="Jira rejected the comment.",
    )


def retry_url(event: SyncEvent) -> str:
    return reverse("integrations_api:retry_event", args=[event.pk])


def test_it_retries_a_failed_event_for_an_author(client, anomaly, member_author, jira_integration):
    event = failed_event(anomaly, jira_integration, member_author)

    response = api_client(client, member_author).post(retry_url(event))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"id": event.pk, "state": "pending", "issue": "DQ-1"}
    event.refresh_from_db()
    assert (event.state, event.finished_reason) == (SyncState.PENDING, "")


def test_it_refuses_to_retry_below_author_or_outside(
    client, anomaly, member_author, member_viewer, outsider, jira_integration
):
    event = failed_event(anomaly, jira_integration, member_author)

    assert api_client(client, member_viewer).post(retry_url(event)).status_code == 403
    assert api_client(client, outsider).post(retry_url(event)).status_code == 404
    event.refresh_from_db()
    assert event.state == SyncState.FAILED


def test_it_retries_only_failed_events(client, anomaly, member_author, jira_integration):
    event = failed_event(anomaly, jira_integration, member_author)
    SyncEvent.objects.filter(pk=event.pk).update(state=SyncState.DELIVERED)

    response = api_client(client, member_author).post(retry_url(event))

    assert response.status_code == HTTPStatus.CONFLICT
    assert "Only a failed event can be retried" in response.json()["error"]
