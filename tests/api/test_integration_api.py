"""The integration through the JSON API (Managers and Admins), over real HTTP to the Jira
simulator; and credentials that never come back in any API response."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from integrations.models import (
    IntegrationState,
    SyncEvent,
    SyncState,
    TicketingIntegration,
)
from tests.api import api_client, fresh_jira_log
from tests.conftest import SIM_EMAIL, SIM_TOKEN, make_link

URL = reverse("integrations_api:integration")
SENTINEL_EMAIL = "sentinel@example.com"
SENTINEL_TOKEN = "SENTINEL-never-shown-7f3a9c"


def connection(jira_sim, **changes) -> dict:
    return {
        "host_url": jira_sim.url,
        "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
        "default_project_key": "DQ",
        **changes,
    }


@pytest.mark.parametrize("persona", ["member_author", "member_reporter", "outsider"])
def test_it_refuses_members_every_method(client, request, jira_sim, jira_integration, persona):
    fresh_jira_log(jira_sim)
    api = api_client(client, request.getfixturevalue(persona))

    responses = [
        api.get(URL),
        api.post(URL, connection(jira_sim)),
        api.patch(URL, {"default_project_key": "OPS"}),
        api.delete(URL),
    ]

    assert {response.status_code for response in responses} == {HTTPStatus.FORBIDDEN}
    assert responses[0].json()["error"] == "Only Managers and Admins can manage integrations."
    jira_integration.refresh_from_db()
    assert (jira_integration.state, jira_integration.default_project_key) == ("connected", "DQ")
    assert jira_sim.control.requests() == []


@pytest.mark.parametrize("persona", ["manager", "admin"])
def test_it_shows_the_integration_to_managers_and_admins(
    client, request, jira_sim, jira_integration, persona
):
    response = api_client(client, request.getfixturevalue(persona)).get(URL)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["host_url"], body["default_project_key"]) == (jira_sim.url, "DQ")
    assert (body["connector"], body["state"], body["credentials_readable"]) == (
        "jira",
        "connected",
        True,
    )


def test_it_answers_404_when_nothing_is_connected(client, manager):
    response = api_client(client, manager).get(URL)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "No ticketing integration is connected."


def test_it_connects_after_checking_with_jira(client, manager, jira_sim):
    response = api_client(client, manager).post(URL, connection(jira_sim))

    assert response.status_code == HTTPStatus.CREATED
    integration = TicketingIntegration.objects.get()
    assert integration.credential_pair() == (SIM_EMAIL, SIM_TOKEN)
    assert (integration.connected_by, integration.last_test_ok) == (manager, True)
    assert response.json()["account_name"] == "Quality Bot"
    assert [check["ok"] for check in response.json()["last_test_checks"]] == [
        True,
        True,
        True,
        True,
    ]


def test_it_stores_nothing_when_a_check_fails(client, manager, jira_sim):
    response = api_client(client, manager).post(
        URL, connection(jira_sim, credentials=f"{SIM_EMAIL}:wrong-token")
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"].startswith("Authentication failed — nothing was saved.")
    assert [check["ok"] for check in response.json()["checks"]] == [False, None, None, None]
    assert not TicketingIntegration.objects.exists()


def test_it_refuses_a_malformed_connection_with_field_messages(client, manager, jira_sim):
    fresh_jira_log(jira_sim)

    response = api_client(client, manager).post(
        URL, {"host_url": "ftp://jira", "credentials": "no-colon"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()["fields"]) == {"host_url", "credentials", "default_project_key"}
    assert jira_sim.control.requests() == []


def test_it_refuses_a_second_connection_with_409(client, manager, jira_sim, jira_integration):
    response = api_client(client, manager).post(URL, connection(jira_sim))

    assert response.status_code == HTTPStatus.CONFLICT
    assert "Disconnect it before connecting another one" in response.json()["error"]
    assert TicketingIntegration.objects.count() == 1


def test_it_edits_the_default_project_keeping_the_credentials(
    client, manager, jira_sim, jira_integration
):
    response = api_client(client, manager).patch(URL, {"default_project_key": "ops"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["default_project_key"] == "OPS"
    jira_integration.refresh_from_db()
    assert jira_integration.default_project_key == "OPS"
    assert jira_integration.credential_pair() == (SIM_EMAIL, SIM_TOKEN)


def test_it_keeps_the_old_values_when_edited_credentials_fail(
    client, manager, jira_sim, jira_integration
):
    response = api_client(client, manager).patch(
        URL, {"credentials": f"{SIM_EMAIL}:wrong-token", "default_project_key": "OPS"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "checks" in response.json()
    jira_integration.refresh_from_db()
    assert jira_integration.default_project_key == "DQ"
    assert jira_integration.credential_pair() == (SIM_EMAIL, SIM_TOKEN)


def test_it_refuses_to_change_the_host_url(client, manager, jira_sim, jira_integration):
    response = api_client(client, manager).patch(URL, {"host_url": "https://other.example"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "disconnect, then connect again" in response.json()["error"]


def test_it_disconnects_and_cancels_pending_comments(
    client, manager, anomaly, jira_sim, jira_integration
):
    link = make_link(anomaly, jira_integration)
    event = SyncEvent.objects.create(
        link=link, kind="commented", body="x", created_at=link.linked_at
    )

    response = api_client(client, manager).delete(URL)

    assert response.status_code == HTTPStatus.OK
    assert (response.json()["state"], response.json()["cancelled_sync_events"]) == (
        "disconnected",
        1,
    )
    event.refresh_from_db()
    assert event.state == SyncState.CANCELLED
    assert TicketingIntegration.objects.get().state == IntegrationState.DISCONNECTED


# --- credentials are write-only -------------------------------------------------------------


def every_api_response(client, manager, member_author, anomaly, jira_sim) -> list:
    """One call to every endpoint that could show something of the integration."""
    managing = api_client(client, manager)
    acting = api_client(client, member_author)
    links = reverse("integrations_api:ticket_links", args=[anomaly.pk])
    responses = [
        managing.get(URL),
        managing.patch(URL, {"default_project_key": "OPS"}),
        managing.patch(URL, {"credentials": f"{SENTINEL_EMAIL}:{SENTINEL_TOKEN}x"}),
        acting.post(links, {"issue": "DQ-1"}),
        acting.get(links),
        acting.get(reverse("anomalies_api:detail", args=[anomaly.pk])),
        acting.post(reverse("anomalies_api:comments", args=[anomaly.pk]), {"text": "hi"}),
        acting.get(reverse("integrations_api:search"), {"query": "orders"}),
        acting.get(reverse("integrations_api:form_specification")),
        acting.post(
            reverse("integrations_api:create_ticket", args=[anomaly.pk]), {"issue_type": "10001"}
        ),
        managing.delete(URL),
        managing.post(URL, connection(jira_sim, credentials=f"{SENTINEL_EMAIL}:wrong")),
        managing.post(URL, connection(jira_sim, credentials=f"{SENTINEL_EMAIL}:{SENTINEL_TOKEN}")),
        managing.get(URL),
    ]
    return responses


def test_it_never_returns_the_credentials(client, manager, member_author, anomaly, jira_sim):
    jira_sim.control.add_account(SENTINEL_EMAIL, SENTINEL_TOKEN, display_name="Sentinel Bot")
    api_client(client, manager).post(
        URL, connection(jira_sim, credentials=f"{SENTINEL_EMAIL}:{SENTINEL_TOKEN}")
    )

    responses = every_api_response(client, manager, member_author, anomaly, jira_sim)

    assert [r.status_code for r in responses] == [
        HTTPStatus.OK,
        HTTPStatus.OK,
        HTTPStatus.BAD_REQUEST,  # the changed token fails its check
        HTTPStatus.CREATED,
        HTTPStatus.OK,
        HTTPStatus.OK,
        HTTPStatus.CREATED,
        HTTPStatus.OK,
        HTTPStatus.OK,
        HTTPStatus.CREATED,
        HTTPStatus.OK,
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.CREATED,
        HTTPStatus.OK,
    ]
    for response in responses:
        assert SENTINEL_TOKEN not in response.content.decode()


TEST_URL = reverse("integrations_api:test")


def test_it_tests_the_stored_connection_and_records_the_result(client, manager, jira_integration):
    response = api_client(client, manager).post(TEST_URL)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["ok"] is True
    assert [check["name"] for check in body["checks"]] == [
        "Authentication",
        "Project access",
        "Permissions",
        "Issue types available",
    ]
    jira_integration.refresh_from_db()
    assert jira_integration.last_test_ok is True


def test_it_reports_a_failing_check_with_its_hint(client, manager, jira_sim, jira_integration):
    jira_integration.default_project_key = "NOPE"
    jira_integration.save(update_fields=["default_project_key"])

    body = api_client(client, manager).post(TEST_URL).json()

    assert body["ok"] is False
    assert body["message"].startswith("Project not found.")
    assert "Verify the project key is correct" in body["message"]


@pytest.mark.parametrize("persona", ["member_author", "outsider"])
def test_it_keeps_the_connection_test_to_managers(client, request, jira_integration, persona):
    response = api_client(client, request.getfixturevalue(persona)).post(TEST_URL)

    assert response.status_code == HTTPStatus.FORBIDDEN
