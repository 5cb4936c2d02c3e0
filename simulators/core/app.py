"""What sits behind a simulator's socket: state, faults, settings and the request log."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from typing import Any

from .faults import NO_BODY, Fault, FaultBook
from .web import Request, Response

LOG_SIZE = 5000


class Refused(Exception):
    """An answer given instead of processing (hibernation, rate limit): logged as ``outcome``,
    and no fault that acts after processing applies to it."""

    def __init__(self, response: Response, outcome: str) -> None:
        super().__init__(outcome)
        self.response = response
        self.outcome = outcome


class SimulatorApp:
    """One per simulator; each vendor subclasses it with its own requests and control API."""

    default_settings: dict[str, Any] = {}

    def __init__(self, state: Any, faults: FaultBook, site: str = "") -> None:
        self.state = state
        self.site = site
        self.faults = faults
        self.settings: dict[str, Any] = dict(self.default_settings)
        self.stopping = threading.Event()
        self._log_lock = threading.Lock()
        self._request_ids = itertools.count(1)
        self.request_log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    def reset(self) -> None:
        """Seed data back; faults, settings and the request log cleared."""
        self.state.reset()
        self.faults.clear()
        self.settings = dict(self.default_settings)
        self.request_log.clear()

    def close(self) -> None:
        """Release what outlives requests (the server is stopping)."""

    # --- the hooks a vendor fills in -----------------------------------------------------

    def control(self, request: Request, from_loopback: bool) -> Response:
        """A ``/_sim`` request."""
        raise NotImplementedError

    def screen(self, request: Request) -> None:
        """Raise ``Refused`` to answer before faults are consulted."""

    def answer(self, request: Request) -> Response:
        """A vendor request, once faults have had their say (may raise ``Refused``)."""
        raise NotImplementedError

    def default_fault_body(self, fault: Fault) -> Any:
        """The body of a fault's answer when its spec has no ``body``."""
        return None

    def fault_response(self, fault: Fault) -> Response:
        body = self.default_fault_body(fault) if fault.body is NO_BODY else fault.body
        return Response(fault.status, body, dict(fault.headers))

    # --- the request log -----------------------------------------------------------------

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
            "account": request.logged_account,
        }
        with self._log_lock:
            self.request_log.append(entry)
