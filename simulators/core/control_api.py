"""``/_sim/*``: the control API core (loopback clients only), JSON in and out.

``handle`` routes a control request; the endpoints every simulator has (faults, the request
log, reset) are in ``COMMON_ROUTES``, which each simulator adds to its own.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from .web import Request, Response, Route, find_route, json_response


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def handle(routes: list[Route], app: Any, request: Request, from_loopback: bool) -> Response:
    if not from_loopback:
        return json_response(403, {"error": "the control API only answers loopback clients"})
    route, params, allowed = find_route(routes, request.method, request.path)
    if route is None:
        status = 405 if allowed else 404
        return json_response(
            status, {"error": f"no control endpoint {request.method} {request.path}"}
        )
    try:
        return route.handler(app, request, params)
    except ControlError as error:
        return json_response(error.status, {"error": str(error)})
    except Exception as error:  # a simulator bug: answer instead of dropping the connection
        traceback.print_exc()
        return json_response(500, {"error": repr(error)})


def read_body(request: Request) -> dict[str, Any]:
    """The JSON object sent (``{}`` when nothing was); anything else is a 400."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError as error:
        raise ControlError(400, f"invalid JSON: {error}") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def add_fault(app: Any, request: Request, _params: dict[str, str]) -> Response:
    try:
        fault = app.faults.add(read_body(request))
    except (ValueError, TypeError) as error:
        raise ControlError(400, f"invalid fault: {error}") from None
    return json_response(201, fault.describe())


def list_faults(app: Any, _request: Request, _params: dict[str, str]) -> Response:
    return json_response(200, app.faults.active())


def clear_faults(app: Any, _request: Request, _params: dict[str, str]) -> Response:
    app.faults.clear()
    return Response(204)


def list_requests(app: Any, _request: Request, _params: dict[str, str]) -> Response:
    return json_response(200, list(app.request_log))


def clear_requests(app: Any, _request: Request, _params: dict[str, str]) -> Response:
    app.request_log.clear()
    return Response(204)


def reset(app: Any, _request: Request, _params: dict[str, str]) -> Response:
    app.reset()
    return json_response(200, {"reset": True})


COMMON_ROUTES: list[Route] = [
    Route("POST", "/_sim/faults", add_fault),
    Route("GET", "/_sim/faults", list_faults),
    Route("DELETE", "/_sim/faults", clear_faults),
    Route("GET", "/_sim/requests", list_requests),
    Route("DELETE", "/_sim/requests", clear_requests),
    Route("POST", "/_sim/reset", reset),
]
