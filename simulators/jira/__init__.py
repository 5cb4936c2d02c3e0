"""A local Jira Cloud REST v3 simulator for tests and demos (standard library only).

    sim = JiraSimulator(email="bot@example.com", api_token="sim-token", port=0).start()
    sim.url            # "http://127.0.0.1:<port>"
    sim.control        # SimulatorControl(sim.url): faults, rate limit, issues, violations …
    sim.reset()        # seed data back, faults and rate limit cleared
    sim.stop()

Command line: ``python -m simulators.jira --port 8089 [--state-file var/jira-sim.json]``.
Facts it reproduces are documented in docs/jira-api.md (section numbers in the
code comments); ``openapi.validate_request_body`` checks bodies against the official schema.
"""

from __future__ import annotations

import os
import threading

from .client import ControlAPIError, SimulatorControl
from .seed import DEFAULT_EMAIL, DEFAULT_TOKEN
from .server import JiraHTTPServer, SimulatorApp
from .state import SimState

__all__ = ["ControlAPIError", "JiraSimulator", "SimulatorControl"]


class JiraSimulator:
    def __init__(
        self,
        email: str = DEFAULT_EMAIL,
        api_token: str = DEFAULT_TOKEN,
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        site_url: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.requested_site_url = site_url
        self.app = SimulatorApp(SimState(state_file, email, api_token))
        self._server: JiraHTTPServer | None = None
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
        """Base of ``self`` and browse links (``--site-url``; default: the server's own URL)."""
        return self.app.site

    @property
    def control(self) -> SimulatorControl:
        return SimulatorControl(self.url)

    def bind(self) -> JiraSimulator:
        """Open the listening socket without serving yet (the CLI serves in the foreground)."""
        self._server = JiraHTTPServer((self.host, self.port), self.app)
        self.app.site = (self.requested_site_url or self.url).rstrip("/")
        self.app.stopping.clear()
        return self

    def start(self) -> JiraSimulator:
        """Serve on a background thread; returns ``self``."""
        self.bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever,  # type: ignore[union-attr]
            kwargs={"poll_interval": 0.05},  # stop() returns quickly
            name=f"jira-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()  # type: ignore[union-attr]

    def stop(self) -> None:
        self.app.stopping.set()  # releases requests held by delay/timeout faults
        self.app.webhooks.close()
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
        self._server, self._thread = None, None

    def reset(self) -> None:
        self.app.reset()

    def __enter__(self) -> JiraSimulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
