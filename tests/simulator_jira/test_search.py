"""GET/POST /rest/api/3/search/jql: the JQL subset, fields and nextPageToken paging."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from simulators.jira import SimulatorControl
from simulators.jira.openapi import validate_response_body

from .conftest import JiraClient, adf

UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)


def keys(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [issue["key"] for issue in response.json()["issues"]]


def search(api: JiraClient, jql: str, **extra: Any) -> list[str]:
    return keys(api.post("/search/jql", json={"jql": jql, "fields": ["key"], **extra}))


def test_it_returns_only_ids_by_default(api: JiraClient) -> None:
    response = api.get("/search/jql", params={"jql": "key = DQ-1"})
    assert response.json() == {"issues": [{"id": "10001"}], "isLast": True}


def test_it_returns_requested_fields(api: JiraClient) -> None:
    response = api.get("/search/jql", params={"jql": "key = DQ-2", "fields": "summary,status"})
    body = response.json()
    assert validate_response_body("searchAndReconsileIssuesUsingJql", 200, body) == []
    issue = body["issues"][0]
    assert (issue["key"], set(issue["fields"])) == ("DQ-2", {"summary", "status"})
    post = api.post("/search/jql", json={"jql": "key = DQ-2", "fields": ["*navigable", "-status"]})
    assert validate_response_body("searchAndReconsileIssuesUsingJqlPost", 200, post.json()) == []
    navigable = post.json()["issues"][0]["fields"]
    assert "summary" in navigable and "status" not in navigable and "comment" not in navigable


def test_it_finds_keys_in_a_list_quoted_or_not(api: JiraClient) -> None:
    found = search(api, 'key in (DQ-1, "OPS-2", dq-3) ORDER BY key ASC')
    assert found == ["DQ-1", "DQ-3", "OPS-2"]


def test_it_silently_omits_unknown_keys_by_default(api: JiraClient) -> None:
    assert search(api, "key in (DQ-1, DQ-404)") == ["DQ-1"]


def test_it_can_reject_unknown_keys_like_classic_jira(
    api: JiraClient, control: SimulatorControl
) -> None:
    control.set_jql_unknown_keys("error")
    response = api.post("/search/jql", json={"jql": "key in (DQ-1, DQ-404)"})
    assert response.status_code == 400
    assert response.json()["errorMessages"] == [
        "An issue with key 'DQ-404' does not exist for field 'key'."
    ]


def test_it_searches_text_case_insensitively(api: JiraClient) -> None:
    assert search(api, 'text ~ "DUPLICATE rows"') == ["DQ-2"]
    assert search(api, 'project = DQ AND text ~ "check"') == ["DQ-3", "DQ-2", "DQ-1"]
    assert search(api, 'text ~ "upstream loader"') == ["DQ-1"]  # a comment matches
    assert search(api, 'summary ~ "warehouse" AND project = OPS ORDER BY key') == ["OPS-1", "OPS-2"]
    assert search(api, 'text ~ "\\"load failed\\""') == ["OPS-1"]
    assert search(api, 'text ~ "fresh*"') == ["DQ-3"]


def test_it_finds_a_new_issue_by_its_text(api: JiraClient) -> None:
    created = api.create_issue(
        summary="Anomaly 9f3 on orders", description=adf("Row count dropped")
    )
    assert search(api, 'project = DQ AND text ~ "row count"') == [created.json()["key"]]


def test_it_combines_clauses(api: JiraClient) -> None:
    assert search(api, "project = OPS AND statusCategory != Done ORDER BY key DESC") == [
        "OPS-2",
        "OPS-1",
    ]
    assert search(api, "(key = DQ-1 OR key = OPS-1) AND NOT status = 'To Do'") == ["OPS-1"]
    assert search(api, "project in (DQ) AND labels in (uniqueness, orders) ORDER BY key") == [
        "DQ-1",
        "DQ-2",
    ]
    assert search(api, "assignee = currentUser() OR assignee is EMPTY ORDER BY key") == [
        "DQ-2",
        "OPS-2",
    ]


def test_it_pages_with_next_page_tokens(api: JiraClient) -> None:
    first = api.get("/search/jql", params={"jql": "project = DQ ORDER BY key", "maxResults": 2})
    body = first.json()
    assert (len(body["issues"]), body["isLast"]) == (2, False)
    second = api.get(
        "/search/jql",
        params={
            "jql": "project = DQ ORDER BY key",
            "maxResults": 2,
            "nextPageToken": body["nextPageToken"],
        },
    ).json()
    assert second["isLast"] is True and "nextPageToken" not in second
    assert [i["id"] for i in body["issues"] + second["issues"]] == ["10001", "10002", "10003"]


def test_it_caps_pages_at_100_issues_unless_only_ids_are_wanted(api: JiraClient) -> None:
    for number in range(101):
        api.create_issue(summary=f"bulk {number}")
    full = api.post(
        "/search/jql", json={"jql": "project = DQ", "fields": ["summary"], "maxResults": 500}
    )
    assert (len(full.json()["issues"]), full.json()["isLast"]) == (100, False)
    ids = api.post("/search/jql", json={"jql": "project = DQ", "maxResults": 500})
    assert (len(ids.json()["issues"]), ids.json()["isLast"]) == (104, True)


def test_it_rejects_a_token_of_another_query(api: JiraClient) -> None:
    token = api.get("/search/jql", params={"jql": "project = DQ", "maxResults": 1}).json()[
        "nextPageToken"
    ]
    response = api.get("/search/jql", params={"jql": "project = OPS", "nextPageToken": token})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("", UNBOUNDED),
        ("ORDER BY key", UNBOUNDED),
        ("foo = 1", "Field 'foo' does not exist or you do not have permission to view it."),
        ("key ~ DQ-1", "The operator '~' is not supported by the 'key' field."),
        ("key = nokey", "The issue key 'nokey' for field 'key' is invalid."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        (
            "project = DQ status = Done",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'status'.",
        ),
        ("key = issueHistory()", "Unable to find JQL function 'issueHistory()'."),
    ],
)
def test_it_rejects_invalid_jql(api: JiraClient, jql: str, message: str) -> None:
    response = api.post("/search/jql", json={"jql": jql})
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [message], "errors": {}}
