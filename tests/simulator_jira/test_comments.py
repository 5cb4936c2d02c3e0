"""Comments: POST/GET .../comment, ADF rules and entity properties (docs/jira-api.md §1.8)."""

from __future__ import annotations

import re

import pytest

from simulators.jira import SimulatorControl

from .conftest import JiraClient, adf

ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
EMPTY = {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}


def rich_document() -> dict:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "heading",
                "attrs": {"level": 3},
                "content": [{"type": "text", "text": "Anomaly"}],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "See ", "marks": [{"type": "strong"}]},
                    {
                        "type": "text",
                        "text": "details",
                        "marks": [{"type": "link", "attrs": {"href": "https://q.example/a/1"}}],
                    },
                    {"type": "hardBreak"},
                    {"type": "text", "text": "orders.id", "marks": [{"type": "code"}]},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [adf("first")["content"][0]]},
                ],
            },
            {
                "type": "codeBlock",
                "attrs": {"language": "sql"},
                "content": [{"type": "text", "text": "select 1"}],
            },
            {"type": "rule"},
            {"type": "blockquote", "content": [adf("quoted")["content"][0]]},
        ],
    }


def test_it_adds_a_comment_and_returns_it(api: JiraClient, control: SimulatorControl) -> None:
    response = api.add_comment("DQ-1", rich_document())
    assert response.status_code == 201
    comment = response.json()
    assert comment["self"] == f"{api.base_url}/rest/api/3/issue/10001/comment/{comment['id']}"
    assert comment["author"]["accountId"] == "712020:sim-bot"
    assert comment["body"] == rich_document()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", comment["created"])
    assert comment["updated"] == comment["created"]
    stored = control.comments("DQ-1")
    assert [c["id"] for c in stored][-1] == comment["id"]
    assert "details <https://q.example/a/1>" in stored[-1]["text"]
    assert control.violations()["count"] == 0


def test_it_keeps_comment_properties_and_shows_them_on_expand(api: JiraClient) -> None:
    marker = {"key": "qualytics.event", "value": {"event_id": "ev-7", "attempt": 1}}
    created = api.add_comment("DQ-1", adf("hello"), properties=[marker]).json()
    assert "properties" not in created
    plain = api.get("/issue/DQ-1/comment").json()["comments"][-1]
    assert "properties" not in plain
    expanded = api.get("/issue/DQ-1/comment", params={"expand": "properties"}).json()
    assert expanded["comments"][-1]["properties"] == [marker]
    assert expanded["comments"][0]["properties"] == []


@pytest.mark.parametrize("body", [None, ""])
def test_it_rejects_an_empty_comment(api: JiraClient, body: str | None) -> None:
    response = api.add_comment("DQ-1", body)
    assert (response.status_code, response.json()) == (400, EMPTY)


def test_it_treats_a_document_without_text_as_empty(api: JiraClient) -> None:
    response = api.add_comment("DQ-1", {"type": "doc", "version": 1, "content": []})
    assert (response.status_code, response.json()) == (400, EMPTY)


def test_it_requires_adf_comment_bodies(api: JiraClient) -> None:
    response = api.add_comment("DQ-1", "plain text")
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [], "errors": {"comment": ADF_REQUIRED}}


@pytest.mark.parametrize(
    "document",
    [
        {"type": "doc", "version": 2, "content": []},
        {"type": "doc", "version": 1, "content": [{"type": "table", "content": []}]},
        {"type": "doc", "version": 1, "content": [{"type": "text", "text": "inline at top"}]},
        {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "text", "text": "x", "marks": [{"type": "link", "attrs": {}}]}
                    ],
                }
            ],
        },
        {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "codeBlock",
                    "content": [{"type": "text", "text": "x", "marks": [{"type": "strong"}]}],
                }
            ],
        },
        {"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": []}]},
        {"type": "doc", "version": 1, "content": [{"type": "heading", "content": []}]},
    ],
)
def test_it_rejects_invalid_adf_structures(api: JiraClient, document: dict) -> None:
    response = api.add_comment("DQ-1", document)
    assert response.status_code == 400
    assert response.json() == {"errorMessages": ["INVALID_INPUT"], "errors": {}}


def test_it_limits_comment_length(api: JiraClient) -> None:
    response = api.add_comment("DQ-1", adf("y" * 33_000))
    assert response.status_code == 400
    assert response.json()["errors"] == {"comment": TOO_LONG}


def test_it_answers_404_for_comments_on_missing_issues(api: JiraClient) -> None:
    for response in (api.add_comment("DQ-77", adf("x")), api.get("/issue/DQ-77/comment")):
        assert response.status_code == 404
        assert response.json()["errorMessages"] == [
            "Issue does not exist or you do not have permission to see it."
        ]
