"""Read-only HTML: ``/`` lists incidents with their journal; the record URL forms a user may
paste (docs/servicenow-api.md §7.2) show one incident. Also the hibernation page (§8.3).

For a person watching a demo: what did the product send to "ServiceNow"? Everything is escaped.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .render import choice_label, display_value, user_display_name
from .schema import INCIDENT
from .web import Request, Response, Route, find_route

if TYPE_CHECKING:
    from .server import SimulatorApp

# What a sleeping personal developer instance serves with status 200 (wording ours, markers
# as observed: the "instance-hibernating-page" block and the wake-up link).
HIBERNATING_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Instance Hibernating page"
    "</title></head><body><div class='instance-hibernating-page'>"
    "<h1>Your instance is hibernating</h1><p>Developer instances sleep when unused.</p>"
    "<p class='information'>Sign in to the site to wake your instance</p>"
    "<a class='button' href='https://developer.servicenow.com/dev.do#!/home?wu=true'>"
    "Wake up</a></div></body></html>"
)

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; color: #1d2b36; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #dde3e8; }
td { vertical-align: top; } td:first-child a { white-space: nowrap; }
.state { border-radius: 3px; padding: 0 .35rem; font-size: .75rem; font-weight: 600;
         background: #e3ecf5; white-space: nowrap; }
.entry { border-left: 3px solid #dde3e8; padding: .2rem .7rem; margin: .6rem 0; }
.work_notes { border-color: #f2c94c; }
.meta { color: #60717f; font-size: .8rem; }
pre { white-space: pre-wrap; margin: .2rem 0; font: inherit; }
"""
SYS_ID = re.compile(r"^[0-9a-zA-Z]{32}$")


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def _shown(app: SimulatorApp, incident: dict[str, Any], name: str) -> str:
    return escape(display_value(app.state, INCIDENT, incident, INCIDENT.fields[name]) or "—")


def _journal_html(app: SimulatorApp, incident: dict[str, Any]) -> str:
    entries = app.state.journal(incident["sys_id"], ("work_notes", "comments"))
    return "".join(
        f"<div class='entry {escape(e['element'])}'><div class='meta'>"
        f"{escape(user_display_name(app.state, e['sys_created_by']))} · "
        f"{escape(e['sys_created_on'])} · {escape(INCIDENT.fields[e['element']].label)}</div>"
        f"<pre>{escape(e['value'])}</pre></div>"
        for e in entries
    )


def _row(app: SimulatorApp, incident: dict[str, Any]) -> str:
    number = escape(incident["number"])
    state = escape(choice_label(app.state, "state", incident["state"], None) or incident["state"])
    return (
        f"<tr><td><a href='/incident.do?sys_id={escape(incident['sys_id'])}'>{number}</a></td>"
        f"<td>{escape(incident['short_description'])}{_journal_html(app, incident)}</td>"
        f"<td><span class='state'>{state}</span></td><td>{_shown(app, incident, 'priority')}</td>"
        f"<td>{_shown(app, incident, 'assignment_group')}</td>"
        f"<td>{_shown(app, incident, 'assigned_to')}</td></tr>"
    )


def index(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    rows = "".join(_row(app, incident) for incident in app.state.rows("incident"))
    body = (
        "<h1>ServiceNow simulator</h1><p class='meta'>Read-only view; work notes in yellow.</p>"
        "<table><tr><th>Number</th><th>Short description and journal</th><th>State</th>"
        f"<th>Priority</th><th>Assignment group</th><th>Assigned to</th></tr>{rows}</table>"
    )
    return Response(200, _layout("ServiceNow simulator", body))


def _incident_page(app: SimulatorApp, incident: dict[str, Any] | None) -> Response:
    if incident is None:
        return Response(404, _layout("Record not found", "<h1>Record not found</h1>"))
    names = ["state", "priority", "impact", "urgency", "category", "subcategory"]
    names += ["assignment_group", "assigned_to", "caller_id", "opened_at", "correlation_id"]
    details = "".join(
        f"<tr><th>{escape(INCIDENT.fields[n].label)}</th><td>{_shown(app, incident, n)}</td></tr>"
        for n in names
    )
    journal = _journal_html(app, incident) or "<p>No journal entries.</p>"
    body = (
        "<p><a href='/'>All incidents</a></p>"
        f"<h1>{escape(incident['number'])}: {escape(incident['short_description'])}</h1>"
        f"<table>{details}</table><h2>Description</h2>"
        f"<pre>{escape(incident['description']) or '—'}</pre><h2>Journal</h2>{journal}"
    )
    return Response(200, _layout(f"{incident['number']} {incident['short_description']}", body))


def _find_in_target(app: SimulatorApp, target: str) -> dict[str, Any] | None:
    """``incident.do?sys_id=…`` or ``incident.do?sysparm_query=number=…``, URL-decoded until
    stable (a pasted link may be encoded more than once)."""
    previous = None
    while previous != target:
        previous, target = target, unquote(target)
    parts = urlsplit(target)
    if not parts.path.rstrip("/").endswith("incident.do"):
        return None
    return _find_by_query(app, parse_qs(parts.query))


def _find_by_query(app: SimulatorApp, query: dict[str, list[str]]) -> dict[str, Any] | None:
    sys_id = (query.get("sys_id") or [""])[0]
    if SYS_ID.match(sys_id):
        return app.state.get("incident", sys_id)
    number_query = (query.get("sysparm_query") or [""])[0]
    if number_query.startswith("number="):
        return app.state.find_incident(number_query.removeprefix("number="))
    return None


def classic_form(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    return _incident_page(app, _find_by_query(app, request.query))


def framed(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    return _incident_page(app, _find_in_target(app, request.param("uri") or ""))


def next_experience(app: SimulatorApp, _request: Request, params: dict[str, str]) -> Response:
    return _incident_page(app, _find_in_target(app, params["target"]))


def workspace_record(app: SimulatorApp, _request: Request, params: dict[str, str]) -> Response:
    sys_id = params["sys_id"]
    return _incident_page(app, app.state.get("incident", sys_id) if SYS_ID.match(sys_id) else None)


ROUTES: list[Route] = [
    Route("GET", "/", index),
    Route("GET", "/incident_list.do", index),
    Route("GET", "/incident.do", classic_form),
    Route("GET", "/nav_to.do", framed),
    Route("GET", "/now/nav/ui/classic/params/target/{target}", next_experience),
    Route("GET", "/now/sow/record/incident/{sys_id}", workspace_record),
    Route("GET", "/now/workspace/agent/record/incident/{sys_id}", workspace_record),
]


def handle(app: SimulatorApp, request: Request) -> Response:
    route, params, _allowed = find_route(ROUTES, request.method, request.path)
    if route is None:
        return Response(404, _layout("Not found", "<h1>Not found</h1>"))
    with app.state.lock:
        return route.handler(app, request, params)
