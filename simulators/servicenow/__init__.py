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

from ..core.harness import Simulator
from .client import ControlAPIError, ServiceNowControl
from .seed import DEFAULT_PASSWORD, DEFAULT_USERNAME
from .server import ServiceNowRequestHandler, SimulatorApp
from .state import SimState

__all__ = ["ControlAPIError", "ServiceNowControl", "ServiceNowSimulator"]


class ServiceNowSimulator(Simulator):
    handler = ServiceNowRequestHandler
    thread_name = "servicenow-simulator"

    def __init__(
        self,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        site_url: str | None = None,
    ) -> None:
        """``site_url``: base of reference links and Location (default: the server's URL)."""
        app = SimulatorApp(SimState(state_file, username, password))
        super().__init__(app, port, host, site_url)

    @property
    def control(self) -> ServiceNowControl:
        return ServiceNowControl(self.url)
