"""The /_sim control API: issue manipulation, logs, violations, reset, access rules."""

from __future__ import annotations

import pytest
import requests

from simulators.jira import ControlAPIError, JiraSimulator, SimulatorControl, control_api
from simulators.jira.server import is_loopback
from simulators.jira.web import Request

from .conftest import JiraClient, adf


def test_it_deletes_an_issue(api: JiraClient, control: SimulatorControl) -> None:
    control.delete_issue("DQ-2")
    assert api.get("/issue/DQ-2").status_code == 404
    assert api.add_comment("DQ-2", adf("x")).status_code == 404
    assert "DQ-2" not in [issue["key"] for issue in control.issues()]
    with pytest.raises(ControlAPIError) as missing:
        control.delete_issue("DQ-2")
    assert missing.value.status == 404


def test_it_imports_issues_with_their_status_and_comments(
    api: JiraClient, control: SimulatorControl
) -> None:
    made = control.import_issues(
        [
            {
                "project": "DQ",
                "issuetype": "10002",
                "summary": "Imported bug",
                "status": "In Review",
                "created": "2025-01-02T03:04:05.000+0000",
                "comments": [
                    {"body": adf("first"), "properties": {"marker": {"event": "e1"}}},
                    {"body": adf("second"), "created": "2025-01-03T00:00:00.000+0000"},
                ],
            },
            {"project": "OPS", "issuetype": "10001", "summary": "Imported task"},
        ]
    )

    assert [issue["key"] for issue in made] == ["DQ-4", "OPS-3"]
    fields = api.get("/issue/DQ-4").json()["fields"]
    assert fields["status"]["name"] == "In Review"
    assert fields["created"] == "2025-01-02T03:04:05.000+0000"
    comments = control.comments("DQ-4")
    assert [c["id"] for c in comments] == made[0]["comments"]
    assert [c["text"] for c in comments] == ["first", "second"]
    assert comments[0]["properties"] == [{"key": "marker", "value": {"event": "e1"}}]
    with pytest.raises(ControlAPIError) as refused:
        control.import_issues([{"project": "OPS", "issuetype": "10003", "summary": "x"}])
    assert refused.value.status == 400


def test_it_transitions_an_issue_by_status_name(api: JiraClient, control: SimulatorControl) -> None:
    before = api.get("/issue/DQ-1").json()["fields"]
    moved = control.move_issue("DQ-1", status="done")
    assert moved["fields"]["status"]["name"] == "Done"
    after = api.get("/issue/DQ-1").json()["fields"]
    assert after["status"]["statusCategory"] == {
        "self": f"{api.base_url}/rest/api/3/statuscategory/3",
        "id": 3,
        "key": "done",
        "colorName": "green",
        "name": "Done",
    }
    assert after["statuscategorychangedate"] > before["statuscategorychangedate"]
    assert after["resolution"] is not None
    with pytest.raises(ControlAPIError):
        control.move_issue("DQ-1", status="Nonexistent")


def test_it_moves_an_issue_to_another_project_keeping_the_old_key(
    api: JiraClient, control: SimulatorControl
) -> None:
    moved = control.move_issue("DQ-1", project="OPS")
    assert moved["key"] == "OPS-3"
    old = api.get("/issue/DQ-1").json()
    assert (old["key"], old["fields"]["project"]["key"]) == ("OPS-3", "OPS")
    found = api.post("/search/jql", json={"jql": "key = DQ-1", "fields": ["key"]}).json()
    assert [issue["key"] for issue in found["issues"]] == ["OPS-3"]


def test_it_lists_issues_with_all_fields(control: SimulatorControl) -> None:
    issues = control.issues()
    assert [issue["key"] for issue in issues] == ["DQ-1", "DQ-2", "DQ-3", "OPS-1", "OPS-2"]
    assert issues[3]["fields"]["customfield_10050"]["value"] == "Warehouse"
    assert issues[0]["fields"]["comment"]["total"] == 1


def test_it_logs_requests_without_credentials(api: JiraClient, control: SimulatorControl) -> None:
    api.get("/issue/DQ-1", params={"fields": "summary"})
    api.get("/issue/NOPE-1")
    log = control.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/rest/api/3/issue/DQ-1", 200),
        ("GET", "/rest/api/3/issue/NOPE-1", 404),
    ]
    assert log[0]["query"] == {"fields": "summary"}
    assert log[0]["account"] == "712020:sim-bot"
    assert "sim-token" not in str(log) and "Basic" not in str(log)
    control.clear_requests()
    assert control.requests() == []


def test_it_counts_openapi_violations_without_changing_answers(
    api: JiraClient, control: SimulatorControl
) -> None:
    response = api.add_comment("DQ-1", adf("ok"), id="123", author={"accountId": "x"})
    assert response.status_code == 201  # Jira's own rules decide the answer
    bad_create = api.post("/issue", json={"fields": "oops"})
    assert bad_create.status_code == 400
    violations = control.violations()
    assert violations["count"] == 3
    assert {(v["operationId"], v["method"], v["path"]) for v in violations["violations"]} == {
        ("addComment", "POST", "/rest/api/3/issue/DQ-1/comment"),
        ("createIssue", "POST", "/rest/api/3/issue"),
    }
    assert any("$.id: is read-only" in v["message"] for v in violations["violations"])
    control.clear_violations()
    assert control.violations() == {"count": 0, "violations": []}


def test_it_records_malformed_json_as_a_violation(
    api: JiraClient, control: SimulatorControl
) -> None:
    response = api.post("/issue", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert control.violations()["violations"][0]["message"] == "request body is not valid JSON"


def test_it_resets_to_the_seed(api: JiraClient, control: SimulatorControl) -> None:
    api.create_issue()
    control.add_fault(status=500, path_regex="/never$")
    control.set_rate_limit(1)
    control.reset()
    assert len(control.issues()) == 5
    assert control.faults() == []
    assert [api.get("/myself").status_code for _ in range(3)] == [200, 200, 200]


def test_it_resets_through_the_python_api(sim: JiraSimulator, api: JiraClient) -> None:
    api.create_issue()
    sim.reset()
    assert api.get("/issue/DQ-4").status_code == 404


def test_it_answers_control_requests_only_from_loopback(sim: JiraSimulator) -> None:
    request = Request("GET", "/_sim/issues", {}, {}, b"", "192.0.2.10")
    response = control_api.handle(sim.app, request, from_loopback=is_loopback("192.0.2.10"))
    assert response.status == 403
    assert is_loopback("127.0.0.1") and is_loopback("::1")


def test_it_reports_unknown_control_endpoints(sim: JiraSimulator) -> None:
    assert requests.get(f"{sim.url}/_sim/nothing", timeout=5).status_code == 404
    assert requests.put(f"{sim.url}/_sim/faults", timeout=5).status_code == 405
    bad = requests.post(f"{sim.url}/_sim/accounts", data=b"[1]", timeout=5)
    assert bad.status_code == 400
