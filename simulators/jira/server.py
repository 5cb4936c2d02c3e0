"""Jira behind the shared HTTP front: authentication, routing, OpenAPI checks, the burst rate
limit and the request and violation logs."""

from __future__ import annotations

import base64
import binascii
import time
import traceback
from collections import deque
from typing import Any

from ..core import app as core
from ..core.faults import Fault, FaultBook
from ..core.server import SimulatorRequestHandler, is_loopback
from . import control_api, page, rest_api
from .errors import JiraError
from .faults import RATE_LIMITED_BODY, RateLimiter
from .openapi import validate_request_body
from .state import SimState
from .web import Request, Response, error_response, find_route, json_response
from .webhooks import Webhooks

__all__ = ["JiraRequestHandler", "SimulatorApp", "is_loopback"]

VIOLATION_LOG_SIZE = 1000


class SimulatorApp(core.SimulatorApp):
    """Everything behind the socket; one instance per simulator."""

    default_settings: dict[str, Any] = {"jql_unknown_keys": "omit"}

    def __init__(self, state: SimState, site: str = "") -> None:
        super().__init__(state, FaultBook(), site)
        self.rate_limiter = RateLimiter()
        self.webhooks = Webhooks(state, self.stopping)
        self.violations: deque[dict[str, Any]] = deque(maxlen=VIOLATION_LOG_SIZE)
        self.violation_count = 0
        self.routes = rest_api.ROUTES + page.ROUTES

    def reset(self) -> None:
        """Seed data back, faults/rate limit/settings/logs/webhooks cleared."""
        super().reset()
        self.webhooks.reset()
        self.rate_limiter.configure(0)
        self.clear_violations()

    def close(self) -> None:
        self.webhooks.close()

    def clear_violations(self) -> None:
        with self._log_lock:
            self.violations.clear()
            self.violation_count = 0

    def control(self, request: Request, from_loopback: bool) -> Response:
        return control_api.handle(self, request, from_loopback)

    def answer(self, request: Request) -> Response:
        """A Jira request, once faults have had their say; ``/rest`` counts toward the limit."""
        allowed, limit_headers = (True, {})
        if request.path.startswith("/rest/"):
            allowed, limit_headers = self.rate_limiter.admit()
        if not allowed:
            response = json_response(429, RATE_LIMITED_BODY, limit_headers)
            raise core.Refused(response, "rate_limited")
        response = self.dispatch(request)
        response.headers.update(limit_headers)
        return response

    def default_fault_body(self, fault: Fault) -> Any:
        return {"errorMessages": [f"Simulated HTTP {fault.status}"], "errors": {}}

    def dispatch(self, request: Request) -> Response:
        route, params, allowed = find_route(self.routes, request.method, request.path)
        if route is None:
            return _no_route(request, allowed)
        self.authenticate(request)
        try:
            if route.operation_id:
                self._check_openapi(route.operation_id, request)
                _require_json_body(request)
            with self.state.lock:
                response = route.handler(self, request, params)
        except JiraError as error:
            response = error_response(error)
        except Exception as error:  # a simulator bug: answer 500 and show it
            traceback.print_exc()
            response = json_response(500, {"errorMessages": [f"Simulator error: {error!r}"]})
        if route.operation_id:
            response.headers.update(_login_headers(request))
        return response

    def authenticate(self, request: Request) -> None:
        """Basic ``email:token``; anything else that is sent counts as a failed login."""
        header = request.headers.get("authorization")
        if not header:
            return
        scheme, _, encoded = header.partition(" ")
        credentials = None
        if scheme.lower() == "basic":
            try:
                credentials = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                credentials = None
        email, separator, token = (credentials or "").partition(":")
        user = self.state.authenticate(email, token) if separator else None
        request.user, request.auth_failed = user, user is None

    def _check_openapi(self, operation_id: str, request: Request) -> None:
        """Record (never enforce) deviations from the official schema."""
        try:
            body = request.json()
        except JiraError:
            messages = ["request body is not valid JSON"]
        else:
            messages = validate_request_body(operation_id, body)
        if messages:
            self.record_violations(operation_id, request, messages)

    def record_violations(self, operation_id: str, request: Request, messages: list[str]) -> None:
        with self._log_lock:
            for message in messages:
                self.violation_count += 1
                self.violations.append(
                    {
                        "operationId": operation_id,
                        "method": request.method,
                        "path": request.path,
                        "message": message,
                    }
                )


def _no_route(request: Request, allowed: list[str]) -> Response:
    if allowed:
        body = {"errorMessages": [f"Method {request.method} is not allowed here."], "errors": {}}
        return json_response(405, body, {"Allow": ", ".join(sorted(set(allowed)))})
    body = {"errorMessages": [f"null for uri: {request.path}"], "errors": {}}
    return json_response(404, body)


def _require_json_body(request: Request) -> None:
    """Jira rejects a body that is not declared as JSON with 415 Unsupported Media Type."""
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and not content_type.lower().startswith("application/json"):
        raise JiraError(415, ["Unsupported Media Type"])


def _login_headers(request: Request) -> dict[str, str]:
    """``X-Seraph-LoginReason: AUTHENTICATED_FAILED`` marks a rejected login (§0.1)."""
    if request.auth_failed:
        return {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
    if request.user is not None:
        return {"X-Seraph-LoginReason": "OK", "X-AAccountId": request.user["accountId"]}
    return {}


class JiraRequestHandler(SimulatorRequestHandler):
    server_version = "JiraSimulator/1.0"  # keep-alive, like Jira
    request_class = Request

    def standard_headers(self) -> dict[str, str]:
        return {"X-AREQUESTID": f"sim-{time.monotonic_ns() % 10**9}"}
