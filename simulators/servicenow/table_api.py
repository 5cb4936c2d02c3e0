"""``/api/now[/v1|/v2]/table/{table}``: list, read, create and update (docs/servicenow-api.md §2).

Reads cover every table in ``schema.TABLES``; writes only ``incident`` (the product's table).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from . import errors, incidents, query
from .render import DISPLAY_MODES, RenderOptions, display_value, record_json
from .schema import (
    CHOICE,
    INCIDENT,
    INCIDENT_WRITE_ROLES,
    JOURNAL_READ_ROLES,
    REFERENCE,
    TABLES,
    WRITABLE_TABLES,
    Table,
)
from .state import new_sys_id, sn_timestamp
from .web import Request, Response, Route, json_response

if TYPE_CHECKING:
    from .server import SimulatorApp

DEFAULT_LIMIT = 10000  # sysparm_limit default (§2.1)
VERSIONS = ("v1", "v2")


def _table(params: dict[str, str]) -> Table:
    version = params.get("version")
    if version is not None and version not in VERSIONS:
        raise errors.bad_request("Requested URI does not represent any resource")
    table = TABLES.get(params["table"])
    if table is None:
        raise errors.invalid_table(params["table"])
    return table


def _render_options(app: SimulatorApp, request: Request) -> RenderOptions:
    display = (request.param("sysparm_display_value") or "false").lower()
    fields = request.param("sysparm_fields")
    return RenderOptions(
        site=app.site,
        fields=[f.strip() for f in fields.split(",") if f.strip()] if fields else None,
        display=display if display in DISPLAY_MODES else "false",
        exclude_links=request.flag("sysparm_exclude_reference_link"),
    )


def _has_role(request: Request, roles: set[str]) -> bool:
    return bool(request.account and roles.intersection(request.account["roles"]))


def _may_read(request: Request, table: Table) -> bool:
    return table.name != "sys_journal_field" or _has_role(request, JOURNAL_READ_ROLES)


# --- GET list --------------------------------------------------------------------------------


def list_records(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    table = _table(params)
    if not _may_read(request, table):
        if app.settings["journal_denied"] == "forbidden":
            raise errors.query_denied()
        return json_response(200, {"result": []}, {"X-Total-Count": "0"})
    rows = _matching_rows(app, request, table)
    limit = request.int_param("sysparm_limit", DEFAULT_LIMIT)
    limit = limit if limit > 0 else DEFAULT_LIMIT
    offset = max(0, request.int_param("sysparm_offset", 0))
    page = rows[offset : offset + limit]
    if not page and params.get("version") == "v1":
        raise errors.record_not_found()  # v1 answers 404 where latest answers [] (§2.3)
    options = _render_options(app, request)
    result = [record_json(app.state, table, row, options) for row in page]
    return json_response(200, {"result": result}, _list_headers(app, request, len(rows)))


def _matching_rows(app: SimulatorApp, request: Request, table: Table) -> list[dict[str, Any]]:
    encoded = request.param("sysparm_query")
    if encoded is None:
        rows = app.state.rows(table.name)
        return [row for row in rows if _name_values_match(app, request, table, row)]
    parsed = query.parse(encoded, table)
    if parsed.dropped:
        policy = app.settings["invalid_query"]
        if policy == "forbidden":
            raise errors.query_denied()
        if policy == "no_rows":  # glide.invalid_query.returns_no_rows=true (§2.2)
            return []
    lookup = app.state.get
    rows = [row for row in app.state.rows(table.name) if parsed.matches(table, row, lookup)]
    parsed.sort(table, rows, lookup)
    return rows


def _name_values_match(
    app: SimulatorApp, request: Request, table: Table, row: dict[str, Any]
) -> bool:
    """``&active=true&number=INC0010001``: equality; choices and references also match their
    display value (§2.1). Used only without ``sysparm_query``."""
    for name, values in request.query.items():
        field = table.field(name)
        if name.startswith("sysparm_") or field is None:
            continue
        stored = str(row.get(name, ""))
        shown = None
        if field.kind in (CHOICE, REFERENCE):
            shown = display_value(app.state, table, row, field)
        if values[0] not in (stored, shown):
            return False
    return True


def _list_headers(app: SimulatorApp, request: Request, total: int) -> dict[str, str]:
    headers = {}
    if not request.flag("sysparm_no_count"):
        headers["X-Total-Count"] = str(total)
    if not request.flag("sysparm_suppress_pagination_header"):
        link = _link_header(app, request, total)
        if link:
            headers["Link"] = link
    return headers


def _link_header(app: SimulatorApp, request: Request, total: int) -> str:
    """first/prev/next/last; omitted entirely when everything fits on one page (§2.3)."""
    limit = request.int_param("sysparm_limit", DEFAULT_LIMIT)
    limit = limit if limit > 0 else DEFAULT_LIMIT
    offset = max(0, request.int_param("sysparm_offset", 0))
    if offset == 0 and total <= limit:
        return ""
    last = max(0, (total - 1) // limit * limit)
    pages = [("first", 0)]
    if offset > 0:
        pages.append(("prev", max(0, offset - limit)))
    if offset + limit < total:
        pages.append(("next", offset + limit))
    pages.append(("last", last))
    base = {k: v[0] for k, v in request.query.items() if k not in ("sysparm_offset",)}
    links = []
    for rel, page_offset in pages:
        query_string = urlencode({**base, "sysparm_limit": limit, "sysparm_offset": page_offset})
        links.append(f'<{app.site}{request.path}?{query_string}>;rel="{rel}"')
    return ",".join(links)


# --- GET one ---------------------------------------------------------------------------------


def get_record(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    table = _table(params)
    record = app.state.get(table.name, params["sys_id"])
    if record is None or not _may_read(request, table):
        raise errors.record_not_found()
    options = _render_options(app, request)
    return json_response(200, {"result": record_json(app.state, table, record, options)})


# --- POST / PATCH ----------------------------------------------------------------------------


def _body(request: Request) -> dict[str, Any]:
    """The JSON object sent; of an array only the first record counts (§2.6)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise errors.bad_request(
            "Exception while reading request", "The payload is not valid JSON."
        ) from None
    if isinstance(body, list):
        body = body[0] if body else {}
    if not isinstance(body, dict):
        raise errors.bad_request(
            "Exception while reading request", "The payload is not valid JSON."
        )
    return body


def _from_display_values(app: SimulatorApp, body: dict[str, Any]) -> dict[str, Any]:
    """``sysparm_input_display_value=true``: labels become choice values, display names become
    sys_ids (§2.6)."""
    converted = dict(body)
    for name, raw in body.items():
        field = INCIDENT.field(name)
        if field is None or not isinstance(raw, str) or not raw:
            continue
        if field.kind == CHOICE:
            rows = app.state.rows("sys_choice")
            match = next((r for r in rows if r["element"] == name and r["label"] == raw), None)
            converted[name] = match["value"] if match else raw
        elif field.kind == REFERENCE and app.state.get(field.reference or "", raw) is None:
            target = TABLES[field.reference or ""]
            rows = app.state.rows(target.name)
            match = next((r for r in rows if r[target.display_field] == raw), None)
            converted[name] = match["sys_id"] if match else raw
    return converted


def _write_input(app: SimulatorApp, request: Request) -> tuple[dict[str, str], list]:
    body = _body(request)
    if request.flag("sysparm_input_display_value"):
        body = _from_display_values(app, body)
    return incidents.writable_values(body, app.state.choice_values), incidents.journal_input(body)


def _write_response(
    app: SimulatorApp, request: Request, status: int, record: dict[str, Any], headers: dict
) -> Response:
    if request.headers.get("x-no-response-body", "").lower() == "true":
        return Response(status, None, headers)
    options = _render_options(app, request)
    return json_response(
        status, {"result": record_json(app.state, INCIDENT, record, options)}, headers
    )


def create_record(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    table = _table(params)
    if table.name not in WRITABLE_TABLES or not _has_role(request, INCIDENT_WRITE_ROLES):
        raise errors.insert_denied()
    values, journal = _write_input(app, request)
    account = request.account or {}
    now = sn_timestamp()
    record = incidents.new_incident(
        values,
        sys_id=new_sys_id(),
        number=app.state.next_number(),
        now=now,
        username=account["username"],
        user_id=account["user"]["sys_id"],
    )
    for element, text in journal:
        app.state.add_journal_entry(record, element, text, account["username"], now)
    app.state.insert_incident(record)
    location = f"{app.site}/api/now/table/incident/{record['sys_id']}"
    return _write_response(app, request, 201, record, {"Location": location})


def update_record(app: SimulatorApp, request: Request, params: dict[str, str]) -> Response:
    table = _table(params)
    record = app.state.get(table.name, params["sys_id"])
    if record is None:
        raise errors.record_not_found()
    if table.name not in WRITABLE_TABLES or not _has_role(request, INCIDENT_WRITE_ROLES):
        raise errors.update_denied()
    values, journal = _write_input(app, request)
    account = request.account or {}
    now = sn_timestamp()
    incidents.update_incident(
        record, values, now=now, username=account["username"], user_id=account["user"]["sys_id"]
    )
    for element, text in journal:
        app.state.add_journal_entry(record, element, text, account["username"], now)
    app.state.save()
    return _write_response(app, request, 200, record, {})


def _routes() -> list[Route]:
    routes = []
    for prefix in ("/api/now/table", "/api/now/{version}/table"):
        routes += [
            Route("GET", prefix + "/{table}", list_records),
            Route("POST", prefix + "/{table}", create_record),
            Route("GET", prefix + "/{table}/{sys_id}", get_record),
            Route("PATCH", prefix + "/{table}/{sys_id}", update_record),
            Route("PUT", prefix + "/{table}/{sys_id}", update_record),
        ]
    return routes


ROUTES = _routes()
