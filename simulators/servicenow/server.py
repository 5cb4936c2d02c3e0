"""ServiceNow behind the shared HTTP front: hibernation, authentication, the rate-limit rule,
routing and media-type checks."""

from __future__ import annotations

import base64
import binascii
import traceback
from typing import Any

from ..core import app as core
from ..core.faults import Fault, FaultBook
from ..core.server import SimulatorRequestHandler, is_loopback
from . import control_api, errors, faults, page, table_api
from .errors import ServiceNowError, envelope
from .faults import RateLimitRule
from .settings import DEFAULT_SETTINGS
from .state import SimState
from .web import Request, Response, find_route, json_response

__all__ = ["ServiceNowRequestHandler", "SimulatorApp", "is_loopback"]

JSON_MEDIA = ("application/json", "application/*", "*/*")


class SimulatorApp(core.SimulatorApp):
    """Everything behind the socket; one instance per simulator."""

    default_settings = DEFAULT_SETTINGS

    def __init__(self, state: SimState, site: str = "") -> None:
        super().__init__(state, FaultBook(faults.STATUS_AFTER_STATUS), site)
        self.rate_limit = RateLimitRule()

    def reset(self) -> None:
        """Seed data back; faults, rate limit, settings and the request log cleared."""
        super().reset()
        self.rate_limit.configure(0)

    def control(self, request: Request, from_loopback: bool) -> Response:
        return control_api.handle(self, request, from_loopback)

    def screen(self, request: Request) -> None:
        if self.settings["hibernating"]:
            # A sleeping developer instance answers every path with 200 + HTML (§8.3).
            raise core.Refused(Response(200, page.HIBERNATING_PAGE), "hibernating")

    def default_fault_body(self, fault: Fault) -> Any:
        return faults.default_fault_body(fault)

    def answer(self, request: Request) -> Response:
        """A Table API request (``/api/…``) or a page, once faults have had their say."""
        if not request.path.startswith("/api/"):
            return page.handle(self, request)
        limit_headers: dict[str, str] = {}
        try:
            self.authenticate(request)
            allowed, limit_headers = self.rate_limit.admit(request.username or "")
            if not allowed:
                raise errors.rate_limit_exceeded(self.rate_limit.limit, limit_headers)
            response = self.dispatch(request)
        except ServiceNowError as error:
            response = json_response(error.status, error.body(), error.headers)
        response.headers = {**limit_headers, **response.headers}
        return response

    def authenticate(self, request: Request) -> None:
        """Basic ``username:password``; anything else is a 401 (§1.2, §3.2)."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise errors.not_authenticated()
        try:
            credentials = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise errors.not_authenticated() from None
        username, _, password = credentials.partition(":")
        request.account = self.state.authenticate(username, password)
        if request.account is None:
            raise errors.not_authenticated()

    def dispatch(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method  # headers only (§1.4)
        route, params, allowed = find_route(table_api.ROUTES, method, request.path)
        if route is None:
            if allowed:
                raise ServiceNowError(405, "Method not Supported", request.method)
            raise errors.bad_request("Requested URI does not represent any resource")
        _check_media_types(request)
        try:
            with self.state.lock:
                return route.handler(self, request, params)
        except ServiceNowError:
            raise
        except Exception as error:  # a simulator bug: answer 500 in the envelope and show it
            traceback.print_exc()
            message = "Exception while executing request: simulator error"
            return json_response(500, envelope(message, repr(error)))


def _check_media_types(request: Request) -> None:
    """Accept on every call, Content-Type on writes (§1.4); the bodies are the simulator's."""
    accept = request.headers.get("accept", "")
    if not accept:
        raise errors.bad_request("Invalid request", "The Accept header is required")
    if not any(media in accept.lower() for media in JSON_MEDIA):
        raise ServiceNowError(406, "Not Acceptable", "The simulator answers JSON only")
    if request.method in ("POST", "PATCH", "PUT"):
        content_type = request.headers.get("content-type", "")
        if not content_type:
            raise errors.bad_request("Invalid request", "The Content-Type header is required")
        if not content_type.lower().startswith("application/json"):
            raise ServiceNowError(415, "Unsupported Media Type", content_type)


class ServiceNowRequestHandler(SimulatorRequestHandler):
    server_version = "ServiceNowSimulator/1.0"
    request_class = Request

    do_HEAD = SimulatorRequestHandler.do_GET
