"""Fault injection: statuses, dropped connections, delays (docs/servicenow-api.md §8)."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
import requests

from simulators.servicenow import ServiceNowControl

from .conftest import TableAPI

NOTE_PATH = "/incident/[0-9a-f]{32}$"


def test_it_answers_503_bursts_then_recovers(api: TableAPI, control: ServiceNowControl) -> None:
    control.add_unavailable(count=2, method="GET")
    for _ in range(2):
        response = api.get("incident")
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert response.json()["status"] == "failure"
    assert api.get("incident").status_code == HTTPStatus.OK


def test_it_offers_a_ready_made_429(api: TableAPI, control: ServiceNowControl) -> None:
    control.add_rate_limited(retry_after=3, method="PATCH")
    sys_id = api.incident("INC0010001")["sys_id"]
    response = api.patch(sys_id, {"work_notes": "x"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    headers = response.headers
    assert headers["Retry-After"] == "3"
    assert headers["X-RateLimit-Limit"] == "100"
    assert 0 < int(headers["X-RateLimit-Reset"]) - time.time() <= 4
    assert len(headers["X-RateLimit-Rule"]) == 32
    assert "X-RateLimit-Remaining" not in headers
    assert response.json()["error"]["message"] == "Rate limit exceeded"
    assert control.work_notes("INC0010001") == []
    assert api.patch(sys_id, {"work_notes": "x"}).status_code == HTTPStatus.OK


def test_drop_after_processes_the_note_but_never_answers(
    api: TableAPI, control: ServiceNowControl
) -> None:
    sys_id = api.incident("INC0010001")["sys_id"]
    control.add_fault("drop_after", method="PATCH", path_regex=NOTE_PATH)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.patch(sys_id, {"work_notes": "delivered, unacknowledged"})
    assert control.work_notes("INC0010001") == ["delivered, unacknowledged"]
    outcomes = [entry["outcome"] for entry in control.requests()]
    assert "fault:drop_after" in outcomes


def test_drop_before_loses_the_request(api: TableAPI, control: ServiceNowControl) -> None:
    control.add_fault("drop_before", method="POST")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post({"short_description": "lost"})
    assert len(control.incidents()) == 5


def test_status_after_commits_then_answers_the_cancelled_transaction(
    api: TableAPI, control: ServiceNowControl
) -> None:
    control.add_fault("status_after", method="POST")
    response = api.post({"short_description": "slow insert", "correlation_id": "k-1"})
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "maximum execution time exceeded" in response.json()["error"]["message"]
    # The insert happened: a client retrying blindly would create a duplicate.
    assert api.numbers("correlation_id=k-1") == ["INC0010006"]


def test_it_delays_then_processes(api: TableAPI, control: ServiceNowControl) -> None:
    control.add_fault("delay", seconds=0.4, method="GET")
    started = time.monotonic()
    assert api.get("incident").status_code == HTTPStatus.OK
    assert time.monotonic() - started >= 0.4


def test_it_holds_the_connection_open_on_timeout(api: TableAPI, control: ServiceNowControl) -> None:
    control.add_fault("timeout", seconds=2, method="POST")
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(api.url("incident"), json={"short_description": "x"}, timeout=0.3)
    assert len(control.incidents()) == 5


def test_faults_for_a_duration_expire(api: TableAPI, control: ServiceNowControl) -> None:
    control.add_fault(status=502, for_seconds=0.3)
    assert api.get("incident").status_code == HTTPStatus.BAD_GATEWAY
    time.sleep(0.35)
    assert api.get("incident").status_code == HTTPStatus.OK
    assert control.faults() == []


def test_it_rejects_an_unknown_fault_action(control: ServiceNowControl) -> None:
    from simulators.servicenow import ControlAPIError

    with pytest.raises(ControlAPIError) as error:
        control.add_fault("explode")
    assert error.value.status == HTTPStatus.BAD_REQUEST
