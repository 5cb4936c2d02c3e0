"""Authentication: 401 only on /myself, anonymous 404s elsewhere (docs/jira-api.md §0.1, §2.3)."""

from __future__ import annotations

import base64

import requests

from simulators.jira import JiraSimulator, SimulatorControl

from .conftest import JiraClient, adf

UNAUTHENTICATED = {
    "errorMessages": ["Client must be authenticated to access this resource."],
    "errors": {},
}
ISSUE_404 = {
    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
    "errors": {},
}


def test_it_answers_401_on_myself_with_wrong_credentials(wrong_password: JiraClient) -> None:
    response = wrong_password.get("/myself")
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
    assert response.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"


def test_it_answers_401_on_myself_without_credentials(anonymous: JiraClient) -> None:
    response = anonymous.get("/myself")
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
    assert "X-Seraph-LoginReason" not in response.headers


def test_it_treats_wrong_credentials_as_anonymous_on_issues(wrong_password: JiraClient) -> None:
    for response in (
        wrong_password.get("/issue/DQ-1"),
        wrong_password.get("/issue/DQ-1/comment"),
        wrong_password.add_comment("DQ-1", adf("x")),
    ):
        assert (response.status_code, response.json()) == (404, ISSUE_404)
        assert response.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"


def test_it_hides_projects_from_anonymous_callers(wrong_password: JiraClient) -> None:
    project_404 = {"errorMessages": ["No project could be found with key 'DQ'."], "errors": {}}
    for path in ("/project/DQ", "/issue/createmeta/DQ/issuetypes"):
        response = wrong_password.get(path)
        assert (response.status_code, response.json()) == (404, project_404)
    assert wrong_password.get("/project/search").json()["values"] == []
    create = wrong_password.create_issue()
    assert create.json() == {
        "errorMessages": [],
        "errors": {"project": "Specify a valid project ID or key"},
    }


def test_it_shows_anonymous_searches_nothing(anonymous: JiraClient) -> None:
    response = anonymous.post("/search/jql", json={"jql": "key in (DQ-1, DQ-2)"})
    assert response.json() == {"issues": [], "isLast": True}
    by_project = anonymous.post("/search/jql", json={"jql": "project = DQ"})
    assert by_project.status_code == 400


def test_it_rejects_bearer_tokens_and_malformed_basic_headers(sim: JiraSimulator) -> None:
    for header in (
        "Bearer sim-token",
        "Basic !!notbase64",
        "Basic " + base64.b64encode(b"nocolon").decode(),
    ):
        response = requests.get(
            f"{sim.url}/rest/api/3/myself", headers={"Authorization": header}, timeout=5
        )
        assert response.status_code == 401


def test_it_forbids_create_and_comment_for_an_account_without_permission(
    sim: JiraSimulator,
) -> None:
    viewer = JiraClient(sim.url, auth=("viewer@example.com", "viewer-token"))
    assert viewer.get("/issue/DQ-1").status_code == 200
    create = viewer.create_issue()
    assert create.status_code == 403
    assert create.json()["errorMessages"] == [
        "You do not have permission to create issues in this project."
    ]
    comment = viewer.add_comment("DQ-1", adf("hi"))
    assert comment.status_code == 403
    assert comment.json()["errorMessages"] == [
        "You do not have the permission to comment on this issue."
    ]


def test_it_accepts_credentials_added_through_the_control_api(
    sim: JiraSimulator, control: SimulatorControl
) -> None:
    added = control.add_account("eve@example.com", "eve-token", display_name="Eve Example")
    eve = JiraClient(sim.url, auth=("eve@example.com", "eve-token"))
    me = eve.get("/myself").json()
    assert me["accountId"] == added["accountId"] and me["displayName"] == "Eve Example"
    assert eve.create_issue().status_code == 201
    control.add_account("alice@example.com", "alice-token", forbidden=True)
    alice = JiraClient(sim.url, auth=("alice@example.com", "alice-token"))
    assert alice.get("/myself").json()["accountId"] == "712020:sim-alice"
    assert alice.create_issue().status_code == 403


def test_it_logs_in_with_the_configured_credentials() -> None:
    with JiraSimulator(email="qa@corp.example", api_token="t0ken") as simulator:
        ok = JiraClient(simulator.url, auth=("qa@corp.example", "t0ken")).get("/myself")
        assert ok.json()["emailAddress"] == "qa@corp.example"
        default = JiraClient(simulator.url).get("/myself")
        assert default.status_code == 401
