"""``/_sim/*``: the simulator's control API (loopback clients only), JSON in and out.

See ``client.ServiceNowControl`` for a Python client and README.md for the endpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import control_api as core
from ..core.control_api import ControlError, read_body
from . import incidents
from .render import choice_label
from .settings import validate_settings
from .state import sn_timestamp
from .web import Request, Response, Route, json_response

if TYPE_CHECKING:
    from .server import SimulatorApp

KNOWN_ROLES = ("itil", "audit_viewer", "admin")


def handle(app: SimulatorApp, request: Request, from_loopback: bool) -> Response:
    return core.handle(ROUTES, app, request, from_loopback)


def info(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    username = app.state.configured_credentials[0]
    body = {"site": app.site, "username": username, "settings": app.settings}
    return json_response(200, {**body, "rate_limit": app.rate_limit.describe()})


def update_settings(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    body = read_body(request)
    problem = validate_settings(body)
    if problem:
        raise ControlError(400, problem)
    app.settings.update(body)
    return json_response(200, app.settings)


def set_rate_limit(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    body = read_body(request)
    limit, window = body.get("limit"), body.get("window_seconds")
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ControlError(400, "limit must be a non-negative integer or null")
    if window is not None and (not isinstance(window, int | float) or window <= 0):
        raise ControlError(400, "window_seconds must be a positive number")
    app.rate_limit.configure(limit, window)
    return json_response(200, app.rate_limit.describe())


def rate_limit(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    return json_response(200, app.rate_limit.describe())


def _incident_or_404(app: SimulatorApp, number: str) -> dict[str, Any]:
    incident = app.state.find_incident(number)
    if incident is None:
        raise ControlError(404, f"no incident {number}")
    return incident


def _full_incident(app: SimulatorApp, incident: dict[str, Any]) -> dict[str, Any]:
    journal = app.state.journal(incident["sys_id"], ("work_notes", "comments"))
    url = f"{app.site}/incident.do?sys_id={incident['sys_id']}"
    return {**incident, "journal": [dict(entry) for entry in journal], "url": url}


def list_incidents(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    with app.state.lock:
        return json_response(200, [_full_incident(app, i) for i in app.state.rows("incident")])


def get_incident(app: SimulatorApp, _request: Request, params: dict[str, str]) -> Response:
    with app.state.lock:
        return json_response(200, _full_incident(app, _incident_or_404(app, params["number"])))


def delete_incident(app: SimulatorApp, _request: Request, params: dict[str, str]) -> Response:
    with app.state.lock:
        app.state.delete_incident(_incident_or_404(app, params["number"]))
    return Response(204)


def set_incident_state(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    """``{"state": "6" | "Resolved"}``: as an agent would, close fields filled in for them."""
    wanted = str(read_body(request).get("state", ""))
    with app.state.lock:
        incident = _incident_or_404(app, params["number"])
        values = app.state.choice_values("state", None)
        state = wanted if wanted in values else None
        for value in values:
            if choice_label(app.state, "state", value, None).lower() == wanted.lower():
                state = value
        if state is None:
            raise ControlError(400, "unknown state (use a value like 6 or a label like Resolved)")
        changes = {"state": state}
        if state in incidents.RESOLVING_STATES:
            changes["close_code"] = incident["close_code"] or "Solved (Permanently)"
            changes["close_notes"] = incident["close_notes"] or "Closed in the simulator."
        incidents.update_incident(
            incident, changes, now=sn_timestamp(), username="admin", user_id=""
        )
        app.state.save()
        return json_response(200, _full_incident(app, incident))


def incident_journal(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    """Entries oldest first; ``?element=work_notes`` keeps one kind."""
    elements = tuple(request.query.get("element", ["work_notes", "comments"]))
    with app.state.lock:
        incident = _incident_or_404(app, params["number"])
        return json_response(200, app.state.journal(incident["sys_id"], elements))


def add_account(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    """``{"username", "password", "roles": ["itil", "audit_viewer", "admin"], "name"?}``:
    no itil = may read but not write incidents (403); no audit_viewer = no journal reads."""
    body = read_body(request)
    username, password = body.get("username"), body.get("password")
    roles = body.get("roles", [])
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise ControlError(400, "username and password are required strings")
    if not isinstance(roles, list) or any(role not in KNOWN_ROLES for role in roles):
        raise ControlError(400, f"roles must be a list drawn from {KNOWN_ROLES}")
    account = app.state.add_account(username, password, roles, body.get("name"))
    return json_response(201, account)


ROUTES: list[Route] = [
    *core.COMMON_ROUTES,
    Route("GET", "/_sim/info", info),
    Route("GET", "/_sim/settings", info),
    Route("POST", "/_sim/settings", update_settings),
    Route("GET", "/_sim/rate-limit", rate_limit),
    Route("POST", "/_sim/rate-limit", set_rate_limit),
    Route("GET", "/_sim/incidents", list_incidents),
    Route("GET", "/_sim/incidents/{number}", get_incident),
    Route("DELETE", "/_sim/incidents/{number}", delete_incident),
    Route("POST", "/_sim/incidents/{number}/state", set_incident_state),
    Route("GET", "/_sim/incidents/{number}/journal", incident_journal),
    Route("POST", "/_sim/accounts", add_account),
]
