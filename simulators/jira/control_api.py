"""``/_sim/*``: the simulator's control API (loopback clients only), JSON in and out.

See ``client.SimulatorControl`` for a Python client and the package docstring for shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import control_api as core
from ..core.control_api import ControlError, read_body
from . import adf, render, seed
from .search import select_fields
from .state import find_status_id
from .web import Request, Response, Route, json_response
from .webhooks import WebhookSpecError

if TYPE_CHECKING:
    from .server import SimulatorApp

JQL_KEY_POLICIES = ("omit", "error")


def handle(app: SimulatorApp, request: Request, from_loopback: bool) -> Response:
    return core.handle(ROUTES, app, request, from_loopback)


def info(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    return json_response(200, {"site": app.site, "settings": app.settings})


def set_rate_limit(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    rate = read_body(request).get("requests_per_second")
    if rate is not None and (not isinstance(rate, int | float) or rate < 0):
        raise ControlError(400, "requests_per_second must be a non-negative number or null")
    app.rate_limiter.configure(rate)
    return json_response(200, {"requests_per_second": app.rate_limiter.rate or None})


def _issue_or_404(app: SimulatorApp, key: str) -> dict[str, Any]:
    issue = app.state.find_issue(key)
    if issue is None:
        raise ControlError(404, f"no issue {key}")
    return issue


def _full_issue(app: SimulatorApp, issue: dict[str, Any]) -> dict[str, Any]:
    bean = render.issue_bean(app.site, issue, app.state.user, select_fields([], "*all"), ["*all"])
    bean["browseUrl"] = f"{app.site}/browse/{issue['key']}"
    return bean


def list_issues(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    with app.state.lock:
        return json_response(200, [_full_issue(app, issue) for issue in app.state.issues()])


def import_issues(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    """``{"issues": [{"project", "issuetype" (id), "summary", "description"? (ADF),
    "labels"?, "status"? (name or id), "created"?, "comments"?: [{"body" (ADF),
    "properties"?, "created"?}]}]}``: issues as they would be after a while, made at once
    and reported by the bot. Answers each issue's id, key and comment ids, in order."""
    specs = read_body(request).get("issues")
    if not isinstance(specs, list):
        raise ControlError(400, "issues must be a list")
    values = [_import_values(spec) for spec in specs]
    with app.state.lock:
        issues = app.state.import_issues(values, seed.BOT_ACCOUNT_ID)
        answer = [
            {"id": i["id"], "key": i["key"], "comments": [c["id"] for c in i["comments"]]}
            for i in issues
        ]
    return json_response(201, answer)


def _import_values(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict) or not isinstance(spec.get("summary"), str):
        raise ControlError(400, "each issue needs a summary")
    project = seed.PROJECTS.get(spec.get("project"))
    if project is None or spec.get("issuetype") not in project["screens"]:
        raise ControlError(400, f"unknown project or issue type in {spec.get('summary')!r}")
    status = find_status_id(str(spec.get("status") or seed.INITIAL_STATUS_ID))
    if status is None:
        raise ControlError(400, f"unknown status {spec.get('status')!r}")
    comments = spec.get("comments", [])
    if not isinstance(comments, list) or not all(
        isinstance(c, dict) and isinstance(c.get("body"), dict) for c in comments
    ):
        raise ControlError(400, "comments must be a list of {body: ADF, …}")
    return {**spec, "status": status, "comments": comments}


def delete_issue(app: SimulatorApp, _request: Request, params: dict[str, str]) -> Response:
    with app.state.lock:
        issue = _issue_or_404(app, params["key"])
        app.webhooks.issue_deleted(app.site, issue)  # the payload still has the issue's fields
        app.state.delete_issue(params["key"])
    return Response(204)


def transition_issue(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    with app.state.lock:
        old_status = _issue_or_404(app, params["key"])["status"]
        issue = app.state.transition(params["key"], str(read_body(request).get("status", "")))
        if issue is None:
            raise ControlError(400, "unknown status (use a status name or id)")
        if issue["status"] != old_status:
            app.webhooks.issue_transitioned(app.site, issue, old_status)
        return json_response(200, _full_issue(app, issue))


def move_issue(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    with app.state.lock:
        before = _issue_or_404(app, params["key"])
        old_key, old_project = before["key"], before["project"]
        issue = app.state.move(params["key"], str(read_body(request).get("project", "")))
        if issue is None:
            raise ControlError(400, "unknown project key")
        if issue["key"] != old_key:
            app.webhooks.issue_moved(app.site, issue, old_key, old_project)
        return json_response(200, _full_issue(app, issue))


def add_webhook(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    """``{"url", "secret"?, "events": [...], "jqlFilter"?}`` (see ``webhooks.py``)."""
    try:
        return json_response(201, app.webhooks.register(read_body(request)))
    except WebhookSpecError as error:
        raise ControlError(400, str(error)) from None


def list_webhooks(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    return json_response(200, app.webhooks.registrations())


def delete_webhook(app: SimulatorApp, _request: Request, params: dict[str, str]) -> Response:
    webhook_id = params["webhook_id"]
    if not webhook_id.isdigit() or not app.webhooks.unregister(int(webhook_id)):
        raise ControlError(404, f"no webhook {webhook_id}")
    return Response(204)


def list_webhook_deliveries(
    app: SimulatorApp, _request: Request, _params: dict[str, str]
) -> Response:
    return json_response(200, app.webhooks.deliveries())


def issue_comments(app: SimulatorApp, _request: Request, params: dict[str, str]) -> Response:
    with app.state.lock:
        issue = _issue_or_404(app, params["key"])
        comments = []
        for record in issue["comments"]:
            comment = render.comment(app.site, issue, record, app.state.user, True)
            comment["text"] = adf.to_text(record["body"])
            comments.append(comment)
        return json_response(200, comments)


def list_violations(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    return json_response(200, {"count": app.violation_count, "violations": list(app.violations)})


def clear_violations(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    app.clear_violations()
    return Response(204)


def add_account(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    """``{"email", "token", "forbidden": false, "displayName"?}``; forbidden = may browse
    but not create issues or comment (403)."""
    body = read_body(request)
    email, token = body.get("email"), body.get("token")
    if not isinstance(email, str) or not isinstance(token, str) or not email or not token:
        raise ControlError(400, "email and token are required strings")
    user = app.state.add_account(email, token, bool(body.get("forbidden")), body.get("displayName"))
    public = {k: user[k] for k in ("accountId", "displayName", "email", "forbidden")}
    return json_response(201, public)


def update_settings(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    body = read_body(request)
    policy = body.get("jql_unknown_keys", app.settings["jql_unknown_keys"])
    if policy not in JQL_KEY_POLICIES:
        raise ControlError(400, f"jql_unknown_keys must be one of {JQL_KEY_POLICIES}")
    app.settings["jql_unknown_keys"] = policy
    return json_response(200, app.settings)


ROUTES: list[Route] = [
    *core.COMMON_ROUTES,
    Route("GET", "/_sim/info", info),
    Route("POST", "/_sim/rate-limit", set_rate_limit),
    Route("GET", "/_sim/issues", list_issues),
    Route("POST", "/_sim/issues", import_issues),
    Route("DELETE", "/_sim/issues/{key}", delete_issue),
    Route("POST", "/_sim/issues/{key}/transition", transition_issue),
    Route("POST", "/_sim/issues/{key}/move", move_issue),
    Route("GET", "/_sim/issues/{key}/comments", issue_comments),
    Route("GET", "/_sim/violations", list_violations),
    Route("DELETE", "/_sim/violations", clear_violations),
    Route("POST", "/_sim/accounts", add_account),
    Route("GET", "/_sim/settings", info),
    Route("POST", "/_sim/settings", update_settings),
    Route("POST", "/_sim/webhooks", add_webhook),
    Route("GET", "/_sim/webhooks", list_webhooks),
    Route("GET", "/_sim/webhooks/deliveries", list_webhook_deliveries),
    Route("DELETE", "/_sim/webhooks/{webhook_id}", delete_webhook),
]
