"""POST /api/now/table/incident (docs/servicenow-api.md §2.6, §4.2, §7.1)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http import HTTPStatus

import pytest

from simulators.servicenow import ServiceNowControl

from .conftest import TableAPI


def test_it_creates_an_incident_with_the_next_number_and_defaults(
    api: TableAPI, control: ServiceNowControl
) -> None:
    response = api.post({"short_description": "Orders freshness breached"})
    assert response.status_code == HTTPStatus.CREATED
    created = response.json()["result"]
    assert created["number"] == "INC0010006"
    assert response.headers["Location"] == api.url("incident", created["sys_id"])
    assert len(created["sys_id"]) == 32
    expected = {
        "state": "1",
        "incident_state": "1",
        "impact": "3",
        "urgency": "3",
        "priority": "5",
        "category": "inquiry",
        "active": "true",
        "sys_created_by": "qualytics.integration",
        "sys_class_name": "incident",
    }
    assert {name: created[name] for name in expected} == expected
    assert created["opened_at"] == created["sys_created_on"]
    created_on = datetime.strptime(created["sys_created_on"], "%Y-%m-%d %H:%M:%S")
    assert abs((datetime.now(UTC).replace(tzinfo=None) - created_on).total_seconds()) < 60
    assert api.post({"short_description": "again"}).json()["result"]["number"] == "INC0010007"
    assert control.incident("INC0010006")["short_description"] == "Orders freshness breached"


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("1", "1", "1"),
        ("1", "2", "2"),
        ("2", "2", "3"),
        ("3", "1", "3"),
        ("2", "3", "4"),
        ("3", "3", "5"),
    ],
)
def test_it_computes_priority_from_impact_and_urgency(
    api: TableAPI, impact: str, urgency: str, priority: str
) -> None:
    body = {"short_description": "x", "impact": impact, "urgency": urgency, "priority": "1"}
    assert api.post(body).json()["result"]["priority"] == priority


def test_it_discards_invalid_choices_and_unknown_fields(api: TableAPI) -> None:
    body = {"short_description": "x", "urgency": "9", "state": "42", "no_such_field": "y"}
    created = api.post(body).json()["result"]
    assert (created["urgency"], created["state"]) == ("3", "1")
    assert "no_such_field" not in created


def test_it_accepts_json_numbers_and_stores_strings(api: TableAPI) -> None:
    created = api.post({"short_description": "x", "impact": 1, "urgency": 1}).json()["result"]
    assert (created["impact"], created["priority"]) == ("1", "1")


def test_it_stores_long_short_descriptions_unchanged(api: TableAPI) -> None:
    text = "a" * 300  # max_length is not enforced (§4.4)
    assert api.post({"short_description": text}).json()["result"]["short_description"] == text


def test_it_resolves_display_values_when_asked(api: TableAPI) -> None:
    body = {
        "short_description": "x",
        "assignment_group": "Database",
        "urgency": "1 - High",
        "caller_id": "Alice Andersen",
    }
    shown = api.post(body, sysparm_input_display_value="true", sysparm_display_value="true").json()[
        "result"
    ]
    assert shown["assignment_group"]["display_value"] == "Database"
    assert shown["caller_id"]["display_value"] == "Alice Andersen"
    assert shown["urgency"] == "1 - High"


def test_it_honours_sysparm_fields_and_no_response_body(api: TableAPI) -> None:
    narrow = api.post(
        {"short_description": "x"},
        sysparm_fields="sys_id,number,state",
        sysparm_exclude_reference_link="true",
    )
    assert set(narrow.json()["result"]) == {"sys_id", "number", "state"}
    silent = api.session.post(
        api.url("incident"),
        json={"short_description": "y"},
        headers={"X-no-response-body": "true"},
        timeout=5,
    )
    assert silent.status_code == HTTPStatus.CREATED and silent.content == b""
    assert silent.headers["Location"].startswith(api.url("incident"))


def test_it_keeps_only_the_first_record_of_an_array(api: TableAPI) -> None:
    response = api.post([{"short_description": "first"}, {"short_description": "second"}])
    assert response.json()["result"]["short_description"] == "first"
    assert api.numbers("short_description=second") == []


def test_it_rejects_bodies_that_are_not_json(api: TableAPI) -> None:
    url = api.url("incident")
    broken = api.session.post(
        url, data=b"{nope", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert broken.status_code == HTTPStatus.BAD_REQUEST
    assert broken.json()["error"]["message"] == "Exception while reading request"
    untyped = api.session.post(url, data=b"{}", timeout=5)
    assert untyped.status_code == HTTPStatus.BAD_REQUEST
    text = api.session.post(url, data=b"{}", headers={"Content-Type": "text/plain"}, timeout=5)
    assert text.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert len(api.rows("incident")) == 5


def test_it_sets_the_correlation_id_for_idempotent_creates(api: TableAPI) -> None:
    key = "qualytics:anomaly:1234"
    api.post({"short_description": "x", "correlation_id": key, "correlation_display": "Q"})
    found = api.rows(
        "incident",
        sysparm_query=f"correlation_id={key}^ORDERBYDESCsys_created_on",
        sysparm_fields="number",
        sysparm_limit=1,
    )
    assert found == [{"number": "INC0010006"}]


def test_concurrent_creates_get_distinct_consecutive_numbers(sim) -> None:
    def create(index: int) -> str:
        client = TableAPI(sim.url)
        response = client.post({"short_description": f"parallel {index}"})
        client.session.close()
        return response.json()["result"]["number"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = sorted(pool.map(create, range(24)))
    assert numbers == [f"INC{n:07d}" for n in range(10006, 10030)]
