"""POST /rest/api/3/issue: success and Jira's validation errors (docs/jira-api.md §1.6, §2.2,
§3)."""

from __future__ import annotations

import pytest
import requests

from simulators.jira import SimulatorControl

from .conftest import JiraClient, adf

ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


def field_errors(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 400
    body = response.json()
    assert body["errorMessages"] == []
    return body["errors"]


def test_it_creates_an_issue_in_to_do(api: JiraClient, control: SimulatorControl) -> None:
    response = api.post(
        "/issue",
        json={
            "fields": {
                "project": {"id": "10000"},
                "issuetype": {"id": "10002"},
                "summary": "Nulls in orders",
                "description": adf("Found 3 nulls."),
                "priority": {"name": "High"},
                "labels": ["qualytics", "anomaly-42"],
                "assignee": {"accountId": "712020:sim-bob"},
                "customfield_10060": "warehouse.orders",
            }
        },
    )
    assert response.status_code == 201
    created = response.json()
    assert created == {
        "id": created["id"],
        "key": "DQ-4",
        "self": f"{api.base_url}/rest/api/3/issue/{created['id']}",
    }
    fields = api.get("/issue/DQ-4").json()["fields"]
    assert fields["status"]["name"] == "To Do"
    assert fields["status"]["statusCategory"]["key"] == "new"
    assert fields["issuetype"]["name"] == "Bug"
    assert fields["priority"]["name"] == "High"
    assert fields["labels"] == ["qualytics", "anomaly-42"]
    assert fields["assignee"]["accountId"] == "712020:sim-bob"
    assert fields["reporter"]["accountId"] == "712020:sim-bot"
    assert fields["description"] == adf("Found 3 nulls.")
    assert fields["customfield_10060"] == "warehouse.orders"
    assert fields["created"].endswith("+0000") and len(fields["created"]) == 28
    assert control.violations()["count"] == 0


def test_it_accepts_references_by_key_name_and_legacy_user_id(api: JiraClient) -> None:
    response = api.create_issue(
        project={"key": "OPS"},
        issuetype={"name": "incident"},
        priority={"id": "1"},
        assignee={"id": "712020:sim-carol"},
        customfield_10050={"id": "10102"},
    )
    assert response.status_code == 201
    fields = api.get(f"/issue/{response.json()['key']}").json()["fields"]
    assert fields["issuetype"]["id"] == "10004"
    assert fields["assignee"]["displayName"] == "Carol Castillo"
    assert fields["customfield_10050"]["value"] == "Dashboards"


def test_it_defaults_the_priority_and_leaves_it_empty_without_the_field(api: JiraClient) -> None:
    task = api.create_issue().json()
    assert api.get(f"/issue/{task['key']}").json()["fields"]["priority"]["name"] == "Medium"
    story = api.create_issue(issuetype={"name": "Story"}).json()
    assert api.get(f"/issue/{story['key']}").json()["fields"]["priority"] is None


def test_it_numbers_keys_per_project(api: JiraClient) -> None:
    keys = [api.create_issue(project={"key": p}).json()["key"] for p in ("OPS", "DQ", "OPS")]
    assert keys == ["OPS-3", "DQ-4", "OPS-4"]


def test_it_rejects_an_unknown_project(api: JiraClient) -> None:
    response = api.create_issue(project={"key": "NOPE"})
    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": [],
        "errors": {"project": "Specify a valid project ID or key"},
    }


def test_it_rejects_an_issue_type_of_another_project(api: JiraClient) -> None:
    response = api.create_issue(issuetype={"name": "Incident"})
    assert response.json() == {
        "errorMessages": [],
        "errors": {"issuetype": "Specify a valid issue type"},
    }
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        (None, "You must specify a summary of the issue."),
        ("   ", "You must specify a summary of the issue."),
        ("x" * 256, "Summary must be less than 255 characters."),
        ("two\nlines", "The summary is invalid because it contains newline characters."),
    ],
)
def test_it_validates_the_summary(api: JiraClient, summary: str | None, message: str) -> None:
    assert field_errors(api.create_issue(summary=summary)) == {"summary": message}


def test_it_accepts_a_255_character_summary(api: JiraClient) -> None:
    assert api.create_issue(summary="x" * 255).status_code == 201


def test_it_requires_adf_descriptions(api: JiraClient) -> None:
    assert field_errors(api.create_issue(description="plain text")) == {"description": ADF_REQUIRED}


def test_it_rejects_structurally_invalid_adf(api: JiraClient) -> None:
    empty_text = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
    }
    response = api.create_issue(description=empty_text)
    assert response.status_code == 400
    assert response.json() == {"errorMessages": ["INVALID_INPUT"], "errors": {}}
    assert "non-empty text" in response.headers["X-Sim-Detail"]


def test_it_limits_description_length(api: JiraClient) -> None:
    errors = field_errors(api.create_issue(description=adf("x" * 32_767)))
    assert errors == {
        "description": (
            "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
        )
    }
    assert api.create_issue(description=adf("x" * 30_000)).status_code == 201


def test_it_rejects_labels_with_spaces(api: JiraClient) -> None:
    assert field_errors(api.create_issue(labels=["ok", "Test Application"])) == {
        "labels": "The label 'Test Application' contains spaces which is invalid."
    }


def test_it_rejects_fields_that_are_not_on_the_screen(api: JiraClient) -> None:
    errors = field_errors(
        api.create_issue(issuetype={"name": "Story"}, priority={"id": "1"}, reporter={"id": "x"})
    )
    suffix = "cannot be set. It is not on the appropriate screen, or unknown."
    assert errors == {
        "priority": f"Field 'priority' {suffix}",
        "reporter": f"Field 'reporter' {suffix}",
    }


def test_it_requires_the_incident_custom_field(api: JiraClient) -> None:
    response = api.create_issue(project={"key": "OPS"}, issuetype={"id": "10004"})
    assert field_errors(response) == {"customfield_10050": "Impacted system is required."}


def test_it_accepts_only_allowed_select_values(api: JiraClient) -> None:
    incident = {"project": {"key": "OPS"}, "issuetype": {"id": "10004"}}
    by_value = api.create_issue(**incident, customfield_10050={"value": "Mainframe"})
    assert field_errors(by_value) == {"customfield_10050": "Option value 'Mainframe' is not valid"}
    by_id = api.create_issue(**incident, customfield_10050={"id": "999"})
    assert field_errors(by_id) == {"customfield_10050": "Option id '999' is not valid"}


def test_it_rejects_unknown_priorities_and_unassignable_users(api: JiraClient) -> None:
    errors = field_errors(
        api.create_issue(priority={"name": "Blocker"}, assignee={"accountId": "712020:sim-carol"})
    )
    assert errors == {
        "priority": "The priority selected is invalid.",
        "assignee": "User '712020:sim-carol' cannot be assigned issues.",
    }


def test_it_reports_all_field_errors_at_once(api: JiraClient) -> None:
    errors = field_errors(api.create_issue(summary="", description="text", labels=["a b"]))
    assert set(errors) == {"summary", "description", "labels"}


def test_it_stores_issue_properties(api: JiraClient) -> None:
    body = {
        "fields": {"project": {"key": "DQ"}, "issuetype": {"name": "Task"}, "summary": "P"},
        "properties": [{"key": "qualytics", "value": {"anomaly": 42}}],
    }
    key = api.post("/issue", json=body).json()["key"]
    issue = api.get(f"/issue/{key}", params={"properties": "qualytics"}).json()
    assert issue["properties"] == {"qualytics": {"anomaly": 42}}


def test_it_rejects_non_json_content_types(api: JiraClient) -> None:
    response = api.post("/issue", data="fields=1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert api.get("/issue/DQ-4").status_code == 404


def test_it_applies_simple_update_operations(api: JiraClient) -> None:
    body = {
        "fields": {"project": {"key": "DQ"}, "issuetype": {"name": "Task"}, "summary": "U"},
        "update": {"labels": [{"add": "one"}, {"add": "two"}]},
    }
    key = api.post("/issue", json=body).json()["key"]
    assert api.get(f"/issue/{key}", params={"fields": "labels"}).json()["fields"] == {
        "labels": ["one", "two"]
    }
    both = {**body, "fields": {**body["fields"], "labels": ["x"]}}
    assert set(field_errors(api.post("/issue", json=both))) == {"labels"}
