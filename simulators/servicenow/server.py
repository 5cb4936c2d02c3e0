"""HTTP front: a threaded server, authentication, routing, faults, rate limit, request log."""

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

from . import control_api, errors, page, table_api
from .errors import ServiceNowError, envelope
from .faults import Fault, FaultBook, RateLimitRule
from .settings import DEFAULT_SETTINGS
from .state import SimState
from .web import Request, Response, find_route, json_response

LOG_SIZE = 5000
JSON_MEDIA = ("application/json", "application/*", "*/*")


class SimulatorApp:
    """Everything behind the socket; one instance per simulator."""

    def __init__(self, state: SimState, site: str = "") -> None:
        self.state = state
        self.site = site
        self.faults = FaultBook()
        self.rate_limit = RateLimitRule()
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self.stopping = threading.Event()
        self._log_lock = threading.Lock()
        self._request_ids = itertools.count(1)
        self.request_log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    def reset(self) -> None:
        """Seed data back; faults, rate limit, settings and the request log cleared."""
        self.state.reset()
        self.faults.clear()
        self.rate_limit.configure(0)
        self.settings = dict(DEFAULT_SETTINGS)
        self.request_log.clear()

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
            "account": request.username,
        }
        with self._log_lock:
            self.request_log.append(entry)


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


def is_loopback(address: str) -> bool:
    return address in ("::1", "::ffff:127.0.0.1") or address.startswith("127.")


class ServiceNowRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length
    server_version = "ServiceNowSimulator/1.0"
    server: ServiceNowHTTPServer

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle + delayed ACK add ~40 ms to each keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default; ``GET /_sim/requests`` is the log."""

    def _handle(self) -> None:
        app = self.server.app
        request = self._read_request()
        if request.path == "/_sim" or request.path.startswith("/_sim/"):
            self._write(control_api.handle(app, request, is_loopback(request.client_ip)))
            return
        if app.settings["hibernating"]:
            # A sleeping developer instance answers every path with 200 + HTML (§8.3).
            app.log_request(request, 200, "hibernating")
            self._write(Response(200, page.HIBERNATING_PAGE))
            return
        fault = app.faults.take(request.method, request.path)
        if fault is not None and self._fault_ends_request(fault, request):
            return
        response = app.answer(request)
        if fault is not None and fault.action == "drop_after":
            app.log_request(request, response.status, "fault:drop_after")
            self._drop()  # processed, but the client never learns the outcome
            return
        if fault is not None and fault.action == "status_after":
            response = self._fault_response(fault)
        # Logged before answering: a client that reads the log right after its answer (or
        # one that gave up waiting) must find the request there.
        app.log_request(request, response.status, f"fault:{fault.action}" if fault else "ok")
        self._write(response)

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

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        return Response(fault.status, fault.response_body(), dict(fault.headers))

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


class ServiceNowHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: SimulatorApp) -> None:
        super().__init__(address, ServiceNowRequestHandler)
        self.app = app

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer (e.g. during fault tests) are not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)
