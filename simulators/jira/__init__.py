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

from ..core.harness import Simulator
from .client import ControlAPIError, SimulatorControl
from .seed import DEFAULT_EMAIL, DEFAULT_TOKEN
from .server import JiraRequestHandler, SimulatorApp
from .state import SimState

__all__ = ["ControlAPIError", "JiraSimulator", "SimulatorControl"]


class JiraSimulator(Simulator):
    handler = JiraRequestHandler
    thread_name = "jira-simulator"

    def __init__(
        self,
        email: str = DEFAULT_EMAIL,
        api_token: str = DEFAULT_TOKEN,
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        site_url: str | None = None,
    ) -> None:
        """``site_url``: base of ``self`` and browse links (default: the server's own URL)."""
        app = SimulatorApp(SimState(state_file, email, api_token))
        super().__init__(app, port, host, site_url)

    @property
    def control(self) -> SimulatorControl:
        return SimulatorControl(self.url)
