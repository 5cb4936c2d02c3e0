"""JiraClient endpoint by endpoint, against `responses` mocks shaped like docs/jira-api.md §1-§2."""

import base64
import json

import pytest
import responses
from responses import matchers

from integrations.jira import (
    AllowedValue,
    IssueSummary,
    JiraClient,
    JiraNotFound,
    JiraPayloadTooLarge,
    JiraProject,
    JiraRejectedInput,
    JiraUser,
)
from integrations.jira.adf import text_to_adf
from integrations.jira.urls import normalize_host_url
from simulators.jira.openapi import validate_request_body, validate_response_body

HOST = "https://example.atlassian.net"
API = HOST + "/rest/api/3"
MYSELF = {
    "accountId": "5b10a2844c20165700ede21g",
    "accountType": "atlassian",
    "active": True,
    "displayName": "Mia Krystof",
    "emailAddress": "mia@example.com",
    "self": HOST + "/rest/api/3/user?accountId=5b10a2844c20165700ede21g",
    "timeZone": "Australia/Sydney",
}
PRIORITY_FIELD = {
    "fieldId": "priority",
    "key": "priority",
    "name": "Priority",
    "operations": ["set"],
    "required": False,
    "hasDefaultValue": True,
    "schema": {"type": "priority", "system": "priority"},
    "allowedValues": [{"id": "1", "name": "Highest"}, {"id": "3", "name": "Medium"}],
}
LABELS_FIELD = {
    "fieldId": "labels",
    "key": "labels",
    "name": "Labels",
    "operations": ["add", "set", "remove"],
    "required": False,
    "hasDefaultValue": False,
    "schema": {"type": "array", "items": "string", "system": "labels"},
}


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client():
    with JiraClient(HOST + "/", "bot@example.com", "api-token-1") as jira:
        yield jira


def issue_json(key, summary="Nulls in orders.total", status="To Do", category="new"):
    status_json = {"name": status, "statusCategory": {"key": category, "name": status}}
    return {
        "id": key.split("-")[1],
        "key": key,
        "fields": {"summary": summary, "status": status_json},
    }


def sent_json(mocked, index=-1):
    return json.loads(mocked.calls[index].request.body)


def test_it_authenticates_with_basic_auth_and_asks_for_json(mocked, client):
    expected_auth = "Basic " + base64.b64encode(b"bot@example.com:api-token-1").decode()
    headers = {"Authorization": expected_auth, "Accept": "application/json"}
    mocked.get(API + "/myself", json=MYSELF, match=[matchers.header_matcher(headers)])

    user = client.get_myself()

    assert user == JiraUser("5b10a2844c20165700ede21g", "Mia Krystof", "mia@example.com", True)


def test_it_sets_both_timeouts_on_reads_and_writes(mocked):
    client = JiraClient(HOST, "bot@example.com", "t", connect_timeout=2, read_timeout=9)
    kwargs = {"timeout": (2, 9)}
    mocked.get(API + "/myself", json=MYSELF, match=[matchers.request_kwargs_matcher(kwargs)])
    mocked.post(
        API + "/issue",
        json={"id": "1", "key": "OPS-1"},
        status=201,
        match=[matchers.request_kwargs_matcher(kwargs)],
    )

    client.get_myself()
    client.create_issue({"summary": "x"})


def test_it_reads_a_hidden_email_address_as_none(mocked, client):
    mocked.get(API + "/myself", json={**MYSELF, "emailAddress": ""})

    assert client.get_myself().email_address is None


def test_it_gets_a_project(mocked, client):
    mocked.get(API + "/project/OPS", json={"id": "10000", "key": "OPS", "name": "Operations"})

    assert client.get_project("OPS") == JiraProject("10000", "OPS", "Operations")


def test_it_reports_an_unknown_project_with_the_faq_hint(mocked, client):
    body = {"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}}
    mocked.get(API + "/project/NOPE", json=body, status=404)

    with pytest.raises(JiraNotFound) as caught:
        client.get_project("NOPE")

    assert caught.value.what == "project"
    assert "No project could be found with key 'NOPE'." in str(caught.value)
    assert caught.value.hint == (
        "Verify the project key is correct and the user has access to the project."
    )


def test_it_keeps_user_supplied_keys_inside_their_url_segment(mocked, client):
    mocked.get(API + "/project/..%2Fmyself", json={"id": "1", "key": "X", "name": "X"})

    client.get_project("../myself")
    with pytest.raises(ValueError):
        client.get_project("..")


def test_it_follows_project_search_pages_until_the_last(mocked, client):
    for start, is_last, keys in ((0, False, ["AAA", "BBB"]), (2, True, ["CCC"])):
        page = {
            "isLast": is_last,
            "startAt": start,
            "maxResults": 2,
            "total": 3,
            "values": [{"id": str(i), "key": k, "name": k.title()} for i, k in enumerate(keys)],
        }
        params = {"query": "ops", "orderBy": "key", "startAt": str(start), "maxResults": "100"}
        mocked.get(API + "/project/search", json=page, match=[matchers.query_param_matcher(params)])

    projects = client.search_projects("ops")

    assert [project.key for project in projects] == ["AAA", "BBB", "CCC"]


def test_it_answers_no_projects_when_jira_finds_none(mocked, client):
    mocked.get(API + "/project/search", status=404)

    assert client.search_projects("zzz") == []


def test_it_lists_issue_types_from_the_per_project_create_metadata(mocked, client):
    bug = {"id": "1", "name": "Bug", "subtask": False, "description": "An error in the code"}
    task = {"id": "3", "name": "Task", "subtask": False}
    for start, issue_type in ((0, bug), (1, task)):
        page = {"issueTypes": [issue_type], "maxResults": 1, "startAt": start, "total": 2}
        params = {"startAt": str(start), "maxResults": "200"}
        mocked.get(
            API + "/issue/createmeta/OPS/issuetypes",
            json=page,
            match=[matchers.query_param_matcher(params)],
        )

    issue_types = client.get_issue_types("OPS")

    assert [(t.id, t.name) for t in issue_types] == [("1", "Bug"), ("3", "Task")]


def test_it_reads_create_fields_with_their_allowed_values(mocked, client):
    page = {"fields": [PRIORITY_FIELD, LABELS_FIELD], "maxResults": 200, "startAt": 0, "total": 2}
    assert validate_response_body("getCreateIssueMetaIssueTypeId", 200, page) == []
    mocked.get(API + "/issue/createmeta/OPS/issuetypes/10001", json=page)

    priority, labels = client.get_create_fields("OPS", "10001")

    assert (priority.field_id, priority.required, priority.has_default_value) == (
        "priority",
        False,
        True,
    )
    assert priority.allowed_values == (AllowedValue("1", "Highest"), AllowedValue("3", "Medium"))
    assert (labels.schema_type, labels.schema_items, labels.schema_system) == (
        "array",
        "string",
        "labels",
    )


def test_it_reports_an_unknown_issue_type_with_the_faq_hint(mocked, client):
    mocked.get(API + "/issue/createmeta/OPS/issuetypes/999", json={}, status=404)

    with pytest.raises(JiraNotFound) as caught:
        client.get_create_fields("OPS", "999")

    assert caught.value.hint == "Verify the issue type exists in the selected project."


def test_it_finds_assignable_users_of_a_project(mocked, client):
    params = {"project": "OPS", "query": "mi", "maxResults": "50"}
    mocked.get(
        API + "/user/assignable/search",
        json=[MYSELF, {**MYSELF, "accountId": "2", "displayName": "Milo"}],
        match=[matchers.query_param_matcher(params)],
    )

    users = client.find_assignable_users("OPS", "mi", limit=1)

    assert [user.display_name for user in users] == ["Mia Krystof"]


def test_it_creates_an_issue_with_a_body_the_official_schema_accepts(mocked, client):
    fields = {
        "project": {"key": "OPS"},
        "issuetype": {"id": "10001"},
        "summary": "Anomaly 42: nulls in orders.total",
        "description": text_to_adf("Found by check not_null.\nSee https://app.example.com/a/42"),
        "priority": {"id": "3"},
        "labels": ["qualytics"],
        "assignee": {"accountId": "5b10a2844c20165700ede21g"},
    }
    created = {"id": "10000", "key": "OPS-24", "self": API + "/issue/10000"}
    mocked.post(
        API + "/issue",
        json=created,
        status=201,
        match=[matchers.json_params_matcher({"fields": fields}, strict_match=True)],
    )

    result = client.create_issue(fields)

    assert result == {"id": "10000", "key": "OPS-24", "self": API + "/issue/10000"}
    assert validate_request_body("createIssue", sent_json(mocked)) == []


def test_it_reports_field_errors_of_a_rejected_create(mocked, client):
    body = {"errorMessages": [], "errors": {"issuetype": "Specify a valid issue type"}}
    mocked.post(API + "/issue", json=body, status=400)

    with pytest.raises(JiraRejectedInput) as caught:
        client.create_issue({"issuetype": {"id": "nope"}})

    assert caught.value.field_errors == {"issuetype": "Specify a valid issue type"}
    assert caught.value.hint == "Verify the issue type exists in the selected project."
    assert caught.value.permanent and not caught.value.outcome_unknown


def test_it_gets_an_issue_summary_and_status(mocked, client):
    body = issue_json("OPS-7", status="In Progress", category="indeterminate")
    mocked.get(
        API + "/issue/OPS-7",
        json=body,
        match=[matchers.query_param_matcher({"fields": "summary,status"})],
    )

    issue = client.get_issue("OPS-7")

    assert issue == IssueSummary(
        "7", "OPS-7", "Nulls in orders.total", "In Progress", "indeterminate"
    )


def test_it_reports_a_deleted_issue_with_a_hint_to_unlink_it(mocked, client):
    body = {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
    mocked.get(API + "/issue/OPS-404", json={**body, "errors": {}}, status=404)

    with pytest.raises(JiraNotFound) as caught:
        client.get_issue("OPS-404")

    assert caught.value.what == "issue"
    assert "Linked Tickets" in caught.value.hint


def test_it_looks_up_250_keys_in_three_searches_and_reports_the_missing(mocked, client):
    keys = [f"OPS-{n}" for n in range(1, 251)]
    mocked.add_callback(
        responses.POST,
        API + "/search/jql",
        callback=lambda request: (200, {}, json.dumps(answer_all_but_ops_7(request))),
    )

    lookup = client.search_issues_by_keys(keys)

    bodies = [sent_json(mocked, i) for i in range(len(mocked.calls))]
    assert len(bodies) == 3
    assert [len(body["jql"].split(",")) for body in bodies] == [100, 100, 50]
    assert all(
        validate_request_body("searchAndReconsileIssuesUsingJqlPost", b) == [] for b in bodies
    )
    assert bodies[0]["fields"] == ["summary", "status"]
    assert (
        bodies[2]["jql"].startswith('key in ("OPS-201", "OPS-202", ')
        and bodies[2]["maxResults"] == 50
    )
    assert lookup.missing == {"OPS-7"}
    assert len(lookup.found) == 249
    assert lookup.found["OPS-250"].status_category_key == "new"


def answer_all_but_ops_7(request):
    jql = json.loads(request.body)["jql"]
    keys = jql.removeprefix("key in (").removesuffix(")").replace('"', "").split(", ")
    return {"isLast": True, "issues": [issue_json(key) for key in keys if key != "OPS-7"]}


def test_it_follows_next_page_tokens_of_a_key_search(mocked, client):
    first = {"issues": [issue_json("OPS-1")], "nextPageToken": "page-2", "isLast": False}
    mocked.post(API + "/search/jql", json=first)
    mocked.post(
        API + "/search/jql",
        json={"issues": [issue_json("OPS-2")], "isLast": True},
        match=[matchers.json_params_matcher({"nextPageToken": "page-2"}, strict_match=False)],
    )

    lookup = client.search_issues_by_keys(["ops-1", "OPS-2"])

    assert set(lookup.found) == {"OPS-1", "OPS-2"} and not lookup.missing


def test_it_reports_malformed_keys_as_missing_without_putting_them_in_jql(mocked, client):
    lookup = client.search_issues_by_keys(['OPS-1) OR project = "SECRET', "not a key"])

    assert lookup.found == {} and len(lookup.missing) == 2
    assert len(mocked.calls) == 0


def test_it_drops_keys_jira_names_as_unknown_and_searches_again(mocked, client):
    unknown = {"errorMessages": ["An issue with key 'OPS-9' does not exist for field 'key'."]}
    mocked.post(API + "/search/jql", json={**unknown, "errors": {}}, status=400)
    mocked.post(
        API + "/search/jql",
        json={"issues": [issue_json("OPS-1")], "isLast": True},
        match=[matchers.json_params_matcher({"jql": 'key in ("OPS-1")'}, strict_match=False)],
    )

    lookup = client.search_issues_by_keys(["OPS-1", "OPS-9"])

    assert set(lookup.found) == {"OPS-1"} and lookup.missing == {"OPS-9"}


def test_it_matches_a_moved_issue_to_its_old_key(mocked, client):
    moved = issue_json("NEW-5")
    mocked.post(API + "/search/jql", json={"issues": [moved], "isLast": True})
    mocked.get(API + "/issue/OLD-1", json=moved)

    lookup = client.search_issues_by_keys(["OLD-1"])

    assert lookup.found["OLD-1"].key == "NEW-5" and not lookup.missing


def test_it_escapes_quotes_and_backslashes_in_a_text_search(mocked, client):
    words = 'orders" OR project = SECRET OR text ~ "\\'
    expected = (
        'text ~ "orders\\" OR project = SECRET OR text ~ \\"\\\\"'
        ' AND project = "OPS" ORDER BY updated DESC'
    )
    mocked.post(
        API + "/search/jql",
        json={"issues": [issue_json("OPS-3")], "isLast": True},
        match=[matchers.json_params_matcher({"jql": expected}, strict_match=False)],
    )

    issues = client.search_issues_by_text(words, project_key="OPS", limit=5)

    assert [issue.key for issue in issues] == ["OPS-3"]
    assert sent_json(mocked)["maxResults"] == 5
    assert validate_request_body("searchAndReconsileIssuesUsingJqlPost", sent_json(mocked)) == []


def test_it_matches_an_issue_key_typed_into_the_text_search_first(mocked, client):
    expected = '(key = "OPS-12" OR text ~ "ops-12") ORDER BY updated DESC'
    mocked.post(
        API + "/search/jql",
        json={"issues": [issue_json("OPS-99"), issue_json("OPS-12")], "isLast": True},
        match=[matchers.json_params_matcher({"jql": expected}, strict_match=False)],
    )

    issues = client.search_issues_by_text("ops-12")

    assert [issue.key for issue in issues] == ["OPS-12", "OPS-99"]


def test_it_falls_back_to_text_when_jira_refuses_an_unknown_key(mocked, client):
    refused = {"errorMessages": ["An issue with key 'OPS-12' does not exist for field 'key'."]}
    mocked.post(API + "/search/jql", json=refused, status=400)
    mocked.post(
        API + "/search/jql",
        json={"issues": [], "isLast": True},
        match=[
            matchers.json_params_matcher(
                {"jql": 'text ~ "OPS-12" ORDER BY updated DESC'}, strict_match=False
            )
        ],
    )

    assert client.search_issues_by_text("OPS-12") == []


def test_it_adds_a_comment_with_entity_properties(mocked, client):
    body = text_to_adf("[2024-01-15 10:30:00 UTC] Qualytics Anomaly Status: Acknowledged")
    properties = {"qualytics.sync": {"event": "e-41"}}
    expected = {"body": body, "properties": [{"key": "qualytics.sync", "value": {"event": "e-41"}}]}
    mocked.post(
        API + "/issue/OPS-7/comment",
        json={"id": "10000", "body": body},
        status=201,
        match=[matchers.json_params_matcher(expected, strict_match=True)],
    )

    comment_id = client.add_comment("OPS-7", body, properties=properties)

    assert comment_id == "10000"
    assert validate_request_body("addComment", sent_json(mocked)) == []


def test_it_refuses_a_comment_over_the_per_issue_limit_for_good(mocked, client):
    mocked.post(API + "/issue/OPS-7/comment", body="", status=413)

    with pytest.raises(JiraPayloadTooLarge) as caught:
        client.add_comment("OPS-7", text_to_adf("hi"))

    assert caught.value.permanent and isinstance(caught.value, JiraRejectedInput)
    assert "5,000 comments" in caught.value.hint


def test_it_finds_the_comment_carrying_a_property_across_pages(mocked, client):
    mine = {"key": "qualytics.sync", "value": {"event": "e-41"}}
    other = {"key": "qualytics.sync", "value": {"event": "e-40"}}
    pages = [
        [{"id": "3", "properties": []}, {"id": "2", "properties": [other]}],
        [{"id": "1", "properties": [mine]}],
    ]
    for start, comments in zip((0, 2), pages, strict=True):
        params = {
            "expand": "properties",
            "orderBy": "-created",
            "startAt": str(start),
            "maxResults": "100",
        }
        page = {"comments": comments, "startAt": start, "maxResults": 2, "total": 3}
        mocked.get(
            API + "/issue/OPS-7/comment", json=page, match=[matchers.query_param_matcher(params)]
        )

    assert client.find_comment_by_property("OPS-7", "qualytics.sync", {"event": "e-41"}) == "1"


def test_it_answers_none_when_no_comment_carries_the_property(mocked, client):
    page = {"comments": [{"id": "3"}], "startAt": 0, "maxResults": 100, "total": 1}
    mocked.get(API + "/issue/OPS-7/comment", json=page)

    assert client.find_comment_by_property("OPS-7", "qualytics.sync", {"event": "e-41"}) is None


def test_it_builds_browse_urls(client):
    assert client.browse_url("ops-7") == HOST + "/browse/OPS-7"
    with pytest.raises(ValueError):
        client.browse_url("OPS-7/../../admin")


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (HOST + "/browse/OPS-7", "OPS-7"),
        ("https://EXAMPLE.atlassian.net:443/browse/ops-7/", "OPS-7"),
        (HOST + "/browse/OPS-7?focusedCommentId=10000", "OPS-7"),
        (HOST + "/jira/software/projects/OPS/boards/1?selectedIssue=OPS-8", "OPS-8"),
        # Every Jira Cloud issue URL form of the site (docs/jira-api.md, "Issue URLs").
        (HOST + "/jira/software/c/projects/DQ/issues/DQ-1", "DQ-1"),
        (HOST + "/jira/software/projects/DQ/issues/DQ-1", "DQ-1"),
        (HOST + "/jira/software/c/projects/DQ/issues/DQ-1?jql=project%20%3D%20DQ", "DQ-1"),
        (HOST + "/jira/core/projects/DQ/issues/DQ-1", "DQ-1"),
        (HOST + "/jira/work-management/projects/DQ/issues/DQ-1", "DQ-1"),
        (HOST + "/projects/DQ/issues/DQ-1", "DQ-1"),
        (HOST + "/projects/DQ/issues/DQ-1/", "DQ-1"),
        (HOST + "/jira/servicedesk/projects/X/queues/custom/1/DQ-1", "DQ-1"),
        (HOST + "/jira/servicedesk/projects/X/issues/DQ-1", "DQ-1"),
        (HOST + "/jira/software/c/projects/DQ/boards/2/backlog?selectedIssue=DQ-1", "DQ-1"),
        (HOST + "/jira/software/c/projects/DQ/list?selectedIssue=dq-1", "DQ-1"),
        (HOST + "/jira/core/projects/DQ/board?selectedIssue=DQ-1", "DQ-1"),
        (HOST + "/issues/?jql=order%20by%20created&selectedIssue=DQ-1", "DQ-1"),
        (HOST + "/jira/software/c/projects/DQ/issues/not-a-key", None),
        (HOST + "/jira/software/c/projects/DQ/issues", None),
        (HOST + "/wiki/spaces/DQ/pages/DQ-1", None),
        ("https://elsewhere.atlassian.net/projects/DQ/issues/DQ-1", None),
        ("https://evil.example.com/browse/OPS-7", None),
        ("https://example.atlassian.net.evil.com/browse/OPS-7", None),
        ("https://user@example.atlassian.net/browse/OPS-7", None),
        ("http://example.atlassian.net/browse/OPS-7", None),
        (HOST + "/browse/OPS-7/extra", None),
        (HOST + "/browse/not-a-key", None),
        ("OPS-7", None),
    ],
)
def test_it_reads_issue_keys_only_from_this_sites_issue_urls(client, url, key):
    assert client.issue_key_from_browse_url(url) == key


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://Example.atlassian.net/", "https://example.atlassian.net"),
        ("  https://example.atlassian.net ", "https://example.atlassian.net"),
        ("https://jira.example.com:8443", "https://jira.example.com:8443"),
        ("https://jira.example.com:443", "https://jira.example.com"),
        ("http://127.0.0.1:8089/", "http://127.0.0.1:8089"),
        ("http://localhost:8089", "http://localhost:8089"),
        ("http://[::1]:8089", "http://[::1]:8089"),
    ],
)
def test_it_normalizes_host_urls(url, normalized):
    assert normalize_host_url(url, allow_insecure_loopback=True) == normalized


@pytest.mark.parametrize(
    ("url", "allow_loopback", "complaint"),
    [
        ("example.atlassian.net", True, "full Jira URL"),
        ("ftp://example.atlassian.net", True, "full Jira URL"),
        ("http://example.atlassian.net", True, "https://"),
        ("http://127.0.0.1:8089", False, "https://"),
        ("https://example.atlassian.net/jira", True, "only the site address"),
        ("https://example.atlassian.net/?x=1", True, "only the site address"),
        ("https://example.atlassian.net#top", True, "only the site address"),
        ("https://me:secret@example.atlassian.net", True, "user name or password"),
        ("https://exa mple.atlassian.net", True, "invalid host name"),
        ("https://example.atlassian.net:99999", True, "invalid port"),
    ],
)
def test_it_refuses_host_urls_it_cannot_trust(url, allow_loopback, complaint):
    with pytest.raises(ValueError, match=complaint):
        normalize_host_url(url, allow_insecure_loopback=allow_loopback)
