"""The HTTP front: a threaded keep-alive server that reads requests, routes ``/_sim`` to the
control API, applies faults and writes answers; the app behind it does the rest."""

from __future__ import annotations

import contextlib
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .app import Refused, SimulatorApp
from .faults import Fault
from .web import Request, Response


def is_loopback(address: str) -> bool:
    return address in ("::1", "::ffff:127.0.0.1") or address.startswith("127.")


def is_control_path(path: str) -> bool:
    return path == "/_sim" or path.startswith("/_sim/")


class SimulatorRequestHandler(BaseHTTPRequestHandler):
    """Subclasses name the server and the request class (their vendor's ``Request``)."""

    protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length
    request_class: type[Request] = Request
    server: SimulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle + delayed ACK add ~40 ms to each keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default; ``GET /_sim/requests`` is the log."""

    def standard_headers(self) -> dict[str, str]:
        """Headers on every answer, before the response's own."""
        return {}

    def _handle(self) -> None:
        app = self.server.app
        request = self._read_request()
        if is_control_path(request.path):
            self._write(app.control(request, is_loopback(request.client_ip)))
            return
        try:
            app.screen(request)
            fault = app.faults.take(request.method, request.path)
            if fault is not None and self._fault_ends_request(fault, request):
                return
            response = app.answer(request)
        except Refused as refusal:
            app.log_request(request, refusal.response.status, refusal.outcome)
            self._write(refusal.response)
            return
        if fault is not None and fault.action in ("drop_after", "hold_after"):
            app.log_request(request, response.status, f"fault:{fault.action}")
            if fault.action == "hold_after":  # processed; the client waits for nothing
                app.stopping.wait(fault.seconds)
            self._drop()  # processed, but the client never learns the outcome
            return
        if fault is not None and fault.action == "status_after":
            response = app.fault_response(fault)  # processed, yet answered as failed
        # Logged before answering: a client that reads the log right after its answer (or
        # one that gave up waiting) must find the request there.
        app.log_request(request, response.status, f"fault:{fault.action}" if fault else "ok")
        self._write(response)

    def _fault_ends_request(self, fault: Fault, request: Request) -> bool:
        """Apply the pre-processing part of a fault; ``True`` when nothing else must happen."""
        app = self.server.app
        if fault.action in ("drop_after", "hold_after", "status_after"):
            return False
        if fault.action == "delay":
            app.stopping.wait(fault.seconds)
            return False
        if fault.action == "status":
            app.log_request(request, fault.status, "fault:status")
            self._write(app.fault_response(fault))
            return True
        if fault.action == "timeout":
            app.stopping.wait(fault.seconds)
        app.log_request(request, None, f"fault:{fault.action}")
        self._drop()
        return True

    def _read_request(self) -> Request:
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        return self.request_class(
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
        for headers in (self.standard_headers(), response.headers):
            for name, value in headers.items():
                self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop(self) -> None:
        """Close the connection without a single byte of response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        app: SimulatorApp,
        handler: type[SimulatorRequestHandler],
    ) -> None:
        super().__init__(address, handler)
        self.app = app

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer (e.g. during fault tests) are not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)
