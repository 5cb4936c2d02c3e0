"""HTTP front: a threaded server, authentication, routing, fault injection and request logging."""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import socket
import sys
import threading
import time
import traceback
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import control_api, page, rest_api
from .errors import JiraError
from .faults import NO_BODY, RATE_LIMITED_BODY, Fault, FaultBook, RateLimiter
from .openapi import validate_request_body
from .state import SimState
from .web import Request, Response, error_response, find_route, json_response
from .webhooks import Webhooks

DEFAULT_SETTINGS = {"jql_unknown_keys": "omit"}
LOG_SIZE = 5000
VIOLATION_LOG_SIZE = 1000


class SimulatorApp:
    """Everything behind the socket; one instance per simulator."""

    def __init__(self, state: SimState, site: str = "") -> None:
        self.state = state
        self.site = site
        self.faults = FaultBook()
        self.rate_limiter = RateLimiter()
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self.stopping = threading.Event()
        self.webhooks = Webhooks(state, self.stopping)
        self._log_lock = threading.Lock()
        self._request_ids = itertools.count(1)
        self.request_log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.violations: deque[dict[str, Any]] = deque(maxlen=VIOLATION_LOG_SIZE)
        self.violation_count = 0
        self.routes = rest_api.ROUTES + page.ROUTES

    def reset(self) -> None:
        """Seed data back, faults/rate limit/settings/logs/webhooks cleared."""
        self.state.reset()
        self.webhooks.reset()
        self.faults.clear()
        self.rate_limiter.configure(0)
        self.settings = dict(DEFAULT_SETTINGS)
        self.request_log.clear()
        self.clear_violations()

    def clear_violations(self) -> None:
        with self._log_lock:
            self.violations.clear()
            self.violation_count = 0

    # --- Jira requests -------------------------------------------------------------------

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

    def log_request(self, request: Request, status: int | None, outcome: str) -> None:
        """What the product sent, minus secrets: never the Authorization header."""
        entry = {
            "id": next(self._request_ids),
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": {k: v if len(v) > 1 else v[0] for k, v in request.query.items()},
            "status": status,
            "outcome": outcome,
            "account": request.user["accountId"] if request.user else None,
        }
        with self._log_lock:
            self.request_log.append(entry)


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


def is_loopback(address: str) -> bool:
    return address in ("127.0.0.1", "::1", "::ffff:127.0.0.1") or address.startswith("127.")


class JiraRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Jira; every answer has a Content-Length
    server_version = "JiraSimulator/1.0"
    server: JiraHTTPServer

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle + delayed ACK add ~40 ms to each keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default; ``GET /_sim/requests`` is the log."""

    def _handle(self) -> None:
        app = self.server.app
        request = self._read_request()
        if request.path == "/_sim" or request.path.startswith("/_sim/"):
            self._write(control_api.handle(app, request, is_loopback(request.client_ip)))
            return
        fault = app.faults.take(request.method, request.path)
        if fault is not None and self._fault_ends_request(fault, request):
            return
        allowed, limit_headers = (True, {})
        if request.path.startswith("/rest/"):
            allowed, limit_headers = app.rate_limiter.admit()
        if not allowed:
            app.log_request(request, 429, "rate_limited")
            self._write(json_response(429, RATE_LIMITED_BODY, limit_headers))
            return
        response = app.dispatch(request)
        response.headers.update(limit_headers)
        if fault is not None and fault.action == "drop_after":
            app.log_request(request, response.status, "fault:drop_after")
            self._drop()  # processed, but the client never learns the outcome
            return
        if fault is not None and fault.action == "status_after":
            app.log_request(request, fault.status, "fault:status_after")
            self._write(self._fault_response(fault))  # processed, yet answered as failed
            return
        # Logged before answering: a client that reads the log right after its answer (or
        # one that gave up waiting) must find the request there.
        app.log_request(request, response.status, f"fault:{fault.action}" if fault else "ok")
        self._write(response)

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        body = fault.body
        if fault.body is NO_BODY:
            body = {"errorMessages": [f"Simulated HTTP {fault.status}"], "errors": {}}
        return Response(fault.status, body, dict(fault.headers))

    def _fault_ends_request(self, fault: Fault, request: Request) -> bool:
        """Apply the pre-processing part of a fault; ``True`` when nothing else must happen."""
        app = self.server.app
        if fault.action in ("drop_after", "status_after"):
            return False
        if fault.action == "delay":
            app.stopping.wait(fault.seconds)
            return False
        if fault.action == "status":
            app.log_request(request, fault.status, "fault:status")
            self._write(self._fault_response(fault))
            return True
        if fault.action == "timeout":
            app.stopping.wait(fault.seconds)
        app.log_request(request, None, f"fault:{fault.action}")
        self._drop()
        return True

    def _read_request(self) -> Request:
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        return Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=self._read_body(headers),
            client_ip=self.client_address[0],
        )

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: Response) -> None:
        payload, content_type = response.encoded()
        self.send_response(response.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-AREQUESTID", f"sim-{time.monotonic_ns() % 10**9}")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop(self) -> None:
        """Close the connection without a single byte of response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class JiraHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: SimulatorApp) -> None:
        super().__init__(address, JiraRequestHandler)
        self.app = app

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer (e.g. during fault tests) are not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)
