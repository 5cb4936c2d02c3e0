"""Fault injection and rate limiting (docs/jira-api.md §2.4)."""

from __future__ import annotations

import time

import pytest
import requests

from simulators.jira import SimulatorControl

from .conftest import JiraClient, adf

COMMENT_PATH = "/comment$"


def test_it_answers_an_injected_status_with_headers_and_body(
    api: JiraClient, control: SimulatorControl
) -> None:
    control.add_fault(
        method="POST",
        path_regex=COMMENT_PATH,
        status=429,
        headers={"Retry-After": "3"},
        body={"errorMessages": ["slow down"], "errors": {}},
        count=2,
    )
    for _ in range(2):
        response = api.add_comment("DQ-1", adf("x"))
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json() == {"errorMessages": ["slow down"], "errors": {}}
    assert api.get("/issue/DQ-1/comment").status_code == 200  # GET does not match
    assert api.add_comment("DQ-1", adf("x")).status_code == 201
    assert len(control.comments("DQ-1")) == 2  # seed comment + the one that got through


def test_it_offers_a_ready_made_429(api: JiraClient, control: SimulatorControl) -> None:
    control.add_rate_limited(retry_after=2, method="POST", path_regex="/issue$")
    response = api.create_issue()
    assert response.status_code == 429
    headers = response.headers
    assert headers["Retry-After"] == "2"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Limit"].isdigit()
    assert headers["RateLimit-Reason"] == "jira-burst-based"
    assert headers["X-RateLimit-Reset"].endswith("Z")
    assert api.create_issue().status_code == 201


def test_it_offers_a_ready_made_503(api: JiraClient, control: SimulatorControl) -> None:
    control.add_unavailable(count=1, retry_after=5)
    response = api.get("/myself")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert api.get("/myself").status_code == 200


def test_it_delays_then_processes(api: JiraClient, control: SimulatorControl) -> None:
    control.add_fault("delay", seconds=0.4, path_regex="/myself$")
    started = time.monotonic()
    response = api.get("/myself")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.4


def test_it_holds_the_connection_open_on_timeout(
    api: JiraClient, control: SimulatorControl
) -> None:
    control.add_fault("timeout", seconds=2, method="POST", path_regex=COMMENT_PATH)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(api.url("/issue/DQ-1/comment"), json={"body": adf("x")}, timeout=0.3)
    assert len(control.comments("DQ-1")) == 1


def test_it_closes_the_connection_without_answer_after_the_timeout(
    api: JiraClient, control: SimulatorControl
) -> None:
    control.add_fault("timeout", seconds=0.3, path_regex="/myself$")
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("/myself")
    assert time.monotonic() - started >= 0.3


def test_it_drops_the_connection_before_processing(
    api: JiraClient, control: SimulatorControl
) -> None:
    control.add_fault("drop_before", method="POST", path_regex=COMMENT_PATH)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.add_comment("DQ-1", adf("lost"))
    assert [c["text"] for c in control.comments("DQ-1")] == ["Looking into the upstream loader."]


def test_it_processes_then_drops_the_connection(api: JiraClient, control: SimulatorControl) -> None:
    control.add_fault("drop_after", method="POST", path_regex=COMMENT_PATH)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.add_comment("DQ-1", adf("outcome unknown"), properties=[{"key": "k", "value": 1}])
    latest = control.comments("DQ-1")[-1]
    assert latest["text"] == "outcome unknown"
    assert latest["properties"] == [{"key": "k", "value": 1}]
    log = [entry for entry in control.requests() if entry["outcome"] == "fault:drop_after"]
    assert [(e["method"], e["status"]) for e in log] == [("POST", 201)]


def test_it_processes_then_holds_the_connection_without_answering(
    api: JiraClient, control: SimulatorControl
) -> None:
    control.add_fault("hold_after", method="POST", path_regex=COMMENT_PATH, seconds=0.2)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.add_comment("DQ-1", adf("made, never answered"))
    assert control.comments("DQ-1")[-1]["text"] == "made, never answered"
    log = [entry for entry in control.requests() if entry["outcome"] == "fault:hold_after"]
    assert [(e["method"], e["status"]) for e in log] == [("POST", 201)]


def test_it_keeps_a_fault_active_for_a_time_window(
    api: JiraClient, control: SimulatorControl
) -> None:
    control.add_fault(status=503, for_seconds=0.4, path_regex="/myself$")
    assert [api.get("/myself").status_code for _ in range(3)] == [503, 503, 503]
    time.sleep(0.45)
    assert api.get("/myself").status_code == 200
    assert control.faults() == []


def test_it_rejects_an_invalid_fault_spec(control: SimulatorControl) -> None:
    from simulators.jira import ControlAPIError

    with pytest.raises(ControlAPIError) as error:
        control.add_fault("explode")
    assert error.value.status == 400
    with pytest.raises(ControlAPIError):
        control.add_fault(path_regex="(unclosed")


def test_it_rate_limits_excess_requests(api: JiraClient, control: SimulatorControl) -> None:
    control.set_rate_limit(3)
    statuses = [api.get("/myself") for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    limited = statuses[-1]
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
    assert statuses[2].headers["X-RateLimit-NearLimit"] == "true"
    assert "Retry-After" not in statuses[0].headers
    time.sleep(1.05)
    assert api.get("/myself").status_code == 200
    control.set_rate_limit(None)
    assert all(api.get("/myself").status_code == 200 for _ in range(5))


def test_it_never_faults_the_control_api(control: SimulatorControl) -> None:
    control.add_fault("drop_before", path_regex=".*", count=5)
    assert control.issues()
    assert len(control.faults()) == 1
