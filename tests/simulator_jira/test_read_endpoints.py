"""Read operations: shapes (checked against the official response schemas) and Jira's rules."""

from __future__ import annotations

from typing import Any

import requests

from simulators.jira import JiraSimulator
from simulators.jira.openapi import validate_response_body

from .conftest import JiraClient


def assert_documented(operation_id: str, response: requests.Response) -> Any:
    body = response.json()
    assert validate_response_body(operation_id, response.status_code, body) == []
    return body


def test_it_returns_the_authenticated_user(api: JiraClient) -> None:
    response = api.get("/myself")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    me = assert_documented("getCurrentUser", response)
    assert me["accountId"] == "712020:sim-bot"
    assert me["emailAddress"] == "bot@example.com"
    assert me["self"].startswith(f"{api.base_url}/rest/api/3/user?accountId=")


def test_it_returns_a_project_with_its_issue_types(api: JiraClient) -> None:
    project = assert_documented("getProject", api.get("/project/OPS"))
    assert (project["id"], project["key"], project["name"]) == ("10001", "OPS", "Operations")
    assert [t["name"] for t in project["issueTypes"]] == ["Task", "Bug", "Incident"]
    assert project["lead"]["accountId"] == "712020:sim-carol"
    assert api.get("/project/10000").json()["key"] == "DQ"


def test_it_treats_project_keys_as_case_sensitive(api: JiraClient) -> None:
    response = api.get("/project/dq")
    assert response.status_code == 404
    assert response.json() == {
        "errorMessages": ["No project could be found with key 'dq'."],
        "errors": {},
    }


def test_it_pages_and_filters_the_project_search(api: JiraClient) -> None:
    first = assert_documented(
        "searchProjects", api.get("/project/search", params={"maxResults": 1})
    )
    assert (first["total"], first["isLast"], len(first["values"])) == (2, False, 1)
    assert "startAt=1" in first["nextPage"]
    second = api.get("/project/search", params={"startAt": 1, "maxResults": 1}).json()
    assert [p["key"] for p in first["values"] + second["values"]] == ["DQ", "OPS"]
    assert second["isLast"] is True
    found = api.get("/project/search", params={"query": "operat"}).json()
    assert [p["key"] for p in found["values"]] == ["OPS"]


def test_it_lists_create_issue_types_of_a_project(api: JiraClient) -> None:
    page = assert_documented(
        "getCreateIssueMetaIssueTypes", api.get("/issue/createmeta/DQ/issuetypes")
    )
    assert [(t["id"], t["name"]) for t in page["issueTypes"]] == [
        ("10001", "Task"),
        ("10002", "Bug"),
        ("10003", "Story"),
    ]
    assert (page["startAt"], page["total"]) == (0, 3)
    paged = api.get("/issue/createmeta/DQ/issuetypes", params={"startAt": 1, "maxResults": 1})
    assert [t["name"] for t in paged.json()["issueTypes"]] == ["Bug"]


def test_it_rejects_createmeta_pages_over_200(api: JiraClient) -> None:
    response = api.get("/issue/createmeta/DQ/issuetypes", params={"maxResults": 201})
    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": ["Parameter 'maxResults' must not exceed the limit '200'"],
        "errors": {},
        "httpStatusCode": {"empty": False, "present": True},
    }


def test_it_describes_create_fields_with_priorities_and_required_custom_field(
    api: JiraClient,
) -> None:
    page = assert_documented(
        "getCreateIssueMetaIssueTypeId", api.get("/issue/createmeta/OPS/issuetypes/10004")
    )
    fields = {field["fieldId"]: field for field in page["fields"]}
    assert fields["summary"]["required"] is True
    priority = fields["priority"]
    assert [(p["id"], p["name"]) for p in priority["allowedValues"]] == [
        ("1", "Highest"),
        ("2", "High"),
        ("3", "Medium"),
        ("4", "Low"),
        ("5", "Lowest"),
    ]
    assert priority["hasDefaultValue"] is False and "defaultValue" not in priority  # Incident
    task = assert_documented(
        "getCreateIssueMetaIssueTypeId", api.get("/issue/createmeta/OPS/issuetypes/10001")
    )
    (task_priority,) = [field for field in task["fields"] if field["fieldId"] == "priority"]
    assert task_priority["hasDefaultValue"] is True
    assert task_priority["defaultValue"]["name"] == "Medium"
    impacted = fields["customfield_10050"]
    assert impacted["required"] is True and impacted["name"] == "Impacted system"
    assert impacted["schema"]["custom"].endswith(":select")
    assert [v["value"] for v in impacted["allowedValues"]] == [
        "Warehouse",
        "Pipelines",
        "Dashboards",
    ]


def test_it_offers_no_priority_field_for_stories(api: JiraClient) -> None:
    fields = api.get("/issue/createmeta/DQ/issuetypes/10003").json()["fields"]
    field_ids = [field["fieldId"] for field in fields]
    assert "priority" not in field_ids and "summary" in field_ids


def test_it_rejects_an_issue_type_outside_the_project(api: JiraClient) -> None:
    assert api.get("/issue/createmeta/DQ/issuetypes/10004").status_code == 400


def test_it_finds_assignable_users_by_prefix(api: JiraClient) -> None:
    response = api.get("/user/assignable/search", params={"project": "DQ", "query": "ali"})
    users = assert_documented("findAssignableUsers", response)
    assert [u["accountId"] for u in users] == ["712020:sim-alice"]
    by_surname = api.get("/user/assignable/search", params={"project": "DQ", "query": "bren"})
    assert [u["displayName"] for u in by_surname.json()] == ["Bob Brennan"]
    everyone = api.get("/user/assignable/search", params={"project": "OPS", "query": ""}).json()
    assert {u["accountId"] for u in everyone} == {
        "712020:sim-bot",
        "712020:sim-alice",
        "712020:sim-carol",
    }


def test_it_hides_email_addresses_of_private_profiles(api: JiraClient) -> None:
    users = api.get("/user/assignable/search", params={"project": "DQ", "query": "bob"}).json()
    assert len(users) == 1 and "emailAddress" not in users[0]
    by_hidden_email = api.get("/user/assignable/search", params={"project": "DQ", "query": "bob@"})
    assert by_hidden_email.json() == []


def test_it_enforces_the_assignable_search_parameters(api: JiraClient) -> None:
    both = api.get(
        "/user/assignable/search",
        params={"project": "DQ", "query": "a", "accountId": "712020:sim-alice"},
    )
    assert both.status_code == 400
    assert api.get("/user/assignable/search", params={"query": "a"}).status_code == 400
    assert api.get("/user/assignable/search", params={"project": "DQ"}).status_code == 400
    missing = api.get("/user/assignable/search", params={"project": "NOPE", "query": "a"})
    assert missing.status_code == 404
    by_id = api.get(
        "/user/assignable/search", params={"issueKey": "OPS-1", "accountId": "712020:sim-carol"}
    )
    assert [u["displayName"] for u in by_id.json()] == ["Carol Castillo"]


def test_it_returns_an_issue_with_status_category(api: JiraClient) -> None:
    issue = assert_documented("getIssue", api.get("/issue/DQ-2"))
    assert (issue["id"], issue["key"]) == ("10002", "DQ-2")
    assert issue["self"] == f"{api.base_url}/rest/api/3/issue/10002"
    status = issue["fields"]["status"]
    assert status["name"] == "In Progress"
    assert {k: status["statusCategory"][k] for k in ("id", "key", "colorName", "name")} == {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    }
    done = api.get("/issue/DQ-3").json()["fields"]
    assert done["status"]["statusCategory"]["key"] == "done"
    assert done["resolution"]["name"] == "Done"


def test_it_returns_only_the_requested_fields(api: JiraClient) -> None:
    issue = api.get("/issue/DQ-1", params={"fields": "summary,status"}).json()
    assert set(issue["fields"]) == {"summary", "status"}
    everything_but = api.get("/issue/DQ-1", params={"fields": "-description"}).json()
    assert "description" not in everything_but["fields"]
    assert "comment" in everything_but["fields"]
    repeated = api.get("/issue/DQ-1", params=[("fields", "summary"), ("fields", "labels")]).json()
    assert set(repeated["fields"]) == {"summary", "labels"}


def test_it_finds_issues_by_key_case_insensitively_and_by_id(api: JiraClient) -> None:
    assert api.get("/issue/dq-1").json()["key"] == "DQ-1"
    assert api.get("/issue/10004").json()["key"] == "OPS-1"


def test_it_answers_404_for_a_missing_issue(api: JiraClient) -> None:
    response = api.get("/issue/DQ-999")
    assert response.status_code == 404
    assert response.json() == {
        "errorMessages": ["Issue does not exist or you do not have permission to see it."],
        "errors": {},
    }


def test_it_pages_comments(api: JiraClient) -> None:
    for number in range(3):
        api.add_comment(
            "DQ-2",
            {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": f"note {number}"}]}
                ],
            },
        )
    page = assert_documented(
        "getComments", api.get("/issue/DQ-2/comment", params={"startAt": 1, "maxResults": 1})
    )
    assert (page["startAt"], page["maxResults"], page["total"]) == (1, 1, 3)
    assert page["comments"][0]["body"]["content"][0]["content"][0]["text"] == "note 1"
    newest_first = api.get("/issue/DQ-2/comment", params={"orderBy": "-created"}).json()
    assert newest_first["comments"][0]["body"]["content"][0]["content"][0]["text"] == "note 2"


def test_it_uses_the_site_url_for_links() -> None:
    with JiraSimulator(site_url="https://example.atlassian.net/") as simulator:
        client = JiraClient(simulator.url)
        issue = client.get("/issue/DQ-1").json()
        assert issue["self"] == "https://example.atlassian.net/rest/api/3/issue/10001"
        assert simulator.control.issue("DQ-1")["browseUrl"] == (
            "https://example.atlassian.net/browse/DQ-1"
        )


def test_it_answers_unknown_paths_and_methods_like_a_server(api: JiraClient) -> None:
    assert api.get("/nothing/here").status_code == 404
    wrong_method = api.session.delete(api.url("/issue/DQ-1/comment"))
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["Allow"].split(", ")) == {"GET", "POST"}
