"""A local ServiceNow Table API simulator for tests and demos (standard library only).

    sim = ServiceNowSimulator(username="qualytics.integration", password="sim-password").start()
    sim.url            # "http://127.0.0.1:<port>"
    sim.control        # ServiceNowControl(sim.url): faults, rate limit, incidents, journal …
    sim.reset()        # seed data back; faults, rate limit and settings cleared
    sim.stop()

Command line: ``python -m simulators.servicenow --port 8090 [--state-file …]``. The facts it
reproduces are in docs/servicenow-api.md (code comments cite its sections).
"""

from __future__ import annotations

import os
import threading

from .client import ControlAPIError, ServiceNowControl
from .seed import DEFAULT_PASSWORD, DEFAULT_USERNAME
from .server import ServiceNowHTTPServer, SimulatorApp
from .state import SimState

__all__ = ["ControlAPIError", "ServiceNowControl", "ServiceNowSimulator"]


class ServiceNowSimulator:
    def __init__(
        self,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        site_url: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.requested_site_url = site_url
        self.app = SimulatorApp(SimState(state_file, username, password))
        self._server: ServiceNowHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host, port = self._server.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{port}"

    @property
    def site_url(self) -> str:
        """Base of reference links and Location (``--site-url``; default: the server's URL)."""
        return self.app.site

    @property
    def control(self) -> ServiceNowControl:
        return ServiceNowControl(self.url)

    def bind(self) -> ServiceNowSimulator:
        """Open the listening socket without serving yet (the CLI serves in the foreground)."""
        self._server = ServiceNowHTTPServer((self.host, self.port), self.app)
        self.app.site = (self.requested_site_url or self.url).rstrip("/")
        self.app.stopping.clear()
        return self

    def start(self) -> ServiceNowSimulator:
        """Serve on a background thread; returns ``self``."""
        self.bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever,  # type: ignore[union-attr]
            kwargs={"poll_interval": 0.05},  # stop() returns quickly
            name=f"servicenow-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()  # type: ignore[union-attr]

    def stop(self) -> None:
        self.app.stopping.set()  # releases requests held by delay/timeout faults
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
        self._server, self._thread = None, None

    def reset(self) -> None:
        self.app.reset()

    def __enter__(self) -> ServiceNowSimulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
