"""The OpenAPI subset, its extraction script and ``validate_request_body``."""

from __future__ import annotations

import json

import pytest

from simulators.jira import extract_openapi_subset as extractor
from simulators.jira import openapi
from simulators.jira.openapi import validate_request_body, validate_response_body

from .conftest import adf


def test_it_keeps_only_the_used_operations_with_an_attribution_notice() -> None:
    subset = openapi.load_subset()
    operation_ids = {op["operationId"] for item in subset["paths"].values() for op in item.values()}
    assert operation_ids == set(extractor.OPERATION_IDS)
    notice = subset["x-notice"]
    assert notice["license"] == "Apache 2.0"
    assert "apache.org/licenses/LICENSE-2.0" in notice["license_url"]
    assert "Atlassian" in notice["attribution"]
    assert "subset" in notice["modifications"].lower()
    assert subset["info"]["license"]["name"] == "Apache 2.0"


def test_it_includes_every_component_the_operations_reference() -> None:
    subset = openapi.load_subset()
    refs: set[str] = set()
    extractor.collect_refs(subset, refs)
    for ref in refs:
        extractor.resolve_pointer(subset, ref)  # raises KeyError when dangling
    assert {"IssueUpdateDetails", "Comment", "SearchAndReconcileRequestBean"} <= set(
        subset["components"]["schemas"]
    )


def test_it_regenerates_the_committed_subset_from_the_official_description() -> None:
    if not extractor.DEFAULT_SOURCE.exists():
        pytest.skip(
            f"the full OpenAPI description is not at {extractor.DEFAULT_SOURCE} "
            f"(save {extractor.OFFICIAL_URL} there, or set JIRA_OPENAPI_SOURCE)"
        )
    full = json.loads(extractor.DEFAULT_SOURCE.read_text(encoding="utf-8"))
    rebuilt = extractor.build_subset(full, extractor.DEFAULT_SOURCE)
    assert rebuilt == openapi.load_subset()


def test_it_accepts_a_typical_create_issue_body() -> None:
    body = {
        "fields": {
            "project": {"key": "DQ"},
            "issuetype": {"id": "10001"},
            "summary": "Nulls",
            "description": adf("text"),
            "labels": ["a"],
        }
    }
    assert validate_request_body("createIssue", body) == []


def test_it_reports_schema_violations_with_their_location() -> None:
    problems = validate_request_body(
        "createIssue", {"fields": "oops", "update": {"labels": [{"x": 1}]}}
    )
    assert any(p.startswith("$.fields:") and "'object'" in p for p in problems)
    assert any(p.startswith("$.update.labels[0]:") for p in problems)


def test_it_reports_read_only_properties_sent_in_a_request() -> None:
    problems = validate_request_body("addComment", {"body": adf("x"), "id": "1", "created": "now"})
    assert problems == [
        "$.created: is read-only and must not be sent in a request",
        "$.id: is read-only and must not be sent in a request",
    ]


def test_it_checks_search_bodies_strictly() -> None:
    assert validate_request_body("searchAndReconsileIssuesUsingJqlPost", {"jql": "key = A-1"}) == []
    problems = validate_request_body(
        "searchAndReconsileIssuesUsingJqlPost", {"jql": 1, "startAt": 0}
    )
    assert "$.jql: 1 is not of type 'string'" in problems
    assert any("'startAt' was unexpected" in p for p in problems)


def test_it_distinguishes_missing_and_unexpected_bodies() -> None:
    assert validate_request_body("addComment", None) == ["a request body is required"]
    assert validate_request_body("getIssue", None) == []
    assert validate_request_body("getIssue", {"a": 1}) == ["this operation takes no request body"]
    with pytest.raises(KeyError):
        validate_request_body("noSuchOperation", {})


def test_it_translates_nullable_into_json_schema() -> None:
    schema = {"type": "string", "nullable": True, "enum": ["a"]}
    converted = openapi.to_json_schema(schema, "request")
    assert converted["type"] == ["string", "null"]
    assert converted["enum"] == ["a", None]


def test_it_validates_response_bodies_against_the_documented_status() -> None:
    assert validate_response_body("createIssue", 201, {"id": "1", "key": "A-1", "self": "u"}) == []
    assert validate_response_body("createIssue", 201, {"id": 1}) == [
        "$.id: 1 is not of type 'string'"
    ]
    assert validate_response_body("createIssue", 418, {}) == [
        "status 418 is not documented for createIssue"
    ]
