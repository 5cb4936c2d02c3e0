"""Handlers for the Jira Cloud REST v3 operations the product uses (docs/jira-api.md §1).

Handlers run with the state lock held (see ``SimulatorApp.dispatch``). A request without valid
credentials is *anonymous* (docs/jira-api.md §0.1): ``/myself`` answers 401, everything else
behaves as if nothing were visible (404 / empty results).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from . import createmeta, render, seed, validation
from .errors import JiraError, bad_request, issue_not_found, project_not_found
from .search import search_get, search_post, select_fields
from .state import find_project
from .web import Request, Response, Route, json_response

if TYPE_CHECKING:
    from .server import SimulatorApp

UNAUTHENTICATED = "Client must be authenticated to access this resource."  # §0.2, §2.3
CREATEMETA_LIMIT = 200


def get_current_user(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    if request.user is None:
        raise JiraError(401, [UNAUTHENTICATED])
    expand = set(request.list_param("expand"))
    return json_response(200, render.full_user(app.site, request.user, expand))


def visible_project(request: Request, id_or_key: str) -> dict[str, Any]:
    project = find_project(id_or_key) if request.user is not None else None
    if project is None:
        raise project_not_found(id_or_key)
    return project


def visible_issue(app: SimulatorApp, request: Request, id_or_key: str) -> dict[str, Any]:
    issue = app.state.find_issue(id_or_key) if request.user is not None else None
    if issue is None:
        raise issue_not_found()
    return issue


# Project permissions the simulator knows (docs/jira-api.md §1.11); a read-only ("forbidden")
# account has only BROWSE_PROJECTS. Names as Jira shows them.
PROJECT_PERMISSIONS = {
    "BROWSE_PROJECTS": ("10", "Browse Projects"),
    "CREATE_ISSUES": ("11", "Create Issues"),
    "ADD_COMMENTS": ("15", "Add Comments"),
    "EDIT_ISSUES": ("12", "Edit Issues"),
    "ASSIGN_ISSUES": ("13", "Assign Issues"),
    "DELETE_ISSUES": ("16", "Delete Issues"),
}
READ_ONLY_PERMISSIONS = {"BROWSE_PROJECTS"}


def get_my_permissions(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    """``permissions`` is required; with ``projectKey`` the answer is for that project.

    Anonymous callers are answered, every permission false (the operation can be accessed
    anonymously, §1.11); an unknown or invisible project is a 404.
    """
    wanted = [key.strip() for key in ",".join(request.list_param("permissions")).split(",")]
    wanted = [key for key in wanted if key]
    if not wanted:
        raise bad_request("The 'permissions' query parameter is required.")
    unknown = [key for key in wanted if key not in PROJECT_PERMISSIONS]
    if unknown:
        raise bad_request(f"Unrecognized permission keys: {', '.join(unknown)}")
    project_ref = request.param("projectKey") or request.param("projectId")
    if project_ref and request.user is not None:
        visible_project(request, project_ref)
    body = {key: _permission(request, key) for key in wanted}
    return json_response(200, {"permissions": body})


def _permission(request: Request, key: str) -> dict[str, Any]:
    permission_id, name = PROJECT_PERMISSIONS[key]
    user = request.user
    have = user is not None and (not user["forbidden"] or key in READ_ONLY_PERMISSIONS)
    return {
        "id": permission_id,
        "key": key,
        "name": name,
        "type": "PROJECT",
        "description": f"Ability to {name.lower()}.",
        "havePermission": have,
    }


def get_project(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    project = visible_project(request, params["projectIdOrKey"])
    lead = app.state.user(project["lead"])
    return json_response(200, render.project_full(app.site, project, lead))  # type: ignore[arg-type]


def search_projects(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    start = max(0, request.int_param("startAt", 0))
    limit = min(max(1, request.int_param("maxResults", 50)), 100)  # schema maximum: 100
    projects = _matching_projects(request) if request.user is not None else []
    page = projects[start : start + limit]
    is_last = start + limit >= len(projects)
    body: dict[str, Any] = {
        "self": _page_url(app, request, start, limit),
        "maxResults": limit,
        "startAt": start,
        "total": len(projects),
        "isLast": is_last,
        "values": [_project_listing(app, p) for p in page],
    }
    if not is_last:
        body["nextPage"] = _page_url(app, request, start + limit, limit)
    return json_response(200, body)


def _matching_projects(request: Request) -> list[dict[str, Any]]:
    """``query``: literal, case-insensitive match on key or name; ``keys``: exact keys."""
    query = (request.param("query") or "").lower()
    keys = set(request.list_param("keys"))
    found = [
        project
        for project in seed.PROJECTS.values()
        if (query in project["key"].lower() or query in project["name"].lower())
        and (not keys or project["key"] in keys)
    ]
    return sorted(found, key=lambda project: project["key"])


def _project_listing(app: SimulatorApp, project: dict[str, Any]) -> dict[str, Any]:
    return {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        **render.project_summary(app.site, project),
        "style": "classic",
        "isPrivate": False,
        "properties": {},
    }


def _page_url(app: SimulatorApp, request: Request, start: int, limit: int) -> str:
    query = {k: v[0] for k, v in request.query.items()} | {"startAt": start, "maxResults": limit}
    return f"{app.site}{request.path}?{urlencode(query)}"


def _createmeta_paging(request: Request) -> tuple[int, int]:
    limit = request.int_param("maxResults", 50)
    if limit > CREATEMETA_LIMIT:  # exact body of the spec's 400 example (§1.3)
        raise JiraError(
            400,
            [f"Parameter 'maxResults' must not exceed the limit '{CREATEMETA_LIMIT}'"],
            extra={"httpStatusCode": {"empty": False, "present": True}},
        )
    return max(0, request.int_param("startAt", 0)), max(1, limit)


def _page(items: list[Any], name: str, start: int, limit: int) -> dict[str, Any]:
    return {
        "maxResults": limit,
        "startAt": start,
        "total": len(items),
        name: items[start : start + limit],
    }


def get_createmeta_issue_types(
    app: SimulatorApp, request: Request, params: dict[str, str]
) -> Response:
    project = visible_project(request, params["projectIdOrKey"])
    start, limit = _createmeta_paging(request)
    types = [createmeta.issue_type_entry(app.site, type_id) for type_id in project["screens"]]
    return json_response(200, _page(types, "issueTypes", start, limit))


def get_createmeta_fields(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    project = visible_project(request, params["projectIdOrKey"])
    start, limit = _createmeta_paging(request)
    type_id = params["issueTypeId"]
    if createmeta.screen(project, type_id) is None:
        # Only 400/401 are documented for this operation; the wording is the simulator's.
        raise bad_request(
            f"The issue type '{type_id}' does not exist or is not valid for project "
            f"'{project['key']}'."
        )
    fields = createmeta.fields_of(app.site, project, type_id)
    return json_response(200, _page(fields, "fields", start, limit))


def find_assignable_users(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    """400 rules from the operation's description (§1.5); their wording is the simulator's."""
    query, account_id = request.param("query"), request.param("accountId")
    if query is not None and account_id is not None:
        raise bad_request("The parameters 'query' and 'accountId' cannot be used together.")
    if query is None and account_id is None:
        raise bad_request("One of the parameters 'query' or 'accountId' is required.")
    project = _assignable_scope(app, request)
    users = [app.state.user(account) for account in project["assignable"]]
    found = [u for u in users if u and _user_matches(u, query, account_id)]
    start = max(0, request.int_param("startAt", 0))
    limit = max(0, request.int_param("maxResults", 50))
    page = found[start : start + limit]
    return json_response(200, [render.full_user(app.site, u) for u in page])


def _assignable_scope(app: SimulatorApp, request: Request) -> dict[str, Any]:
    issue_ref = request.param("issueKey") or request.param("issueId")
    if issue_ref:
        issue = visible_issue(app, request, issue_ref)
        return seed.PROJECTS[issue["project"]]
    project_ref = request.param("project")
    if not project_ref:
        raise bad_request("One of the parameters 'project', 'issueKey' or 'issueId' is required.")
    return visible_project(request, project_ref)


def _user_matches(user: dict[str, Any], query: str | None, account_id: str | None) -> bool:
    """Prefix match on any word of the display name, or on a *visible* email address."""
    if account_id is not None:
        return user["accountId"] == account_id
    wanted = (query or "").strip().lower()
    words = [user["displayName"].lower(), *user["displayName"].lower().split()]
    if user["emailVisible"]:
        words.append(user["email"].lower())
    return any(word.startswith(wanted) for word in words)


def create_issue(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    values = validation.validate_create(request.json(), request.user)
    issue = app.state.create_issue(values, reporter=request.user["accountId"])  # type: ignore[index]
    created = {
        "id": issue["id"],
        "key": issue["key"],
        "self": f"{app.site}/rest/api/3/issue/{issue['id']}",
    }
    return json_response(201, created)


def get_issue(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    """Default ``fields`` is ``*all``; a key is matched case-insensitively (§1.7)."""
    issue = visible_issue(app, request, params["issueIdOrKey"])
    wanted = select_fields(request.list_param("fields"), default="*all")
    properties = request.list_param("properties")
    bean = render.issue_bean(app.site, issue, app.state.user, wanted, properties)
    return json_response(200, bean)


def get_comments(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    issue = visible_issue(app, request, params["issueIdOrKey"])
    start = max(0, request.int_param("startAt", 0))
    limit = min(max(0, request.int_param("maxResults", 100)), 5000)
    records = list(issue["comments"])
    if request.param("orderBy") == "-created":
        records.reverse()
    with_properties = "properties" in request.list_param("expand")
    comments = [
        render.comment(app.site, issue, record, app.state.user, with_properties)
        for record in records[start : start + limit]
    ]
    body = {"startAt": start, "maxResults": limit, "total": len(records), "comments": comments}
    return json_response(200, body)


def add_comment(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    issue = visible_issue(app, request, params["issueIdOrKey"])
    if request.user["forbidden"]:  # type: ignore[index]
        raise JiraError(403, ["You do not have the permission to comment on this issue."])
    body, properties, visibility = validation.validate_comment(request.json())
    author = request.user["accountId"]  # type: ignore[index]
    record = app.state.add_comment(issue, author, body, properties, visibility)
    app.webhooks.comment_added(app.site, issue, record, author)
    with_properties = "properties" in request.list_param("expand")
    comment = render.comment(app.site, issue, record, app.state.user, with_properties)
    return json_response(201, comment)


API = "/rest/api/3"
ROUTES: list[Route] = [
    Route("GET", f"{API}/myself", get_current_user, "getCurrentUser"),
    Route("GET", f"{API}/mypermissions", get_my_permissions, "getMyPermissions"),
    Route("GET", f"{API}/project/search", search_projects, "searchProjects"),
    Route("GET", f"{API}/project/{{projectIdOrKey}}", get_project, "getProject"),
    Route(
        "GET",
        f"{API}/issue/createmeta/{{projectIdOrKey}}/issuetypes",
        get_createmeta_issue_types,
        "getCreateIssueMetaIssueTypes",
    ),
    Route(
        "GET",
        f"{API}/issue/createmeta/{{projectIdOrKey}}/issuetypes/{{issueTypeId}}",
        get_createmeta_fields,
        "getCreateIssueMetaIssueTypeId",
    ),
    Route("GET", f"{API}/user/assignable/search", find_assignable_users, "findAssignableUsers"),
    Route("POST", f"{API}/issue", create_issue, "createIssue"),
    Route("GET", f"{API}/issue/{{issueIdOrKey}}", get_issue, "getIssue"),
    Route("GET", f"{API}/issue/{{issueIdOrKey}}/comment", get_comments, "getComments"),
    Route("POST", f"{API}/issue/{{issueIdOrKey}}/comment", add_comment, "addComment"),
    Route("GET", f"{API}/search/jql", search_get, "searchAndReconsileIssuesUsingJql"),
    Route("POST", f"{API}/search/jql", search_post, "searchAndReconsileIssuesUsingJqlPost"),
]
