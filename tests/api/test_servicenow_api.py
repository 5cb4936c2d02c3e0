"""The same /api/integrations/ticketing… endpoints with ServiceNow connected, over real HTTP
to the ServiceNow simulator: form specification, create, link by number and URL, search."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from integrations.models import TicketLink
from tests.api import api_client
from tests.conftest import SN_PASSWORD

SPEC_URL = reverse("integrations_api:form_specification")
SEARCH_URL = reverse("integrations_api:search")


def field_names(spec: dict) -> list[str]:
    return [field["name"] for field in spec["fields"]]


def test_it_describes_the_servicenow_create_form(client, member_reporter, servicenow_integration):
    response = api_client(client, member_reporter).get(SPEC_URL, {"category": "database"})

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    text = str(body)
    assert {"summary", "description", "urgency", "impact", "category", "subcategory"} <= set(
        field_names(body)
    )
    assert "Oracle" in text and "Data Quality" in text
    assert SN_PASSWORD not in text
    refused = api_client(client, member_reporter).get(SPEC_URL, {"category": "no-such"})
    assert refused.status_code == HTTPStatus.BAD_REQUEST


def test_it_creates_an_incident(client, member_reporter, anomaly, servicenow_sim,
                                servicenow_integration):  # fmt: skip
    url = reverse("integrations_api:create_ticket", args=[anomaly.pk])

    response = api_client(client, member_reporter).post(
        url, {"summary": "Nulls in orders", "urgency": "2", "impact": "2"}
    )

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert response.json()["issue_key"] == "INC0010006"
    stored = servicenow_sim.control.incident("INC0010006")
    assert (stored["short_description"], stored["priority"]) == ("Nulls in orders", "3")


@pytest.mark.parametrize("typed", ["inc0010002", "URL"])
def test_it_links_an_incident_by_number_or_url(
    client, member_author, anomaly, servicenow_sim, servicenow_integration, typed
):
    sys_id = servicenow_sim.control.incident("INC0010002")["sys_id"]
    issue = f"{servicenow_sim.url}/nav_to.do?uri=incident.do%3Fsys_id%3D{sys_id}"
    url = reverse("integrations_api:ticket_links", args=[anomaly.pk])

    response = api_client(client, member_author).post(
        url, {"issue": issue if typed == "URL" else typed}
    )

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert response.json()["issue_key"] == "INC0010002"
    assert response.json()["status"]["name"] == "In Progress"
    assert TicketLink.objects.get().issue_id == sys_id


def test_it_searches_incidents(client, member_author, servicenow_integration):
    response = api_client(client, member_author).get(SEARCH_URL, {"query": "replica lag"})

    assert response.status_code == HTTPStatus.OK
    assert "INC0010003" in str(response.json())
